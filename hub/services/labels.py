"""Conversation labels: the admin-managed list (names in English and Arabic, a colour,
an order) and putting them on and taking them off a conversation.

A label's ``key`` is what ``Conversation.tags`` holds: labels and system tags share that
one list (reports break it down by tag). The voice channel's ``callback`` tag is a label
seeded by migration 0011; the channel writes it directly (channels/twilio/store.add_tag),
and system actors here may add any well-formed tag, listed or not. Staff add only active
labels from the list, and remove any tag the conversation carries.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import col, select

from hub.context import Hub
from hub.models import Conversation, Label, Role
from hub.services.access import Actor, require_handler, require_role
from hub.services.conversations import emit_conversation, load_conversation
from hub.services.errors import Conflict, Invalid, NotFound
from hub.services.uow import unit_of_work

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_NAME = 60
#: Labels (and system tags) one conversation may carry.
MAX_PER_CONVERSATION = 10
MAX_TAG = 100  # a tag to remove: anything the conversation may carry (older tags too)


def _field(name: str, code: str, message: str) -> dict[str, Any]:
    """The ``fields`` entry of a validation error, so a form shows it next to the input."""
    return {"fields": [{"field": name, "code": code, "message": message}]}


def _check_key(key: str) -> str:
    if not KEY.match(key or ""):
        message = "key: 1-40 lower-case letters, digits, - or _, starting with a letter or digit"
        raise Invalid(message, code="bad_label_key", extra=_field("key", "bad_label_key", message))
    return key


def _check(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for name in ("name_en", "name_ar"):
        if name in out:
            text = " ".join(str(out[name] or "").split())
            if not text or len(text) > MAX_NAME:
                message = f"{name}: 1-{MAX_NAME} characters"
                raise Invalid(message, code="bad_label_name", extra=_field(name, "bad_label_name", message))
            out[name] = text
    if "color" in out:
        if not COLOR.match(out["color"] or ""):
            message = "color: #rrggbb"
            raise Invalid(message, code="bad_label_color", extra=_field("color", "bad_label_color", message))
        out["color"] = out["color"].lower()
    return out


async def list_labels(hub: Hub, *, active: bool | None = None) -> list[Label]:
    stmt = select(Label)
    if active is not None:
        stmt = stmt.where(Label.active == active)
    stmt = stmt.order_by(col(Label.position), col(Label.key))
    async with hub.db.session() as s:
        return list((await s.exec(stmt)).all())


async def create(hub: Hub, actor: Actor, data: dict[str, Any]) -> Label:
    require_role(actor, Role.admin)
    key = _check_key(data.get("key", ""))
    data = _check(data)
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        if await s.get(Label, key) is not None:
            message = f"label {key} exists"
            raise Conflict(message, code="label_exists", extra=_field("key", "label_exists", message))
        if "position" not in data:
            last = (await s.exec(select(Label.position).order_by(col(Label.position).desc()))).first()
            data["position"] = last + 1 if last is not None else 0
        row = Label(**data, created_at=hub.now(), updated_at=hub.now())
        s.add(row)
        await s.flush()
    return row


async def update(hub: Hub, actor: Actor, key: str, data: dict[str, Any]) -> Label:
    require_role(actor, Role.admin)
    data = _check(data)
    async with unit_of_work(hub, actor.user_id) as uow:
        row = await uow.session.get(Label, key)
        if row is None:
            raise NotFound(f"label {key} not found", code="label_not_found")
        for name, value in data.items():
            setattr(row, name, value)
        row.updated_at = hub.now()
    return row


async def delete(hub: Hub, actor: Actor, key: str) -> None:
    """Remove a label from the list. Conversations keep the tag (history, reports);
    the console shows it as a plain chip, removable like any other."""
    require_role(actor, Role.admin)
    async with unit_of_work(hub, actor.user_id) as uow:
        row = await uow.session.get(Label, key)
        if row is None:
            raise NotFound(f"label {key} not found", code="label_not_found")
        await uow.session.delete(row)


async def add_to_conversation(hub: Hub, actor: Actor, conversation_id: int, key: str) -> Conversation:
    """Put a label on a conversation: its handler or a supervisor of its team. Adding a
    label it already has changes nothing and emits nothing."""
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        conv = await load_conversation(s, conversation_id, for_update=True)
        require_handler(actor, conv)
        if key in conv.tags:
            return conv
        _check_key(key)
        label = await s.get(Label, key)
        if not actor.is_system:
            if label is None:
                raise NotFound(f"label {key} not found", code="label_not_found")
            if not label.active:
                raise Conflict(f"label {key} is inactive", code="label_inactive")
        if len(conv.tags) >= MAX_PER_CONVERSATION:
            raise Conflict(
                f"a conversation carries at most {MAX_PER_CONVERSATION} labels", code="too_many_labels"
            )
        conv.tags = sorted({*conv.tags, key})  # a new list, so the JSON column is written
        conv.updated_at = hub.now()
        emit_conversation(uow, "conversation.updated", conv, reason="labels")
    return conv


async def remove_from_conversation(hub: Hub, actor: Actor, conversation_id: int, key: str) -> Conversation:
    """Take a label (or any tag, such as a handled ``callback``) off a conversation;
    idempotent like adding."""
    async with unit_of_work(hub, actor.user_id) as uow:
        conv = await load_conversation(uow.session, conversation_id, for_update=True)
        require_handler(actor, conv)
        if key not in conv.tags:
            return conv
        conv.tags = [t for t in conv.tags if t != key]
        conv.updated_at = hub.now()
        emit_conversation(uow, "conversation.updated", conv, reason="labels")
    return conv
