"""A 100,000-recipient campaign while conversation traffic keeps its latency.

In process, on SQLite (the hub's own app with its outbox worker and projection runner,
the loopback channel as the provider):

1. baseline: ``--traffic`` conversations a second for ``--seconds``: each an inbound
   message (``ingest()``) and an answer (``reply()``), timed from the reply to the
   provider's acceptance (the outbox path a campaign competes for);
2. the same traffic while a campaign to ``--contacts`` contacts runs at ``--rate``
   sends a second: recipients frozen (enqueued) per second, campaign sends per second,
   the reply latency again (p50/p99), and the process's peak memory.

    python bench/campaign_bench.py              # 100,000 contacts, 100 conv/s, 1,000 sends/s
    python bench/campaign_bench.py --quick      # 20,000 contacts, 6 s phases

The goal (docs/campaigns.md): reply p99 with the campaign within 2x of without.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from channels.base import SendResult  # noqa: E402
from channels.loopback import LoopbackChannel  # noqa: E402
from channels.registry import ChannelRegistry  # noqa: E402
from hub.app import create_app  # noqa: E402
from hub.campaigns import service  # noqa: E402
from hub.config import load_settings  # noqa: E402
from hub.db import migrate  # noqa: E402
from hub.domain import InboundMessage, OutboundMessage  # noqa: E402
from hub.models import CampaignRecipient, Contact, Identity, Segment  # noqa: E402
from hub.projections import core  # noqa: E402
from hub.services import SYSTEM  # noqa: E402
from hub.services.conversations import reply  # noqa: E402
from hub.services.ingest import ingest  # noqa: E402


class TimedLoopback(LoopbackChannel):
    """The loopback provider, noting when each reply and campaign message was accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: dict[int, float] = {}
        self.campaign_sends = 0
        self.changed = asyncio.Event()

    async def send(self, message: OutboundMessage) -> SendResult:
        result = await super().send(message)
        self.sent.clear()  # a 100,000-message campaign: keep no copies
        if message.message_id:
            self.accepted[message.message_id] = time.perf_counter()
            self.changed.set()
        else:
            self.campaign_sends += 1
        return result


async def seed(hub: Any, n: int) -> None:
    contact, identity = Contact.__table__, Identity.__table__  # type: ignore[attr-defined]
    now = hub.now()
    for start in range(0, n, 10_000):
        size = min(10_000, n - start)
        async with hub.db.transaction() as s:
            first = (await core(s, sa.select(sa.func.coalesce(sa.func.max(contact.c.id), 0)))).scalar()
            await core(
                s,
                sa.insert(contact),
                [
                    {
                        "name": f"Customer {start + i}",
                        "vip": False,
                        "tags": [],
                        "attributes": {},
                        "notes": "",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(size)
                ],
            )
            await core(
                s,
                sa.insert(identity),
                [
                    {
                        "contact_id": first + i + 1,
                        "kind": "loopback",
                        "address": f"bulk-{first + i + 1}",
                        "created_at": now,
                        "verified_at": now,
                    }
                    for i in range(size)
                ],
            )


async def traffic(hub: Any, provider: TimedLoopback, rate: int, seconds: float, tag: str) -> list[float]:
    """``rate`` conversations a second; returns reply → provider latencies (ms)."""
    started: dict[int, float] = {}

    async def one(i: int) -> None:
        msg = InboundMessage(
            channel="loopback",
            provider_message_id=f"{tag}-{i}",
            address_kind="loopback",
            sender=f"talker-{i % 300}",
            body=f"question {i}",
        )
        conv = (await ingest(hub, msg)).conversation_id
        t = time.perf_counter()
        m = await reply(hub, SYSTEM, conv, f"answer {i}")
        started[m.id or 0] = t  # from the reply call to the provider's acceptance

    tasks = []
    t0 = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    deadline = time.perf_counter() + 30
    while any(mid not in provider.accepted for mid in started) and time.perf_counter() < deadline:
        provider.changed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await provider.changed.wait()
    return [(provider.accepted[mid] - t) * 1000 for mid, t in started.items() if mid in provider.accepted]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


async def frozen_and_sent(hub: Any, campaign_id: int) -> tuple[int, int]:
    r = CampaignRecipient.__table__.c  # type: ignore[attr-defined]
    async with hub.db.session() as s:
        rows = dict(
            (
                await core(
                    s,
                    sa.select(r.status, sa.func.count())
                    .where(r.campaign_id == campaign_id)
                    .group_by(r.status),
                )
            ).all()
        )
    return sum(rows.values()), int(rows.get("sent", 0))


async def run(contacts: int, rate: float, conv_rate: int, seconds: float) -> None:
    url = f"sqlite:///{tempfile.mkdtemp()}/campaign.db"
    migrate(url)
    settings = load_settings(
        None,
        database_url=url,
        data_dir=tempfile.mkdtemp(),
        channels={"loopback": {}},
        campaigns={"rates": {"loopback": rate}, "quiet_start": "", "quiet_end": ""},
    )
    provider = TimedLoopback()
    registry = ChannelRegistry()
    registry.register(provider)
    app = create_app(settings, channels=registry, run_outbox_worker=True, run_routing=False)
    async with app.router.lifespan_context(app):
        hub = app.state.hub
        t0 = time.perf_counter()
        await seed(hub, contacts)
        print(f"seeded {contacts:,} contacts in {time.perf_counter() - t0:.1f} s")
        base = await traffic(hub, provider, conv_rate, seconds, "base")
        print(f"baseline: {len(base)} replies, p50 {pct(base, 0.5):.1f} ms, p99 {pct(base, 0.99):.1f} ms")

        async with hub.db.transaction() as s:
            seg = Segment(name="Everyone", filter={}, shared=True, owner_id=None)
            s.add(seg)
            await s.flush()
            seg_id = seg.id
        c = await service.create(
            hub,
            SYSTEM,
            {
                "name": "Bench",
                "audience": {"type": "segment", "segment_id": seg_id},
                "channel": "loopback",
                "content": {"en": {"body": "Hello {{contact.name}}, our offer"}},
            },
        )
        assert c.id is not None
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t_start, cpu0 = time.perf_counter(), time.process_time()
        await service.start(hub, SYSTEM, c.id, None)
        hub.projections.wake()
        during = await traffic(hub, provider, conv_rate, seconds, "camp")
        t_mid = time.perf_counter() - t_start
        frozen, sent = await frozen_and_sent(hub, c.id)
        print(
            f"with the campaign: {len(during)} replies, p50 {pct(during, 0.5):.1f} ms, "
            f"p99 {pct(during, 0.99):.1f} ms ({pct(during, 0.99) / max(pct(base, 0.99), 1e-9):.2f}x baseline)"
        )
        print(
            f"  in {t_mid:.1f} s: {frozen:,} frozen ({frozen / t_mid:,.0f}/s), {sent:,} sent ({sent / t_mid:,.0f}/s)"
        )
        while sent < contacts - 0 and time.perf_counter() - t_start < 600:
            await asyncio.sleep(0.5)
            frozen, sent = await frozen_and_sent(hub, c.id)
        total = time.perf_counter() - t_start
        cpu = time.process_time() - cpu0
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"campaign done: {sent:,} sent in {total:.1f} s ({sent / total:,.0f}/s at a {rate:,.0f}/s limit), "
            f"{cpu / max(sent, 1) * 1e6:,.0f} µs CPU per recipient, peak RSS +{(rss1 - rss0) / 1024:,.0f} MiB"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--rate", type=float, default=1000.0, help="campaign sends per second (the limit)")
    parser.add_argument("--traffic", type=int, default=100, help="conversations per second")
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args()
    contacts = args.contacts or (20_000 if args.quick else 100_000)
    seconds = args.seconds or (6.0 if args.quick else 15.0)
    asyncio.run(run(contacts, args.rate, args.traffic, seconds))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SWITCHBOARD_LOG_LEVEL", "WARNING")
    raise SystemExit(main())
