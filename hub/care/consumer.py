"""The care consumer: what the hub does by itself after a fact is committed.

A reactor on the event log (:class:`hub.projections.Reactor`): each event is acted on
once, in the transaction that moves its checkpoint, however many hub processes run.

- ``conversation.resolved`` → schedule the team's satisfaction survey for the channel.
- ``message.received`` from a customer:
  - ``status C-2026-000123`` / ``حالة …`` / ``status`` → the automatic status answer,
    for that customer's own complaints only;
  - a complaint keyword ("complaint", "شكوى") → a complaint linked to the conversation,
    acknowledged on the channel with its reference (unless one is already open on it).
- Timers, as rows with a due time: surveys to send or expire, complaints to escalate
  or to close at the end of their reopening period.

Nothing here runs inside a provider's webhook: ingest only stores the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.care import parse
from hub.care.outbound import system_message
from hub.context import Hub
from hub.models import (
    OPEN_COMPLAINT,
    Complaint,
    ComplaintConversation,
    Contact,
    Conversation,
    Message,
    SurveyRequest,
)
from hub.projections import LoggedEvent
from hub.services import complaints, surveys
from hub.services.access import SYSTEM
from hub.services.uow import UnitOfWork

_ARABIC = range(0x0600, 0x0700)


def _writes_arabic(text: str) -> bool:
    return any(ord(ch) in _ARABIC for ch in text)


class CareConsumer:
    name = "care"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def apply(self, uow: UnitOfWork, events: Sequence[LoggedEvent], now: datetime) -> None:
        for e in events:
            if e.type == "conversation.resolved" and e.conversation_id is not None:
                await surveys.after_resolution(self.hub, uow, e.conversation_id, now)
            elif (
                e.type == "message.received"
                and e.payload.get("author_type") == "contact"
                and e.conversation_id is not None
            ):
                await self._customer_wrote(uow, e, now)

    async def _customer_wrote(self, uow: UnitOfWork, e: LoggedEvent, now: datetime) -> None:
        body = str(e.payload.get("body") or "")
        care = self.hub.settings.care
        request = parse.parse_status_request(body, care.status_keywords)
        if request is None and not parse.contains_keyword(body, care.complaint_keywords):
            return
        s = uow.session
        conv = await s.get(Conversation, e.conversation_id)
        if conv is None:
            return
        contact = await s.get(Contact, conv.contact_id)
        if contact is None or contact.id is None:
            return
        if request is not None:
            language = "ar" if _writes_arabic(body) else (contact.language or conv.language)
            answer = await complaints.status_answer(
                s,
                contact.id,
                request.reference,
                language,
                contact.timezone,  # type: ignore[arg-type]
            )
            if conv.channel in self.hub.channels:
                await system_message(uow, conv, answer, now, meta={"status_answer": True})
            return
        if await self._has_open_complaint(s, conv.id):  # type: ignore[arg-type]
            return
        message = await s.get(Message, e.payload.get("message_id"))
        if message is not None and (message.meta or {}).get("complaint_form"):
            return  # the widget's complaint form opens its own (hub.services.complaints)
        await complaints.open_in(
            self.hub,
            uow,
            SYSTEM,
            complaints.NewComplaint(
                conversation_id=conv.id,
                description=body[: complaints.TEXT_LIMITS["description"]],
                language="ar" if _writes_arabic(body) else None,
            ),
            source="keyword",
        )

    async def _has_open_complaint(self, s: AsyncSession, conversation_id: int) -> bool:
        row = (
            await s.exec(
                select(Complaint.id)
                .join(ComplaintConversation, col(ComplaintConversation.complaint_id) == Complaint.id)
                .where(
                    ComplaintConversation.conversation_id == conversation_id,
                    col(Complaint.status).in_(OPEN_COMPLAINT),
                )
            )
        ).first()
        return row is not None

    # -- timers ----------------------------------------------------------------------------
    async def fire_due(self, uow: UnitOfWork, now: datetime, limit: int) -> int:
        s = uow.session
        survey_ids = list(
            (
                await s.exec(
                    select(SurveyRequest.id)
                    .where(col(SurveyRequest.due_at) <= now)
                    .order_by(col(SurveyRequest.due_at))
                    .limit(limit)
                )
            ).all()
        )
        if survey_ids:
            await surveys.fire_due(self.hub, uow, [i for i in survey_ids if i is not None], now)
        complaint_ids = list(
            (
                await s.exec(
                    select(Complaint.id)
                    .where(col(Complaint.due_at) <= now)
                    .order_by(col(Complaint.due_at))
                    .limit(limit)
                )
            ).all()
        )
        if complaint_ids:
            await complaints.fire_due(self.hub, uow, [i for i in complaint_ids if i is not None], now)
        return max(len(survey_ids), len(complaint_ids))

    def next_due_columns(self, now: datetime) -> list[Any]:
        return [
            select(sa.func.min(SurveyRequest.due_at)).scalar_subquery(),
            select(sa.func.min(Complaint.due_at)).scalar_subquery(),
        ]
