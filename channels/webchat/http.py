"""REST for the widget: site config, sessions, uploads, and the long-poll fallback.

Everything under ``/channels/webchat/s/<site key>/``. The visitor authenticates with
``Authorization: Bearer <visitor token>`` (no cookies: nothing for CSRF to ride on).
CORS answers only the site's allowed origins; the widget's own iframe is same-origin.
Browsers or proxies without websockets use ``POST messages`` + ``GET events`` (long
poll on the event log, resumable by ``after=<cursor>``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlmodel import col, func, select
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from channels.webchat import actions, followup, link, socket, tokens
from channels.webchat.actions import Runtime, VisitorSession
from channels.webchat.attachments import clean_filename
from channels.webchat.config import SiteConfig
from channels.webchat.errors import WebchatError, rate_limited
from channels.webchat.frames import ComplaintIn, CsatIn, MessageIn, OfflineIn, ReadIn, parse_json
from channels.webchat.gateway import WAITING
from channels.webchat.origins import cors_origin, origin_allowed
from channels.webchat.visitors import conversations_of, history, owned
from hub.models import Direction, EventLog, Message
from hub.services.uow import event_from_row

LONG_POLL_MAX = 25.0
EVENT_TYPES = (
    "message.created",
    "message.received",
    "message.status",
    "conversation.assigned",
    "conversation.transferred",
    "conversation.resolved",
    "conversation.reopened",
    "conversation.abandoned",
    "conversation.queued",
    "conversation.updated",
)
ALLOW_HEADERS = "authorization, content-type, x-filename"

Handler = Callable[[Runtime, Request, SiteConfig], Awaitable[Response]]


class PollSink:
    """A waiting long-poll: woken by any event for the visitor; keeps ephemeral frames."""

    def __init__(self, visitor_id: str) -> None:
        self.visitor_id = visitor_id
        self.woken = asyncio.Event()
        self.ephemeral: list[str] = []

    def push(self, frame: str, *, durable: bool) -> None:
        if not durable and len(self.ephemeral) < 50:
            self.ephemeral.append(frame)
        self.woken.set()

    def resync(self) -> None:
        self.woken.set()  # the poll re-reads the event log, which has everything

    def learn(self, conv: Any) -> None:
        self.woken.set()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=headers)


def _error_response(exc: WebchatError) -> JSONResponse:
    headers = {"Retry-After": str(max(1, round(exc.retry_after)))} if exc.retry_after else None
    return json_response({"error": exc.details()}, exc.status, headers)


def _cors(response: Response, site: SiteConfig | None, origin: str | None) -> Response:
    allowed = cors_origin(site, origin) if site is not None else None
    if allowed:
        response.headers["Access-Control-Allow-Origin"] = allowed
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    response.headers["Vary"] = "Origin"
    return response


def build_routes(get_runtime: Callable[[], Runtime]) -> list[BaseRoute]:
    def wrap(handler: Handler, *, charge_ip: bool = True) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            rt = get_runtime()
            origin = request.headers.get("origin")
            site = rt.config.site(request.path_params["site_key"])
            try:
                if site is None:
                    raise WebchatError(404, "unknown_site", "no widget is configured for this site key")
                if not origin_allowed(site, origin, request.headers.get("host", "")):
                    raise WebchatError(
                        403, "origin_not_allowed", "this page's origin may not use this site key"
                    )
                if charge_ip:
                    wait = rt.ip_limiter.take(_ip(request))
                    if wait > 0:
                        raise rate_limited(wait, "requests from your address")
                response = await handler(rt, request, site)
            except WebchatError as exc:
                response = _error_response(exc)
            return _cors(response, site, origin)

        return endpoint

    async def preflight(request: Request) -> Response:
        rt = get_runtime()
        origin = request.headers.get("origin")
        site = rt.config.site(request.path_params["site_key"])
        if site is None or cors_origin(site, origin) is None:
            return _error_response(
                WebchatError(403, "origin_not_allowed", "this page's origin may not use this site key")
            )
        response = Response(status_code=204)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
        return _cors(response, site, origin)

    async def ws(websocket: WebSocket) -> None:
        await socket.endpoint(get_runtime(), websocket)

    return [
        Route("/s/{site_key}/config", wrap(site_config), methods=["GET"]),
        Route("/s/{site_key}/session", wrap(new_session), methods=["POST"]),
        Route("/s/{site_key}/history", wrap(get_history), methods=["GET"]),
        Route("/s/{site_key}/messages", wrap(post_message, charge_ip=False), methods=["POST"]),
        Route("/s/{site_key}/events", wrap(get_events), methods=["GET"]),
        Route("/s/{site_key}/typing", wrap(post_typing), methods=["POST"]),
        Route("/s/{site_key}/read", wrap(post_read), methods=["POST"]),
        Route("/s/{site_key}/csat", wrap(post_csat, charge_ip=False), methods=["POST"]),
        Route("/s/{site_key}/offline", wrap(post_offline, charge_ip=False), methods=["POST"]),
        Route("/s/{site_key}/complaint", wrap(post_complaint, charge_ip=False), methods=["POST"]),
        Route("/s/{site_key}/attachments", wrap(upload), methods=["POST"]),
        Route("/s/{site_key}/link/start", wrap(post_link_start), methods=["POST"]),
        Route("/s/{site_key}/link/confirm", wrap(post_link_confirm), methods=["POST"]),
        Route("/s/{site_key}/attachments/{message_id:int}/{index:int}", wrap(download), methods=["GET"]),
        Route("/s/{site_key}/{rest:path}", preflight, methods=["OPTIONS"]),
        WebSocketRoute("/s/{site_key}/ws", ws),
    ]


# -- helpers ---------------------------------------------------------------------------------


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _session(rt: Runtime, request: Request, site: SiteConfig) -> VisitorSession:
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise WebchatError(
            401, "not_authenticated", "send the visitor token as Authorization: Bearer <token>"
        )
    try:
        visitor = tokens.read_visitor(
            rt.config.token_secret, auth[7:].strip(), site.key, time.time(), rt.config.token_ttl_days * 86400
        )
    except tokens.TokenError as exc:
        raise WebchatError(exc.status, exc.code, exc.message) from None
    return VisitorSession(
        site,
        visitor.visitor_id,
        _ip(request),
        language=request.headers.get("accept-language", "").split(",")[0] or None,
    )


async def _body(request: Request, limit: int = 300_000) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise WebchatError(413, "too_large", f"the request body is larger than {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        raise WebchatError(413, "too_large", f"the request body is larger than {limit} bytes")
    return body


def public_config(rt: Runtime, site: SiteConfig) -> dict[str, Any]:
    cfg = rt.config
    return {
        "site": site.key,
        "name": site.name,
        "language": site.language,
        "position": site.position,
        "colors": dict(site.colors),
        "greeting": dict(site.greeting),
        "offline_message": dict(site.offline_message),
        "prechat": {"fields": dict(site.prechat), "one_of": list(site.prechat_one_of)},
        "topics": list(site.topics),
        # "never" also when the site asks for verified_email but the email channel is off.
        "link_identity": "verified_email" if site.key in rt.linking_sites else "never",
        # The offline form promises (and asks for) an email answer only when one can be sent.
        "email_followup": followup.available(rt),
        "limits": {
            "max_message_chars": cfg.max_message_chars,
            "max_attachment_bytes": cfg.max_attachment_bytes,
            "attachment_types": list(cfg.attachment_types),
            "max_attachments_per_message": cfg.max_attachments_per_message,
        },
    }


# -- endpoints -------------------------------------------------------------------------------


async def site_config(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    data = public_config(rt, site)
    default = await rt.availability.check(site.team or rt.config.team)
    data["availability"] = default.as_dict()
    data["topic_availability"] = {
        label: (await rt.availability.check(team)).online for label, team in site.topics.items()
    }
    return json_response(data, headers={"Cache-Control": "no-store"})


async def new_session(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    """A token for a new visitor, or a refreshed one for a returning visitor."""
    if request.headers.get("authorization"):
        visitor_id = _session(rt, request, site).visitor_id
        status = 200
    else:
        visitor_id, status = tokens.new_visitor_id(), 201
    token = tokens.issue_visitor(rt.config.token_secret, site.key, visitor_id, time.time())
    return json_response({"visitor_id": visitor_id, "token": token}, status)


async def _head(rt: Runtime) -> int:
    async with rt.hub.db.session() as s:
        return (await s.exec(select(func.max(EventLog.id)))).one() or 0


async def get_history(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    session = _session(rt, request, site)
    cursor = await _head(rt)  # read first: anything newer arrives through /events
    convs = await conversations_of(rt.hub, session.visitor_id)
    messages = await history(rt.hub, [c.id for c in convs])
    return json_response(
        {
            "visitor_id": session.visitor_id,
            "conversations": [c.as_frame() for c in convs],
            "messages": messages,
            "cursor": cursor,
        }
    )


async def post_message(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    session = _session(rt, request, site)
    frame = parse_json(MessageIn, await _body(request))
    convs = await conversations_of(rt.hub, session.visitor_id)
    ack = await actions.post_message(rt, session, frame, convs)
    return json_response(ack, 200 if ack["duplicate"] else 201)


async def get_events(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    session = _session(rt, request, site)
    try:
        after = int(request.query_params.get("after", "0"))
        wait = min(LONG_POLL_MAX, max(0.0, float(request.query_params.get("wait", LONG_POLL_MAX))))
    except ValueError:
        raise WebchatError(
            422, "validation_error", "after must be an event id and wait a number of seconds"
        ) from None
    convs = await conversations_of(rt.hub, session.visitor_id)
    sink = PollSink(session.visitor_id)
    # Registered before reading, so nothing committed in between is slept through.
    rt.gateway.register(sink, convs)
    try:
        frames, cursor = await _durable(rt, [c.id for c in convs], after)
        if not frames and wait > 0:
            if await _sleep_until_woken(sink, request, wait):
                return Response(status_code=204)  # the client left; nobody to answer
            convs = await conversations_of(rt.hub, session.visitor_id)
            frames, cursor = await _durable(rt, [c.id for c in convs], after)
    finally:
        rt.gateway.unregister(sink)
    extra = [_loads(f) for f in sink.ephemeral]
    for conv in convs:
        state = rt.gateway.state(conv.id)
        if (state.status if state else conv.status) in WAITING:
            queue = rt.gateway.queue_frame(conv.id)
            if queue is not None:
                extra.append(queue)
    return json_response({"events": frames + extra, "cursor": cursor})


async def _sleep_until_woken(sink: PollSink, request: Request, wait: float) -> bool:
    """Wait for an event, the timeout, or the client leaving (True). A poll whose
    client has gone must not hold the request (and server shutdown) for 25 s."""

    async def gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    woken = asyncio.create_task(sink.woken.wait())
    left = asyncio.create_task(gone())
    done, pending = await asyncio.wait({woken, left}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return left in done


def _loads(frame: str) -> Any:
    import json

    return json.loads(frame)


async def _durable(rt: Runtime, conversation_ids: list[int], after: int) -> tuple[list[Any], int]:
    if not conversation_ids:
        return [], max(after, 0)
    async with rt.hub.db.session() as s:
        rows = (
            await s.exec(
                select(EventLog)
                .where(
                    col(EventLog.conversation_id).in_(conversation_ids),
                    col(EventLog.id) > after,
                    col(EventLog.type).in_(EVENT_TYPES),
                )
                .order_by(col(EventLog.id))
                .limit(200)
            )
        ).all()
    frames: list[Any] = []
    for row in rows:
        event = event_from_row(row)
        frames.extend(frame for frame, _ in await rt.gateway.render(event))
    cursor = rows[-1].id if rows else after
    return frames, cursor or 0


async def post_typing(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    session = _session(rt, request, site)
    await actions.typing(rt, session, await conversations_of(rt.hub, session.visitor_id))
    return Response(status_code=204)


async def post_read(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    session = _session(rt, request, site)
    frame = parse_json(ReadIn, await _body(request))
    await actions.read(rt, session, frame.message_id, await conversations_of(rt.hub, session.visitor_id))
    return Response(status_code=204)


async def post_csat(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    session = _session(rt, request, site)
    frame = parse_json(CsatIn, await _body(request))
    return json_response(await actions.csat(rt, session, frame))


async def post_complaint(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    session = _session(rt, request, site)
    form = parse_json(ComplaintIn, await _body(request))
    convs = await conversations_of(rt.hub, session.visitor_id)
    ack = await actions.complaint(rt, session, form, convs)
    return json_response(ack, 200 if ack["duplicate"] else 201)


async def post_offline(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    session = _session(rt, request, site)
    form = parse_json(OfflineIn, await _body(request))
    convs = await conversations_of(rt.hub, session.visitor_id)
    ack = await actions.offline(rt, session, form, convs)
    return json_response(ack, 200 if ack["duplicate"] else 201)


def _json_object(body: bytes) -> dict[str, Any]:
    import json

    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise WebchatError(400, "bad_json", "the request body is not JSON") from None
    if not isinstance(data, dict):
        raise WebchatError(400, "bad_json", "expected a JSON object")
    return data


async def post_link_start(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    """Always 202 {"sent": true} (known address or not): no probing who is a customer."""
    session = _session(rt, request, site)
    data = _json_object(await _body(request, 4096))
    await link.start(rt, session, data.get("email"))
    return json_response({"sent": True}, 202)


async def post_link_confirm(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    session = _session(rt, request, site)
    data = _json_object(await _body(request, 4096))
    return json_response(await link.confirm(rt, session, data.get("code")))


async def upload(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    # Charged to the client address like every request (see wrap); bytes are capped
    # by max_attachment_bytes before anything is stored.
    session = _session(rt, request, site)
    ctype = rt.uploads.check_type(request.headers.get("content-type", ""))
    filename = clean_filename(unquote(request.headers.get("x-filename", "file")))
    declared = request.headers.get("content-length")
    data = await rt.uploads.receive(
        request.stream(), int(declared) if declared and declared.isdigit() else None
    )
    digest = await asyncio.to_thread(rt.uploads.save, data, ctype)
    ref = rt.uploads.reference(session.visitor_id, digest, filename, ctype, len(data))
    return json_response(
        {"ref": ref, "filename": filename, "content_type": ctype, "size": len(data)}, status=201
    )


def _stored_file(rt: Runtime, raw: object) -> Path | None:
    """Only files inside the hub's attachment directories are ever served."""
    from hub.api.routes_attachments import attachment_roots

    if not isinstance(raw, str) or not raw:
        return None
    path = Path(raw).resolve()
    if not any(path.is_relative_to(root) for root in attachment_roots(rt.hub)) or not path.is_file():
        return None
    return path


async def download(rt: Runtime, request: Request, site: SiteConfig) -> Response:
    from hub.api.routes_attachments import safe_content_type

    session = _session(rt, request, site)
    message_id, index = request.path_params["message_id"], request.path_params["index"]
    async with rt.hub.db.session() as s:
        message = await s.get(Message, message_id)
    missing = WebchatError(404, "not_found", f"message {message_id} has no attachment {index} for you")
    if message is None or message.direction not in (Direction.inbound, Direction.outbound):
        raise missing
    await owned(rt.hub, session.visitor_id, message.conversation_id)
    if not 0 <= index < len(message.attachments):
        raise missing
    meta = message.attachments[index]
    path = await asyncio.to_thread(_stored_file, rt, meta.get("path"))
    if path is None:
        raise missing
    return FileResponse(
        path,
        media_type=safe_content_type(meta.get("content_type")),
        filename=str(meta.get("filename") or f"attachment-{index + 1}"),
        content_disposition_type="attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
