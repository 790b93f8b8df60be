"""Read models for the supervisor view and the console list: queue figures, agent
load, unread counts. Reads only; computed with a handful of grouped queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.models import (
    Contact,
    ContactFigures,
    Conversation,
    ConversationRead,
    ConversationStatus,
    Direction,
    Message,
    Team,
    TeamMember,
    User,
)
from hub.services.access import Actor
from hub.services.ingest import sla_seconds
from hub.services.supervision import IN_PROGRESS, estimated_waits


@dataclass
class QueueFigures:
    team_id: int
    team_name: str
    waiting: int = 0
    offered: int = 0
    in_progress: int = 0
    longest_wait_seconds: float = 0.0
    service_level_today: float | None = None
    answered_today: int = 0
    abandoned_today: int = 0  # customers who left unanswered since the team's local midnight
    agents: dict[str, int] = field(default_factory=dict)
    estimated_wait_seconds: float | None = None


async def _rows(s: Any, stmt: Any) -> list[Any]:
    return list((await s.exec(stmt)).all())


def _day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _team_day_start(team: Team, now: datetime) -> datetime:
    """Midnight of today in the team's time zone (its business hours'; else UTC)."""
    from hub.timeutil import zone

    try:
        tz = zone(str((team.business_hours or {}).get("timezone") or "UTC"))
    except ValueError:
        return _day_start(now)
    return _day_start(now.astimezone(tz)).astimezone(now.tzinfo)


async def queue_figures(hub: Hub, actor: Actor) -> list[QueueFigures]:
    now = hub.now()
    async with hub.db.session() as s:
        teams = list((await s.exec(select(Team).order_by(col(Team.name)))).all())
        if not actor.is_admin:
            teams = [t for t in teams if t.id in actor.team_ids]
        ids = [t.id for t in teams]
        # "Today" is the team's local day (docs/reports.md, wallboard).
        starts = {t.id: _team_day_start(t, now) for t in teams}
        since = min(starts.values(), default=_day_start(now))
        counts = await _rows(
            s,
            select(
                col(Conversation.team_id),
                col(Conversation.status),
                func.count(),
                func.min(Conversation.queued_at),
            )
            .where(
                col(Conversation.team_id).in_(ids),
                col(Conversation.status).in_(["queued", "offered", *IN_PROGRESS]),
            )
            .group_by(col(Conversation.team_id), col(Conversation.status)),
        )
        today = await _rows(
            s,
            select(
                col(Conversation.team_id),
                col(Conversation.channel),
                col(Conversation.queued_at),
                col(Conversation.first_assigned_at),
            ).where(col(Conversation.team_id).in_(ids), col(Conversation.queued_at) >= since),
        )
        abandoned = await _rows(
            s,
            select(col(Conversation.team_id), col(Conversation.abandoned_at)).where(
                col(Conversation.team_id).in_(ids), col(Conversation.abandoned_at) >= since
            ),
        )
        presence = await _rows(
            s,
            select(col(TeamMember.team_id), col(User.presence), func.count())
            .join(User, col(User.id) == TeamMember.user_id)
            .where(col(TeamMember.team_id).in_(ids), col(User.active).is_(True))
            .group_by(col(TeamMember.team_id), col(User.presence)),
        )
    by_id = {t.id: QueueFigures(team_id=t.id, team_name=t.name) for t in teams if t.id is not None}
    team_rows = {t.id: t for t in teams}
    for team_id, status, n, oldest in counts:
        q = by_id[team_id]
        if status == ConversationStatus.queued:
            q.waiting += n
        elif status == ConversationStatus.offered:
            q.offered += n
        else:
            q.in_progress += n
        if status in ("queued", "offered") and oldest is not None:
            q.longest_wait_seconds = max(q.longest_wait_seconds, (now - oldest).total_seconds())
    met: dict[int, int] = {}
    counted: dict[int, int] = {}
    for team_id, abandoned_at in abandoned:
        if abandoned_at >= starts[team_id]:
            by_id[team_id].abandoned_today += 1
    for team_id, channel, queued_at, assigned_at in today:
        if queued_at < starts[team_id]:
            continue
        target = timedelta(seconds=sla_seconds(team_rows.get(team_id), channel))
        # Counted once answered, or once it has waited past the target unanswered.
        if assigned_at is not None:
            counted[team_id] = counted.get(team_id, 0) + 1
            by_id[team_id].answered_today += 1
            if assigned_at - queued_at <= target:
                met[team_id] = met.get(team_id, 0) + 1
        elif now - queued_at > target:
            counted[team_id] = counted.get(team_id, 0) + 1
    for team_id, q in by_id.items():
        if counted.get(team_id):
            q.service_level_today = met.get(team_id, 0) / counted[team_id]
        q.agents = {p: 0 for p in ("available", "busy", "away", "wrap_up", "offline")}
    for team_id, p, n in presence:
        by_id[team_id].agents[str(p)] = n
    # The routing core's figure per channel, else the same formula from the database
    # (hub.services.supervision; docs/routing.md).
    for team_id, wait in (await estimated_waits(hub, by_id, now)).items():
        by_id[team_id].estimated_wait_seconds = wait
    return list(by_id.values())


async def agents_live(hub: Hub, actor: Actor, connected: set[int]) -> list[dict[str, Any]]:
    async with hub.db.session() as s:
        users = (await s.exec(select(User).where(User.active == True).order_by(col(User.name)))).all()  # noqa: E712
        members = (await s.exec(select(TeamMember))).all()
        open_convs = await _rows(
            s,
            sa.select(
                col(Conversation.id),
                col(Conversation.assignee_id),
                col(Conversation.channel),
                col(Conversation.status),
                col(Contact.name),
            )
            .join(Contact, col(Contact.id) == Conversation.contact_id)
            .where(col(Conversation.assignee_id).is_not(None), col(Conversation.status).in_(IN_PROGRESS)),
        )
    teams: dict[int, list[int]] = {}
    for m in members:
        teams.setdefault(m.user_id, []).append(m.team_id)
    work: dict[int, list[dict[str, Any]]] = {}
    for cid, uid, channel, status, name in open_convs:
        work.setdefault(uid, []).append(
            {"id": cid, "channel": channel, "status": str(status), "contact_name": name}
        )
    out = []
    for u in users:
        uid = u.id or 0
        if not actor.is_admin and not (set(teams.get(uid, [])) & actor.team_ids):
            continue
        convs = work.get(uid, [])
        load: dict[str, int] = {}
        for c in convs:
            load[c["channel"]] = load.get(c["channel"], 0) + 1
        out.append(
            {
                "user_id": uid,
                "name": u.name,
                "role": str(u.role),
                "presence": str(u.presence),
                "presence_changed_at": u.presence_changed_at,
                "team_ids": sorted(teams.get(uid, [])),
                "connected": uid in connected,
                "load": load,
                "capacity": u.capacity,
                "conversations": convs,
            }
        )
    return out


async def enrich(hub: Hub, actor: Actor, convs: list[Conversation]) -> list[dict[str, Any]]:
    """Add contact name and the caller's unread count to conversation rows."""
    ids = [c.id for c in convs]
    contact_ids = {c.contact_id for c in convs}
    async with hub.db.session() as s:
        names = dict(
            (await s.exec(select(Contact.id, Contact.name).where(col(Contact.id).in_(contact_ids)))).all()
        )
        figures = {
            f.contact_id: f
            for f in (
                await s.exec(select(ContactFigures).where(col(ContactFigures.contact_id).in_(contact_ids)))
            ).all()
        }
        hint = (
            await _greeting_hint(s, convs[0], figures.get(convs[0].contact_id)) if len(convs) == 1 else None
        )
        # A reply to a campaign (hub.campaigns.reactor): {id, name} on the conversation.
        from hub.campaigns.reactor import names as campaign_names

        campaigns = await campaign_names(s, [c.campaign_id for c in convs])
        marks = dict(
            (
                await s.exec(
                    select(ConversationRead.conversation_id, ConversationRead.last_read_message_id).where(
                        ConversationRead.user_id == actor.user_id,
                        col(ConversationRead.conversation_id).in_(ids),
                    )
                )
            ).all()
        )
        read_upto = (
            sa.case(*[(col(Message.conversation_id) == cid, mark) for cid, mark in marks.items()], else_=0)
            if marks
            else sa.literal(0)
        )
        unread = dict(
            (
                await s.exec(
                    select(Message.conversation_id, func.count())
                    .where(
                        col(Message.conversation_id).in_(ids),
                        Message.direction == Direction.inbound,
                        col(Message.id) > read_upto,
                    )
                    .group_by(col(Message.conversation_id))
                )
            ).all()
        )
    return [
        {
            **{name: getattr(c, name) for name in Conversation.model_fields},
            "contact_name": names.get(c.contact_id, ""),
            "contact_tiers": figures[c.contact_id].tiers if c.contact_id in figures else [],
            "contact_hint": hint,
            "unread_count": unread.get(c.id or 0, 0),
            "campaign": campaigns.get(c.campaign_id or 0),
        }
        for c in convs
    ]


async def _greeting_hint(
    s: AsyncSession, conv: Conversation, figures: ContactFigures | None
) -> dict[str, Any] | None:
    """What an agent greeting this customer should know at a glance: how often they
    wrote lately, how their previous conversation ended, which channel they prefer."""
    if figures is None:
        return None
    previous = (
        await s.exec(
            select(Conversation)
            .where(Conversation.contact_id == conv.contact_id, col(Conversation.id) < (conv.id or 0))
            .order_by(col(Conversation.id).desc())
            .limit(1)
        )
    ).first()
    return {
        "conversations_30d": figures.conversations_30d,
        "conversations_total": figures.conversations_total,
        "preferred_channel": figures.preferred_channel,
        "previous_category": previous.category if previous else None,
        "previous_status": previous.status if previous else None,
        "previous_at": previous.created_at.isoformat() if previous else None,
    }


async def mark_read(hub: Hub, actor: Actor, conversation_id: int, message_id: int) -> None:
    """Per-user bookkeeping, not a domain event: no event-log row."""
    async with hub.db.transaction() as s:
        row = await s.get(ConversationRead, (actor.user_id, conversation_id))
        if row is None:
            s.add(
                ConversationRead(
                    user_id=actor.user_id,  # type: ignore[arg-type]
                    conversation_id=conversation_id,
                    last_read_message_id=message_id,
                    updated_at=hub.now(),
                )
            )
        elif message_id > row.last_read_message_id:
            row.last_read_message_id = message_id
            row.updated_at = hub.now()
