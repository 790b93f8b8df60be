"""The signed-in user's own profile: name, language, time zone, notification
settings, and signing out their other sessions. Admins edit others in admin."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, StrictBool

from hub.api.deps import Principal, current_principal, get_hub, session_token_hash
from hub.api.schemas import In
from hub.context import Hub
from hub.services import notifications, profile

router = APIRouter(tags=["profile"])


class NotifyKinds(In):
    """Which notifications you get (omitted kinds keep their setting)."""

    mention: StrictBool | None = None
    assigned: StrictBool | None = None
    transferred: StrictBool | None = None
    offer_missed: StrictBool | None = None
    escalated: StrictBool | None = None
    low_score: StrictBool | None = None


class ProfileOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    language: str
    timezone: str | None
    notify: dict[str, bool]
    browser_notifications: bool


class ProfilePatch(In):
    not_null = ("name", "language", "notify", "browser_notifications")
    name: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, pattern="^(en|ar)$")
    timezone: str | None = Field(default=None, max_length=64, description="IANA zone; null: the browser's")
    notify: NotifyKinds | None = None
    browser_notifications: StrictBool | None = None


class SignedOutOut(BaseModel):
    sessions_revoked: int


def _out(p: profile.Profile) -> ProfileOut:
    u = p.user
    off = set(p.prefs.notify_off or [])
    return ProfileOut(
        id=u.id or 0,
        email=u.email,
        name=u.name,
        role=str(u.role),
        language=u.language,
        timezone=p.prefs.timezone,
        notify={k: k not in off for k in notifications.KINDS},
        browser_notifications=p.prefs.browser_notifications,
    )


@router.get("/profile", response_model=ProfileOut)
async def get_profile(
    principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> ProfileOut:
    return _out(await profile.get_profile(hub, principal.actor))


@router.patch("/profile", response_model=ProfileOut)
async def patch_profile(
    body: ProfilePatch, principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> ProfileOut:
    """Your own: ``bad_name`` (1-200 characters), ``bad_timezone`` (not an IANA zone)."""
    changes = body.model_dump(exclude_unset=True)
    if "notify" in changes:
        changes["notify"] = {k: v for k, v in changes["notify"].items() if v is not None}
    return _out(await profile.update_profile(hub, principal.actor, changes))


@router.post("/profile/sign-out-others", response_model=SignedOutOut)
async def sign_out_others(
    request: Request, principal: Principal = Depends(current_principal), hub: Hub = Depends(get_hub)
) -> SignedOutOut:
    """End every other session of yours (this one stays); their open sockets close."""
    keep = session_token_hash(request, principal)
    return SignedOutOut(sessions_revoked=await profile.sign_out_others(hub, principal.actor, keep))
