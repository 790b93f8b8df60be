"""What the caller is told while waiting, and whether waiting makes sense at all.

Queue position and the estimated wait belong to routing. Its live driver exposes
``position(conversation_id)`` and ``estimated_wait(conversation_id)``; any object with
those two methods can be set as ``TwilioVoiceChannel.queue_insight`` (or put on the
hub as ``hub.routing``). Until one is there, the position is counted from the
database (same team, higher priority or queued earlier — the routing order) and no
wait estimate is announced.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, func, select

from channels.twilio.voice_config import BusinessHours
from hub.context import Hub
from hub.models import Conversation, ConversationStatus, Presence, TeamMember, User


@runtime_checkable
class QueueInsight(Protocol):
    def position(self, conversation_id: int) -> int | None: ...

    def estimated_wait(self, conversation_id: int) -> float | None: ...


def insight_of(hub: Hub, configured: QueueInsight | None) -> QueueInsight | None:
    if configured is not None:
        return configured
    routing = getattr(hub, "routing", None)
    return routing if isinstance(routing, QueueInsight) else None


async def queue_position(hub: Hub, conversation_id: int) -> int | None:
    """1-based place among queued conversations of the same team, in routing order."""
    async with hub.db.session() as s:
        conv = await s.get(Conversation, conversation_id)
        if conv is None or conv.status != ConversationStatus.queued or conv.queued_at is None:
            return None
        same_team = (
            col(Conversation.team_id).is_(None)
            if conv.team_id is None
            else col(Conversation.team_id) == conv.team_id
        )
        ahead = (
            await s.exec(
                select(func.count()).where(
                    Conversation.status == ConversationStatus.queued,
                    same_team,
                    sa.or_(
                        col(Conversation.priority) > conv.priority,
                        sa.and_(
                            col(Conversation.priority) == conv.priority,
                            sa.or_(
                                col(Conversation.queued_at) < conv.queued_at,
                                # same instant: the earlier conversation first
                                sa.and_(
                                    col(Conversation.queued_at) == conv.queued_at,
                                    col(Conversation.id) < conv.id,
                                ),
                            ),
                        ),
                    ),
                )
            )
        ).one()
    return int(ahead) + 1


async def agents_available(hub: Hub, team_id: int | None) -> bool:
    """Is anyone who could take the call signed in and available (not away/offline)?

    A caller is only put on hold when someone could answer; otherwise straight to
    voicemail. Busy agents count: they free up. Replace with routing's view once the
    live driver exposes it.
    """
    stmt = select(func.count()).where(
        User.active == True,  # noqa: E712
        col(User.presence).in_([Presence.available, Presence.busy, Presence.wrap_up]),
    )
    if team_id is not None:
        stmt = stmt.where(col(User.id).in_(select(TeamMember.user_id).where(TeamMember.team_id == team_id)))
    async with hub.db.session() as s:
        return int((await s.exec(stmt)).one()) > 0


def is_open(hours: BusinessHours | None, now: datetime) -> bool:
    if hours is None:
        return True
    local = now.astimezone(ZoneInfo(hours.timezone))
    return local.weekday() in hours.days and hours.open <= local.time() < hours.close
