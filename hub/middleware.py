"""Pure ASGI middleware (no BaseHTTPMiddleware): request ids, security headers and the
client address behind trusted reverse proxies."""

from __future__ import annotations

import inspect
import ipaddress
import itertools
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.logs import request_id_var
from hub.metrics import Metrics

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)


# Request ids: a random per-process prefix and a counter — unique, and far cheaper
# than a UUID per request on the webhook hot path.
_RID_PREFIX = secrets.token_hex(5)
_rid_counter = itertools.count(1)


def _next_request_id() -> str:
    return f"{_RID_PREFIX}{next(_rid_counter):06x}"


# Set on every response unless the app set its own; x-request-id always ours.
_DEFAULT_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))
_PAGE_HEADERS = ((b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"))


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # The latency histogram's child per (method, status): prometheus_client's
        # labels() validates and locks on every call, once per request.
        self._latency: dict[tuple[str, int], Any] = {}

    def _observe(self, method: str, status: int, seconds: float) -> None:
        child = self._latency.get((method, status))
        if child is None:
            child = self._latency[(method, status)] = self.metrics.http_latency.labels(method, str(status))
        child.observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming[:64] if incoming.isprintable() and incoming else _next_request_id()
        if b"%00" in scope.get("query_string", b"") and scope.get("path", "").startswith("/api/"):
            # One NUL policy: the REST API refuses NUL characters (PostgreSQL cannot store them).
            await _reject_nul(send, rid)
            return
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # The raw header list (ASGI: lower-case names), not MutableHeaders, which
                # scans the list once per header set: this runs for every webhook.
                raw = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                present = {k.lower() for k, _ in raw}
                raw.append((b"x-request-id", rid.encode("latin-1")))
                # The embeddable widget's script may be loaded cross-site; every page
                # of ours may not be framed and runs no inline script.
                page = not scope.get("path", "").startswith("/widget")
                for name, value in (*_DEFAULT_HEADERS, *_PAGE_HEADERS) if page else _DEFAULT_HEADERS:
                    if name not in present:
                        raw.append((name, value))
                message = {**message, "headers": raw}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self._observe(scope.get("method", "?"), status, time.perf_counter() - start)
            request_id_var.reset(token)


async def _reject_nul(send: Send, rid: str) -> None:
    body = json.dumps(
        {"error": {"code": "validation_error", "message": "query: NUL characters are not allowed"}}
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", rid.encode("latin-1", "replace")),
    ]
    await send({"type": "http.response.start", "status": 422, "headers": headers})
    await send({"type": "http.response.body", "body": body})


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Set in the scope when a request carries X-Forwarded-For from a peer that is not a
# trusted proxy: the peer may be a proxy nobody configured, so its address says
# nothing about the real client (see the /metrics loopback default).
UNTRUSTED_RELAY = "switchboard.untrusted_relay"


def parse_ip(text: str) -> IPAddress | None:
    try:
        addr = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def client_from_forwarded(peer: str, forwarded_for: str, trusted: Sequence[IPNetwork]) -> str:
    """The real client: walk X-Forwarded-For from the right while each hop is trusted.

    Each trusted proxy appends the address it received the request from, so the
    rightmost entry written by a trusted hop is reliable and everything left of the
    first untrusted hop may be made up by the client.
    """
    hop = parse_ip(peer)
    client = peer
    for entry in reversed([e for e in forwarded_for.split(",") if e.strip()]):
        if hop is None or not any(hop in net for net in trusted):
            break
        hop = parse_ip(entry)
        if hop is None:
            break  # garbage written before a trusted hop: keep that hop's view
        client = str(hop)
    return client


class ForwardedForMiddleware:
    """Rewrite the ASGI ``client`` from X-Forwarded-For, only for trusted proxy peers.

    The hub decides this itself (``forwarded_allow_ips``, empty by default) instead of
    the server (uvicorn runs with ``proxy_headers=False``), so sign-in limits, web chat
    rate limits and the /metrics address check all see the same address.
    """

    def __init__(self, app: ASGIApp, trusted: Sequence[str]) -> None:
        self.app = app
        self.trusted = tuple(ipaddress.ip_network(c, strict=False) for c in trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            forwarded = b",".join(v for k, v in scope["headers"] if k == b"x-forwarded-for")
            client = scope.get("client")
            if forwarded and client:
                peer = client[0]
                real = client_from_forwarded(peer, forwarded.decode("latin-1"), self.trusted)
                if real != peer:
                    scope = {**scope, "client": (real, 0)}
                elif not self._trusted(peer):
                    scope = {**scope, UNTRUSTED_RELAY: True}
        await self.app(scope, receive, send)

    def _trusted(self, peer: str) -> bool:
        addr = parse_ip(peer)
        return addr is not None and any(addr in net for net in self.trusted)


class WebhookFastPath:
    """Channel routes (``/channels/<kind>/...``) go straight to their adapter's router.

    They are the hot path of every inbound message and need none of what the API
    stack adds per request (route matching over every API route, FastAPI's dependency
    exit stack, HTTPException handling): adapters answer every outcome themselves. It
    sits inside :class:`RequestContextMiddleware` (request id, security headers,
    latency metric) and Starlette's ``ServerErrorMiddleware`` (an adapter bug is a 500,
    logged). Paths no adapter claims fall through to the application.

    An adapter's plain routes (a fixed path, an ``async def endpoint(request)``, no
    route middleware) are found by their path in a dict and their endpoint called
    here, with the scope their mount and route would have given it: the routers'
    regular expressions, Starlette's request/response wrapper and its exception
    wrapper (which has no handlers to run outside the application) were a layer each
    on every webhook. Anything else — path parameters, another method, a root path, a
    websocket — goes through the adapters' routers as before.
    """

    def __init__(self, app: ASGIApp, webhooks: list[BaseRoute]) -> None:
        self.app = app
        self.router = Router(routes=webhooks, default=app)
        # full path -> (the mount's path, the route's methods, the endpoint)
        self.direct: dict[str, tuple[str, Collection[str] | None, Callable[[Request], Awaitable[Any]]]] = {}
        for mount in webhooks:
            if not isinstance(mount, Mount):
                continue
            for route in mount.routes:
                if (
                    isinstance(route, Route)
                    and not route.param_convertors
                    and inspect.iscoroutinefunction(route.endpoint)
                    # request_response's app itself: no route middleware or body limit around it
                    and getattr(route.app, "__qualname__", "") == "request_response.<locals>.app"
                ):
                    self.direct.setdefault(
                        mount.path + route.path, (mount.path, route.methods, route.endpoint)
                    )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"].startswith("/channels/"):
            hit = self.direct.get(scope["path"]) if scope["type"] == "http" else None
            if hit is not None and not scope.get("root_path"):
                prefix, methods, endpoint = hit
                if methods is None or scope["method"] in methods:
                    # What Router, Mount and Route put in the scope on their way here.
                    scope.setdefault("router", self.router)
                    scope["app_root_path"] = scope.get("app_root_path", "")
                    scope["root_path"] = prefix
                    scope["path_params"] = {}
                    scope["endpoint"] = endpoint
                    response = await endpoint(Request(scope, receive, send))
                    await response(scope, receive, send)
                    return
            await self.router(scope, receive, send)
        else:
            await self.app(scope, receive, send)
