"""Running rules: claim the pending firings of one event, plan them, do their actions.

The reactor (hub.rules.reactor) only *records* which rules an event concerns — a
``rule_firing`` row per rule whose trigger it is, ``pending``, unique per (rule,
event) — in the transaction that moves its checkpoint. Actions go through the same
services as people, each in its own transaction, so they run here, outside it:

1. **Claim** (one transaction): the oldest pending event whose conversation has no
   firing running; its rows are locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
   one writer on SQLite), the facts read (hub.rules.facts) and every rule planned in
   order by :func:`hub.rules.engine.run` — the dry run's code. Rows of rules that do
   not match are deleted; a rule kept out by loop protection is ``loop``; the others
   are ``running`` with their plan and a lease.
2. **Act**: each planned action through hub.rules.actions as "Rule: <name>"; after each
   one its result and the trigger events it caused are stored with ``done`` — a
   process that dies mid-way leaves a lease that expires, and the next claim resumes at
   ``done`` (the one action in flight at the crash may run twice).
3. **Finish** (one transaction): ``fired`` / ``partial`` / ``failed`` and the
   ``rule.fired`` event on the conversation (what the thread shows).

Loop protection: a firing's ``chain`` is the rules whose actions led to its event (the
chain of the firing that caused it, plus that firing's rule). A rule never fires on an
event in whose chain it is: its own action does not retrigger it, directly or through
other rules, so each rule fires at most once per chain of events. One firing at a time
per conversation keeps this exact: the event a rule's action caused is looked at only
after that firing has recorded it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.events import RuleFiredPayload
from hub.models import AutomationRule, Conversation, EventLog, RuleFiring
from hub.projections import core
from hub.rules import engine, facts
from hub.rules.actions import perform, rule_actor
from hub.services.errors import ServiceError
from hub.services.uow import unit_of_work
from hub.timeutil import ensure_utc

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
WINDOW = 50  # pending rows looked at per claim
MAX_CHAIN = 50
MAX_CAUSED = 50
# The trigger events a rule's action can cause: an assignment (made with reason "rule")
# and a resolution. A customer's message or a survey answer never is.
CAUSABLE = ("conversation.assigned", "conversation.resolved")


class _Taken(Exception):
    """Another process claimed some of these rows first: roll back and look again."""


_firing = RuleFiring.__table__  # type: ignore[attr-defined]


async def record(
    s: AsyncSession,
    *,
    is_sqlite: bool,
    rule_ids: list[int],
    trigger: str,
    event_id: int,
    conversation_id: int | None,
    contact_id: int | None,
    now: datetime,
) -> int:
    """Pending firings of ``rule_ids`` for one event (a replay inserts nothing)."""
    if not rule_ids:
        return 0
    insert = sqlite_insert if is_sqlite else pg_insert
    rows: list[dict[str, Any]] = [
        {
            "rule_id": rid,
            "event_id": event_id,
            "trigger": trigger,
            "conversation_id": conversation_id,
            "contact_id": contact_id,
            "outcome": "pending",
            "chain": [],
            "actions": [],
            "caused": [],
            "done": 0,
            "at": now,
        }
        for rid in rule_ids
    ]
    stmt = insert(_firing).values(rows).on_conflict_do_nothing(index_elements=["rule_id", "event_id"])
    return int((await core(s, stmt)).rowcount or 0)


def _claimable(now: datetime) -> Any:
    return sa.or_(
        col(RuleFiring.outcome) == "pending",
        sa.and_(col(RuleFiring.outcome) == "running", col(RuleFiring.lease_until) <= now),
    )


def _claimable_rows(now: datetime) -> Any:
    c = _firing.c
    return sa.or_(c.outcome == "pending", sa.and_(c.outcome == "running", c.lease_until <= now))


async def chain_of(s: AsyncSession, event_id: int, conversation_id: int | None) -> set[int]:
    """The rules whose actions led to ``event_id`` (loop protection)."""
    if conversation_id is None:
        return set()
    rows = (
        await s.exec(
            select(RuleFiring)
            .where(RuleFiring.conversation_id == conversation_id, RuleFiring.event_id < event_id)
            .order_by(col(RuleFiring.id).desc())
            .limit(200)
        )
    ).all()
    out: set[int] = set()
    for r in rows:
        if event_id in (r.caused or []):
            out |= {*r.chain, r.rule_id}
    return out


async def _claim(hub: Hub) -> list[int] | None:
    """Claim one event's firings (see the module docstring); the ids to act on, in
    rule order (maybe none: no rule matched, or another process took them). None when
    nothing is claimable now."""
    try:
        return await _claim_once(hub)
    except _Taken:
        return []


async def _claim_once(hub: Hub) -> list[int] | None:
    now = hub.now()
    async with hub.db.transaction() as s:
        stmt = (
            select(RuleFiring).where(_claimable(now)).order_by(col(RuleFiring.event_id), col(RuleFiring.id))
        )
        if not hub.db.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True)
        candidates = list((await s.exec(stmt.limit(WINDOW))).all())
        if not candidates:
            return None
        busy = set(
            (
                await s.exec(
                    select(RuleFiring.conversation_id).where(
                        RuleFiring.outcome == "running", col(RuleFiring.lease_until) > now
                    )
                )
            ).all()
        )
        head = None
        for r in candidates:
            if r.conversation_id is not None and r.conversation_id in busy:
                continue
            if r.conversation_id is not None and not hub.db.is_sqlite:
                # Another process claiming on this conversation right now has not
                # committed its "running" rows yet: its lock on the conversation says so.
                lock = select(Conversation.id).where(Conversation.id == r.conversation_id)
                if (await s.exec(lock.with_for_update(skip_locked=True))).first() is None:
                    busy.add(r.conversation_id)
                    continue
            head = r
            break
        if head is None:
            return None
        group_stmt = select(RuleFiring).where(
            RuleFiring.event_id == head.event_id, RuleFiring.trigger == head.trigger, _claimable(now)
        )
        if not hub.db.is_sqlite:
            group_stmt = group_stmt.with_for_update(skip_locked=True)
        group = list((await s.exec(group_stmt)).all())
        # Compare and set: rows another process claimed since we read them (SQLite reads
        # outside the write lock) change nothing here — the whole claim rolls back.
        ids = [g.id for g in group]
        taken = await core(
            s,
            sa.update(_firing)
            .where(_firing.c.id.in_(ids), _claimable_rows(now))
            .values(outcome="running", lease_until=now + LEASE),
        )
        if not ids or (taken.rowcount or 0) != len(ids):
            raise _Taken()
        rules = {
            r.id: r
            for r in (
                await s.exec(
                    select(AutomationRule).where(col(AutomationRule.id).in_([g.rule_id for g in group]))
                )
            ).all()
        }
        order = {rid: (r.position, rid) for rid, r in rules.items()}
        if any(g.outcome == "running" for g in group):
            # A process died mid-way: resume its plans where they stopped.
            for g in group:
                g.lease_until = now + LEASE
                s.add(g)
            return [
                g.id for g in sorted(group, key=lambda g: order.get(g.rule_id, (0, 0))) if g.id is not None
            ]
        await _plan_group(hub, s, head, group, rules, now)
        running = [g for g in group if g.outcome == "running"]
        return [g.id for g in sorted(running, key=lambda g: order.get(g.rule_id, (0, 0))) if g.id is not None]


async def _plan_group(
    hub: Hub,
    s: AsyncSession,
    head: RuleFiring,
    group: list[RuleFiring],
    rules: dict[int | None, AutomationRule],
    now: datetime,
) -> None:
    active = [r for r in rules.values() if r.active]
    chain = await chain_of(s, head.event_id, head.conversation_id)
    event = await s.get(EventLog, head.event_id)
    message_id = None
    if event is not None and event.type.startswith("message."):
        message_id = (event.payload or {}).get("message_id")
    f = await facts.load(
        s,
        trigger=head.trigger,
        conversation_id=head.conversation_id,
        contact_id=head.contact_id,
        message_id=message_id if isinstance(message_id, int) else None,
        segments=facts.segments_asked(active),
        now=now,
        is_sqlite=hub.db.is_sqlite,
    )
    planned = {p.rule_id: p for p in engine.run(active, f, skip=frozenset(chain))} if f is not None else {}
    for g in group:
        g.chain = sorted(chain)[:MAX_CHAIN]
        if g.rule_id in chain and rules.get(g.rule_id) is not None and rules[g.rule_id].active:
            g.outcome, g.finished_at = "loop", now
        elif g.rule_id in planned:
            acts = planned[g.rule_id].actions
            g.actions = [{**a, "status": "planned"} for a in acts]
            g.outcome = "running" if acts else "unchanged"
            g.lease_until = now + LEASE if acts else None
            g.finished_at = None if acts else now
        else:
            await s.delete(g)  # not a match (or the rule is off): nothing to keep
            continue
        s.add(g)


async def _top(hub: Hub) -> int:
    async with hub.db.session() as s:
        return int((await s.exec(select(sa.func.max(EventLog.id)))).one() or 0)


async def _caused(hub: Hub, conversation_id: int | None, after: int) -> list[int]:
    """The trigger events the action just caused (loop protection reads them): on the
    conversation since ``after``, no person as actor, an assignment by a rule or a
    resolution."""
    if conversation_id is None:
        return []
    async with hub.db.session() as s:
        rows = (
            await s.exec(
                select(EventLog).where(
                    EventLog.conversation_id == conversation_id,
                    col(EventLog.id) > after,
                    col(EventLog.actor_id).is_(None),
                    col(EventLog.type).in_(CAUSABLE),
                )
            )
        ).all()
    return [
        e.id
        for e in rows
        if e.id is not None
        and (e.type != "conversation.assigned" or (e.payload or {}).get("reason") == "rule")
    ]


async def _act(hub: Hub, firing_id: int) -> None:
    async with hub.db.session() as s:
        row = await s.get(RuleFiring, firing_id)
        rule = await s.get(AutomationRule, row.rule_id) if row is not None else None
    if row is None or rule is None or row.outcome != "running":
        return
    actor = rule_actor(rule.name)
    results = [dict(a) for a in row.actions]
    for i in range(row.done, len(results)):
        a = results[i]
        before = await _top(hub)
        try:
            out = await perform(
                hub,
                actor,
                a,
                conversation_id=row.conversation_id,
                contact_id=row.contact_id,
                rule_id=row.rule_id,
            )
            a.update(out, status="ok")
        except ServiceError as exc:
            a.update(status="error", error=exc.code)
        except Exception:
            log.exception("rule %s: action %s failed", row.rule_id, a.get("type"))
            a.update(status="error", error="internal")
        caused = await _caused(hub, row.conversation_id, before)
        async with hub.db.transaction() as s:
            fresh = await s.get(RuleFiring, firing_id)
            if fresh is None:
                return  # the rule was deleted meanwhile
            fresh.actions = [dict(x) for x in results]
            fresh.done = i + 1
            fresh.caused = [*fresh.caused, *caused][-MAX_CAUSED:]
            fresh.lease_until = hub.now() + LEASE
            s.add(fresh)
    await _finish(hub, firing_id, rule.name)


async def _finish(hub: Hub, firing_id: int, rule_name: str) -> None:
    async with unit_of_work(hub) as uow:
        s = uow.session
        row = await s.get(RuleFiring, firing_id)
        if row is None:
            return
        ok = [a for a in row.actions if a.get("status") == "ok"]
        row.outcome = "fired" if len(ok) == len(row.actions) else "partial" if ok else "failed"
        row.finished_at = hub.now()
        row.lease_until = None
        s.add(row)
        conv = await s.get(Conversation, row.conversation_id) if row.conversation_id is not None else None
        notify = sorted({u for a in ok if a.get("type") == "notify" for u in a.get("users", [])})
        text = next((str(a.get("text") or "") for a in ok if a.get("type") == "notify"), "")
        uow.emit(
            "rule.fired",
            RuleFiredPayload(
                rule_id=row.rule_id,
                rule_name=rule_name,
                firing_id=firing_id,
                trigger=row.trigger,
                outcome=row.outcome,
                actions=[_public(a) for a in row.actions],
                notify=notify,
                text=text,
            ),
            conversation_id=row.conversation_id,
            team_id=conv.team_id if conv is not None else None,
            user_id=conv.assignee_id if conv is not None else None,
        )


def _public(a: dict[str, Any]) -> dict[str, Any]:
    """What the thread shows of an action: its kind, settings and result (not a note's
    or notification's whole text: bounded)."""
    out = {k: v for k, v in a.items() if k not in ("body", "text", "users")}
    out["ok"] = a.get("status") == "ok"
    return out


async def drain(hub: Hub, *, limit: int = 1_000) -> int:
    """Claim and run firings until none is claimable (or ``limit`` firings)."""
    total = 0
    while total < limit:
        ids = await _claim(hub)
        if ids is None:
            return total
        for firing_id in ids:
            await _act(hub, firing_id)
        total += max(1, len(ids))
    return total


def pending_since_columns(now: datetime) -> list[Any]:
    """When claimable work exists, as the earlier of two SQL values: ``now`` if a firing
    is pending, and the earliest lease of one running (claimable once it has expired)."""
    lease = RuleFiring.__table__.c.lease_until  # type: ignore[attr-defined]
    pending = select(RuleFiring.id).where(RuleFiring.outcome == "pending")
    return [
        sa.select(sa.literal(now, type_=lease.type)).where(pending.exists()).scalar_subquery(),
        select(sa.func.min(RuleFiring.lease_until)).where(RuleFiring.outcome == "running").scalar_subquery(),
    ]


async def pending_since(s: AsyncSession, now: datetime) -> datetime | None:
    """When claimable work exists (see :func:`pending_since_columns`), or None."""
    row = (await core(s, sa.select(*pending_since_columns(now)))).one()
    return min((ensure_utc(d) for d in row if d is not None), default=None)
