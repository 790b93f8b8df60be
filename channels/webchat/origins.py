"""Which pages may talk to a site's widget endpoints.

Browsers always send ``Origin`` on websocket handshakes and cross-site requests. The
widget's own iframe is served by the hub, so its requests come from the hub's origin
(allowed; the iframe itself may only be framed by the site's origins, enforced by
its CSP ``frame-ancestors``). A page on one of the site's allowed origins may also
call the endpoints directly. Requests without ``Origin`` are not from a browser
page; the visitor token is what protects them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.webchat.config import SiteConfig


def same_origin(origin: str, host: str) -> bool:
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


def origin_allowed(site: SiteConfig, origin: str | None, host: str) -> bool:
    if origin is None:
        return True
    if origin == "null":
        return False  # sandboxed frames and file:// pages: never a site's page
    return site.origin_allowed(origin.lower()) or same_origin(origin, host)


def cors_origin(site: SiteConfig, origin: str | None) -> str | None:
    """The origin to echo in Access-Control-Allow-Origin, if any (never ``*``)."""
    if origin and site.origin_allowed(origin.lower()):
        return origin
    return None
