"""Sandbox tokens: an integrator's tests drive the real API, and every text their requests cause is
recorded (status `sandbox`, readable through /api/v1/messages) but never handed to the gateway.

The flag lives in a context variable set by the token check for the request's duration, so every
place that builds a text (engage.sms.services.build_message) or a notice (whose fan-out then records
its texts the same way) sees it without each handler passing it along."""

from __future__ import annotations

from contextvars import ContextVar

_ACTIVE: ContextVar[bool] = ContextVar("engage_sandbox", default=False)


def active() -> bool:
    """True while handling a request made with a sandbox token."""
    return _ACTIVE.get()


def enter(sandbox: bool) -> object:
    return _ACTIVE.set(sandbox)


def leave(token: object) -> None:
    _ACTIVE.reset(token)  # type: ignore[arg-type]
