"""/metrics exposes ingest, send, queue depth and outbox figures in Prometheus format."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from channels.base import SendError
from hub.services import SYSTEM
from hub.services.conversations import reply
from tests.helpers import inbound, team


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
    m = _samples((await app.client.get("/metrics")).text)
    assert m[("switchboard_messages_ingested_total", (("channel", "loopback"),))] == 2
    assert m[("switchboard_messages_duplicate_total", (("channel", "loopback"),))] == 1
    assert m[("switchboard_messages_sent_total", (("channel", "loopback"),))] == 1
    assert m[("switchboard_outbox_failures_total", (("channel", "loopback"), ("final", "true")))] == 1
    assert m[("switchboard_queue_depth", (("team", str(t)),))] == 1
    assert m[("switchboard_outbox_dead", ())] == 1 and m[("switchboard_outbox_backlog", ())] == 0


async def test_healthz(app: Any) -> None:
    r = await app.client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert r.headers["x-request-id"]
