"""Sign-in, sign-out, who am I, password change and reset, API tokens."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Query, Request, Response

from hub.api.deps import Principal, current_actor, current_principal, get_hub, session_token_hash
from hub.api.errors import ApiError, ErrorBody
from hub.api.routes_users import user_out
from hub.api.schemas import (
    Id,
    LoginIn,
    MeOut,
    Page,
    PasswordChangedOut,
    PasswordChangeIn,
    Position,
    ResetConfirmIn,
    ResetRequestedOut,
    ResetRequestIn,
    TokenIn,
    TokenInfoOut,
    TokenOut,
)
from hub.auth import SESSION_COOKIE, authenticate, create_api_token, end_session, start_session
from hub.context import Hub
from hub.services import credentials
from hub.services.access import Actor
from hub.services.profile import get_profile
from hub.services.revocation import publish_access_change
from hub.services.staff_mail import Mailer, mail_requested_reset
from hub.throttle import SignInThrottle, address_key

router = APIRouter(prefix="/auth", tags=["auth"])

# Reset requests: per client address a refusal (429); per account the extra requests
# are dropped silently, exactly as for an address nobody has (no answer differs).
RESET_WINDOW_SECONDS = 3600.0
RESET_PER_ADDRESS = 10
RESET_PER_ACCOUNT = 3


def _throttle(request: Request) -> SignInThrottle:
    throttle: SignInThrottle = request.app.state.signin_throttle
    return throttle


def client_address(request: Request) -> str:
    """The TCP peer, or the client a trusted proxy names (hub.middleware)."""
    return request.client.host if request.client else "unknown"


def too_many(wait: float, what: str) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"too many {what}; try again later",
        headers={"Retry-After": str(math.ceil(wait))},
    )


async def _throttled(request: Request, hub: Hub, account: str) -> None:
    """Refuse an address that keeps failing; slow down an account under attack."""
    throttle = _throttle(request)
    verdict = await throttle.check(client_address(request), account, hub.now())
    if verdict.retry_after > 0:
        raise too_many(verdict.retry_after, "failed sign-ins")
    await throttle.hold(verdict)


@router.post("/login", response_model=MeOut)
async def login(body: LoginIn, request: Request, response: Response, hub: Hub = Depends(get_hub)) -> MeOut:
    throttle = _throttle(request)
    await _throttled(request, hub, body.email)
    user = await authenticate(hub, body.email, body.password)
    if user is None:
        await throttle.failed(client_address(request), body.email, hub.now())
        raise ApiError(401, "bad_credentials", "wrong email or password")
    await throttle.succeeded(body.email)
    token, csrf, _expires = await start_session(hub, user)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=hub.settings.auth.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=hub.settings.secure_cookies,
        path="/",
    )
    return MeOut(user=await user_out(hub, user), csrf_token=csrf)


@router.post("/logout", status_code=204)
async def logout(
    request: Request, principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await end_session(hub, cookie)
        assert principal.user.id is not None
        await publish_access_change(hub, principal.user.id, "signed_out")  # that session's sockets close
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=MeOut)
async def me(principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)) -> MeOut:
    profile = await get_profile(hub, principal.actor)
    return MeOut(
        user=await user_out(hub, principal.user),
        csrf_token=principal.csrf_token,
        timezone=profile.prefs.timezone,
    )


# -- password ----------------------------------------------------------------------------
@router.post("/password", response_model=PasswordChangedOut)
async def change_password(
    body: PasswordChangeIn,
    request: Request,
    principal: Principal = Depends(current_principal),
    hub: Hub = Depends(get_hub),
) -> PasswordChangedOut:
    """Change one's own password. Every other session ends (this one stays), and the
    API tokens too with ``revoke_tokens``. A wrong current password counts as a failed
    sign-in: a stolen session cannot be used to guess the password."""
    user = principal.user
    assert user.id is not None
    await _throttled(request, hub, user.email)
    try:
        revoked = await credentials.change_password(
            hub,
            user.id,
            body.current_password,
            body.new_password,
            keep_session=session_token_hash(request, principal),
            revoke_api_tokens=body.revoke_tokens,
        )
    except credentials.WrongPassword:
        await _throttle(request).failed(client_address(request), user.email, hub.now())
        raise
    await _throttle(request).succeeded(user.email)
    return PasswordChangedOut(sessions_revoked=revoked.sessions, tokens_revoked=revoked.tokens)


@router.post("/password-reset", response_model=ResetRequestedOut, status_code=202)
async def request_password_reset(
    body: ResetRequestIn, request: Request, hub: Hub = Depends(get_hub)
) -> ResetRequestedOut:
    """Mail a reset link if the address is an active account's (and mail is set up).
    The answer is the same either way and comes before any lookup: the work happens
    in the background."""
    throttle, now = _throttle(request), hub.now()
    address = address_key(client_address(request))
    wait = await throttle.take("reset-addr", address, RESET_PER_ADDRESS, RESET_WINDOW_SECONDS, now)
    if wait > 0:
        raise too_many(wait, "reset requests")
    email = body.email.strip().lower()
    if await throttle.take("reset-acct", email, RESET_PER_ACCOUNT, RESET_WINDOW_SECONDS, now) == 0:
        mailer: Mailer = request.app.state.staff_mailer
        mailer.spawn(mail_requested_reset(hub, email), "password-reset-mail")
    return ResetRequestedOut()


@router.post(
    "/password-reset/confirm",
    status_code=204,
    responses={410: {"model": ErrorBody, "description": "the link expired or was already used"}},
)
async def confirm_password_reset(body: ResetConfirmIn, hub: Hub = Depends(get_hub)) -> Response:
    """Set a new password with a reset link's token; then sign in as usual."""
    await credentials.complete_reset(hub, body.token, body.new_password)
    return Response(status_code=204)


# -- API tokens ----------------------------------------------------------------------------
@router.post("/tokens", response_model=TokenOut, status_code=201)
async def new_token(
    body: TokenIn, principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> TokenOut:
    assert principal.user.id is not None
    credentials.check_expiry(hub, body.expires_at)
    row, secret = await create_api_token(hub, principal.user.id, body.name, body.expires_at)
    assert row.id is not None
    return TokenOut(
        id=row.id, name=row.name, token=secret, created_at=row.created_at, expires_at=row.expires_at
    )


@router.get("/tokens", response_model=Page[TokenInfoOut])
async def list_tokens(
    user_id: Id | None = Query(default=None, description="another user's tokens (admins)"),
    include_revoked: bool = False,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: Position | None = None,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[TokenInfoOut]:
    """Your API tokens (admins: anyone's with ``user_id``), newest first."""
    assert actor.user_id is not None
    rows, next_cursor = await credentials.list_tokens(
        hub,
        actor,
        user_id if user_id is not None else actor.user_id,
        cursor=cursor,
        limit=limit,
        include_revoked=include_revoked,
    )
    return Page[TokenInfoOut](items=[TokenInfoOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(
    token_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    """Revoke a token (yours; admins: anyone's). Sockets opened with it close."""
    await credentials.revoke_token(hub, actor, token_id)
    return Response(status_code=204)
