"""Supervisor read models beyond the queue figures: how long each customer in an
assigned conversation has been waiting for a reply, and the estimated wait per queue.

Reads only. The estimate prefers the routing core's live figure (it knows who is
connected); when the core has none (no handle-time sample since this process started,
or this node is not the routing leader) it falls back to the same formula fed from the
database — see docs/routing.md, "Estimated wait on the supervisor view".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, func, select

from hub.context import Hub
from hub.models import (
    AuthorType,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    TeamMember,
    User,
)
from hub.services.access import Actor, visible_clause

#: Statuses in which a conversation belongs to an agent (the waiting column's rows).
IN_PROGRESS = (
    ConversationStatus.assigned,
    ConversationStatus.waiting_on_customer,
    ConversationStatus.snoozed,
)
#: At most this many conversations are looked at for the waiting column.
MAX_AWAITING = 1000
#: Handle times are averaged over conversations resolved in this window…
AHT_WINDOW = timedelta(days=7)
#: …at most this many of them per team (the most recent).
AHT_SAMPLES = 500
LOGGED_IN = ("available", "busy", "wrap_up")


async def awaiting_reply(hub: Hub, actor: Actor) -> list[tuple[int, datetime]]:
    """``(conversation_id, since)`` for each in-progress conversation the actor may see
    whose customer wrote after the last agent reply; ``since`` is the first of those
    unanswered customer messages (the customer has been waiting since then).

    A reply is an outbound message written by an agent; automatic messages (queue
    position, surveys) and internal notes do not answer the customer.
    """
    async with hub.db.session() as s:
        convs = (
            select(col(Conversation.id))
            .where(col(Conversation.status).in_(IN_PROGRESS), visible_clause(actor))
            .order_by(col(Conversation.id).desc())
            .limit(MAX_AWAITING)
            .subquery()
        )
        replied = (
            select(
                col(Message.conversation_id).label("cid"),
                func.max(Message.id).label("reply_id"),
            )
            .where(
                col(Message.conversation_id).in_(select(convs.c.id)),
                Message.direction == Direction.outbound,
                Message.author_type == AuthorType.agent,
            )
            .group_by(col(Message.conversation_id))
            .subquery()
        )
        rows = (
            await s.exec(
                select(col(Message.conversation_id), func.min(Message.created_at))
                .outerjoin(replied, replied.c.cid == Message.conversation_id)
                .where(
                    col(Message.conversation_id).in_(select(convs.c.id)),
                    Message.direction == Direction.inbound,
                    col(Message.id) > func.coalesce(replied.c.reply_id, 0),
                )
                .group_by(col(Message.conversation_id))
            )
        ).all()
    return sorted((int(cid), since) for cid, since in rows)


@dataclass
class _Team:
    waiting: dict[str, int] = field(default_factory=dict)  # channel -> queued
    servers: dict[str, int] = field(default_factory=dict)  # channel -> logged-in capacity
    free: set[str] = field(default_factory=set)  # channels where an available agent has room
    handle: dict[str, list[float]] = field(default_factory=dict)  # channel -> handle times (s)


def estimate(waiting: int, aht: float | None, servers: int, free: bool) -> float | None:
    """Position-based wait of a newcomer, the routing core's formula: with every server
    busy, departures come at ``servers / AHT``; a newcomer needs ``waiting + 1`` of them.
    0 when someone has room and nobody waits; None without a handle time or staff."""
    if waiting == 0 and free:
        return 0.0
    if aht is None or servers <= 0:
        return None
    return (waiting + 1) * aht / servers


def team_estimate(per_channel: dict[str, tuple[int, float | None]]) -> float | None:
    """One figure per queue from its channels' ``(waiting, estimate)``: the longest
    estimate among channels with someone waiting; when nobody waits, the shortest."""
    busy = [e for w, e in per_channel.values() if w > 0 and e is not None]
    if busy:
        return max(busy)
    if any(w > 0 for w, _ in per_channel.values()):
        return None  # people wait, and nothing is known about how long
    idle = [e for _, e in per_channel.values() if e is not None]
    return min(idle) if idle else None


async def estimated_waits(hub: Hub, team_ids: Iterable[int], now: datetime) -> dict[int, float | None]:
    """Estimated wait per team (seconds, None when unknown)."""
    ids = sorted(set(team_ids))
    if not ids:
        return {}
    teams: dict[Any, _Team] = {tid: _Team() for tid in ids}
    async with hub.db.session() as s:
        for tid, channel, n in (
            await s.exec(
                select(col(Conversation.team_id), col(Conversation.channel), func.count())
                .where(col(Conversation.team_id).in_(ids), Conversation.status == ConversationStatus.queued)
                .group_by(col(Conversation.team_id), col(Conversation.channel))
            )
        ).all():
            teams[tid].waiting[channel] = n
        members = (
            await s.exec(
                select(col(TeamMember.team_id), col(User.id), col(User.presence), col(User.capacity))
                .join(User, col(User.id) == TeamMember.user_id)
                .where(
                    col(TeamMember.team_id).in_(ids),
                    col(User.active).is_(True),
                    col(User.presence).in_(LOGGED_IN),
                )
            )
        ).all()
        user_ids = sorted({uid for _, uid, _, _ in members if uid is not None})
        load: dict[tuple[Any, str], int] = {}
        if user_ids:
            for uid, channel, n in (
                await s.exec(
                    select(col(Conversation.assignee_id), col(Conversation.channel), func.count())
                    .where(
                        col(Conversation.assignee_id).in_(user_ids),
                        col(Conversation.status).in_([ConversationStatus.offered, *IN_PROGRESS]),
                    )
                    .group_by(col(Conversation.assignee_id), col(Conversation.channel))
                )
            ).all():
                load[(uid, channel)] = n
        for tid in ids:
            handled = (
                await s.exec(
                    select(
                        col(Conversation.channel),
                        col(Conversation.first_assigned_at),
                        col(Conversation.resolved_at),
                    )
                    .where(
                        Conversation.team_id == tid,
                        col(Conversation.resolved_at) >= now - AHT_WINDOW,
                        col(Conversation.first_assigned_at).is_not(None),
                    )
                    .order_by(col(Conversation.resolved_at).desc())
                    .limit(AHT_SAMPLES)
                )
            ).all()
            for channel, assigned_at, resolved_at in handled:
                if assigned_at is None or resolved_at is None:
                    continue
                seconds = (resolved_at - assigned_at).total_seconds()
                if seconds >= 0:
                    teams[tid].handle.setdefault(channel, []).append(seconds)
    for tid, uid, presence, capacity in members:
        for channel, cap in (capacity or {}).items():
            if not isinstance(cap, int) or cap <= 0:
                continue
            t = teams[tid]
            t.servers[channel] = t.servers.get(channel, 0) + cap
            if presence == "available" and load.get((uid, channel), 0) < cap:
                t.free.add(channel)
    core = getattr(hub.routing, "core", None) if getattr(hub.routing, "is_leader", False) else None
    out: dict[int, float | None] = {}
    for tid, t in teams.items():
        channels = set(t.waiting) | set(t.servers)
        all_times = [x for xs in t.handle.values() for x in xs]
        per_channel: dict[str, tuple[int, float | None]] = {}
        for channel in sorted(channels):
            live = core.estimated_wait(str(tid), channel, now.timestamp()) if core is not None else None
            if live is None:
                times = t.handle.get(channel) or all_times
                aht = sum(times) / len(times) if times else None
                live = estimate(t.waiting.get(channel, 0), aht, t.servers.get(channel, 0), channel in t.free)
            per_channel[channel] = (t.waiting.get(channel, 0), live)
        out[tid] = team_estimate(per_channel)
    return out
