from __future__ import annotations

import re

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from engage.accounts.credentials import (
    DUMMY_HASH,
    check_password,
    generate_password,
    generate_token,
    hash_password,
    token_digest,
)
from engage.accounts.models import ApiToken, Organizer, Role
from engage.audit.services import SYSTEM, record, record_async
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


def create_token(session: Session, email: str, actor: str = SYSTEM) -> str:
    organizer = session.execute(
        select(Organizer).where(Organizer.email == normalise_email(email))
    ).scalar_one_or_none()
    if organizer is None:
        raise NotFound("email", f"no organizer with email {email}")
    token = generate_token()
    api_token = ApiToken(organizer_id=organizer.id, token_hash=token_digest(token))
    session.add(api_token)
    session.flush()
    record(session, actor, "token.create", "organizer", organizer.id, {"token_id": api_token.id})
    return token


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


async def organizer_for_token(session: AsyncSession, token: str) -> Organizer | None:
    row = await session.execute(
        select(Organizer)
        .join(ApiToken, ApiToken.organizer_id == Organizer.id)
        .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
    )
    organizer = row.scalar_one_or_none()
    return organizer if organizer is not None and organizer.active else None


async def record_login(session: AsyncSession, organizer: Organizer) -> None:
    await record_async(session, f"organizer:{organizer.id}", "organizer.login", "organizer", organizer.id)


def reset_password(session: Session, email: str, actor: str = SYSTEM) -> str:
    organizer = session.execute(
        select(Organizer).where(Organizer.email == normalise_email(email))
    ).scalar_one_or_none()
    if organizer is None:
        raise NotFound("email", f"no organizer with email {email}")
    password = generate_password()
    organizer.password_hash = hash_password(password)
    record(session, actor, "organizer.password_reset", "organizer", organizer.id)
    return password
