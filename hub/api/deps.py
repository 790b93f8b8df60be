"""Request dependencies: the hub, the signed-in principal, CSRF."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Depends, Request

from hub.api.errors import ApiError
from hub.auth import CSRF_HEADER, SESSION_COOKIE, TOKEN_PREFIX, token_hash, token_user
from hub.context import Hub
from hub.models import User
from hub.services.access import Actor, actor_for, actor_of

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


@dataclass(frozen=True)
class Principal:
    user: User
    actor: Actor
    via: str  # "session" or "token"
    csrf_token: str | None = None


async def principal_from_request(hub: Hub, request: Request) -> Principal | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        secret = auth[7:].strip()
        if not secret.startswith(TOKEN_PREFIX):
            return None
        user = await token_user(hub, secret)
        if user is None:
            return None
        async with hub.db.session() as s:
            return Principal(user, await actor_for(s, user), "token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    # Every request and socket command re-reads the credential and the teams; concurrent
    # ones share the read (hub.session_reads).
    found = await hub.session_reads.read(token_hash(cookie))
    if found is None:
        return None
    return Principal(found.user, actor_of(found.user, found.team_ids), "session", found.csrf_token)


async def current_principal(request: Request, hub: Hub = Depends(get_hub)) -> Principal:
    principal = await principal_from_request(hub, request)
    if principal is None:
        raise ApiError(401, "not_authenticated", "sign in first (session cookie or Bearer API token)")
    if principal.via == "session" and request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not principal.csrf_token or not hmac.compare_digest(given.encode(), principal.csrf_token.encode()):
            raise ApiError(403, "csrf_failed", f"missing or wrong {CSRF_HEADER} header")
    request.state.user_id = principal.user.id
    return principal


async def current_actor(principal: Principal = Depends(current_principal)) -> Actor:
    return principal.actor


def session_token_hash(request: Request, principal: Principal) -> str | None:
    """The stored hash of the session this request came with (None for API tokens):
    the one session a password change keeps."""
    cookie = request.cookies.get(SESSION_COOKIE)
    return token_hash(cookie) if principal.via == "session" and cookie else None
