"""Sign-in, sign-out, who am I, API tokens."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Request, Response

from hub.api.deps import Principal, current_principal, get_hub
from hub.api.errors import ApiError
from hub.api.routes_users import user_out
from hub.api.schemas import LoginIn, MeOut, TokenIn, TokenOut
from hub.auth import SESSION_COOKIE, authenticate, create_api_token, end_session, start_session
from hub.context import Hub
from hub.services.revocation import publish_access_change

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=MeOut)
async def login(body: LoginIn, request: Request, response: Response, hub: Hub = Depends(get_hub)) -> MeOut:
    limiter = request.app.state.login_limiter
    client = request.client.host if request.client else "unknown"
    keys = [f"email:{body.email.strip().lower()}", f"ip:{client}"]
    wait = limiter.retry_after(keys)
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            "too many failed sign-ins; try again later",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    user = await authenticate(hub, body.email, body.password)
    if user is None:
        limiter.failed(keys)
        raise ApiError(401, "bad_credentials", "wrong email or password")
    limiter.succeeded(keys)
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
    return MeOut(user=await user_out(hub, principal.user), csrf_token=principal.csrf_token)


@router.post("/tokens", response_model=TokenOut, status_code=201)
async def new_token(
    body: TokenIn, principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> TokenOut:
    assert principal.user.id is not None
    row, secret = await create_api_token(hub, principal.user.id, body.name)
    assert row.id is not None
    return TokenOut(id=row.id, name=row.name, token=secret)
