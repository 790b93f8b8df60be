"""Replies go out through the durable outbox: retries with backoff, then failure."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlmodel import select

from channels.base import SendError
from hub.models import Message, OutboxItem, Role
from hub.services import SYSTEM
from hub.services.conversations import reply
from tests.helpers import inbound, user


async def _conversation(app: Any) -> int:
    await user(app.hub, "root@example.com", role=Role.admin)
    return int((await inbound(app.client, "cust-out", "hello", thread_key="t1"))["conversation_id"])


async def _state(hub: Any, message_id: int) -> tuple[Message, OutboxItem]:
    async with hub.db.session() as s:
        m = await s.get(Message, message_id)
        item = (await s.exec(select(OutboxItem).where(OutboxItem.message_id == message_id))).one()
    assert m is not None
    return m, item


async def test_reply_is_sent_through_the_channel(app: Any, loopback: Any) -> None:
    conv = await _conversation(app)
    m = await reply(app.hub, SYSTEM, conv, "Thanks, we are on it")
    _, item = await _state(app.hub, m.id)
    assert item.status == "pending"  # committed together with the message
    assert await app.worker.run_once() == 1
    sent = loopback.sent[-1]
    assert (sent.to, sent.body, sent.thread_key, sent.conversation_id) == (
        "cust-out",
        "Thanks, we are on it",
        "t1",
        conv,
    )
    m2, item2 = await _state(app.hub, m.id)
    assert (
        m2.delivery_status == "sent"
        and m2.provider_message_id.startswith("lb-out-")
        and item2.status == "sent"
    )
    assert await app.worker.run_once() == 0


async def test_failed_sends_are_retried_with_backoff_then_succeed(
    app: Any, loopback: Any, clock: Any
) -> None:
    conv = await _conversation(app)
    loopback.script_failures(SendError("503 from provider"), SendError("connection reset"))
    m = await reply(app.hub, SYSTEM, conv, "retry me")
    assert await app.worker.run_once() == 1
    _, item = await _state(app.hub, m.id)
    assert item.attempts == 1 and item.last_error == "503 from provider"
    first_delay = (item.next_attempt_at - clock.now).total_seconds()
    assert 1.0 <= first_delay <= 2.0  # base 2s with jitter in the upper half
    assert await app.worker.run_once() == 0  # not due yet
    clock.advance(first_delay)
    assert await app.worker.run_once() == 1
    _, item = await _state(app.hub, m.id)
    second_delay = (item.next_attempt_at - clock.now).total_seconds()
    assert 2.0 <= second_delay <= 4.0 and item.last_error == "connection reset"
    clock.advance(second_delay)
    assert await app.worker.run_once() == 1
    m2, item = await _state(app.hub, m.id)
    assert (m2.delivery_status, item.status, item.attempts) == ("sent", "sent", 3)
    assert [s.body for s in loopback.sent] == ["retry me"]


async def test_message_fails_with_reason_after_last_attempt(app: Any, loopback: Any, clock: Any) -> None:
    conv = await _conversation(app)
    attempts = app.hub.settings.outbox.max_attempts
    loopback.script_failures(*(SendError(f"timeout #{i + 1}") for i in range(attempts)))
    sub = app.hub.bus.subscribe()
    m = await reply(app.hub, SYSTEM, conv, "doomed")
    for _ in range(attempts):
        assert await app.worker.run_once() == 1
        clock.advance(3600)
    m2, item = await _state(app.hub, m.id)
    assert item.status == "dead" and item.attempts == attempts
    assert m2.delivery_status == "failed" and m2.error == f"timeout #{attempts} (after {attempts} attempts)"
    statuses = []
    while (e := sub.get_nowait()) is not None:
        if e.type == "message.status":
            statuses.append(e.payload["delivery_status"])
    assert statuses == ["failed"]
    assert not loopback.sent
    sub.close()


async def test_non_retryable_error_dead_letters_at_once(app: Any, loopback: Any) -> None:
    conv = await _conversation(app)
    loopback.script_failures(SendError("21211 invalid 'To' number", retryable=False))
    m = await reply(app.hub, SYSTEM, conv, "bad number")
    assert await app.worker.run_once() == 1
    m2, item = await _state(app.hub, m.id)
    assert item.status == "dead" and item.attempts == 1 and m2.delivery_status == "failed"
    assert "21211" in (m2.error or "")


async def test_retry_after_from_the_provider_is_honoured(app: Any, loopback: Any, clock: Any) -> None:
    conv = await _conversation(app)
    loopback.script_failures(SendError("429 Too Many Requests", retry_after=30))
    m = await reply(app.hub, SYSTEM, conv, "slow down")
    await app.worker.run_once()
    _, item = await _state(app.hub, m.id)
    assert (item.next_attempt_at - clock.now).total_seconds() == 30


async def test_adapter_crash_is_contained_and_retried(app: Any, loopback: Any) -> None:
    conv = await _conversation(app)

    async def boom(message: Any) -> Any:
        raise RuntimeError("adapter bug")

    original = loopback.send
    loopback.send = boom
    m = await reply(app.hub, SYSTEM, conv, "x")
    assert await app.worker.run_once() == 1
    _, item = await _state(app.hub, m.id)
    assert item.status == "pending" and item.last_error == "RuntimeError: adapter bug"
    loopback.send = original


async def test_a_pass_records_its_sends_together_and_keeps_a_status_a_callback_advanced(
    app: Any, loopback: Any
) -> None:
    """One pass, three sends: the claim and the record are set-wise (one UPDATE of the
    messages for all of them, not one per send, and not the one-by-one fallback), and a
    status callback that arrived while the channel was sending keeps its status."""
    from sqlalchemy import update

    from hub.models import EventLog
    from tests.helpers import statements

    await user(app.hub, "root@example.com", role=Role.admin)
    convs = [int((await inbound(app.client, f"cust-{i}", "hello"))["conversation_id"]) for i in range(3)]
    replies = [await reply(app.hub, SYSTEM, c, f"answer {i}") for i, c in enumerate(convs)]
    fast = replies[1].id
    send = app.worker._send

    async def send_then_callback(c: Any) -> Any:
        result = await send(c)
        if c.message.message_id == fast:  # the provider's "delivered" beat our record
            async with app.hub.db.transaction() as s:
                await s.exec(update(Message).where(Message.id == fast).values(delivery_status="delivered"))  # type: ignore[call-overload]
        return result

    app.worker._send = send_then_callback
    async with app.hub.db.session() as s:
        top = (await s.exec(select(EventLog.id).order_by(EventLog.id.desc()).limit(1))).first() or 0  # type: ignore[union-attr]
    with statements(app.hub, "UPDATE message SET provider_message_id") as updates:
        assert await app.worker.run_once() == 3
    assert len(updates) == 1, updates
    states = {r.id: await _state(app.hub, r.id) for r in replies}
    for r in replies:
        m, item = states[r.id]
        assert item.status == "sent" and item.attempts == 1 and item.locked_until is None
        assert m.provider_message_id and m.provider_message_id.startswith("lb-out-")
        assert m.delivery_status == ("delivered" if r.id == fast else "sent")
    async with app.hub.db.session() as s:
        events = (
            await s.exec(select(EventLog).where(EventLog.id > top, EventLog.type == "message.status"))
        ).all()
    assert {(e.payload["message_id"], e.payload["delivery_status"]) for e in events} == {
        (r.id, "delivered" if r.id == fast else "sent") for r in replies
    }
    assert sorted(s.body for s in list(loopback.sent)[-3:]) == ["answer 0", "answer 1", "answer 2"]


async def test_the_worker_loop_sends_with_its_statements_inline(app: Any, loopback: Any) -> None:
    """The worker's own loop (not run_once() called by a test): a reply is sent once and
    recorded, and the pass ran inside hub.sqlite_driver.inline() (its statements that
    cannot wait skip the thread round trip on SQLite; a no-op on PostgreSQL)."""
    from hub.outbox import OutboxWorker
    from hub.sqlite_driver import INLINE

    conv = await _conversation(app)
    inline_during_send: list[bool] = []
    real_send = loopback.send

    async def send(message: Any) -> Any:
        inline_during_send.append(INLINE.get())
        return await real_send(message)

    loopback.send = send
    m = await reply(app.hub, SYSTEM, conv, "from the loop")
    sub = app.hub.bus.subscribe()
    worker = OutboxWorker(app.hub)
    worker.start()
    try:
        while True:  # until the send is recorded: its message.status event
            event = await sub.get()
            if (
                event is not None
                and event.type == "message.status"
                and event.payload.get("message_id") == m.id
            ):
                break
    finally:
        await worker.stop()
        sub.close()
    assert [s.body for s in loopback.sent] == ["from the loop"] and inline_during_send == [True]
    m2, item = await _state(app.hub, m.id)
    assert m2.delivery_status == "sent" and item.status == "sent" and item.attempts == 1


class _Monotonic:
    """hub.outbox's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now


async def test_a_turn_woken_only_by_replies_leaves_staff_mail_and_campaigns_alone(
    app: Any, loopback: Any, clock: Any, monkeypatch: Any
) -> None:
    """Staff mail's and campaigns' claims and due reads run on the loop's first turn, when
    woken for them, when one is due by the last reading, or when that reading is older
    than the poll interval; a turn woken by a reply alone sends the reply and skips them."""
    import hub.outbox as outbox_module
    from hub import staff_outbox
    from hub.campaigns import sender
    from hub.outbox import OutboxWorker

    fake = _Monotonic()
    monkeypatch.setattr(outbox_module, "time", fake)
    looked: list[str] = []
    real_staff, real_campaigns = staff_outbox.run_once, sender.next_due

    async def staff(*args: Any) -> int:
        looked.append("staff")
        return await real_staff(*args)

    async def campaigns_due(*args: Any) -> Any:
        looked.append("campaigns due")
        return await real_campaigns(*args)

    monkeypatch.setattr(staff_outbox, "run_once", staff)
    monkeypatch.setattr(sender, "next_due", campaigns_due)
    idle = asyncio.Event()  # the loop finished a turn and waits
    real_either = outbox_module._either

    async def either(*args: Any) -> None:
        idle.set()
        await real_either(*args)

    monkeypatch.setattr(outbox_module, "_either", either)
    conv = await _conversation(app)
    sub = app.hub.bus.subscribe()
    worker = OutboxWorker(app.hub)

    async def sent(text: str) -> None:
        await idle.wait()  # each reply wakes a turn of its own
        idle.clear()
        m = await reply(app.hub, SYSTEM, conv, text)
        while True:
            event = await sub.get()
            if (
                event is not None
                and event.type == "message.status"
                and event.payload.get("message_id") == m.id
            ):
                await idle.wait()  # and the turn is over (staff mail and campaigns come after)
                return

    worker.start()
    try:
        await sent("first")  # after the first turn, which looked at everything
        assert looked.count("staff") >= 1 and "campaigns due" in looked
        looked.clear()
        await sent("second")  # woken by the reply alone
        assert looked == []
        poll = app.hub.settings.outbox.poll_interval_seconds
        fake.now += poll  # the last reading is now as old as the poll interval
        await sent("third")
        assert "staff" in looked and looked.count("campaigns due") == 1
        looked.clear()
        await sent("fourth")
        assert looked == []
    finally:
        await worker.stop()
        sub.close()
    assert [s.body for s in loopback.sent] == ["first", "second", "third", "fourth"]
    # Woken for them, or one due by the last reading: the next turn looks.
    app.hub.outbox_wakeup.clear()  # (stop() sets it, to end the wait)
    assert not worker._side_work()
    app.hub.outbox_wakeup.set()
    assert worker._side_work()
    app.hub.outbox_wakeup.clear()
    worker._side_due = clock.now + timedelta(seconds=30)
    assert not worker._side_work()
    clock.advance(30)
    assert worker._side_work()


async def test_a_turn_passes_again_only_after_a_full_batch_and_reads_what_comes_due(
    app: Any, loopback: Any, clock: Any, monkeypatch: Any
) -> None:
    """The loop's turn: a pass that claimed less than a full batch took everything due,
    so the turn ends without the empty pass that used to follow it; a full batch is
    followed by another. Then the due read: a retry's time, and a lapsed lease."""
    from hub.models import OutboxStatus
    from hub.outbox import OutboxWorker

    conv = await _conversation(app)
    monkeypatch.setattr(app.hub.settings.outbox, "batch_size", 2)
    worker = OutboxWorker(app.hub)
    claims: list[int] = []
    real_claim = worker._claim

    async def claim() -> Any:
        claimed = await real_claim()
        claims.append(len(claimed))
        return claimed

    monkeypatch.setattr(worker, "_claim", claim)
    for n in range(5):
        await reply(app.hub, SYSTEM, conv, f"batch {n}")
    assert await worker.turn(side=False) is None  # nothing left, nothing in flight
    assert claims == [2, 2, 1]  # full, full, then one: no empty pass after it
    assert sorted(s.body for s in loopback.sent) == [f"batch {n}" for n in range(5)]

    claims.clear()
    loopback.script_failures(SendError("503 from provider"))
    m = await reply(app.hub, SYSTEM, conv, "retry me")
    due = await worker.turn(side=False)
    _, item = await _state(app.hub, m.id)
    assert claims == [1] and item.status == "pending" and due == item.next_attempt_at
    assert due is not None and due.tzinfo is not None and due > clock.now

    # A row left ``sending`` by a process that died mid-send: due when its lease lapses.
    async with app.hub.db.transaction() as s:
        row = await s.get(OutboxItem, item.id)
        assert row is not None
        row.status, row.locked_until = OutboxStatus.sending, clock.now - timedelta(seconds=1)
        row.next_attempt_at = clock.now - timedelta(minutes=2)  # it was due when claimed
        s.add(row)
    assert await worker.next_due(side=False) == clock.now - timedelta(seconds=1)
    claims.clear()
    assert await worker.turn(side=False) is None  # the lapsed lease is claimed and sent
    assert claims == [1] and loopback.sent[-1].body == "retry me"
