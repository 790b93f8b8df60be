"""Abandonment: the customer left before any agent answered (docs/reports.md).

Three ways, one record (``conversation.abandoned_at`` and a ``conversation.abandoned``
event, which the reports fold counts):

- a **caller hangs up in the queue** (the voice channel's status callback): recorded at
  once; the conversation stays open as the callback task it already becomes;
- a **web-chat visitor is gone**: when the last socket or poll of a waiting
  conversation goes, the widget gateway sets ``abandon_due_at``; coming back clears it;
- a **messaging customer falls silent** (SMS, WhatsApp, Telegram) for
  ``[reports] messaging_abandon_after_minutes`` while nobody has taken the conversation.

The last two close the conversation (status ``abandoned``: out of the queue; the
customer's next message opens a new one). Their timers are rows, fired by the routing
leader's tick (like snoozes), so with several hub processes each fires once.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from hub.context import Hub
from hub.models import Conversation, ConversationStatus
from hub.services.batch_rows import conversation_payload
from hub.services.uow import UnitOfWork, unit_of_work
from hub.timeutil import ensure_utc

WAITING = (ConversationStatus.queued, ConversationStatus.offered)
# Closed by a timer only while nobody is being offered it (an agent may be taking it).
CLOSABLE = (ConversationStatus.queued,)
MESSAGING = ("sms", "whatsapp", "telegram")
BATCH = 200


def _unanswered(conv: Conversation) -> bool:
    return conv.first_assigned_at is None and conv.abandoned_at is None and conv.status in WAITING


def _record(uow: UnitOfWork, conv: Conversation, reason: str, *, close: bool) -> None:
    now = uow.hub.now()
    since = ensure_utc(conv.queued_at or conv.created_at)
    waited = max(0.0, (now - since).total_seconds())
    late = conv.sla_due_at is not None and now > ensure_utc(conv.sla_due_at)
    conv.abandoned_at = now
    conv.abandon_due_at = None
    conv.updated_at = now
    if close:
        conv.status = ConversationStatus.abandoned
        conv.resolved_at = now
    uow.emit(
        "conversation.abandoned",
        conversation_payload(conv, reason=reason, waited_seconds=round(waited, 3), late=late),
        conversation_id=conv.id,
        team_id=conv.team_id,
        user_id=None,
    )


async def caller_hung_up(hub: Hub, conversation_id: int) -> bool:
    """The caller left the queue unanswered; the conversation stays a callback task."""
    async with unit_of_work(hub) as uow:
        conv = (
            await uow.session.exec(
                select(Conversation).where(Conversation.id == conversation_id).with_for_update()
            )
        ).first()
        if conv is None or not _unanswered(conv):
            return False
        _record(uow, conv, "caller_hung_up", close=False)
    return True


async def set_visitor_gone(hub: Hub, conversation_ids: list[int], after_seconds: float) -> None:
    """The web-chat visitor's last connection went: abandoned unless they come back."""
    if not conversation_ids:
        return
    due = hub.now() + timedelta(seconds=after_seconds)
    async with hub.db.transaction() as s:
        await s.exec(
            sa.update(Conversation)  # type: ignore[call-overload]
            .where(
                col(Conversation.id).in_(conversation_ids),
                col(Conversation.status).in_(CLOSABLE),
                col(Conversation.first_assigned_at).is_(None),
                col(Conversation.abandoned_at).is_(None),
            )
            .values(abandon_due_at=due)
        )


async def clear_visitor_gone(hub: Hub, conversation_ids: list[int]) -> None:
    """The visitor is back: no abandonment timer."""
    if not conversation_ids:
        return
    async with hub.db.transaction() as s:
        await s.exec(
            sa.update(Conversation)  # type: ignore[call-overload]
            .where(col(Conversation.id).in_(conversation_ids), col(Conversation.abandon_due_at).is_not(None))
            .values(abandon_due_at=None)
        )


async def abandon_due(hub: Hub) -> list[int]:
    """Close the waiting conversations whose customer is gone (web chat) or silent
    (messaging, when configured). Returns their ids."""
    now = hub.now()
    done: list[int] = []
    after = hub.settings.reports.messaging_abandon_after_minutes
    conditions = [col(Conversation.abandon_due_at) <= now]
    if after > 0:
        conditions.append(
            sa.and_(
                col(Conversation.channel).in_(MESSAGING),
                col(Conversation.last_inbound_at) <= now - timedelta(minutes=after),
            )
        )
    async with unit_of_work(hub) as uow:
        stmt = (
            select(Conversation)
            .where(
                col(Conversation.status).in_(CLOSABLE),
                col(Conversation.first_assigned_at).is_(None),
                col(Conversation.abandoned_at).is_(None),
                sa.or_(*conditions),
            )
            .order_by(col(Conversation.id))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        for conv in (await uow.session.exec(stmt)).all():
            gone = conv.abandon_due_at is not None and ensure_utc(conv.abandon_due_at) <= now
            _record(uow, conv, "visitor_left" if gone else "no_reply_timeout", close=True)
            done.append(conv.id)  # type: ignore[arg-type]
    return done
