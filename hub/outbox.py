"""The outbox worker: delivers committed replies through their channel's ``send``.

Rows are claimed with a lease (``locked_until``) so several hub processes can run
workers: PostgreSQL claims with ``FOR UPDATE SKIP LOCKED``; SQLite has one process.
A failed attempt is retried with exponential backoff and jitter (or the provider's
``retry_after``); after ``max_attempts`` — or a non-retryable error — the message is
marked failed with the reason and the console is told.

Exactly once per provider acceptance: a claim commits ``sending`` before the channel is
called, so the attempt is on record whatever happens next. Once the provider accepted,
the outcome is recorded as ``sent`` — and if recording the details fails, a second,
minimal write still marks it ``sent`` (with a warning) rather than leaving it due again.
Only a process that dies between the provider's acceptance and that write leaves a
``sending`` row behind; its lease runs out and it is retried with the same
``idempotency_key``, which channels whose provider honours one pass on (see
docs/architecture.md for which channels are at-least-once in that one window).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, update

from channels.base import SendError, SendResult
from hub import staff_outbox
from hub.context import Hub
from hub.domain import Attachment, OutboundMessage
from hub.models import Conversation, DeliveryStatus, Message, OutboxItem, OutboxStatus, User
from hub.precompiled import PerDialect
from hub.projections import core
from hub.services.ingest import emit_message_status
from hub.services.uow import unit_of_work
from hub.sqlite_driver import inline

log = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Claimed:
    outbox_id: int
    attempt: int
    message: OutboundMessage
    team_id: int | None
    assignee_id: int | None


_outbox = OutboxItem.__table__  # type: ignore[attr-defined]
_message = Message.__table__  # type: ignore[attr-defined]
_conversation = Conversation.__table__  # type: ignore[attr-defined]
_user = User.__table__  # type: ignore[attr-defined]
# The provider accepted: its id, and its status unless a callback already moved the
# message on (the right-hand sides read the row as it was).
_STILL_OURS = sa.or_(  # literals: an IN list would be an expanding parameter, which executemany refuses
    _message.c.delivery_status == sa.literal_column(f"'{DeliveryStatus.pending.value}'"),
    _message.c.delivery_status == sa.literal_column(f"'{DeliveryStatus.failed.value}'"),
)
_RECORD_SENT = (
    sa.update(_message)
    .where(_message.c.id == sa.bindparam("mid"))
    .values(
        provider_message_id=sa.bindparam("pid"),
        delivery_status=sa.case((_STILL_OURS, sa.bindparam("new_status")), else_=_message.c.delivery_status),
        error=sa.case((_STILL_OURS, sa.null()), else_=_message.c.error),
    )
)


# The claim, the record of a pass's sends and the loop's due read, built once: built per
# call, their construction and cache-key walk cost more CPU than SQLite running them.
_o, _m, _c = _outbox.c, _message.c, _conversation.c
_CLAIM_DUE = (
    sa.select(_o.id, _o.message_id, _o.attempts)
    .where(
        # ``sending`` with a lapsed lease: the process died mid-send.
        _o.status.in_([OutboxStatus.pending.value, OutboxStatus.sending.value]),
        _o.next_attempt_at <= sa.bindparam("now"),
        sa.or_(_o.locked_until.is_(None), _o.locked_until < sa.bindparam("now")),
    )
    .order_by(_o.next_attempt_at, _o.id)
    .limit(sa.bindparam("batch"))
)
_CLAIM_DUE_LOCKED = _CLAIM_DUE.with_for_update(skip_locked=True)  # PostgreSQL: several workers
_CLAIM_LEASE = PerDialect(
    lambda one_of: (
        sa.update(_outbox)
        .where(one_of(_o.id, "ids"))
        .values(
            status=OutboxStatus.sending.value,
            locked_until=sa.bindparam("until"),
            attempts=_o.attempts + 1,
            updated_at=sa.bindparam("now"),
        )
    )
)
_CLAIM_MESSAGES = PerDialect(
    lambda one_of: (
        sa.select(
            _m.id,
            _m.channel,
            _m.subject,
            _m.body,
            _m.attachments,
            _m.meta,
            _c.id.label("conversation_id"),
            _c.contact_address,
            _c.channel_account,
            _c.thread_key,
            _c.team_id,
            _c.assignee_id,
            _user.c.name.label("author_name"),
        )
        .join_from(_message, _conversation, _c.id == _m.conversation_id)
        .outerjoin(_user, _user.c.id == _m.author_id)
        .where(one_of(_m.id, "mids"))
    )
)
_RECORD_OUTBOX_SENT = PerDialect(
    lambda one_of: (
        sa.update(_outbox)
        .where(one_of(_o.id, "ids"))
        .values(
            status=OutboxStatus.sent.value, locked_until=None, last_error=None, updated_at=sa.bindparam("now")
        )
    )
)
_RECORDED = PerDialect(
    lambda one_of: sa.select(
        _m.id, _m.conversation_id, _m.delivery_status, _m.error, _m.provider_message_id
    ).where(one_of(_m.id, "mids"))
)
_NEXT_DUE = sa.select(
    sa.select(sa.func.min(_o.next_attempt_at))
    .where(_o.status == OutboxStatus.pending.value)
    .scalar_subquery(),
    sa.select(sa.func.min(_o.locked_until)).where(_o.status == OutboxStatus.sending.value).scalar_subquery(),
)


def idempotency_key(message_id: int) -> str:
    """One key per message, the same on every attempt."""
    return f"switchboard-message-{message_id}"


def _ids(c: Claimed) -> dict[str, object]:
    return {
        "channel": c.message.channel,
        "conversation_id": c.message.conversation_id,
        "message_id": c.message.message_id,
        "outbox_id": c.outbox_id,
    }


def backoff_seconds(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter in the upper half: base·2^(n-1), capped."""
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    r = (rng or random).random()
    return delay / 2 + r * delay / 2


class OutboxWorker:
    def __init__(self, hub: Hub, *, rng: random.Random | None = None) -> None:
        self.hub = hub
        self.rng = rng or random.Random()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # Staff mail's and campaign sends' next due time, as last read, and when (the
        # loop's monotonic clock): see _side_work().
        self._side_due: datetime | None = None
        self._side_read = -math.inf

    # -- one pass ----------------------------------------------------------------------
    async def run_once(self, *, side: bool = True) -> int:
        """Claim what is due and send it; returns how many sends were attempted.

        The sends run concurrently; the pass's successes are then recorded in one
        transaction (each failure in its own). Each item stands alone: one item's
        failure, in the channel or while recording, is logged once with its ids and
        never stops or hides the others. ``side``: also staff mail and campaign sends
        (the loop leaves them out while they have nothing due, see _side_work).
        """
        claimed = await self._claim()
        if claimed:
            await self._send_claimed(claimed)
        if not side:
            return len(claimed)
        room = self.hub.settings.outbox.batch_size - len(claimed)
        return len(claimed) + await self._staff_mail() + await self._campaigns(room)

    async def _send_claimed(self, claimed: list[Claimed]) -> None:
        outcomes = await asyncio.gather(*(self._send(c) for c in claimed))
        sent = [(c, o) for c, o in zip(claimed, outcomes, strict=True) if isinstance(o, SendResult)]
        failed = [(c, o) for c, o in zip(claimed, outcomes, strict=True) if isinstance(o, SendError)]
        done = await asyncio.gather(
            self._record_successes(sent),
            *(self._record_failure(c, e) for c, e in failed),
            return_exceptions=True,
        )
        for outcome, c in zip(done[1:], (c for c, _ in failed), strict=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # cancellation and the like are not an item's failure
            if isinstance(outcome, Exception):
                log.error("recording a failed send failed: %s", outcome, exc_info=outcome, extra=_ids(c))
        if isinstance(done[0], BaseException):
            raise done[0]  # _record_successes handles every item's own failure

    async def _staff_mail(self) -> int:
        """The second kind of row: mail to staff (hub.staff_outbox), after the replies of the pass."""
        try:
            return await staff_outbox.run_once(self.hub, self.rng)
        except Exception:
            log.exception("staff mail pass failed")
            return 0

    async def _campaigns(self, room: int) -> int:
        """The third kind of row: campaign sends, only in the room the replies left."""
        from hub.campaigns import sender

        try:
            return await sender.run_once(self.hub, room, self.rng)
        except Exception:
            log.exception("campaign pass failed")
            return 0

    async def _claim(self) -> list[Claimed]:
        """Three statements for the whole claim: the due rows (locked on PostgreSQL),
        their lease in one UPDATE, and what the channel needs of their messages (no ORM
        objects: loading them, the raw payload's JSON included, cost more than the
        statements)."""
        hub = self.hub
        cfg = hub.settings.outbox
        now = hub.now()
        async with hub.db.transaction() as s:
            due = _CLAIM_DUE if hub.db.is_sqlite else _CLAIM_DUE_LOCKED
            items = (await core(s, due, {"now": now, "batch": cfg.batch_size})).all()
            if not items:
                return []
            lease = {"ids": [int(i.id) for i in items], "until": now + timedelta(seconds=cfg.lease_seconds)}
            await core(s, _CLAIM_LEASE, lease | {"now": now})
            mids = [int(i.message_id) for i in items]
            rows = (await core(s, _CLAIM_MESSAGES, {"mids": mids})).all()
        by_message = {r.id: r for r in rows}
        claimed = []
        for item in items:
            r = by_message[item.message_id]
            attempt = int(item.attempts) + 1
            claimed.append(
                Claimed(
                    outbox_id=int(item.id),
                    attempt=attempt,
                    team_id=r.team_id,
                    assignee_id=r.assignee_id,
                    message=OutboundMessage(
                        message_id=r.id,
                        conversation_id=r.conversation_id,
                        channel=r.channel,
                        to=r.contact_address,
                        channel_account=r.channel_account,
                        thread_key=r.thread_key,
                        subject=r.subject,
                        body=r.body,
                        attachments=tuple(Attachment.model_validate(a) for a in r.attachments or ()),
                        author_name=r.author_name or "",
                        attempt=attempt,
                        meta=r.meta,
                        idempotency_key=idempotency_key(r.id),
                    ),
                )
            )
        return claimed

    async def _send(self, c: Claimed) -> SendResult | SendError:
        """One attempt through the channel; every outcome is a value, never a raise."""
        channel_kind = c.message.channel
        try:
            channel = self.hub.channels.get(channel_kind)
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                return await channel.send(c.message)
        except SendError as exc:
            return exc
        except TimeoutError:
            return SendError(f"send timed out after {SEND_TIMEOUT_SECONDS:.0f}s")
        except KeyError:
            return SendError(f"channel {channel_kind} is not enabled", retryable=False)
        except Exception as exc:  # an adapter bug must not kill the worker
            log.exception("send raised", extra=_ids(c))
            return SendError(f"{type(exc).__name__}: {exc}")

    async def _record_successes(self, sent: list[tuple[Claimed, SendResult]]) -> None:
        """The providers accepted: from here on nothing may make these messages due again."""
        if not sent:
            return
        try:
            await self._record_sent(sent)
        except Exception:
            if len(sent) == 1:
                await self._record_one(*sent[0])
            else:
                log.warning(
                    "recording %d sends in one transaction failed; recording each alone",
                    len(sent),
                    exc_info=True,
                )
                for c, result in sent:
                    await self._record_one(c, result)
        for c, _ in sent:
            self.hub.metrics.sent.labels(c.message.channel).inc()

    async def _record_one(self, c: Claimed, result: SendResult) -> None:
        try:
            await self._record_sent([(c, result)])
            return
        except Exception as exc:
            failure: Exception = exc
        try:
            await self._record_sent_minimal(
                c, f"sent, but recording the send failed: {type(failure).__name__}"
            )
        except Exception as exc:
            # Left ``sending``: after its lease it is retried with its idempotency key.
            log.error("could not record a send the provider accepted", exc_info=exc, extra=_ids(c))
            return
        log.error(
            "recording a successful send failed; marked it sent without details",
            exc_info=failure,
            extra=_ids(c),
        )

    async def _record_sent(self, sent: list[tuple[Claimed, SendResult]]) -> None:
        """Every accepted send of a pass in one transaction: one UPDATE of the outbox
        rows, one executemany of the messages (a fast provider callback may already
        have advanced a message's status: the CASE keeps it, in the same statement),
        one read of what the ``message.status`` events carry."""
        hub = self.hub
        now = hub.now()
        async with unit_of_work(hub) as uow:
            s = uow.session
            await core(s, _RECORD_OUTBOX_SENT, {"ids": [c.outbox_id for c, _ in sent], "now": now})
            await core(
                s,
                _RECORD_SENT,
                [
                    {
                        "mid": c.message.message_id,
                        "pid": r.provider_message_id,
                        "new_status": str(DeliveryStatus(r.status)),
                    }
                    for c, r in sent
                ],
            )
            mids = [c.message.message_id for c, _ in sent]
            rows = {r.id: r for r in (await core(s, _RECORDED, {"mids": mids})).all()}
            for c, _ in sent:
                emit_message_status(uow, rows[c.message.message_id], c.team_id, c.assignee_id)

    async def _record_sent_minimal(self, c: Claimed, warning: str) -> None:
        """Two plain updates, nothing that can collide: the row leaves ``sending``."""
        now = self.hub.now()
        async with self.hub.db.transaction() as s:
            await s.exec(
                update(OutboxItem)  # type: ignore[call-overload]
                .where(col(OutboxItem.id) == c.outbox_id)
                .values(status=OutboxStatus.sent, locked_until=None, last_error=warning, updated_at=now)
            )
            await s.exec(
                update(Message)  # type: ignore[call-overload]
                .where(
                    col(Message.id) == c.message.message_id,
                    col(Message.delivery_status).in_([DeliveryStatus.pending, DeliveryStatus.failed]),
                )
                .values(delivery_status=DeliveryStatus.sent, error=None)
            )

    async def _record_failure(self, c: Claimed, error: SendError) -> None:
        hub = self.hub
        cfg = hub.settings.outbox
        final = not error.retryable or c.attempt >= cfg.max_attempts
        async with unit_of_work(hub) as uow:
            s = uow.session
            item = await s.get(OutboxItem, c.outbox_id)
            m = await s.get(Message, c.message.message_id)
            assert item is not None and m is not None
            now = hub.now()
            item.last_error = error.reason[:1000]
            item.locked_until = None
            item.updated_at = now
            item.status = OutboxStatus.pending
            if final:
                item.status = OutboxStatus.dead
                m.delivery_status = DeliveryStatus.failed
                m.error = f"{error.reason} (after {c.attempt} attempt{'s' if c.attempt != 1 else ''})"[:1000]
                emit_message_status(uow, m, c.team_id, c.assignee_id)
            else:
                delay = backoff_seconds(
                    c.attempt, cfg.backoff_base_seconds, cfg.backoff_max_seconds, self.rng
                )
                if error.retry_after is not None:
                    delay = max(delay, error.retry_after)
                item.next_attempt_at = now + timedelta(seconds=delay)
        hub.metrics.send_failures.labels(c.message.channel, "true" if final else "false").inc()
        log.warning(
            "send failed (%s): %s",
            "final" if final else f"attempt {c.attempt}, will retry",
            error.reason,
            extra=_ids(c),
        )

    # -- the loop ----------------------------------------------------------------------
    async def next_due(self, *, side: bool = True) -> datetime | None:
        """When the next pending item is due, or the next in-flight lease lapses.
        ``side``: read staff mail's and campaigns' too (else their last reading)."""
        async with self.hub.db.engine.connect() as c:
            pending, lapsing = (await c.execute(_NEXT_DUE)).one()
        if side:
            staff = await staff_outbox.next_due(self.hub)
            from hub.campaigns.sender import next_due as campaigns_due

            campaign = await campaigns_due(self.hub)
            self._side_due = min((t for t in (staff, campaign) if t is not None), default=None)
            self._side_read = time.monotonic()
        return min((t for t in (pending, lapsing, self._side_due) if t is not None), default=None)

    def _side_work(self) -> bool:
        """Whether this turn of the loop also looks at staff mail and campaign sends:
        woken for them (``outbox_wakeup``), one due by the last reading, or that
        reading older than the poll interval (rows another process queued). A turn
        woken only by replies skips them: their claims and due reads were more than
        half of a small pass's CPU (bench/storage_bench.py)."""
        hub = self.hub
        if hub.outbox_wakeup.is_set():
            return True
        if time.monotonic() - self._side_read >= hub.settings.outbox.poll_interval_seconds:
            return True
        return self._side_due is not None and self._side_due <= hub.now()

    async def turn(self, *, side: bool) -> datetime | None:
        """One turn of the loop: passes until one claims less than a full batch (it took
        everything due then; what came due since is in the due read, or has set a
        wake-up — the empty pass that used to end every turn was a claim, and two side
        claims, more), then the next due time. A pass's statements are bounded by its
        batch: on SQLite those that cannot wait for a lock need no thread round trip
        (hub.sqlite_driver)."""
        batch = self.hub.settings.outbox.batch_size
        with inline():
            while await self.run_once(side=side) >= batch:
                pass
            return await self.next_due(side=side)

    async def run_forever(self) -> None:
        hub = self.hub
        poll = hub.settings.outbox.poll_interval_seconds
        while not self._stopping.is_set():
            side = self._side_work()
            hub.outbox_wakeup.clear()
            hub.reply_wakeup.clear()
            try:
                due = await self.turn(side=side)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox pass failed")
                due = None
            timeout = poll
            if due is not None:
                timeout = max(0.0, min(poll, (due - hub.now()).total_seconds()))
            await _either(hub.outbox_wakeup, hub.reply_wakeup, timeout)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run_forever(), name="outbox-worker")

    async def stop(self) -> None:
        self._stopping.set()
        self.hub.outbox_wakeup.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=10)


async def _either(a: asyncio.Event, b: asyncio.Event, seconds: float) -> None:
    """Until ``a`` or ``b`` is set, or ``seconds`` have passed."""
    if a.is_set() or b.is_set():
        return
    waits = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
