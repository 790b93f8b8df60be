"""What a visitor can do, shared by the socket and the REST fallback.

Each action checks limits and rights, then goes through hub services: a message is
committed by ``ingest`` before it is acknowledged, so an ack means "stored".
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from channels.webchat import followup, prechat
from channels.webchat.attachments import UploadStore
from channels.webchat.availability import AvailabilityCheck
from channels.webchat.config import Rate, SiteConfig, WebchatConfig
from channels.webchat.csat import record_csat
from channels.webchat.errors import WebchatError, invalid, rate_limited
from channels.webchat.frames import ComplaintIn, CsatIn, MessageIn, OfflineIn
from channels.webchat.gateway import CLOSED, CustomerGateway
from channels.webchat.ratelimit import RateLimiter
from channels.webchat.visitors import KIND, ConversationView, owned
from hub.context import Hub
from hub.domain import Attachment, DeliveryUpdate, InboundMessage
from hub.events import Event
from hub.models import Contact, Direction, Message
from hub.services import SYSTEM, ServiceError
from hub.services.complaints import open_from_widget
from hub.services.contacts import update_contact
from hub.services.ingest import delivery_update, ingest

log = logging.getLogger(__name__)
LINK_RATE = Rate(burst=3, per_minute=3 / 60)


@dataclass
class Runtime:
    """The started adapter's moving parts (built in ``WebchatChannel.start``)."""

    hub: Hub
    config: WebchatConfig
    gateway: CustomerGateway
    uploads: UploadStore
    visitor_limiter: RateLimiter
    ip_limiter: RateLimiter
    typing_limiter: RateLimiter
    availability: AvailabilityCheck
    connections_by_ip: dict[str, int] = field(default_factory=dict)
    # Sites whose link_identity = "verified_email" is in force (the email channel is on).
    linking_sites: frozenset[str] = frozenset()
    # Asking for a link code: 3 per visitor per hour.
    link_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(LINK_RATE))
    # Link-code mails in flight: sent in the background so a known address answers as
    # fast as an unknown one (response time must not reveal who is a customer).
    link_sends: set[asyncio.Task[None]] = field(default_factory=set)


@dataclass
class VisitorSession:
    site: SiteConfig
    visitor_id: str
    ip: str
    language: str | None = None
    page: str | None = None


def charge(rt: Runtime, session: VisitorSession, what: str) -> None:
    for limiter, key in ((rt.visitor_limiter, session.visitor_id), (rt.ip_limiter, session.ip)):
        wait = limiter.take(key)
        if wait > 0:
            raise rate_limited(wait, what)


def _service_error(exc: ServiceError) -> WebchatError:
    return WebchatError(exc.status, exc.code, exc.message)


def _language(rt: Runtime, session: VisitorSession) -> str | None:
    if session.site.language != "auto":
        return session.site.language
    lang = (session.language or "").split("-")[0].lower()
    return lang if lang.isalpha() and 2 <= len(lang) <= 3 else None


async def post_message(
    rt: Runtime,
    session: VisitorSession,
    frame: MessageIn,
    conversations: list[ConversationView],
    *,
    details: dict[str, str] | None = None,
    subject: str = "",
    extra_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    charge(rt, session, "messages")
    body = frame.body.strip()
    limit = rt.config.max_message_chars
    if len(body) > limit:
        raise WebchatError(
            422, "too_long", f"the message is longer than {limit} characters ({len(body)}); shorten it"
        )
    if len(frame.attachments) > rt.config.max_attachments_per_message:
        raise WebchatError(
            422, "too_many_attachments", f"at most {rt.config.max_attachments_per_message} files per message"
        )
    files: tuple[Attachment, ...] = tuple(
        rt.uploads.resolve(session.visitor_id, ref) for ref in frame.attachments
    )
    if not body and not files:
        raise WebchatError(422, "empty_body", "the message is empty")
    if details is None:
        details = _prechat_details(rt, session, frame, conversations)
    team = session.site.team_for(details.get("topic")) or rt.config.team
    meta: dict[str, Any] = {"site": session.site.key, **(extra_meta or {})}
    if details:
        meta["prechat"] = details
    if session.page and current_conversation(conversations, rt.gateway) is None:
        meta["page"] = session.page  # where a new conversation started
    msg = InboundMessage(
        channel=KIND,
        # Prefixed with the visitor id: one visitor's ids can never collide with (and
        # so "deduplicate into") another visitor's message.
        provider_message_id=f"{session.visitor_id}:{frame.id}",
        address_kind="webchat",
        sender=session.visitor_id,
        sender_name=details.get("name", ""),
        thread_key=session.visitor_id,
        subject=subject,
        body=body,
        kind="media" if files and not body else "text",
        attachments=files,
        team=team,
        language=_language(rt, session),
        meta=meta,
        raw={"frame": frame.model_dump(mode="json", exclude={"attachments"}), "site": session.site.key},
    )
    try:
        result = await ingest(rt.hub, msg)
    except ServiceError as exc:
        raise _service_error(exc) from None
    if details:  # also on a resend: the first attempt may have died before this step
        await _remember_details(rt.hub, result.contact_id, session, details)
    known = next((c for c in conversations if c.id == result.conversation_id), None)
    if known is None or result.new_conversation:
        known = await owned(rt.hub, session.visitor_id, result.conversation_id)
        conversations.append(known)
    rt.gateway.attach(session.visitor_id, known)
    return {
        "type": "ack",
        "id": frame.id,
        "message_id": result.message_id,
        "conversation_id": result.conversation_id,
        "duplicate": result.duplicate,
    }


def _prechat_details(
    rt: Runtime, session: VisitorSession, frame: MessageIn, conversations: list[ConversationView]
) -> dict[str, str]:
    """The pre-chat form is asked once per visitor: with their first message."""
    region = rt.hub.settings.default_phone_region
    if frame.prechat is not None:
        return prechat.validate(session.site, frame.prechat, phone_region=region)
    asks = any(rule == "required" for rule in session.site.prechat.values()) or session.site.prechat_one_of
    if asks and not conversations:
        # Names the missing fields, so the widget (or an integrator) knows what to ask.
        prechat.validate(session.site, None, phone_region=region)
    return {}


async def _remember_details(
    hub: Hub, contact_id: int, session: VisitorSession, details: dict[str, str]
) -> None:
    """Email/phone the visitor typed: contact attributes, unverified — never identities."""
    wanted = {k: v for k, v in details.items() if k in ("email", "phone")}
    if not wanted:
        return
    async with hub.db.session() as s:
        contact = await s.get(Contact, contact_id)
    if contact is None:
        return
    attributes = dict(contact.attributes or {})
    attributes.update(wanted)
    attributes["webchat_site"] = session.site.key
    attributes["unverified"] = sorted(set(attributes.get("unverified", [])) | set(wanted))
    try:
        await update_contact(hub, SYSTEM, contact_id, {"attributes": attributes})
    except ServiceError:
        log.exception("could not store pre-chat details on contact %s", contact_id)


def current_conversation(conversations: list[ConversationView], gateway: CustomerGateway) -> int | None:
    for conv in reversed(conversations):
        state = gateway.state(conv.id)
        status = state.status if state is not None else conv.status
        if status not in CLOSED:
            return conv.id
    return None


async def typing(rt: Runtime, session: VisitorSession, conversations: list[ConversationView]) -> None:
    """Tell the assignee (or the team) the visitor is typing; at most one signal per 2 s."""
    conv_id = current_conversation(conversations, rt.gateway)
    if conv_id is None or rt.typing_limiter.take(session.visitor_id) > 0:
        return
    state = rt.gateway.state(conv_id)
    view = next(c for c in conversations if c.id == conv_id)
    await _publish(
        rt.hub,
        Event(
            id=0,
            type="typing",
            conversation_id=conv_id,
            team_id=state.team_id if state else view.team_id,
            user_id=state.assignee_id if state else view.assignee_id,
            payload={"conversation_id": conv_id, "side": "customer"},
        ),
    )


async def read(
    rt: Runtime, session: VisitorSession, message_id: int, conversations: list[ConversationView]
) -> None:
    """The visitor has seen an agent's message (and everything before it)."""
    ids = {c.id for c in conversations}
    async with rt.hub.db.session() as s:
        row = (
            await s.exec(select(Message.conversation_id, Message.direction).where(Message.id == message_id))
        ).first()
    if row is None or row[0] not in ids or row[1] != Direction.outbound:
        raise WebchatError(404, "not_your_message", f"message {message_id} is not one of yours")
    conv_id = row[0]
    state = rt.gateway.state(conv_id)
    await _publish(
        rt.hub,
        Event(
            id=0,
            type="read",
            conversation_id=conv_id,
            team_id=state.team_id if state else None,
            user_id=state.assignee_id if state else None,
            payload={"conversation_id": conv_id, "message_id": message_id, "side": "customer"},
        ),
    )
    # Durable too: the agent's message shows "read" in the console like on other channels.
    await delivery_update(
        rt.hub, DeliveryUpdate(channel=KIND, provider_message_id=provider_id(message_id), status="read")
    )


def provider_id(message_id: int) -> str:
    return f"wc-{message_id}"


async def csat(rt: Runtime, session: VisitorSession, frame: CsatIn) -> dict[str, Any]:
    charge(rt, session, "requests")
    await record_csat(rt.hub, frame.conversation_id, session.visitor_id, frame.score, frame.comment)
    return {"type": "csat_saved", "id": frame.id, "conversation_id": frame.conversation_id}


async def complaint(
    rt: Runtime, session: VisitorSession, form: ComplaintIn, conversations: list[ConversationView]
) -> dict[str, Any]:
    """The complaint form: a message in the visitor's conversation (so an agent sees
    it in the thread) and a complaint linked to it, whose acknowledgement with the
    reference arrives in the chat. A resend of the same form opens nothing new."""
    if not form.description.strip():
        raise invalid([{"field": "description", "message": "please tell us what happened"}])
    frame = MessageIn(id=form.id, body=form.description, prechat=form.prechat)
    ack = await post_message(
        rt, session, frame, conversations, subject="Complaint", extra_meta={"complaint_form": True}
    )
    try:
        reference = await open_from_widget(
            rt.hub,
            ack["conversation_id"],
            category=form.category or None,
            order_ref=form.order_ref,
            description=form.description,
        )
    except ServiceError as exc:
        raise _service_error(exc) from None
    return {**ack, "type": "complaint_saved", "reference": reference}


async def offline(
    rt: Runtime, session: VisitorSession, form: OfflineIn, conversations: list[ConversationView]
) -> dict[str, Any]:
    """The leave-a-message form: becomes a queued conversation like any chat.

    When replies can follow the visitor by email (``followup.available``) an email
    address is required whatever the site's pre-chat rules say: it is the only way to
    answer someone who is not there. Without an email channel the answer waits in the
    chat, so no address is demanded (one given is still kept on the contact).
    """
    details = prechat.validate(
        session.site,
        form,
        phone_region=rt.hub.settings.default_phone_region,
        require=("email",) if followup.available(rt) else (),
        allow=("name", "email", "phone", "topic"),
    )
    if not form.message.strip():
        raise invalid([{"field": "message", "message": "please write your message"}])
    frame = MessageIn(id=form.id, body=form.message)
    ack = await post_message(
        rt,
        session,
        frame,
        conversations,
        details=details,
        subject="Offline message",
        extra_meta={"offline": True},
    )
    return {**ack, "type": "offline_saved"}


async def _publish(hub: Hub, event: Event) -> None:
    try:
        await hub.bus.publish([event])
    except Exception:
        log.exception("could not publish %s", event.type)
