"""A staff member's own profile: name, UI language, time zone, notification settings,
and signing out their other sessions. Only the user themself, through these functions;
admins edit other users in admin (``hub.services.users.update_user``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.context import Hub
from hub.events import UserPayload
from hub.models import User, UserPreference
from hub.services import notifications
from hub.services.access import Actor
from hub.services.credentials import revoke_sessions
from hub.services.errors import Invalid, NotFound
from hub.services.revocation import publish_access_change
from hub.services.uow import unit_of_work
from hub.timeutil import zone

MAX_NAME = 200


@dataclass(frozen=True)
class Profile:
    user: User
    prefs: UserPreference


def _field(name: str, code: str, message: str) -> dict[str, Any]:
    return {"fields": [{"field": name, "code": code, "message": message}]}


def _check(changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(changes)
    if "name" in out:
        name = " ".join(str(out["name"] or "").split())
        if not name or len(name) > MAX_NAME:
            message = f"name: 1-{MAX_NAME} characters"
            raise Invalid(message, code="bad_name", extra=_field("name", "bad_name", message))
        out["name"] = name
    if out.get("timezone") is not None:
        try:
            zone(out["timezone"])
        except ValueError:
            message = f"unknown time zone {out['timezone']!r}"
            raise Invalid(
                message, code="bad_timezone", extra=_field("timezone", "bad_timezone", message)
            ) from None
    return out


async def get_profile(hub: Hub, actor: Actor) -> Profile:
    async with hub.db.session() as s:
        user = await s.get(User, actor.user_id)
        if user is None:
            raise NotFound("user not found", code="user_not_found")
        return Profile(user, await notifications.preferences(s, user.id))  # type: ignore[arg-type]


async def update_profile(hub: Hub, actor: Actor, changes: dict[str, Any]) -> Profile:
    """``changes``: ``name``, ``language``, ``timezone`` (IANA or None), ``notify``
    (kind -> on/off; kinds not named keep their setting), ``browser_notifications``."""
    changes = _check(changes)
    me = actor.user_id
    async with unit_of_work(hub, me) as uow:
        s = uow.session
        user = await s.get(User, me)
        if user is None:
            raise NotFound("user not found", code="user_not_found")
        if any(k in changes for k in ("name", "language")):
            for key in ("name", "language"):
                if key in changes:
                    setattr(user, key, changes[key])
            s.add(user)
            uow.emit("user.updated", UserPayload(user_id=me), user_id=me)  # type: ignore[arg-type]
        prefs = await s.get(UserPreference, me)
        if prefs is None:
            prefs = UserPreference(user_id=me, notify_off=[])  # type: ignore[arg-type]
        if "timezone" in changes:
            prefs.timezone = changes["timezone"]
        if "notify" in changes:
            off = set(prefs.notify_off or [])
            for kind, on in changes["notify"].items():
                (off.discard if on else off.add)(kind)
            prefs.notify_off = sorted(k for k in off if k in notifications.KINDS)
        if "browser_notifications" in changes:
            prefs.browser_notifications = bool(changes["browser_notifications"])
        prefs.updated_at = hub.now()
        s.add(prefs)
        await s.flush()
    return Profile(user, prefs)


async def sign_out_others(hub: Hub, actor: Actor, keep_session: str | None) -> int:
    """End every session of the caller but ``keep_session`` (the cookie of this
    request; None with an API token: all of them). Their open sockets close (4401)."""
    assert actor.user_id is not None
    async with hub.db.transaction() as s:
        ended = await revoke_sessions(s, actor.user_id, keep_session)
    await publish_access_change(hub, actor.user_id, "sessions_revoked")
    return ended
