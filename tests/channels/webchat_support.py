"""Helpers for the web-chat tests: a configured channel, a test visitor over the real
customer websocket, and a tiny "third-party site" server for the browser tests."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from channels.webchat import WebchatChannel

SECRET = "test-secret-" + "x" * 32
ORIGIN = "https://shop.example"
STATIC = Path(__file__).resolve().parent.parent / "e2e" / "static"


def section(**overrides: Any) -> dict[str, Any]:
    """A ``[channels.webchat]`` table: site ``acme`` (English), ``acme-ar`` (Arabic)."""
    sites = {
        "acme": {
            "name": "Acme",
            "allowed_origins": [ORIGIN],
            "team": "Support",
            "prechat": {"name": "optional", "email": "optional", "topic": "optional"},
            "topics": {"Billing": "Billing", "Other": "Support"},
        },
        "acme-ar": {
            "name": "أكمي",
            "allowed_origins": [ORIGIN],
            "team": "Support",
            "language": "ar",
            "position": "left",
        },
    }
    base: dict[str, Any] = {"token_secret": SECRET, "sites": sites}
    extra_sites = overrides.pop("extra_sites", {})
    site_overrides = overrides.pop("acme", {})
    sites["acme"].update(site_overrides)
    sites.update(extra_sites)
    base.update(overrides)
    return base


def make_channel(**overrides: Any) -> WebchatChannel:
    return WebchatChannel.from_config(section(**overrides))


def mount_page(app: Any, channel: WebchatChannel) -> None:
    """What hub/app.py will do: the iframe page at the app root."""
    for route in channel.extra_routes():
        app.app.router.routes.append(route)


class Visitor:
    """A widget as a test client: real websocket, frames read with timeouts."""

    def __init__(self, ws: Any, welcome: dict[str, Any]) -> None:
        self.ws = ws
        self.welcome = welcome
        self.token: str = welcome["token"]
        self.visitor_id: str = welcome["visitor_id"]

    async def recv(self, within: float = 5.0) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        return frame

    async def until(self, pred: Any, within: float = 5.0) -> dict[str, Any]:
        while True:
            frame = await self.recv(within)
            if pred(frame):
                return frame

    async def frame(self, kind: str, **match: Any) -> dict[str, Any]:
        return await self.until(lambda f: f["type"] == kind and all(f.get(k) == v for k, v in match.items()))

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def say(self, body: str, *, mid: str | None = None, **extra: Any) -> dict[str, Any]:
        """Send a message; returns its ack or error frame."""
        mid = mid or str(uuid.uuid4())
        await self.send({"type": "message", "id": mid, "body": body, **extra})
        return await self.until(lambda f: f.get("id") == mid and f["type"] in ("ack", "error"))

    async def close(self) -> None:
        await self.ws.close()


async def open_socket(
    live: Any, site: str = "acme", *, origin: str | None = ORIGIN, extra: dict[str, str] | None = None
) -> Any:
    headers = {"Origin": origin} if origin else {}
    headers.update(extra or {})
    return await websockets.connect(
        f"{live.ws_base}/channels/webchat/s/{site}/ws", additional_headers=headers
    )


async def visitor(
    live: Any, site: str = "acme", token: str | None = None, *, origin: str | None = ORIGIN
) -> Visitor:
    ws = await open_socket(live, site, origin=origin)
    await ws.send(json.dumps({"type": "hello", "token": token, "language": "en"}))
    welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert welcome["type"] == "welcome", welcome
    return Visitor(ws, welcome)


def bearer(token: str, origin: str | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {token}"}
    if origin:
        headers["origin"] = origin
    return headers


async def rest(live: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{live.base}/channels/webchat")


# -- the "third-party site" for browser tests ---------------------------------------------


def free_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


@asynccontextmanager
async def host_site(sock: socket.socket, hub_base: str) -> AsyncIterator[str]:
    """Serve tests/e2e/static/widget_host.html from another origin than the hub.

    The page is the customer's site: it only carries the one embed tag, whose hub URL
    and site key come from the query string (``?site=acme&transport=poll``).
    """
    import uvicorn

    template = (STATIC / "widget_host.html").read_text(encoding="utf-8")

    async def page(request: Request) -> Response:
        site = request.query_params.get("site", "acme")
        transport = request.query_params.get("transport", "auto")
        html = (
            template.replace("{{HUB}}", hub_base)
            .replace("{{SITE}}", site)
            .replace("{{TRANSPORT}}", transport)
        )
        return HTMLResponse(html)

    app = Starlette(routes=[Route("/", page)])
    config = uvicorn.Config(app, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    task = asyncio.create_task(server.main_loop())
    try:
        yield f"http://localhost:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        await server.shutdown(sockets=[sock])
        sock.close()
