from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from anyio import to_thread
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.accounts import totp
from engage.accounts.credentials import (
    DUMMY_HASH,
    check_password,
    generate_password,
    generate_token,
    hash_password,
    token_digest,
)
from engage.accounts.models import ApiToken, Organizer, Role, TokenScope
from engage.audit.services import SYSTEM, record, record_async
from engage.db import utcnow
from engage.errors import Conflict, InvalidInput, NotFound

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 254:
        raise InvalidInput("email", "not a valid email address")
    return email


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput("role", f"unknown role {role!r} (one of {choices})") from None


def create_organizer(session: Session, email: str, role: str, actor: str = SYSTEM) -> tuple[Organizer, str]:
    """Create an organizer with a generated password; returns the organizer and the password."""
    email = normalise_email(email)
    parsed_role = parse_role(role)
    if session.execute(select(Organizer.id).where(Organizer.email == email)).first():
        raise Conflict("email", f"an organizer with email {email} already exists")
    password = generate_password()
    organizer = Organizer(email=email, password_hash=hash_password(password), role=parsed_role.value)
    session.add(organizer)
    session.flush()
    record(session, actor, "organizer.create", "organizer", organizer.id, {"role": parsed_role.value})
    return organizer, password


TOKEN_DAYS = 90  # a token's default life, and the life of tokens made before tokens had one
MAX_TOKEN_DAYS = 366


def _organizer(session: Session, email: str) -> Organizer:
    organizer = session.execute(
        select(Organizer).where(Organizer.email == normalise_email(email))
    ).scalar_one_or_none()
    if organizer is None:
        raise NotFound("email", f"no organizer with email {email}")
    return organizer


def parse_scope(scope: str) -> TokenScope:
    try:
        return TokenScope(scope)
    except ValueError:
        raise InvalidInput("scope", f"unknown scope {scope!r} (read or write)") from None


def create_token(
    session: Session,
    email: str,
    actor: str = SYSTEM,
    *,
    scope: str = TokenScope.WRITE.value,
    days: int = TOKEN_DAYS,
    sandbox: bool = False,
) -> str:
    """A new bearer token (only its hash is kept). A sandbox token acts like any other, but every text
    its requests cause is recorded and never sent: for integrators' tests."""
    organizer = _organizer(session, email)
    parsed = parse_scope(scope)
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput("days", f"must be between 1 and {MAX_TOKEN_DAYS}")
    if not organizer.active:
        raise Conflict("email", f"{organizer.email} is disabled: enable the account first")
    token = generate_token()
    expires_at = utcnow() + timedelta(days=days)
    api_token = ApiToken(
        organizer_id=organizer.id,
        token_hash=token_digest(token),
        scope=parsed.value,
        expires_at=expires_at,
        sandbox=sandbox,
    )
    session.add(api_token)
    session.flush()
    details = {"token_id": api_token.id, "scope": parsed.value, "days": days, "sandbox": sandbox}
    record(session, actor, "token.create", "organizer", organizer.id, details)
    return token


@dataclass(frozen=True)
class TokenInfo:
    id: int
    email: str
    scope: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    sandbox: bool = False

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


def _expiry(token: ApiToken) -> datetime:
    return token.expires_at or token.created_at + timedelta(days=TOKEN_DAYS)


def list_tokens(session: Session, email: str | None = None) -> list[TokenInfo]:
    query = select(ApiToken, Organizer.email).join(Organizer).order_by(ApiToken.id)
    if email:
        query = query.where(Organizer.id == _organizer(session, email).id)
    return [
        TokenInfo(t.id, mail, t.scope, t.created_at, _expiry(t), t.revoked_at, t.sandbox)
        for t, mail in session.execute(query)
    ]


def revoke_token(session: Session, token_id: int, actor: str = SYSTEM) -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("token", f"no token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, actor, "token.revoke", "organizer", token.organizer_id, {"token_id": token.id})


def _end_access(session: Session, organizer: Organizer) -> None:
    """Every session and token of this organizer stops working on its next request."""
    organizer.session_version += 1
    session.execute(
        update(ApiToken)
        .where(ApiToken.organizer_id == organizer.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def disable_organizer(session: Session, email: str, actor: str = SYSTEM) -> None:
    organizer = _organizer(session, email)
    if organizer.disabled_at is None:
        organizer.disabled_at = utcnow()
    _end_access(session, organizer)
    record(session, actor, "organizer.disable", "organizer", organizer.id)


def enable_organizer(session: Session, email: str, actor: str = SYSTEM) -> None:
    """Signing in works again; the sessions and tokens the disable ended stay ended."""
    organizer = _organizer(session, email)
    organizer.disabled_at = None
    record(session, actor, "organizer.enable", "organizer", organizer.id)


async def authenticate(session: AsyncSession, email: str, password: str) -> Organizer | None:
    try:
        email = normalise_email(email)
    except InvalidInput:
        await to_thread.run_sync(check_password, DUMMY_HASH, password)
        return None
    organizer = (
        await session.execute(select(Organizer).where(Organizer.email == email))
    ).scalar_one_or_none()
    # Hashing is deliberately slow; it runs off the event loop so other requests go on meanwhile.
    if organizer is None or not organizer.active:
        await to_thread.run_sync(check_password, DUMMY_HASH, password)
        return None
    matches = await to_thread.run_sync(check_password, organizer.password_hash, password)
    return organizer if matches else None


@dataclass(frozen=True)
class TokenHolder:
    organizer: Organizer
    scope: TokenScope
    sandbox: bool  # its requests' texts are recorded, never sent (engage.sandbox)


async def organizer_for_token(session: AsyncSession, token: str) -> TokenHolder | None:
    """The organizer a live token belongs to, with what the token may do; None when the token is
    unknown, revoked or expired, or its organizer disabled."""
    now = utcnow()
    row = await session.execute(
        select(Organizer, ApiToken.scope, ApiToken.sandbox)
        .join(ApiToken, ApiToken.organizer_id == Organizer.id)
        .where(
            ApiToken.token_hash == token_digest(token),
            ApiToken.revoked_at.is_(None),
            or_(
                ApiToken.expires_at > now,
                ApiToken.expires_at.is_(None) & (ApiToken.created_at > now - timedelta(days=TOKEN_DAYS)),
            ),
        )
    )
    found = row.first()
    if found is None or not found[0].active:
        return None
    return TokenHolder(found[0], TokenScope(found[1]), bool(found[2]))


async def record_login(session: AsyncSession, organizer: Organizer) -> None:
    await record_async(session, f"organizer:{organizer.id}", "organizer.login", "organizer", organizer.id)


def reset_password(session: Session, email: str, actor: str = SYSTEM) -> str:
    """A new password ends every session and token: whoever knew the old one is out."""
    organizer = _organizer(session, email)
    password = generate_password()
    organizer.password_hash = hash_password(password)
    _end_access(session, organizer)
    record(session, actor, "organizer.password_reset", "organizer", organizer.id)
    return password


async def spend_totp_code(session: AsyncSession, organizer: Organizer, code: str) -> bool:
    """Whether `code` is this organizer's current code and not used before; spends it. The update is
    conditional, so two requests racing with one code cannot both pass."""
    if not organizer.totp_secret:
        return False
    step = totp.matching_step(organizer.totp_secret, code, utcnow(), organizer.totp_last_step)
    if step is None:
        return False
    spent = await session.execute(
        update(Organizer)
        .where(
            Organizer.id == organizer.id,
            or_(Organizer.totp_last_step.is_(None), Organizer.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return bool(spent.rowcount)  # type: ignore[attr-defined]


async def enrol_totp(session: AsyncSession, organizer: Organizer, secret: str, code: str) -> bool:
    """Turn the second factor on with `secret` once `code` proves the app shows the right codes. Every
    other session of this organizer ends (they were signed in without it)."""
    step = totp.matching_step(secret, code, utcnow())
    if step is None:
        return False
    organizer.totp_secret = secret
    organizer.totp_last_step = step
    organizer.session_version += 1
    actor = f"organizer:{organizer.id}"
    await record_async(session, actor, "organizer.totp_enrol", "organizer", organizer.id)
    return True


def reset_totp(session: Session, email: str, actor: str = SYSTEM) -> None:
    """For a lost phone: the second factor is removed and every session ends. The organizer enrols
    again at the next sign-in (admins in production must) or from the console."""
    organizer = _organizer(session, email)
    organizer.totp_secret = None
    organizer.totp_last_step = None
    organizer.session_version += 1
    record(session, actor, "organizer.totp_reset", "organizer", organizer.id)
