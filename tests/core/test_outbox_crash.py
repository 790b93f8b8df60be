"""kill -9 of a real hub process while replies are pending: each is delivered exactly once.

The replies are committed first (the outbox rows are the durable promise); then a real
``switchboard serve`` process starts sending them through the loopback channel, whose
journal records every accepted send on disk. The process is killed with SIGKILL part-way
through, restarted, and left to finish. The journal must then hold every reply exactly
once: a send interrupted anywhere — before the provider accepted, after it accepted but
before the hub recorded it — is retried with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select

from hub.models import OutboxItem, OutboxStatus, Role
from hub.outbox import idempotency_key
from hub.services import SYSTEM
from hub.services.conversations import reply
from tests.helpers import inbound, user
from tests.ports import unused_port

ROOT = Path(__file__).resolve().parents[2]
REPLIES = 400
DEADLINE_SECONDS = 90.0


def _config(tmp_path: Path, db_url: str, journal: Path) -> Path:
    path = tmp_path / "crash.toml"
    path.write_text(
        f"""
database_url = {json.dumps(db_url)}
data_dir = {json.dumps(str(tmp_path / "var"))}

[outbox]
# A short lease so the restarted process retries the killed one's claims quickly,
# and small batches so the kill lands between claims, sends and records.
lease_seconds = 1.0
poll_interval_seconds = 0.2
batch_size = 8

[channels.loopback]
journal = {json.dumps(str(journal))}
""",
        encoding="utf-8",
    )
    return path


def _start(config: Path, tmp_path: Path, n: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["SWITCHBOARD_CONFIG"] = str(config)
    # The HTTP port is not used: the outbox worker runs from the app's lifespan.
    env["SWITCHBOARD_PORT"] = str(unused_port())
    with (tmp_path / f"hub-{n}.log").open("wb") as log:  # the child keeps its own handle
        return subprocess.Popen(
            [sys.executable, "-m", "hub", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def _journal_keys(journal: Path) -> list[str]:
    if not journal.exists():
        return []
    keys = []
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            keys.append(json.loads(line)["key"])
        except (ValueError, KeyError):
            continue
    return keys


def _logs(tmp_path: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("hub-*.log")))


async def _wait_for(predicate: Any, proc: subprocess.Popen[bytes], what: str, tmp_path: Path) -> None:
    """Poll an external process's progress (it has no other signal to wait on)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while not await predicate():
        if proc.poll() is not None:
            logs = _logs(tmp_path)
            raise AssertionError(f"the hub exited while waiting for {what}:\n{logs[-4000:]}")
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def _unsent(hub: Any) -> int:
    async with hub.db.session() as s:
        return int(
            (
                await s.exec(
                    select(func.count()).where(col(OutboxItem.status) != OutboxStatus.sent)  # type: ignore[arg-type]
                )
            ).one()
        )


async def test_kill_9_while_replies_are_pending_delivers_each_exactly_once(
    app: Any, db_url: str, tmp_path: Path
) -> None:
    hub = app.hub
    await user(hub, "root@example.com", role=Role.admin)
    conv = int((await inbound(app.client, "cust-crash", "hello"))["conversation_id"])
    message_ids = [(await reply(hub, SYSTEM, conv, f"reply {i}")).id for i in range(REPLIES)]
    journal = tmp_path / "loopback-sent.jsonl"
    config = _config(tmp_path, db_url, journal)

    first = _start(config, tmp_path, 1)
    try:

        async def some_sent() -> bool:
            return len(_journal_keys(journal)) >= REPLIES // 4

        await _wait_for(some_sent, first, "the first sends", tmp_path)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(30)
    left = await _unsent(hub)
    assert left > 0, "the kill landed after every reply was sent: the test proved nothing"

    second = _start(config, tmp_path, 2)
    try:

        async def all_sent() -> bool:
            return await _unsent(hub) == 0

        await _wait_for(all_sent, second, "every reply to be sent", tmp_path)
    finally:
        second.terminate()
        second.wait(30)

    counts = Counter(_journal_keys(journal))
    assert set(counts) == {idempotency_key(m) for m in message_ids}
    assert [k for k, n in counts.items() if n != 1] == []
