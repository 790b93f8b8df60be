"""Canned responses: team-specific or global, per language, found by /shortcut."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from hub.context import Hub
from hub.models import CannedResponse, Contact, Conversation, Role, Team
from hub.services import templating
from hub.services.access import Actor, require_role, require_view
from hub.services.contacts import load_visible_contact
from hub.services.errors import Conflict, Forbidden, Invalid, NotFound
from hub.services.uow import unit_of_work

SHORTCUT = re.compile(r"^[\w\-]{1,64}$", re.UNICODE)
LANGUAGES = ("en", "ar")


def visible_clause(actor: Actor) -> Any:
    if actor.is_admin:
        return sa.true()
    teams = sorted(actor.team_ids)
    return sa.or_(col(CannedResponse.team_id).is_(None), col(CannedResponse.team_id).in_(teams))


async def search(
    hub: Hub, actor: Actor, q: str = "", language: str | None = None, limit: int = 20, *, offset: int = 0
) -> list[CannedResponse]:
    stmt = select(CannedResponse).where(visible_clause(actor))
    if q:
        needle = q.strip().lstrip("/").lower()
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(col(CannedResponse.shortcut)).startswith(needle),
                sa.func.lower(col(CannedResponse.title)).contains(needle),
            )
        )
    stmt = stmt.order_by(col(CannedResponse.shortcut), col(CannedResponse.id))
    async with hub.db.session() as s:
        if not language:
            return list((await s.exec(stmt.offset(offset).limit(limit))).all())
        # A row written in another language still answers when it has a variant in
        # this one (JSON keys are not portably queryable: filtered here, bounded).
        rows = (await s.exec(stmt.limit(max((offset + limit) * 5, 200)))).all()
    return [r for r in rows if r.language == language or (r.variants or {}).get(language)][
        offset : offset + limit
    ]


def pick(row: CannedResponse, language: str | None) -> tuple[str, str]:
    """(language, body) of the variant for ``language``, else the row's own body."""
    if language and language != row.language:
        body = (row.variants or {}).get(language)
        if body:
            return language, body
    return row.language, row.body


def _check(data: dict[str, Any], language: str) -> None:
    if "shortcut" in data and not SHORTCUT.match(data["shortcut"] or ""):
        raise Invalid("shortcut must be 1-64 letters, digits, - or _", code="bad_shortcut")
    if "body" in data and not (data["body"] or "").strip():
        raise Invalid("body must not be empty", code="empty_body")
    if data.get("variants") is not None:
        # Empty variants are dropped; the row's own language is its body, not a variant.
        variants = {k: v.strip() for k, v in data["variants"].items() if (v or "").strip()}
        if language in variants or any(k not in LANGUAGES for k in variants):
            raise Invalid(
                f"variants are the bodies in the languages other than {language!r}",
                code="bad_variant",
                extra={
                    "fields": [{"field": "body.variants", "code": "bad_variant", "message": "bad variant"}]
                },
            )
        data["variants"] = variants


async def _team_exists(s: Any, team_id: int | None) -> None:
    if team_id is not None and await s.get(Team, team_id) is None:
        raise NotFound(f"team {team_id} not found", code="team_not_found")


async def create(hub: Hub, actor: Actor, data: dict[str, Any]) -> CannedResponse:
    require_role(actor, Role.supervisor)
    _check(data, data.get("language") or "en")
    if data.get("team_id") is not None and not actor.is_admin and data["team_id"] not in actor.team_ids:
        raise Forbidden("supervisors manage canned responses of their own teams", code="not_your_team")
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        await _team_exists(s, data.get("team_id"))
        clash = await s.exec(
            select(CannedResponse.id).where(
                CannedResponse.shortcut == data["shortcut"],
                CannedResponse.language == data.get("language", "en"),
            )
        )
        if clash.first() is not None:
            raise Conflict(f"/{data['shortcut']} exists for that language", code="shortcut_taken")
        row = CannedResponse(**data, created_by=actor.user_id, created_at=hub.now(), updated_at=hub.now())
        s.add(row)
        await s.flush()
    return row


async def update(hub: Hub, actor: Actor, canned_id: int, data: dict[str, Any]) -> CannedResponse:
    require_role(actor, Role.supervisor)
    async with unit_of_work(hub, actor.user_id) as uow:
        row = await uow.session.get(CannedResponse, canned_id)
        if row is None:
            raise NotFound(f"canned response {canned_id} not found")
        if not actor.is_admin and row.team_id not in actor.team_ids:
            raise Forbidden("supervisors manage canned responses of their own teams", code="not_your_team")
        _check(data, data.get("language") or row.language)
        if "language" in data and "variants" not in data and data["language"] in (row.variants or {}):
            # Switching the language to a variant's: that variant would shadow nothing.
            data["variants"] = {k: v for k, v in row.variants.items() if k != data["language"]}
        # Moving it is a write into the target team too: the same check as on create.
        if "team_id" in data and not actor.is_admin and data["team_id"] not in actor.team_ids:
            raise Forbidden("supervisors manage canned responses of their own teams", code="not_your_team")
        await _team_exists(uow.session, data.get("team_id"))
        for key, value in data.items():
            setattr(row, key, value)
        row.updated_at = hub.now()
    return row


async def delete(hub: Hub, actor: Actor, canned_id: int) -> None:
    require_role(actor, Role.supervisor)
    async with unit_of_work(hub, actor.user_id) as uow:
        row = await uow.session.get(CannedResponse, canned_id)
        if row is None:
            raise NotFound(f"canned response {canned_id} not found")
        if not actor.is_admin and row.team_id not in actor.team_ids:
            raise Forbidden("supervisors manage canned responses of their own teams", code="not_your_team")
        await uow.session.delete(row)


async def preview(
    hub: Hub,
    actor: Actor,
    canned_id: int,
    *,
    conversation_id: int | None = None,
    contact_id: int | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """The canned answer as it would read in this conversation (or to this contact):
    the variant for its language, variables filled (hub.services.templating)."""
    async with hub.db.session() as s:
        conv: Conversation | None = None
        contact: Contact | None = None
        if conversation_id is not None:
            conv = await s.get(Conversation, conversation_id)
            if conv is None:
                raise NotFound(f"conversation {conversation_id} not found")
            require_view(actor, conv)
            contact = await s.get(Contact, conv.contact_id)
        elif contact_id is not None:
            contact = await load_visible_contact(s, actor, contact_id)
        found = await s.exec(
            select(CannedResponse).where(CannedResponse.id == canned_id, visible_clause(actor))
        )
        row = found.first()
        if row is None:
            raise NotFound(f"canned response {canned_id} not found")
        values = await templating.values_for(s, agent_id=actor.user_id, contact=contact, conversation=conv)
    # The conversation's language, else the customer's; the other variant otherwise.
    wanted = (
        language or (conv.language if conv is not None else None) or (contact.language if contact else None)
    )
    used, body = pick(row, (wanted or "")[:2] or None)
    out = templating.render(body, values)
    return {
        "canned_id": row.id,
        "language": used,
        "text": out.text,
        "segments": [seg.as_dict() for seg in out.segments],
        "unknown": out.unknown,
        "missing": out.missing,
    }


async def variables(hub: Hub) -> list[str]:
    """Every name a canned answer may use (the admin page lists them)."""
    async with hub.db.session() as s:
        return templating.variable_names(await templating.custom_keys(s))
