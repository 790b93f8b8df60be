"""A campaign to a segment of 10,000 contacts on a fake clock: every eligible recipient
exactly once, no one-second window above the configured rate, opted-out contacts never
sent, and contacts in their quiet hours only once those end. Replies sent while it runs
go first (the campaign takes only the room the reply pass leaves)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from hub.models import ContactConsent, Role
from hub.projections import core
from hub.services import SYSTEM
from hub.services.conversations import reply
from tests.core.campaign_support import bulk_contacts, create, freeze, segment, statuses
from tests.helpers import inbound, login, user

RATE = 1000
N = 10_000


@pytest.fixture
def settings(db_url: str, tmp_path: Any) -> Any:
    from tests.conftest import make_settings

    return make_settings(
        db_url,
        tmp_path,
        campaigns={"rates": {"loopback": float(RATE)}, "freeze_batch": 2500, "send_batch": 500},
        outbox={"batch_size": 500},
    )


async def test_ten_thousand_within_the_rate_consent_and_quiet_hours(app: Any, clock: Any) -> None:
    hub, client = app.hub, app.client
    loop = hub.channels.get("loopback")
    await user(hub, "root@example.com", role=Role.admin)
    h = await login(client, "root@example.com")
    conv = (await inbound(client, "talker", "hello"))["conversation_id"]
    ids = await bulk_contacts(hub, N - 1000, prefix="big")
    # 01:00 in Los Angeles at 09:00 UTC: quiet until 09:00 there (17:00 UTC).
    late = await bulk_contacts(hub, 1000, prefix="la", timezone="America/Los_Angeles")
    opted = ids[::100]  # 90 of them opted out of marketing here
    async with hub.db.transaction() as s:
        await core(
            s,
            sa.insert(ContactConsent.__table__),  # type: ignore[attr-defined]
            [
                {
                    "contact_id": cid,
                    "channel": "loopback",
                    "purpose": "marketing",
                    "state": "opted_out",
                    "source": "api",
                    "updated_at": clock.now,
                }
                for cid in opted
            ],
        )
    seg = await segment(client, h, "Everyone", {})
    c = await create(client, h, audience={"segment_id": seg})
    await client.post(f"/api/v1/campaigns/{c['id']}/start", json={}, headers=h)
    await freeze(hub)
    got = await statuses(hub, c["id"])
    assert got == {"pending": N - len(opted) + 1, "excluded": len(opted)}  # + the talker

    sends: list[tuple[float, int]] = []  # (fake time, sends in that pass)
    replies_first = None
    seen = 0
    for step in range(400):
        if step == 3:  # conversation traffic arrives while the campaign sends
            for i in range(5):
                await reply(hub, SYSTEM, conv, f"answer {i}")
        await app.worker.run_once()
        new = list(loop.sent)[seen:]
        seen += len(new)
        if step == 3:
            replies_first = [m.idempotency_key.startswith("switchboard-message-") for m in new[:5]]
        if new:
            sends.append((clock.now.timestamp(), sum(m.idempotency_key.startswith("campaign-") for m in new)))
        clock.advance(0.25)
        if seen >= N - len(opted) - 1000 + 1 + 5:
            break
    assert replies_first == [True] * 5
    # Quiet hours: nobody in Los Angeles yet; they go after 17:00 UTC.
    la = {f"la-{cid}" for cid in late}
    assert not la & {m.to for m in loop.sent}
    clock.now = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)
    for _ in range(40):
        await app.worker.run_once()
        new = list(loop.sent)[seen:]
        seen += len(new)
        if new:
            sends.append((clock.now.timestamp(), len(new)))
        clock.advance(0.25)
    campaign = [m for m in loop.sent if m.idempotency_key.startswith("campaign-")]
    keys = Counter(m.idempotency_key for m in campaign)
    assert len(keys) == N - len(opted) + 1 and max(keys.values()) == 1
    assert la <= {m.to for m in campaign}
    assert not {f"big-{cid}" for cid in opted} & {m.to for m in campaign}
    # No one-second window (sliding, half-open) holds more than the rate.
    worst = max(sum(n for u, n in sends if t <= u < t + 1.0) for t, _ in sends)
    assert RATE * 0.9 <= worst <= RATE
    await freeze(hub)
    assert (await client.get(f"/api/v1/campaigns/{c['id']}")).json()["status"] == "completed"
