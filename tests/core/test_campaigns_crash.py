"""kill -9 of a real hub process in the middle of a campaign: after a restart every
recipient is sent exactly once — nobody twice, nobody skipped.

The campaign is started (committed) here; a real ``switchboard serve`` process then
freezes its segment page by page and sends through the loopback channel, whose journal
records every accepted send on disk with its idempotency key. The process is killed
with SIGKILL part-way, restarted, and left to finish (follows test_outbox_crash.py).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.models import Campaign, CampaignRecipient, Role
from hub.projections import core
from tests.core.campaign_support import bulk_contacts, create, segment
from tests.core.test_outbox_crash import _journal_keys, _start, _wait_for
from tests.helpers import login, user

CONTACTS = 300


def _config(tmp_path: Path, db_url: str, journal: Path) -> Path:
    path = tmp_path / "crash.toml"
    path.write_text(
        f"""
database_url = {json.dumps(db_url)}
data_dir = {json.dumps(str(tmp_path / "var"))}

[outbox]
lease_seconds = 1.0
poll_interval_seconds = 0.2
batch_size = 8

[campaigns]
# Small pages and batches so the kill lands between freezing, claims, sends and records.
rates = {{ loopback = 400.0 }}
freeze_batch = 40
send_batch = 8

[channels.loopback]
journal = {json.dumps(str(journal))}
""",
        encoding="utf-8",
    )
    return path


async def _left(hub: Any, campaign_id: int) -> tuple[int, str]:
    r = CampaignRecipient.__table__.c  # type: ignore[attr-defined]
    async with hub.db.session() as s:
        n = (
            await core(
                s,
                sa.select(sa.func.count()).where(
                    r.campaign_id == campaign_id, r.status.in_(["pending", "sending"])
                ),
            )
        ).scalar()
        c = await s.get(Campaign, campaign_id)
        assert c is not None
        await s.refresh(c)
    return int(n or 0), c.status


async def test_kill_9_mid_campaign_sends_each_recipient_exactly_once(
    app: Any, db_url: str, tmp_path: Path
) -> None:
    hub, client = app.hub, app.client
    await user(hub, "root@example.com", role=Role.admin)
    h = await login(client, "root@example.com")
    await bulk_contacts(hub, CONTACTS, prefix="kill")
    seg = await segment(client, h, "Everyone", {})
    c = await create(
        client, h, audience={"segment_id": seg}, schedule={"quiet_start": None, "quiet_end": None}
    )
    r = await client.post(f"/api/v1/campaigns/{c['id']}/start", json={}, headers=h)
    assert r.json()["status"] == "running"
    journal = tmp_path / "loopback-sent.jsonl"
    config = _config(tmp_path, db_url, journal)

    first = _start(config, tmp_path, 1)
    try:

        async def some_sent() -> bool:
            return len(_journal_keys(journal)) >= CONTACTS // 3

        await _wait_for(some_sent, first, "the first campaign sends", tmp_path)
        first.kill()  # SIGKILL
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(30)
    left, status = await _left(hub, c["id"])
    frozen = len(_journal_keys(journal))
    assert status == "running" and (left > 0 or frozen < CONTACTS), "the kill landed after the end"

    second = _start(config, tmp_path, 2)
    try:

        async def done() -> bool:
            return (await _left(hub, c["id"]))[1] == "completed"

        await _wait_for(done, second, "the campaign to complete", tmp_path)
    finally:
        second.terminate()
        second.wait(30)

    rt = CampaignRecipient.__table__.c  # type: ignore[attr-defined]
    async with hub.db.session() as s:
        rows = (await core(s, sa.select(rt.id, rt.status).where(rt.campaign_id == c["id"]))).all()
    assert len(rows) == CONTACTS + 0 and {st for _, st in rows} == {"sent"}
    counts = Counter(_journal_keys(journal))
    assert set(counts) == {f"campaign-{rid}" for rid, _ in rows}
    assert [k for k, n in counts.items() if n != 1] == []
