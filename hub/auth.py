"""Passwords (argon2), browser sessions (cookie + CSRF), API tokens.

Sign-in throttling is in :mod:`hub.throttle`; revoking credentials (password change,
token revocation, resets) in :mod:`hub.services.credentials`.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.models import ApiToken, AuthSession, User

SESSION_COOKIE = "sb_session"
CSRF_HEADER = "x-csrf-token"
TOKEN_PREFIX = "sbt_"
# last_used_at is written at most this often per token: a busy integration costs one
# UPDATE a minute, not one per request.
TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)

_hasher = PasswordHasher()
# Verifying against a real hash when the user does not exist keeps timing flat.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# Argon2 takes ~0.15 s of CPU and 64 MiB by design; on the event loop it would stall
# every socket and request of the process for that long. argon2-cffi releases the GIL,
# so a worker thread does it while the loop goes on.
async def hash_password_off_loop(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def authenticate(hub: Hub, email: str, password: str) -> User | None:
    async with hub.db.session() as s:
        user = (await s.exec(select(User).where(User.email == email.strip().lower()))).first()
    ok = await verify_password_off_loop(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        return None
    return user


async def start_session(hub: Hub, user: User) -> tuple[str, str, datetime]:
    """Returns (cookie token, csrf token, expiry)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = hub.now()
    expires = now + timedelta(seconds=hub.settings.auth.session_ttl_seconds)
    async with hub.db.transaction() as s:
        s.add(
            AuthSession(
                token_hash=token_hash(token),
                user_id=user.id,  # type: ignore[arg-type]
                csrf_token=csrf,
                created_at=now,
                expires_at=expires,
            )
        )
        # Opportunistic clean-up keeps the table small without a scheduler.
        await s.exec(delete(AuthSession).where(col(AuthSession.expires_at) < now))  # type: ignore[call-overload]
    return token, csrf, expires


async def session_user_in(s: AsyncSession, hub: Hub, token: str) -> tuple[User, AuthSession] | None:
    """The active user of an unexpired session cookie, read on the caller's session
    (so a request's credential and team reads share one connection checkout)."""
    row = (
        await s.exec(
            select(User, AuthSession)
            .join(AuthSession, col(AuthSession.user_id) == User.id)
            .where(AuthSession.token_hash == token_hash(token))
        )
    ).first()
    if row is None:
        return None
    user, sess = row
    if sess.expires_at <= hub.now() or not user.active:
        return None
    return user, sess


async def end_session(hub: Hub, token: str) -> None:
    async with hub.db.transaction() as s:
        await s.exec(delete(AuthSession).where(col(AuthSession.token_hash) == token_hash(token)))  # type: ignore[call-overload]


async def create_api_token(
    hub: Hub, user_id: int, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Returns the row and the secret, shown once."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with hub.db.transaction() as s:
        row = ApiToken(
            user_id=user_id,
            name=name,
            token_hash=token_hash(secret),
            created_at=hub.now(),
            expires_at=expires_at,
        )
        s.add(row)
        await s.flush()
    return row, secret


async def token_user(hub: Hub, secret: str) -> User | None:
    """The active user of a token that is neither revoked nor expired."""
    async with hub.db.session() as s:
        row = (
            await s.exec(
                select(User, ApiToken)
                .join(ApiToken, col(ApiToken.user_id) == User.id)
                .where(ApiToken.token_hash == token_hash(secret), col(ApiToken.revoked_at).is_(None))
            )
        ).first()
    if row is None:
        return None
    user, token = row
    now = hub.now()
    if not user.active or (token.expires_at is not None and token.expires_at <= now):
        return None
    await _touch(hub, token, now)
    return user


async def _touch(hub: Hub, token: ApiToken, now: datetime) -> None:
    if token.last_used_at is not None and now - token.last_used_at < TOKEN_TOUCH_INTERVAL:
        return
    stale = now - TOKEN_TOUCH_INTERVAL
    async with hub.db.transaction() as s:
        # The condition, not the check above, decides: of several processes using the
        # same token at once, one writes.
        await s.exec(
            update(ApiToken)  # type: ignore[call-overload]
            .where(
                col(ApiToken.id) == token.id,
                sa.or_(col(ApiToken.last_used_at).is_(None), col(ApiToken.last_used_at) <= stale),
            )
            .values(last_used_at=now)
        )
