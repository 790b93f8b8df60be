"""The customer websocket: ``/channels/webchat/s/<site key>/ws``.

Handshake: the page's Origin must be one of the site's allowed origins (or the hub's
own, which is where the widget's iframe lives); the first frame is
``{"type": "hello", "token": <stored token or null>}``. A missing token starts a new
visitor; a tampered one is refused (close 4401); a token of another site too (4403).
The answer is ``welcome`` with the (refreshed) token, the visitor's conversations and
their history, so a reload or a reconnect after a blip shows everything.

Refusals accept first and then close with a code: a browser cannot read an HTTP
status on a websocket handshake, but it can read a close code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from channels.webchat import actions, tokens
from channels.webchat.actions import Runtime, VisitorSession
from channels.webchat.errors import WebchatError, rate_limited
from channels.webchat.frames import (
    MAX_FRAME_CHARS,
    SOCKET_FRAMES,
    ComplaintIn,
    CsatIn,
    HelloIn,
    MessageIn,
    ReadIn,
    parse,
)
from channels.webchat.gateway import dumps
from channels.webchat.origins import origin_allowed
from channels.webchat.visitors import ConversationView, conversations_of, history
from hub.sendqueue import SendQueue

log = logging.getLogger(__name__)

QUEUE_LIMIT = 256
HELLO_TIMEOUT = 10.0
HEARTBEAT_SECONDS = 25.0
CLOSE_RESYNC = 4000
CLOSE_BAD_HELLO = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_ORIGIN = 4403
CLOSE_UNKNOWN_SITE = 4404
CLOSE_TOO_MANY = 4429


class VisitorSocket:
    """One open widget: a bounded outgoing queue drained by its own sender task."""

    def __init__(self, ws: WebSocket, session: VisitorSession) -> None:
        self.ws = ws
        self.session = session
        self.visitor_id = session.visitor_id
        self.conversations: list[ConversationView] = []
        self.queue: SendQueue[str | None] = SendQueue(QUEUE_LIMIT)
        self.overflowed = False
        self.last_read = 0

    def push(self, frame: str, *, durable: bool = True) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.resync()

    def resync(self) -> None:
        # Drop the backlog: the widget reconnects and reloads its history instead.
        self.overflowed = True
        self.queue.clear()
        self.queue.put_last(None)

    def learn(self, conv: ConversationView) -> None:
        if all(c.id != conv.id for c in self.conversations):
            self.conversations.append(conv)

    def close_soon(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


async def _refuse(ws: WebSocket, code: int, reason: str, *, error: WebchatError | None = None) -> None:
    await ws.accept()
    if error is not None:
        await ws.send_text(dumps({"type": "error", **error.details()}))
    await ws.close(code=code, reason=reason[:120])


async def endpoint(rt: Runtime, ws: WebSocket) -> None:
    site = rt.config.site(ws.path_params.get("site_key", ""))
    if site is None:
        await _refuse(ws, CLOSE_UNKNOWN_SITE, "unknown site key")
        return
    if not origin_allowed(site, ws.headers.get("origin"), ws.headers.get("host", "")):
        await _refuse(ws, CLOSE_ORIGIN, "origin not allowed for this site")
        return
    ip = ws.client.host if ws.client else "unknown"
    wait = rt.ip_limiter.take(ip)
    if wait > 0 or rt.connections_by_ip.get(ip, 0) >= rt.config.max_connections_per_ip:
        await _refuse(ws, CLOSE_TOO_MANY, "too many connections; retry later")
        return
    rt.connections_by_ip[ip] = rt.connections_by_ip.get(ip, 0) + 1
    rt.hub.metrics.websockets.labels("widget").inc()
    try:
        await ws.accept()
        await _serve(rt, ws, site, ip)
    except WebSocketDisconnect:
        pass
    except Exception:
        log.exception("widget socket failed")
    finally:
        rt.hub.metrics.websockets.labels("widget").dec()
        left = rt.connections_by_ip.get(ip, 1) - 1
        if left > 0:
            rt.connections_by_ip[ip] = left
        else:
            rt.connections_by_ip.pop(ip, None)
        rt.gateway.touch()
        if ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await ws.close()


async def _hello(rt: Runtime, ws: WebSocket, site_key: str) -> tuple[HelloIn, tokens.Visitor, bool] | None:
    try:
        raw = await asyncio.wait_for(ws.receive_text(), HELLO_TIMEOUT)
    except TimeoutError:
        await ws.close(code=CLOSE_BAD_HELLO, reason="send hello first")
        return None
    try:
        hello = parse(HelloIn, _loads(raw))
    except WebchatError as exc:
        await ws.send_text(dumps({"type": "error", **exc.details()}))
        await ws.close(code=CLOSE_BAD_HELLO, reason="expected a hello frame")
        return None
    now = time.time()
    if hello.token is None:
        visitor = tokens.Visitor(site_key, tokens.new_visitor_id(), int(now))
        return hello, visitor, True
    try:
        visitor = tokens.read_visitor(
            rt.config.token_secret, hello.token, site_key, now, rt.config.token_ttl_days * 86400
        )
    except tokens.TokenError as exc:
        await ws.send_text(dumps({"type": "error", "code": exc.code, "message": exc.message}))
        await ws.close(code=CLOSE_UNAUTHORIZED if exc.status == 401 else CLOSE_ORIGIN, reason=exc.code)
        return None
    return hello, visitor, False


async def _serve(rt: Runtime, ws: WebSocket, site: Any, ip: str) -> None:
    greeted = await _hello(rt, ws, site.key)
    if greeted is None:
        return
    hello, visitor, is_new = greeted
    session = VisitorSession(site, visitor.visitor_id, ip, language=hello.language, page=hello.page)
    sock = VisitorSocket(ws, session)
    sock.conversations = [] if is_new else await conversations_of(rt.hub, visitor.visitor_id)
    # Register before reading history: anything committed meanwhile is queued (and
    # sent after the welcome); the widget drops what it already has by message id.
    rt.gateway.register(sock, sock.conversations)
    sender: asyncio.Task[None] | None = None
    try:
        messages = await history(rt.hub, [c.id for c in sock.conversations])
        token = tokens.issue_visitor(rt.config.token_secret, site.key, visitor.visitor_id, time.time())
        await ws.send_text(
            dumps(
                {
                    "type": "welcome",
                    "visitor_id": visitor.visitor_id,
                    "token": token,
                    "new_visitor": is_new,
                    "conversations": [c.as_frame() for c in sock.conversations],
                    "messages": messages,
                    "heartbeat_seconds": HEARTBEAT_SECONDS,
                }
            )
        )
        for conv in sock.conversations:
            frame = rt.gateway.queue_frame(conv.id) if conv.status in ("queued", "offered") else None
            if frame is not None:
                await ws.send_text(dumps(frame))
        sender = asyncio.create_task(_sender(sock), name="widget-send")
        await _receiver(rt, sock)
    finally:
        rt.gateway.unregister(sock)
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender


async def _sender(sock: VisitorSocket) -> None:
    while True:
        try:
            frame = await sock.queue.get(HEARTBEAT_SECONDS * (0.8 + 0.4 * random.random()))
        except TimeoutError:
            frame = '{"type":"ping"}'
        if frame is None:
            with contextlib.suppress(Exception):
                if sock.overflowed:
                    await sock.ws.send_text(dumps({"type": "resync", "reason": "slow_consumer"}))
                await sock.ws.close(code=CLOSE_RESYNC, reason="resync")
            return
        await sock.ws.send_text(frame)


def _loads(raw: str) -> Any:
    if len(raw) > MAX_FRAME_CHARS:
        raise WebchatError(413, "frame_too_large", f"frames are limited to {MAX_FRAME_CHARS} characters")
    try:
        return json.loads(raw)
    except ValueError:
        raise WebchatError(400, "bad_json", "frames must be JSON objects") from None


async def _receiver(rt: Runtime, sock: VisitorSocket) -> None:
    while True:
        raw = await sock.ws.receive_text()
        frame_id = None
        try:
            data = _loads(raw)
            if not isinstance(data, dict):
                raise WebchatError(400, "bad_frame", "frames must be JSON objects")
            frame_id = data.get("id") if isinstance(data.get("id"), str) else None
            kind = data.get("type")
            model = SOCKET_FRAMES.get(kind) if isinstance(kind, str) else None
            if model is None:
                known = ", ".join(sorted(SOCKET_FRAMES))
                raise WebchatError(400, "bad_type", f"unknown frame type {kind!r} (known: {known})")
            reply = await _handle(rt, sock, parse(model, data))
        except WebchatError as exc:
            reply = {"type": "error", **({"id": frame_id} if frame_id else {}), **exc.details()}
        if reply is not None:
            sock.push(dumps(reply))


async def _handle(rt: Runtime, sock: VisitorSocket, frame: Any) -> dict[str, Any] | None:
    if isinstance(frame, MessageIn):
        return await actions.post_message(rt, sock.session, frame, sock.conversations)
    if isinstance(frame, CsatIn):
        return await actions.csat(rt, sock.session, frame)
    if isinstance(frame, ComplaintIn):
        return await actions.complaint(rt, sock.session, frame, sock.conversations)
    if isinstance(frame, ReadIn):
        # Each read costs a lookup: charged like any request from this address.
        wait = rt.ip_limiter.take(sock.session.ip)
        if wait > 0:
            raise rate_limited(wait, "requests from your address")
        if frame.message_id > sock.last_read:
            await actions.read(rt, sock.session, frame.message_id, sock.conversations)
            sock.last_read = frame.message_id
        return None
    if frame.type == "typing":
        await actions.typing(rt, sock.session, sock.conversations)
    return None
