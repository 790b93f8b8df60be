"""/metrics exposes ingest, send, queue depth and outbox figures in Prometheus format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from channels.base import SendError
from channels.loopback import LoopbackChannel
from channels.registry import ChannelRegistry
from hub.app import create_app
from hub.config import ConfigError, Settings
from hub.services import SYSTEM
from hub.services.conversations import reply
from tests.conftest import make_settings
from tests.helpers import inbound, team

TOKEN = "scrape-me-please-0123456789"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    # The shared test client connects from 203.0.113.9, so scrape with a token.
    return make_settings(db_url, tmp_path, metrics={"token": TOKEN})


@asynccontextmanager
async def scraper(db_url: str, tmp_path: Path, peer: str, **metrics: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A hub with ``[metrics]`` set as given, and a client connecting from ``peer``."""
    registry = ChannelRegistry()
    registry.register(LoopbackChannel())
    application = create_app(
        make_settings(db_url, tmp_path, metrics=metrics),
        channels=registry,
        run_outbox_worker=False,
        run_routing=False,
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=(peer, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_reflect_traffic(app: Any, loopback: Any) -> None:
    t = await team(app.hub, "Support")
    conv = (await inbound(app.client, "m-1", "a", team="Support"))["conversation_id"]
    await inbound(app.client, "m-1", "b", provider_message_id="fixed")
    await inbound(app.client, "m-1", "b", provider_message_id="fixed")  # retry
    loopback.script_failures(SendError("nope", retryable=False))
    await reply(app.hub, SYSTEM, conv, "x")
    await reply(app.hub, SYSTEM, conv, "y")
    await app.worker.run_once()
    auth = {"authorization": f"Bearer {TOKEN}"}
    m = _samples((await app.client.get("/metrics", headers=auth)).text)
    assert m[("switchboard_messages_ingested_total", (("channel", "loopback"),))] == 2
    assert m[("switchboard_messages_duplicate_total", (("channel", "loopback"),))] == 1
    assert m[("switchboard_messages_sent_total", (("channel", "loopback"),))] == 1
    assert m[("switchboard_outbox_failures_total", (("channel", "loopback"), ("final", "true")))] == 1
    assert m[("switchboard_queue_depth", (("team", str(t)),))] == 1
    assert m[("switchboard_outbox_dead", ())] == 1 and m[("switchboard_outbox_backlog", ())] == 0


async def test_metrics_count_the_group_commit_writers_batches(app: Any) -> None:
    """Batches, messages in them, and commit delays, per writer, read at the scrape."""
    conv = (await inbound(app.client, "gc-1", "first"))["conversation_id"]
    await inbound(app.client, "gc-2", "second")
    await reply(app.hub, SYSTEM, conv, "an answer")
    auth = {"authorization": f"Bearer {TOKEN}"}
    m = _samples((await app.client.get("/metrics", headers=auth)).text)
    ingest, replies = app.hub.ingest_writer, app.hub.reply_writer
    assert ingest.items == 2 and replies.items == 1
    for name, writer in (("ingest", ingest), ("reply", replies)):
        label = (("writer", name),)
        assert m[("switchboard_group_commit_items_total", label)] == writer.items
        assert m[("switchboard_group_commit_batches_total", label)] == writer.batches >= 1
        assert m[("switchboard_group_commit_delayed_total", label)] == writer.delayed


async def test_healthz(app: Any) -> None:
    r = await app.client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert r.headers["x-request-id"]


async def test_metrics_default_is_loopback_only(db_url: str, tmp_path: Path) -> None:
    async with scraper(db_url, tmp_path, "127.0.0.1") as local:
        r = await local.get("/metrics")
        assert r.status_code == 200 and "switchboard_outbox_backlog" in r.text
    async with scraper(db_url, tmp_path, "::1") as local6:
        assert (await local6.get("/metrics")).status_code == 200
    async with scraper(db_url, tmp_path, "203.0.113.9") as remote:
        r = await remote.get("/metrics")
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"
        assert "switchboard_" not in r.text


async def test_metrics_token_is_required_and_checked(db_url: str, tmp_path: Path) -> None:
    async with scraper(db_url, tmp_path, "203.0.113.9", token=TOKEN) as remote:
        for headers in ({}, {"authorization": "Bearer wrong-token"}, {"authorization": TOKEN}):
            r = await remote.get("/metrics", headers=headers)
            assert r.status_code == 401, headers
            assert r.json()["error"]["code"] == "not_authenticated"
            assert r.headers["www-authenticate"] == "Bearer"
        r = await remote.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and "switchboard_outbox_backlog" in r.text


async def test_metrics_allow_ips(db_url: str, tmp_path: Path) -> None:
    nets = ["10.0.0.0/8", "2001:db8::/32"]
    async with scraper(db_url, tmp_path, "10.1.2.3", allow_ips=nets) as inside:
        assert (await inside.get("/metrics")).status_code == 200
    async with scraper(db_url, tmp_path, "2001:db8::7", allow_ips=nets) as inside6:
        assert (await inside6.get("/metrics")).status_code == 200
    async with scraper(db_url, tmp_path, "127.0.0.1", allow_ips=nets) as outside:
        assert (await outside.get("/metrics")).status_code == 403
    # Both configured: both must hold.
    async with scraper(db_url, tmp_path, "10.1.2.3", allow_ips=nets, token=TOKEN) as both:
        assert (await both.get("/metrics")).status_code == 401
        ok = await both.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
    async with scraper(db_url, tmp_path, "192.0.2.1", allow_ips=[]) as anyone:
        assert (await anyone.get("/metrics")).status_code == 200


def test_metrics_config_is_validated(db_url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"metrics\.allow_ips"):
        make_settings(db_url, tmp_path, metrics={"allow_ips": ["10.0.0.0/33"]})
    with pytest.raises(ConfigError, match=r"metrics\.token"):
        make_settings(db_url, tmp_path, metrics={"token": "short"})
    assert TOKEN not in repr(make_settings(db_url, tmp_path, metrics={"token": TOKEN}))
