"""What a change to a notice period means elsewhere. An upheld objection suspends or extends a period,
and an organizer may resume a suspended one (engage.notices.objections.services, engage.notices.objections.periods).
Other domains register a listener here to act in the same transaction. A selection, for example,
puts its proposed appointees on hold while the appointment notice is suspended. The notices domain
does not need to know about them."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from sqlalchemy.orm import Session


class PeriodEvent(StrEnum):
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    EXTENDED = "extended"


# (session, actor, notice id, what happened, the objection's reference or None)
Listener = Callable[[Session, str, int, PeriodEvent, str | None], None]
LISTENERS: list[Listener] = []


def listen(listener: Listener) -> Listener:
    if listener not in LISTENERS:
        LISTENERS.append(listener)
    return listener


def announce(session: Session, actor: str, notice_id: int, event: PeriodEvent, reference: str | None) -> None:
    for listener in LISTENERS:
        listener(session, actor, notice_id, event, reference)
