"""Variables in canned answers: ``{{contact.name}}``, with a fallback ``{{contact.name | "there"}}``.

One renderer for every place that fills a template (the console's preview, the
composer, anything later). A template is text with placeholders, never code: a
placeholder is looked up by name in a table of known values and its value inserted as
text. Anything else between braces stays as written, so the agent sees it and the
console can mark it.

Known names: ``contact.name``, ``contact.first_name``, ``agent.name``, ``team.name``,
``conversation.reference`` (the latest complaint reference of the conversation) and
``contact.custom.<key>`` for every defined custom field (hub.crm.fields).
Campaigns add ``coupon``, ``campaign.name`` and ``unsubscribe_url`` (hub.campaigns.render).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import Complaint, ComplaintConversation, Contact, ContactField, Conversation, Team, User

CORE_VARIABLES = (
    "contact.name",
    "contact.first_name",
    "agent.name",
    "team.name",
    "conversation.reference",
)
CUSTOM_PREFIX = "contact.custom."
MAX_VALUE = 1000  # one inserted value (custom text fields are bounded to this too)
# {{ name }} or {{ name | "fallback" }}; a name is dotted words. Nothing else is read.
PLACEHOLDER = re.compile(
    r"\{\{\s*([A-Za-z_][\w\-]*(?:\.[\w\-]+){0,4})\s*(?:\|\s*\"([^\"\n{}]{0,200})\"\s*)?\}\}"
)

Status = Literal["text", "filled", "fallback", "missing", "unknown"]


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of the output: plain text, or what a placeholder became."""

    text: str
    status: Status = "text"
    variable: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "status": self.status, "variable": self.variable}


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    segments: list[Segment] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # names nobody knows: left as written
    missing: list[str] = field(default_factory=list)  # known names without a value here


def variable_names(custom_keys: Iterable[str]) -> list[str]:
    return [*CORE_VARIABLES, *(f"{CUSTOM_PREFIX}{k}" for k in sorted(custom_keys))]


def render(template: str, values: Mapping[str, str | None]) -> Rendered:
    """Fill ``template``. ``values`` holds every known name (None or "" when this
    conversation has no value for it); names not in it are unknown."""
    segments: list[Segment] = []
    unknown: list[str] = []
    missing: list[str] = []
    pos = 0
    for m in PLACEHOLDER.finditer(template):
        if m.start() > pos:
            segments.append(Segment(template[pos : m.start()]))
        name, fallback = m.group(1), m.group(2)
        if name not in values:
            segments.append(Segment(m.group(0), "unknown", name))
            if name not in unknown:
                unknown.append(name)
        else:
            value = (values[name] or "").strip()
            if value:
                segments.append(Segment(value[:MAX_VALUE], "filled", name))
            elif fallback is not None:
                segments.append(Segment(fallback, "fallback", name))
            else:
                segments.append(Segment("", "missing", name))
                if name not in missing:
                    missing.append(name)
        pos = m.end()
    if pos < len(template):
        segments.append(Segment(template[pos:]))
    return Rendered("".join(s.text for s in segments), segments, unknown, missing)


def _text(value: Any) -> str | None:
    """A stored custom-field value as text (lists joined, booleans as yes/no)."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Campaigns (hub.campaigns.render) fill the same placeholders for many contacts at once.
text_value = _text


async def values_for(
    s: AsyncSession,
    *,
    agent_id: int | None,
    contact: Contact | None = None,
    conversation: Conversation | None = None,
    team_id: int | None = None,
) -> dict[str, str | None]:
    """Every known name and its value for this contact, conversation and agent."""
    if contact is None and conversation is not None:
        contact = await s.get(Contact, conversation.contact_id)
    agent = await s.get(User, agent_id) if agent_id is not None else None
    team_id = conversation.team_id if conversation is not None and team_id is None else team_id
    team = await s.get(Team, team_id) if team_id is not None else None
    name = (contact.name if contact is not None and contact.erased_at is None else "") or ""
    values: dict[str, str | None] = {
        "contact.name": name or None,
        "contact.first_name": (name.split()[0] if name.split() else None),
        "agent.name": agent.name if agent is not None else None,
        "team.name": team.name if team is not None else None,
        "conversation.reference": await _reference(s, conversation) if conversation is not None else None,
    }
    attributes = (contact.attributes or {}) if contact is not None else {}
    for key in (await s.exec(select(ContactField.key))).all():
        values[f"{CUSTOM_PREFIX}{key}"] = _text(attributes.get(key))
    return values


async def _reference(s: AsyncSession, conversation: Conversation) -> str | None:
    row = await s.exec(
        select(Complaint.reference)
        .join(ComplaintConversation, col(ComplaintConversation.complaint_id) == Complaint.id)
        .where(ComplaintConversation.conversation_id == conversation.id)
        .order_by(col(Complaint.id).desc())
        .limit(1)
    )
    return row.first()


async def custom_keys(s: AsyncSession) -> list[str]:
    return sorted((await s.exec(select(ContactField.key))).all())
