"""Prometheus metrics, one registry per app (no process globals, so tests can build many)."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

_LOOPBACK = ("127.0.0.0/8", "::1/128")


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

    def watch_group_commits(self, writers: Callable[[], Mapping[str, Any]]) -> None:
        """The group-commit writers' counts (hub.group_commit), read when scraped: the
        message path pays nothing for them. ``writers()``: name -> GroupCommitter."""
        self.registry.register(_GroupCommits(writers))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _GroupCommits(Collector):
    """Batches, the items in them, and the batches that waited for the commit delay:
    items ÷ batches is the mean batch (see ``[ingest] commit_delay_ms``)."""

    def __init__(self, writers: Callable[[], Mapping[str, Any]]) -> None:
        self._writers = writers

    def collect(self) -> Iterator[CounterMetricFamily]:
        families = {
            "batches": CounterMetricFamily(
                "switchboard_group_commit_batches",
                "Transactions written by a group-commit writer (ingest, reply)",
                labels=["writer"],
            ),
            "items": CounterMetricFamily(
                "switchboard_group_commit_items",
                "Messages written by a group-commit writer, over all its batches",
                labels=["writer"],
            ),
            "delayed": CounterMetricFamily(
                "switchboard_group_commit_delayed",
                "Batches that waited the commit delay for more messages",
                labels=["writer"],
            ),
        }
        for name, writer in self._writers().items():
            if writer is None:
                continue  # not started yet (or stopped)
            for attr, family in families.items():
                family.add_metric([name], getattr(writer, attr))
        yield from families.values()


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class MetricsAccess:
    """Who may scrape ``/metrics``: an optional Bearer token and an address list.

    Both checks apply when both are configured. Without ``allow_ips`` the list is
    loopback only when no token is set (the safe default for a local Prometheus) and
    any address when a token is set; an empty list means any address.
    """

    token: str | None
    networks: tuple[IPNetwork, ...] | None  # None: any address

    @classmethod
    def build(cls, token: str | None, allow_ips: Sequence[str] | None) -> MetricsAccess:
        if allow_ips is None:
            allow_ips = () if token else _LOOPBACK
        nets = tuple(ipaddress.ip_network(c, strict=False) for c in allow_ips)
        return cls(token=token, networks=nets or None)

    def address_allowed(self, host: str | None) -> bool:
        if self.networks is None:
            return True
        try:
            addr = ipaddress.ip_address((host or "").split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in net for net in self.networks)

    def token_ok(self, authorization: str | None) -> bool:
        if self.token is None:
            return True
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(value.strip().encode(), self.token.encode())
