"""Passwords (argon2), browser sessions (cookie + CSRF), API tokens, sign-in limits."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import deque
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, delete, select

from hub.context import Hub
from hub.models import ApiToken, AuthSession, User

SESSION_COOKIE = "sb_session"
CSRF_HEADER = "x-csrf-token"
TOKEN_PREFIX = "sbt_"

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


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def authenticate(hub: Hub, email: str, password: str) -> User | None:
    async with hub.db.session() as s:
        user = (await s.exec(select(User).where(User.email == email.strip().lower()))).first()
    ok = verify_password(user.password_hash if user else None, password)
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


async def session_user(hub: Hub, token: str) -> tuple[User, AuthSession] | None:
    async with hub.db.session() as s:
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


async def create_api_token(hub: Hub, user_id: int, name: str) -> tuple[ApiToken, str]:
    """Returns the row and the secret, shown once."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with hub.db.transaction() as s:
        row = ApiToken(user_id=user_id, name=name, token_hash=token_hash(secret), created_at=hub.now())
        s.add(row)
        await s.flush()
    return row, secret


async def token_user(hub: Hub, secret: str) -> User | None:
    async with hub.db.session() as s:
        row = (
            await s.exec(
                select(User, ApiToken)
                .join(ApiToken, col(ApiToken.user_id) == User.id)
                .where(ApiToken.token_hash == token_hash(secret), col(ApiToken.revoked_at).is_(None))
            )
        ).first()
    if row is None or not row[0].active:
        return None
    return row[0]


class LoginRateLimiter:
    """Sliding window of failed sign-ins per key (account and client address).

    Kept in process memory: with several hub processes each enforces its own window,
    so the effective limit is at most N × processes — acceptable for brute-force
    protection; see docs/architecture.md.
    """

    def __init__(self, max_attempts: int, window_seconds: float) -> None:
        self.max_attempts = max_attempts
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, keys: list[str], now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        worst = 0.0
        for key in keys:
            q = self._prune(key, now)
            if len(q) >= self.max_attempts:
                worst = max(worst, q[0] + self.window - now)
        return worst

    def failed(self, keys: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key in keys:
            self._prune(key, now).append(now)
        if len(self._failures) > 100_000:  # bound memory under a spray attack
            self._failures.clear()

    def succeeded(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)
