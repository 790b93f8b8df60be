"""A customer's data rights (admins): everything stored about them, and erasure.

Erasure keeps the shape of the history and drops the person: the contact row stays
(an anonymous shell with ``erased_at``) so conversation counts, service levels and
reports still add up, but its name, notes, tags, fields and identities go; every
message of their conversations keeps its direction, channel, times and provider id
(so an old provider retry is still recognised as a duplicate and recreates nothing)
and loses its body, subject, attachments (files deleted) and raw provider payload;
event-log payloads of those conversations and of the contact lose the same fields.
The erasure itself is recorded (``contact.erased``, with who did it, nothing else).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.encoders import jsonable_encoder
from sqlmodel import col, select

from hub.context import Hub
from hub.events import ContactPayload, public_payload
from hub.files import attachment_roots
from hub.models import (
    Complaint,
    ComplaintEntry,
    Contact,
    ContactFigures,
    Conversation,
    EventLog,
    Identity,
    Message,
    Role,
    SurveyRequest,
)
from hub.projections import core
from hub.services import consent, notifications
from hub.services.access import Actor, require_role
from hub.services.errors import Conflict, NotFound
from hub.services.uow import unit_of_work

# Event payload keys that can carry what a person wrote or who they are.
_PERSONAL_KEYS = ("body", "subject", "attachments", "changes", "error", "provider_message_id", "comment")
ERASED_NAME = ""
# Complaint fields that hold what the customer or staff wrote about them.
_COMPLAINT_TEXTS = ("description", "resolution", "remedy", "product_ref")


async def export_contact(hub: Hub, actor: Actor, contact_id: int) -> dict[str, Any]:
    """Everything stored about one contact, as JSON-ready data (attachments listed)."""
    require_role(actor, Role.admin)
    async with hub.db.session() as s:
        contact = await s.get(Contact, contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} not found")
        identities = (await s.exec(select(Identity).where(Identity.contact_id == contact_id))).all()
        convs = (
            await s.exec(
                select(Conversation)
                .where(Conversation.contact_id == contact_id)
                .order_by(col(Conversation.id))
            )
        ).all()
        conv_ids = [c.id for c in convs]
        messages = (
            await s.exec(
                select(Message).where(col(Message.conversation_id).in_(conv_ids)).order_by(col(Message.id))
            )
        ).all()
        figures = await s.get(ContactFigures, contact_id)
        consent_rows = await consent.rows_for(s, contact_id)
        complaints = (
            await s.exec(
                select(Complaint).where(Complaint.contact_id == contact_id).order_by(col(Complaint.id))
            )
        ).all()
        entries = (
            await s.exec(
                select(ComplaintEntry)
                .where(col(ComplaintEntry.complaint_id).in_([c.id for c in complaints]))
                .order_by(col(ComplaintEntry.id))
            )
        ).all()
        surveys = (
            await s.exec(
                select(SurveyRequest)
                .where(SurveyRequest.contact_id == contact_id)
                .order_by(col(SurveyRequest.id))
            )
        ).all()
        events = (
            await s.exec(
                select(EventLog)
                .where(sa.or_(col(EventLog.conversation_id).in_(conv_ids), _about_contact(contact_id, hub)))
                .order_by(col(EventLog.id))
            )
        ).all()
    async with unit_of_work(hub, actor.user_id) as uow:
        uow.emit("contact.exported", ContactPayload(contact_id=contact_id, reason="privacy export"))
    return {
        "contact": _row(contact),
        "identities": [_row(i) for i in identities],
        "figures": _row(figures) if figures else None,
        "consent": [_row(r) for r in consent_rows],
        "conversations": [_row(c) for c in convs],
        "complaints": [_row(c, exclude=("attachments",)) for c in complaints],
        "complaint_history": [_row(e, exclude=("attachments",)) for e in entries],
        "surveys": [_row(r, exclude=("token",)) for r in surveys],
        "messages": [
            {
                **_row(m, exclude=("raw", "attachments")),
                "attachments": [
                    {k: a.get(k) for k in ("filename", "content_type", "size")} for a in (m.attachments or [])
                ],
            }
            for m in messages
        ],
        "events": [
            {
                "id": e.id,
                "type": e.type,
                "ts": e.ts.isoformat(),
                "actor_id": e.actor_id,
                "payload": public_payload(e.payload),
            }
            for e in events
        ],
        "exported_at": hub.now().isoformat(),
    }


def _row(obj: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A stored row as JSON-ready data, column by column."""
    table = obj.__table__
    return jsonable_encoder({c.name: getattr(obj, c.name) for c in table.columns if c.name not in exclude})


def _about_contact(contact_id: int, hub: Hub) -> Any:
    """Event-log rows whose payload names this contact (contact.* events)."""
    payload = EventLog.__table__.c.payload  # type: ignore[attr-defined]
    return sa.or_(
        sa.and_(
            col(EventLog.type).like("contact.%"),
            sa.or_(
                payload["contact_id"].as_integer() == contact_id,
                payload["source_id"].as_integer() == contact_id,
                payload["target_id"].as_integer() == contact_id,
            ),
        ),
        # Complaints and survey answers name the contact in their payload.
        sa.and_(
            sa.or_(col(EventLog.type).like("complaint.%"), col(EventLog.type).like("survey.%")),
            payload["contact_id"].as_integer() == contact_id,
        ),
    )


async def erase_contact(hub: Hub, actor: Actor, contact_id: int) -> Contact:
    require_role(actor, Role.admin)
    files: list[str] = []
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        contact = await s.get(Contact, contact_id, with_for_update=True)
        if contact is None:
            raise NotFound(f"contact {contact_id} not found")
        if contact.erased_at is not None:
            raise Conflict("this contact was already erased", code="already_erased")
        now = hub.now()
        contact.name, contact.notes, contact.tags, contact.attributes = ERASED_NAME, "", [], {}
        contact.language = contact.timezone = None
        contact.vip = False
        contact.erased_at = contact.updated_at = now
        s.add(contact)
        await core(s, sa.delete(Identity).where(col(Identity.contact_id) == contact_id))
        convs = (await s.exec(select(Conversation).where(Conversation.contact_id == contact_id))).all()
        conv_ids = [c.id for c in convs]
        for conv in convs:
            conv.contact_address = ""
            conv.subject = ""
            conv.csat_comment = None
            conv.updated_at = now
            s.add(conv)
        messages = (await s.exec(select(Message).where(col(Message.conversation_id).in_(conv_ids)))).all()
        for m in messages:
            files += [str(a["path"]) for a in (m.attachments or []) if isinstance(a, dict) and a.get("path")]
            m.body, m.subject, m.attachments, m.raw, m.meta, m.error = "", "", [], {}, {}, None
            s.add(m)
        await notifications.scrub_conversations(s, [c for c in conv_ids if c is not None])
        complaints = (await s.exec(select(Complaint).where(Complaint.contact_id == contact_id))).all()
        for c in complaints:
            files += [str(a["path"]) for a in (c.attachments or []) if isinstance(a, dict) and a.get("path")]
            c.description = c.resolution = c.remedy = c.product_ref = ""
            c.attachments = []
            c.updated_at = now
            s.add(c)
        for entry in (
            await s.exec(
                select(ComplaintEntry).where(col(ComplaintEntry.complaint_id).in_([c.id for c in complaints]))
            )
        ).all():
            files += [
                str(a["path"]) for a in (entry.attachments or []) if isinstance(a, dict) and a.get("path")
            ]
            entry.body, entry.attachments = "", []
            entry.changes = {k: v for k, v in (entry.changes or {}).items() if k not in _COMPLAINT_TEXTS}
            s.add(entry)
        for req in (await s.exec(select(SurveyRequest).where(SurveyRequest.contact_id == contact_id))).all():
            req.comment = None
            s.add(req)
        # Consent stays (an opt-out is what must be remembered); its free-text notes go.
        for row in await consent.rows_for(s, contact_id):
            row.note = None
            s.add(row)
        events = (
            await s.exec(
                select(EventLog).where(
                    sa.or_(col(EventLog.conversation_id).in_(conv_ids), _about_contact(contact_id, hub))
                )
            )
        ).all()
        for e in events:
            scrubbed = {k: v for k, v in (e.payload or {}).items() if k not in _PERSONAL_KEYS}
            if scrubbed != e.payload:
                e.payload = scrubbed
                s.add(e)
        uow.emit("contact.erased", ContactPayload(contact_id=contact_id, reason="erased"))
    await asyncio.to_thread(_delete_files, hub, files)
    return contact


def _delete_files(hub: Hub, paths: list[str]) -> None:
    roots = attachment_roots(hub)
    for raw in paths:
        with contextlib.suppress(OSError, ValueError):
            path = Path(raw).resolve()
            if any(path.is_relative_to(root) for root in roots):
                path.unlink(missing_ok=True)
