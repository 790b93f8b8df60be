"""The rules reactor: which rules an event concerns, recorded once.

A reactor on the event log (:class:`hub.projections.Reactor`, registered in
``hub.app.build_projections``). In the transaction that moves its checkpoint it records
a pending ``rule_firing`` per active rule whose trigger the event is (unique per rule
and event: at most once per triggering event, however many processes run) and keeps
the "waiting longer than X" timers; :mod:`hub.rules.executor` then plans and acts,
outside that transaction, because actions go through services that commit on their
own. The reactor starts that work after each pass (``_kick``); its next timer
(``next_due_columns``) brings the runner back while work is claimable, so a firing left
by a process that stopped is picked up by another.

Triggers: ``message.received`` from the customer, ``conversation.created``,
``conversation.assigned``, ``conversation.resolved``, ``survey.answered``,
``complaint.escalated`` (a complaint overdue) — and ``waiting``: a ``rule_timer`` row per
waiting rule when the customer writes and nobody from staff has answered (the first
unanswered message starts the clock), removed by a staff reply or a resolution, fired
by :meth:`RulesReactor.fire_due` at its due time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.models import AutomationRule, RuleTimer
from hub.projections import LoggedEvent, core
from hub.rules import executor
from hub.rules.schema import EVENT_TRIGGERS
from hub.services import notifications
from hub.services.uow import UnitOfWork

log = logging.getLogger(__name__)

_timer = RuleTimer.__table__  # type: ignore[attr-defined]


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


class RulesReactor:
    name = "rules"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._task: asyncio.Task[None] | None = None
        self._again = False

    async def apply(self, uow: UnitOfWork, events: Sequence[LoggedEvent], now: datetime) -> None:
        wanted = [e for e in events if e.type in EVENT_TRIGGERS or e.type == "message.created"]
        if not wanted:
            return
        s = uow.session
        rules = list((await s.exec(select(AutomationRule).where(col(AutomationRule.active).is_(True)))).all())
        recorded = 0
        # Waits ended by this batch (an agent's answer, a resolve), cleared in one
        # statement — before a later message of the batch starts a wait of its own in
        # the same conversation, so the order of events still decides.
        ended: set[int] = set()

        async def clear_ended() -> None:
            if ended:
                await core(s, sa.delete(_timer).where(_timer.c.conversation_id.in_(sorted(ended))))
                ended.clear()

        for e in wanted:
            p = e.payload
            conv_id = e.conversation_id if e.conversation_id is not None else _int(p.get("conversation_id"))
            if e.type == "message.created":
                # A person's answer ends the wait; a rule's or the hub's own message does not.
                if p.get("direction") == "outbound" and p.get("author_type") == "agent" and conv_id:
                    ended.add(conv_id)
                continue
            if e.type == "message.received" and p.get("author_type") != "contact":
                continue
            if e.type == "conversation.resolved" and conv_id:
                ended.add(conv_id)
            if e.type == "message.received" and conv_id:
                if conv_id in ended:
                    await clear_ended()
                await self._start_waits(s, rules, conv_id, e, now)
            trigger = EVENT_TRIGGERS[e.type]
            recorded += await executor.record(
                s,
                is_sqlite=self.hub.db.is_sqlite,
                rule_ids=[r.id for r in rules if r.trigger == trigger and r.id is not None],
                trigger=trigger,
                event_id=e.id,
                conversation_id=conv_id,
                contact_id=_int(p.get("contact_id")),
                now=now,
            )
        await clear_ended()
        if recorded:
            self._kick()

    async def _start_waits(
        self, s: AsyncSession, rules: list[AutomationRule], conv_id: int, e: LoggedEvent, now: datetime
    ) -> None:
        rows = [
            {
                "rule_id": r.id,
                "conversation_id": conv_id,
                "event_id": e.id,
                "due_at": e.ts + timedelta(minutes=int((r.trigger_params or {}).get("minutes") or 1)),
            }
            for r in rules
            if r.trigger == "waiting"
        ]
        if not rows:
            return
        insert = sqlite_insert if self.hub.db.is_sqlite else pg_insert
        # Already waiting: the clock runs from the first unanswered message.
        stmt = (
            insert(_timer).values(rows).on_conflict_do_nothing(index_elements=["rule_id", "conversation_id"])
        )
        await core(s, stmt)

    async def fire_due(self, uow: UnitOfWork, now: datetime, limit: int) -> int:
        s = uow.session
        due = list(
            (
                await s.exec(
                    select(RuleTimer)
                    .where(col(RuleTimer.due_at) <= now)
                    .order_by(col(RuleTimer.due_at))
                    .limit(limit)
                )
            ).all()
        )
        for t in due:
            await executor.record(
                s,
                is_sqlite=self.hub.db.is_sqlite,
                rule_ids=[t.rule_id],
                trigger="waiting",
                event_id=t.event_id,
                conversation_id=t.conversation_id,
                contact_id=None,
                now=now,
            )
            await s.delete(t)
        if due or await executor.pending_since(s, now) is not None:
            self._kick()
        return len(due)

    def next_due_columns(self, now: datetime) -> list[Any]:
        timers = select(sa.func.min(RuleTimer.due_at)).scalar_subquery()
        if self.busy:
            return [timers]
        return [timers, *executor.pending_since_columns(now)]

    # -- the executor, outside the runner's transactions ---------------------------------
    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def _kick(self) -> None:
        """Run the executor after this transaction (on SQLite it waits for the writer;
        on PostgreSQL a pass that starts too early sees nothing and its next timer,
        ``next_due_columns``, brings the runner back)."""
        if self.busy:
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._drain(), name="rules-executor")

    async def _drain(self) -> None:
        while True:
            self._again = False
            try:
                await executor.drain(self.hub)
            except Exception:
                log.exception("rules executor pass failed")
            if not self._again:
                return

    async def close(self) -> None:
        """Stop the executor with the runner (its claimed work is durable: the lease
        lapses and the next pass, here or in another process, resumes it)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def idle(self) -> None:
        """Wait for the executor started in this process (tests)."""
        while self._task is not None and not self._task.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._task)


# -- notify actions: a notification per user told (hub.services.notifications) ----------
async def _told(s: AsyncSession, e: LoggedEvent, actor_id: int | None) -> list[notifications.Draft]:
    p = e.payload
    users = [u for u in p.get("notify") or [] if _int(u) is not None]
    data = {"rule": str(p.get("rule_name") or "")[:120], "text": str(p.get("text") or "")[:200]}
    return [notifications.Draft(u, "rule", e.conversation_id, data=data) for u in users]


# Not in notifications.KINDS: a notification an admin's rule asks for cannot be turned
# off on the profile page.
notifications.register("rule.fired", _told)
