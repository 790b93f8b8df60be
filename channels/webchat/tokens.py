"""Signed, stateless tokens: the visitor's identity and references to uploaded files.

A token is ``v1.<base64url JSON>.<base64url HMAC-SHA256>``. The MAC covers a purpose
label as well as the payload, so an attachment reference can never be replayed as a
visitor token (or the reverse) even though both use the one configured secret.
Nothing is stored server-side: any hub process with the secret can check any token,
and rotating the secret signs every visitor out (they start as new visitors).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

VERSION = "v1"
VISITOR = "webchat-visitor"
ATTACHMENT = "webchat-attachment"
MAX_TOKEN_CHARS = 2048


class TokenError(Exception):
    """``status`` 401: not ours / tampered / expired; 403: valid but for another site."""

    def __init__(self, message: str, *, code: str = "bad_token", status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True, slots=True)
class Visitor:
    site_key: str
    visitor_id: str
    issued_at: int


def new_visitor_id() -> str:
    # 128 random bits: unguessable, and the id is also the conversation thread key.
    return "v_" + secrets.token_urlsafe(16)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, body: str) -> bytes:
    return hmac.new(secret, f"{VERSION}\x00{purpose}\x00{body}".encode(), hashlib.sha256).digest()


def sign(secret: bytes, purpose: str, data: dict[str, Any]) -> str:
    body = _b64(json.dumps(data, separators=(",", ":"), sort_keys=True).encode())
    return f"{VERSION}.{body}.{_b64(_mac(secret, purpose, body))}"


def unsign(secret: bytes, purpose: str, token: str) -> dict[str, Any]:
    """The signed data, or TokenError(401) for anything malformed or altered."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise TokenError("the token is missing or malformed")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise TokenError("the token is missing or malformed")
    _, body, mac = parts
    try:
        given = _unb64(mac)
    except ValueError:
        raise TokenError("the token is missing or malformed") from None
    if not hmac.compare_digest(given, _mac(secret, purpose, body)):
        raise TokenError("the token's signature does not match (tampered, or signed with another secret)")
    try:
        data = json.loads(_unb64(body))
    except ValueError:
        raise TokenError("the token is missing or malformed") from None
    if not isinstance(data, dict):
        raise TokenError("the token is missing or malformed")
    return data


def issue_visitor(secret: bytes, site_key: str, visitor_id: str, now: float) -> str:
    return sign(secret, VISITOR, {"s": site_key, "v": visitor_id, "t": int(now)})


def read_visitor(secret: bytes, token: str, site_key: str, now: float, ttl_seconds: float) -> Visitor:
    data = unsign(secret, VISITOR, token)
    site, vid, issued = data.get("s"), data.get("v"), data.get("t")
    if not isinstance(site, str) or not isinstance(vid, str) or not isinstance(issued, int):
        raise TokenError("the token is missing or malformed")
    if now - issued > ttl_seconds:
        raise TokenError("the visitor token has expired; start a new chat", code="token_expired")
    if site != site_key:
        # Genuine, but minted for another site: a token is only good where it was issued.
        raise TokenError("this visitor token belongs to another site", code="wrong_site", status=403)
    return Visitor(site_key=site, visitor_id=vid, issued_at=issued)
