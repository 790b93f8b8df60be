"""Changing and taking away credentials: passwords, sessions, API tokens, reset links.

Whatever takes a credential away publishes ``user.access_changed`` after the commit
(:mod:`hub.services.revocation`), so console sockets opened with it close with 4401.

Password reset links carry a random 256-bit token; only its SHA-256 is stored
(:class:`hub.models.PasswordReset`), so the database cannot be read for working
links and a link cannot be forged. A link works once, for
``[auth] password_reset_ttl_seconds`` (30 minutes), and setting a password in any
way kills every open link of that user.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth import hash_password_off_loop, token_hash, verify_password_off_loop
from hub.context import Hub
from hub.models import ApiToken, AuthSession, PasswordReset, Role, User
from hub.services.access import Actor, require_role
from hub.services.errors import Conflict, Invalid, NotFound, ServiceError
from hub.services.password_policy import check_password
from hub.services.revocation import publish_access_change

RESET_PREFIX = "sbr_"


class ResetLinkExpired(ServiceError):
    status = 410
    code = "reset_link_expired"


@dataclass(frozen=True)
class Revoked:
    sessions: int
    tokens: int


@dataclass(frozen=True)
class ResetLink:
    user: User
    secret: str
    expires_at: datetime


# -- building blocks (inside the caller's transaction) -----------------------------------
async def revoke_sessions(s: AsyncSession, user_id: int, keep: str | None = None) -> int:
    """End the user's sessions; ``keep`` is the cookie token hash of one to spare."""
    stmt = delete(AuthSession).where(col(AuthSession.user_id) == user_id)
    if keep is not None:
        stmt = stmt.where(col(AuthSession.token_hash) != keep)
    result = await s.exec(stmt)  # type: ignore[call-overload]
    return int(result.rowcount or 0)


async def revoke_tokens(s: AsyncSession, user_id: int, now: datetime) -> int:
    stmt = (
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    result = await s.exec(stmt)  # type: ignore[call-overload]
    return int(result.rowcount or 0)


async def _close_resets(s: AsyncSession, user_id: int, now: datetime) -> None:
    await s.exec(
        update(PasswordReset)  # type: ignore[call-overload]
        .where(col(PasswordReset.user_id) == user_id, col(PasswordReset.used_at).is_(None))
        .values(used_at=now)
    )


async def store_password(
    s: AsyncSession,
    user: User,
    password_hash: str | None,
    now: datetime,
    *,
    keep_session: str | None = None,
    revoke_api_tokens: bool = False,
) -> Revoked:
    """Set (or clear, with None) the hash and end what the old password let in: the
    other sessions, open reset links and, when asked, the API tokens."""
    assert user.id is not None
    user.password_hash = password_hash
    s.add(user)
    sessions = await revoke_sessions(s, user.id, keep_session)
    tokens = await revoke_tokens(s, user.id, now) if revoke_api_tokens else 0
    await _close_resets(s, user.id, now)
    return Revoked(sessions, tokens)


async def ensure_another_admin(hub: Hub, s: AsyncSession, user: User) -> None:
    """409 ``last_admin`` when ``user`` is the only active admin.

    On PostgreSQL the active admins' rows are locked (FOR UPDATE) inside the caller's
    transaction: of two concurrent demotions of the last two admins, the second waits
    for the first, then no longer counts it and is refused. SQLite transactions are
    serialised by the hub's write lock already.
    """
    stmt = select(User.id).where(User.role == Role.admin, col(User.active).is_(True))
    if not hub.db.is_sqlite:
        stmt = stmt.with_for_update()
    admins = set((await s.exec(stmt)).all())
    if not admins - {user.id}:
        raise Conflict(
            f"{user.email} is the last active admin; make someone else an admin first",
            code="last_admin",
        )


# -- changing one's own password -----------------------------------------------------------
class WrongPassword(Invalid):
    """The current password given to confirm a change is wrong (counted by the throttle)."""

    def __init__(self) -> None:
        super().__init__("the current password is not right", code="wrong_password")


async def change_password(
    hub: Hub,
    user_id: int,
    current: str,
    new: str,
    *,
    keep_session: str | None,
    revoke_api_tokens: bool,
) -> Revoked:
    """Self-service change: the current password confirms it is really the user."""
    async with hub.db.session() as s:
        user = await s.get(User, user_id)
    if user is None or not await verify_password_off_loop(user.password_hash, current):
        raise WrongPassword()
    check_password(new, user.email)
    new_hash = await hash_password_off_loop(new)
    async with hub.db.transaction() as s:
        fresh = await s.get(User, user_id, with_for_update=not hub.db.is_sqlite)
        if fresh is None or fresh.password_hash != user.password_hash:
            raise WrongPassword()  # changed meanwhile: the confirmation no longer holds
        revoked = await store_password(
            s, fresh, new_hash, hub.now(), keep_session=keep_session, revoke_api_tokens=revoke_api_tokens
        )
    await publish_access_change(hub, user_id, "password_changed")
    return revoked


# -- API tokens ----------------------------------------------------------------------------
def check_expiry(hub: Hub, expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= hub.now():
        raise Invalid("expires_at must be in the future", code="bad_expiry")


async def list_tokens(
    hub: Hub, actor: Actor, user_id: int, *, cursor: int | None, limit: int, include_revoked: bool
) -> tuple[list[ApiToken], int | None]:
    """A user's tokens, newest first; an admin may list anyone's."""
    if user_id != actor.user_id:
        require_role(actor, Role.admin)
    stmt = select(ApiToken).where(ApiToken.user_id == user_id)
    if not include_revoked:
        stmt = stmt.where(col(ApiToken.revoked_at).is_(None))
    if cursor is not None:
        stmt = stmt.where(col(ApiToken.id) < cursor)
    async with hub.db.session() as s:
        rows = list((await s.exec(stmt.order_by(col(ApiToken.id).desc()).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


async def revoke_token(hub: Hub, actor: Actor, token_id: int) -> ApiToken:
    """Revoke one token: its owner, or an admin. Someone else's token is 404, as if
    it did not exist: token ids are not for guessing at."""
    async with hub.db.transaction() as s:
        token = await s.get(ApiToken, token_id)
        if token is None or (token.user_id != actor.user_id and not actor.is_admin):
            raise NotFound(f"token {token_id} not found", code="token_not_found")
        if token.revoked_at is None:
            token.revoked_at = hub.now()
            s.add(token)
    await publish_access_change(hub, token.user_id, "token_revoked")
    return token


# -- reset links -------------------------------------------------------------------------
async def _new_link(hub: Hub, s: AsyncSession, user: User) -> ResetLink:
    assert user.id is not None
    secret = RESET_PREFIX + secrets.token_urlsafe(32)
    now = hub.now()
    expires = now + timedelta(seconds=hub.settings.auth.password_reset_ttl_seconds)
    s.add(PasswordReset(user_id=user.id, token_hash=token_hash(secret), created_at=now, expires_at=expires))
    # Expired and used links are of no further use: keep the table small.
    await s.exec(delete(PasswordReset).where(col(PasswordReset.expires_at) < now))  # type: ignore[call-overload]
    return ResetLink(user, secret, expires)


async def request_reset(hub: Hub, email: str) -> ResetLink | None:
    """A link for the active account with this email, or None (nothing to tell)."""
    async with hub.db.transaction() as s:
        user = (await s.exec(select(User).where(User.email == email.strip().lower()))).first()
        if user is None or not user.active:
            return None
        return await _new_link(hub, s, user)


async def force_reset(hub: Hub, actor: Actor, user_id: int, *, revoke_api_tokens: bool) -> ResetLink:
    """An admin clears a user's password (every session ends) and gets a link for them."""
    require_role(actor, Role.admin)
    async with hub.db.transaction() as s:
        user = await s.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found", code="user_not_found")
        await store_password(s, user, None, hub.now(), revoke_api_tokens=revoke_api_tokens)
        link = await _new_link(hub, s, user)
    await publish_access_change(hub, user_id, "password_changed")
    return link


async def complete_reset(hub: Hub, secret: str, new_password: str) -> User:
    """Set the password from a link; the link (and any other open one) then dies."""
    expired = ResetLinkExpired("this reset link has expired or was already used; ask for a new one")
    now = hub.now()
    async with hub.db.session() as s:
        found = (
            await s.exec(
                select(PasswordReset, User)
                .join(User, col(User.id) == PasswordReset.user_id)
                .where(PasswordReset.token_hash == token_hash(secret))
            )
        ).first()
    if found is None or found[0].used_at is not None or found[0].expires_at <= now or not found[1].active:
        raise expired
    check_password(new_password, found[1].email)  # before using the link up: a retry may follow
    new_hash = await hash_password_off_loop(new_password)
    async with hub.db.transaction() as s:
        # Locked and re-read: of two uses of one link at the same moment, one wins.
        link = await s.get(PasswordReset, found[0].id, with_for_update=not hub.db.is_sqlite)
        user = await s.get(User, found[1].id)
        if link is None or user is None or link.used_at is not None:
            raise expired
        await store_password(s, user, new_hash, now)
    assert user.id is not None
    await publish_access_change(hub, user.id, "password_changed")
    return user
