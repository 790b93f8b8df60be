"""The widget's iframe page, ``/widget/frame?site=<site key>``, with its own CSP.

It lives outside ``/channels/...`` and under ``/widget`` because the hub's default
headers forbid framing everywhere else. Here ``frame-ancestors`` names exactly the
site's allowed origins, so another site cannot embed this site's widget (and so
cannot click-jack a visitor into it); scripts and styles come only from the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from channels.webchat.actions import Runtime
from channels.webchat.config import SiteConfig

STATIC = Path(__file__).resolve().parents[2] / "agent_ui" / "static" / "widget"
FRAME_HTML = STATIC / "frame.html"


def frame_csp(site: SiteConfig | None, host: str) -> str:
    ancestors = " ".join(site.allowed_origins) if site is not None else "'none'"
    sockets = f" ws://{host} wss://{host}" if host else ""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"connect-src 'self'{sockets}; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {ancestors}"
    )


def build_page_routes(get_runtime: Callable[[], Runtime]) -> list[BaseRoute]:
    html = FRAME_HTML.read_text(encoding="utf-8")

    async def frame(request: Request) -> Response:
        site = get_runtime().config.site(request.query_params.get("site", ""))
        host = request.headers.get("host", "")
        if site is None:
            return HTMLResponse(
                "<!doctype html><title>Unknown site</title><p>No chat widget is configured for this site key.",
                status_code=404,
                headers={"Content-Security-Policy": frame_csp(None, host)},
            )
        return HTMLResponse(
            html,
            headers={
                "Content-Security-Policy": frame_csp(site, host),
                "Cache-Control": "no-cache",
                # The iframe's storage and sockets are its own; the host page learns
                # nothing through the referrer either.
                "Referrer-Policy": "no-referrer",
            },
        )

    return [Route("/widget/frame", frame, methods=["GET"])]
