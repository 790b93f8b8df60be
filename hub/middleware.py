"""Pure ASGI middleware (no BaseHTTPMiddleware): request ids and security headers."""

from __future__ import annotations

import itertools
import json
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Router
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


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

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
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = rid
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "same-origin")
                path = scope.get("path", "")
                # The embeddable widget's script may be loaded cross-site; every page
                # of ours may not be framed and runs no inline script.
                if not path.startswith("/widget"):
                    headers.setdefault("content-security-policy", CSP)
                    headers.setdefault("x-frame-options", "DENY")
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.http_latency.labels(scope.get("method", "?"), str(status)).observe(
                time.perf_counter() - start
            )
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


class WebhookFastPath:
    """Channel routes (``/channels/<kind>/...``) go straight to their adapter's router.

    They are the hot path of every inbound message and need none of what the API
    stack adds per request (route matching over every API route, FastAPI's dependency
    exit stack, HTTPException handling): adapters answer every outcome themselves. It
    sits inside :class:`RequestContextMiddleware` (request id, security headers,
    latency metric) and Starlette's ``ServerErrorMiddleware`` (an adapter bug is a 500,
    logged). Paths no adapter claims fall through to the application.
    """

    def __init__(self, app: ASGIApp, webhooks: list[BaseRoute]) -> None:
        self.app = app
        self.router = Router(routes=webhooks, default=app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"].startswith("/channels/"):
            await self.router(scope, receive, send)
        else:
            await self.app(scope, receive, send)
