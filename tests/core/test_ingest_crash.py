"""kill -9 of a real hub under inbound load: no acknowledged message lost, none doubled.

A generator posts a bounded burst of customer messages to a real ``switchboard serve``
process as fast as it answers (64 in flight, group commit batching them); part-way
through the process is killed with SIGKILL. The generator does what a provider does:
it resends everything that was not acknowledged — and, as providers also do, some that
were — to the restarted process. Then every message is stored exactly once, every
acknowledged one among them, and each customer has one contact and one open
conversation.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, func, select

from hub.models import Contact, Conversation, Direction, Message
from tests.ports import unused_port
from tests.raw_http import Broken, RawConnection

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 1_200
CUSTOMERS = 120
IN_FLIGHT = 64
DEADLINE_SECONDS = 120.0


def _start(tmp_path: Path, db_url: str, port: int, n: int) -> subprocess.Popen[bytes]:
    config = tmp_path / "hub.toml"
    config.write_text(
        f"database_url = {json.dumps(db_url)}\ndata_dir = {json.dumps(str(tmp_path / 'var'))}\n"
        f'port = {port}\nlog_level = "WARNING"\n\n[channels.loopback]\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["SWITCHBOARD_CONFIG"] = str(config)
    with (tmp_path / f"hub-{n}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "hub", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


async def _ready(client: httpx.AsyncClient, proc: subprocess.Popen[bytes], tmp_path: Path) -> None:
    """Poll /healthz: the process gives no other signal that it is listening."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while True:
        assert proc.poll() is None, _logs(tmp_path)
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert loop.time() < deadline, "the hub did not start"
        await asyncio.sleep(0.05)


def _logs(tmp_path: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("hub-*.log")))[-4000:]


def _body(i: int) -> dict[str, str]:
    return {
        "sender": f"crash-cust-{i % CUSTOMERS}",
        "body": f"message {i}",
        "provider_message_id": f"crash-{i}",
    }


async def _send_all(
    port: int, indexes: list[int], acked: set[int], on_ack: Any = None, resend: int = 0
) -> None:
    """Post each message; with ``resend``, a message not acknowledged (a broken or
    timed-out connection) is sent again up to that many times, as a provider does.

    IN_FLIGHT raw keep-alive connections (``tests.raw_http``): httpx's pool spent ~10 ms
    of CPU a request here, two thirds of the test's time, so it, not the hub, had set
    the pace of the "load"."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in indexes:
        queue.put_nowait(i)
    tries: dict[int, int] = {}

    async def worker() -> None:
        conn = RawConnection(port)
        try:
            while not queue.empty():
                i = queue.get_nowait()
                try:
                    status, answer = await conn.post_json("/channels/loopback/messages", _body(i))
                except Broken:
                    tries[i] = tries.get(i, 0) + 1
                    if tries[i] <= resend:
                        queue.put_nowait(i)
                    continue  # not acknowledged: the provider will resend it
                if status in (200, 201):
                    acked.add(i)
                    if on_ack is not None:
                        on_ack()
                else:
                    raise AssertionError(f"message {i}: {status} {answer!r}")
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


async def test_kill_9_under_load_loses_no_acknowledged_message_and_doubles_none(
    app: Any, db_url: str, tmp_path: Path
) -> None:
    # Both children bind it, the second after the first was killed: a port that no other
    # xdist worker picks and that the kernel hands to no outgoing connection meanwhile.
    port = unused_port()
    acked_before_kill: set[int] = set()
    first = _start(tmp_path, db_url, port, 1)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await _ready(client, first, tmp_path)

        def kill_part_way() -> None:
            if len(acked_before_kill) == MESSAGES // 3 and first.poll() is None:
                first.send_signal(signal.SIGKILL)

        await _send_all(port, list(range(MESSAGES)), acked_before_kill, kill_part_way)
    finally:
        if first.poll() is None:
            first.kill()
        first.wait(30)
    assert MESSAGES // 3 <= len(acked_before_kill) < MESSAGES, "the kill did not land mid-burst"

    second = _start(tmp_path, db_url, port, 2)
    acked_after: set[int] = set()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await _ready(client, second, tmp_path)
        unacked = [i for i in range(MESSAGES) if i not in acked_before_kill]
        resent_anyway = sorted(acked_before_kill)[:100]
        await _send_all(port, unacked + resent_anyway, acked_after, resend=3)
    finally:
        second.terminate()
        second.wait(30)
    assert acked_after == set(unacked) | set(resent_anyway)

    async with app.hub.db.session() as s:
        pids = (
            await s.exec(
                select(Message.provider_message_id).where(
                    Message.direction == Direction.inbound,
                    col(Message.provider_message_id).like("crash-%"),
                )
            )
        ).all()
        contacts = (await s.exec(select(func.count()).select_from(Contact))).one()  # type: ignore[arg-type]
        conversations = (await s.exec(select(func.count()).select_from(Conversation))).one()  # type: ignore[arg-type]
    assert len(pids) == MESSAGES and set(pids) == {f"crash-{i}" for i in range(MESSAGES)}
    assert (contacts, conversations) == (CUSTOMERS, CUSTOMERS)
