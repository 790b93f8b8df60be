"""The outbox never sends twice and never wedges (hardening issue).

Each test here failed before the fix: a provider id that repeats made recording the
send raise, the row stayed due and the reply went out again every lease; one item's
failure was swallowed by ``asyncio.gather`` with the others' outcomes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from channels.base import SendResult
from channels.loopback import LoopbackChannel
from hub.domain import OutboundMessage
from hub.models import Message, OutboxItem, Role
from hub.outbox import idempotency_key
from hub.services import SYSTEM
from hub.services.conversations import reply
from tests.helpers import inbound, user


async def _conversation(app: Any) -> int:
    await user(app.hub, "root@example.com", role=Role.admin)
    return int((await inbound(app.client, "cust-x", "hello", thread_key="t1"))["conversation_id"])


async def _state(hub: Any, message_id: int) -> tuple[Message, OutboxItem]:
    async with hub.db.session() as s:
        m = await s.get(Message, message_id)
        item = (await s.exec(select(OutboxItem).where(OutboxItem.message_id == message_id))).one()
    assert m is not None
    return m, item


def _past_lease(app: Any, clock: Any) -> None:
    clock.advance(app.hub.settings.outbox.lease_seconds + 1)


async def test_a_provider_id_that_repeats_is_recorded_and_not_sent_again(
    app: Any, loopback: Any, clock: Any
) -> None:
    conv = await _conversation(app)
    delivered: list[str] = []

    async def same_id_every_time(message: OutboundMessage) -> SendResult:
        delivered.append(message.body)
        return SendResult(provider_message_id="SM-constant")

    loopback.send = same_id_every_time
    first = await reply(app.hub, SYSTEM, conv, "one")
    second = await reply(app.hub, SYSTEM, conv, "two")
    assert await app.worker.run_once() == 2
    for m in (first, second):
        stored, item = await _state(app.hub, m.id)
        assert (stored.delivery_status, item.status) == ("sent", "sent")
        assert stored.provider_message_id == "SM-constant"
    _past_lease(app, clock)
    assert await app.worker.run_once() == 0
    assert sorted(delivered) == ["one", "two"]


async def test_a_failure_after_the_provider_accepted_leaves_the_message_sent(
    app: Any, loopback: Any, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    conv = await _conversation(app)
    m = await reply(app.hub, SYSTEM, conv, "accepted")

    async def recording_breaks(sent: Any) -> None:
        raise RuntimeError("database went away")

    app.worker._record_sent = recording_breaks
    with caplog.at_level(logging.ERROR, logger="hub.outbox"):
        assert await app.worker.run_once() == 1
    stored, item = await _state(app.hub, m.id)
    assert (stored.delivery_status, item.status) == ("sent", "sent")
    assert item.last_error == "sent, but recording the send failed: RuntimeError"
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert getattr(record, "message_id", None) == m.id
    _past_lease(app, clock)
    assert await app.worker.run_once() == 0
    assert [s.body for s in loopback.sent] == ["accepted"]


async def test_one_items_failure_neither_stops_nor_hides_the_others(
    app: Any, loopback: Any, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    conv = await _conversation(app)
    replies = [await reply(app.hub, SYSTEM, conv, f"r{i}") for i in range(4)]
    broken = {replies[1].id, replies[2].id}
    record_sent, record_minimal = app.worker._record_sent, app.worker._record_sent_minimal

    # Recording fails for two items, even the minimal "sent" write (the database
    # refuses those rows): the batch is recorded item by item, the others land.
    async def record_breaks_for_some(sent: Any) -> None:
        if {c.message.message_id for c, _ in sent} & broken:
            raise RuntimeError("cannot record")
        await record_sent(sent)

    async def minimal_breaks_for_some(c: Any, warning: str) -> None:
        if c.message.message_id in broken:
            raise RuntimeError(f"cannot record {c.message.message_id}")
        await record_minimal(c, warning)

    app.worker._record_sent = record_breaks_for_some
    app.worker._record_sent_minimal = minimal_breaks_for_some
    with caplog.at_level(logging.ERROR, logger="hub.outbox"):
        assert await app.worker.run_once() == 4
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert sorted(getattr(r, "message_id", None) for r in errors) == sorted(broken)
    for m in replies:
        _, item = await _state(app.hub, m.id)
        assert item.status == ("sending" if m.id in broken else "sent")

    # Their lease lapses: they are claimed again with the same idempotency key, and
    # the provider (which honours it) does not deliver a second time.
    app.worker._record_sent, app.worker._record_sent_minimal = record_sent, record_minimal
    assert await app.worker.run_once() == 0  # still leased
    _past_lease(app, clock)
    assert await app.worker.run_once() == 2
    for m in replies:
        stored, item = await _state(app.hub, m.id)
        assert (stored.delivery_status, item.status) == ("sent", "sent")
    assert sorted(s.body for s in loopback.sent) == ["r0", "r1", "r2", "r3"]


async def test_a_crash_mid_send_is_retried_with_the_same_key_and_delivered_once(
    app: Any, loopback: Any, clock: Any
) -> None:
    conv = await _conversation(app)
    m = await reply(app.hub, SYSTEM, conv, "in flight")
    # The process claims the row and the provider accepts; then it dies before recording.
    [claimed] = await app.worker._claim()
    assert claimed.message.idempotency_key == idempotency_key(m.id)
    accepted = await loopback.send(claimed.message)
    _, item = await _state(app.hub, m.id)
    assert item.status == "sending"
    assert await app.worker.run_once() == 0  # the lease still holds
    _past_lease(app, clock)
    assert await app.worker.run_once() == 1
    stored, item = await _state(app.hub, m.id)
    assert (item.status, item.attempts) == ("sent", 2)
    assert stored.provider_message_id == accepted.provider_message_id
    assert [s.body for s in loopback.sent] == ["in flight"]


async def test_the_worker_wakes_when_a_lapsed_lease_is_due(app: Any, clock: Any) -> None:
    conv = await _conversation(app)
    await reply(app.hub, SYSTEM, conv, "in flight")
    await app.worker._claim()
    due = await app.worker.next_due()
    assert due is not None
    assert abs((due - clock.now).total_seconds() - app.hub.settings.outbox.lease_seconds) < 1


def _message(message_id: int, key: str | None = None) -> OutboundMessage:
    return OutboundMessage(
        message_id=message_id,
        conversation_id=1,
        channel="loopback",
        to="c",
        body=f"m{message_id}",
        idempotency_key=key if key is not None else idempotency_key(message_id),
    )


async def test_loopback_ids_are_unique_across_restarts_and_its_journal_is_durable(tmp_path: Path) -> None:
    journal = tmp_path / "sent.jsonl"
    first = LoopbackChannel(journal=journal)
    await first.start(None)  # type: ignore[arg-type]
    a = await first.send(_message(1))
    assert (await first.send(_message(1))).provider_message_id == a.provider_message_id
    assert len(first.sent) == 1

    # A crash cut the last line short; the restarted channel still knows message 1.
    with journal.open("a") as f:
        f.write('{"key": "switchboard-message-2", "provid')
    second = LoopbackChannel(journal=journal)
    await second.start(None)  # type: ignore[arg-type]
    assert (await second.send(_message(1))).provider_message_id == a.provider_message_id
    b = await second.send(_message(2))
    assert b.provider_message_id != a.provider_message_id and len(second.sent) == 1
    lines = journal.read_text().splitlines()
    assert [line for line in lines if line.startswith("{") and line.endswith("}")][-1].find("message-2") > 0
    # Without a key every send is a new delivery with a fresh id.
    c, d = await second.send(_message(3, key="")), await second.send(_message(3, key=""))
    assert c.provider_message_id != d.provider_message_id


async def test_loopback_sent_list_needs_a_configured_token(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    for token, header, status in (
        (None, None, 404),
        ("t" * 16, None, 403),
        ("t" * 16, "wrong-token-value", 403),
        ("t" * 16, "t" * 16, 200),
    ):
        channel = LoopbackChannel(token=token)
        web = Starlette(routes=[Mount("/channels/loopback", routes=list(channel.routes()))])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t") as c:
            headers = {"x-loopback-token": header} if header else {}
            r = await c.get("/channels/loopback/sent", headers=headers)
        assert r.status_code == status, (token, header, r.text)
