"""Prometheus metrics, one registry per app (no process globals, so tests can build many)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.ingested = Counter(
            "switchboard_messages_ingested", "Inbound messages accepted", ["channel"], registry=r
        )
        self.duplicates = Counter(
            "switchboard_messages_duplicate",
            "Inbound retries recognised as duplicates",
            ["channel"],
            registry=r,
        )
        self.sent = Counter(
            "switchboard_messages_sent",
            "Outbound messages delivered to the provider",
            ["channel"],
            registry=r,
        )
        self.send_failures = Counter(
            "switchboard_outbox_failures",
            "Outbound send attempts that failed",
            ["channel", "final"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "switchboard_queue_depth", "Conversations waiting for an agent", ["team"], registry=r
        )
        self.outbox_backlog = Gauge("switchboard_outbox_backlog", "Outbox rows not yet sent", registry=r)
        self.outbox_dead = Gauge("switchboard_outbox_dead", "Outbox rows dead-lettered", registry=r)
        self.websockets = Gauge(
            "switchboard_websocket_connections", "Open websocket connections", ["kind"], registry=r
        )
        self.http_latency = Histogram(
            "switchboard_http_request_seconds", "HTTP request latency", ["method", "status"], registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
