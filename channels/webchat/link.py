"""``link_identity = "verified_email"``: a visitor proves they own a known email address
and their web-chat contact is merged into the customer's existing contact.

Flow (see docs/channels/webchat.md):

1. ``start(email)``: if the address is the email identity of *another* contact, a
   6-digit code is generated, only its SHA-256 (with the email, expiry and attempt
   count) is stored on the visitor's contact, and the code is mailed to that address.
   The answer is the same whether or not the address is known, so the endpoint cannot
   be used to find out who is a customer. The code itself is never logged.
2. ``confirm(code)``: compared in constant time; 5 attempts, 10 minutes. On success the
   visitor's contact is merged into the known one (``hub.services.contacts.merge_contacts``).

Linking unifies the CRM profile agents see. It does not widen what the visitor sees:
the widget still shows only web-chat conversations of this visitor id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import select

from channels.base import SendError
from channels.webchat.actions import Runtime, VisitorSession, current_conversation
from channels.webchat.errors import WebchatError, rate_limited
from channels.webchat.visitors import KIND, conversations_of
from hub import addresses
from hub.domain import OutboundMessage
from hub.models import Contact, Identity
from hub.services import SYSTEM, ServiceError
from hub.services.contacts import merge_contacts
from hub.services.uow import unit_of_work

log = logging.getLogger(__name__)

PENDING_KEY = "webchat_link"
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5


def _digest(visitor_id: str, code: str) -> str:
    return hashlib.sha256(f"{visitor_id}:{code}".encode()).hexdigest()


def _require_enabled(rt: Runtime, session: VisitorSession) -> None:
    if session.site.key not in rt.linking_sites:
        raise WebchatError(404, "linking_off", "this site does not link chats to existing customers")


async def _visitor_contact_id(rt: Runtime, visitor_id: str) -> int:
    async with rt.hub.db.session() as s:
        contact_id = (
            await s.exec(
                select(Identity.contact_id).where(Identity.kind == KIND, Identity.address == visitor_id)
            )
        ).first()
    if contact_id is None:
        raise WebchatError(
            409, "no_conversation", "start a chat first; linking applies to a conversation you have begun"
        )
    return contact_id


async def _known_contact_id(rt: Runtime, email: str) -> int | None:
    async with rt.hub.db.session() as s:
        return (
            await s.exec(
                select(Identity.contact_id).where(Identity.kind == "email", Identity.address == email)
            )
        ).first()


async def start(rt: Runtime, session: VisitorSession, raw_email: Any) -> None:
    _require_enabled(rt, session)
    wait = rt.link_limiter.take(session.visitor_id)
    if wait > 0:
        raise rate_limited(wait, "code requests")
    if not isinstance(raw_email, str) or len(raw_email) > 320:
        raise WebchatError(422, "validation_error", "email: please enter an email address")
    try:
        email = addresses.normalize_email(raw_email)
    except ServiceError:
        raise WebchatError(422, "validation_error", "email: please enter a valid email address") from None
    visitor_contact = await _visitor_contact_id(rt, session.visitor_id)
    known = await _known_contact_id(rt, email)
    if known is None or known == visitor_contact:
        return  # same answer as a sent code: nothing to learn about who is a customer
    code = f"{secrets.randbelow(1_000_000):06d}"
    expires = rt.hub.now() + CODE_TTL
    async with unit_of_work(rt.hub) as uow:
        contact = await uow.session.get(Contact, visitor_contact)
        if contact is None:
            raise WebchatError(409, "no_conversation", "start a chat first")
        attributes = dict(contact.attributes or {})
        attributes[PENDING_KEY] = {
            "sha256": _digest(session.visitor_id, code),
            "email": email,
            "expires_at": expires.isoformat(),
            "attempts": 0,
        }
        contact.attributes = attributes
        contact.updated_at = rt.hub.now()
        uow.session.add(contact)
    conv_id = current_conversation(await conversations_of(rt.hub, session.visitor_id), rt.gateway) or 0
    site = session.site.name
    mail = OutboundMessage(
        message_id=0,
        conversation_id=conv_id,
        channel="email",
        to=email,
        subject=f"Your code to link your chat with {site}",
        body=(
            f"Your code is {code}\n\n"
            f"Someone asked to link a chat on the {site} website to this email address, so that "
            "our team sees your earlier conversations. Type the code in the chat window to "
            "confirm. It expires in 10 minutes.\n\n"
            "If this was not you, ignore this email: nothing is linked without the code.\n"
        ),
    )
    task = asyncio.create_task(_send_code(rt, mail, visitor_contact), name="webchat-link-code")
    rt.link_sends.add(task)
    task.add_done_callback(rt.link_sends.discard)


async def _send_code(rt: Runtime, mail: OutboundMessage, contact_id: int) -> None:
    """Mail the code. Failures are logged, never shown: the visitor may ask again, and an
    error only for known addresses would tell strangers who is a customer."""
    try:
        await rt.hub.channels.get("email").send(mail)
    except SendError as exc:
        log.warning("could not mail a web-chat link code: %s", exc.reason, extra={"contact_id": contact_id})
        return
    except Exception:
        log.exception("mailing a web-chat link code failed", extra={"contact_id": contact_id})
        return
    log.info("mailed a web-chat link code", extra={"contact_id": contact_id})


async def drain(rt: Runtime) -> None:
    """Wait for link-code mails in flight (tests; shutdown)."""
    if rt.link_sends:
        await asyncio.wait(set(rt.link_sends), timeout=30)


async def confirm(rt: Runtime, session: VisitorSession, raw_code: Any) -> dict[str, Any]:
    _require_enabled(rt, session)
    code = raw_code.strip() if isinstance(raw_code, str) else ""
    visitor_contact = await _visitor_contact_id(rt, session.visitor_id)
    email = await _check_code(rt, session.visitor_id, visitor_contact, code)
    known = await _known_contact_id(rt, email)
    if known is None:
        raise WebchatError(410, "code_expired", "this code is no longer valid; ask for a new one")
    if known == visitor_contact:
        return {"linked": True}
    try:
        await merge_contacts(rt.hub, SYSTEM, visitor_contact, known)
    except ServiceError as exc:
        raise WebchatError(
            exc.status,
            exc.code,
            "your chats cannot be linked while you have another chat open with us; "
            "try again once it is closed"
            if exc.code == "thread_open"
            else exc.message,
        ) from None
    log.info("linked a web-chat visitor to a known contact", extra={"contact_id": known})
    return {"linked": True}


async def _check_code(rt: Runtime, visitor_id: str, contact_id: int, code: str) -> str:
    """The pending email when ``code`` is right (the pending code is then cleared)."""
    gone = WebchatError(410, "code_expired", "this code has expired or was used up; ask for a new one")
    left = 0
    async with unit_of_work(rt.hub) as uow:
        contact = await uow.session.get(Contact, contact_id, with_for_update=True)
        pending = (contact.attributes or {}).get(PENDING_KEY) if contact is not None else None
        if contact is None or not isinstance(pending, dict):
            raise gone
        attributes = dict(contact.attributes)
        expired = datetime.fromisoformat(pending["expires_at"]) <= rt.hub.now()
        attempts = int(pending.get("attempts", 0))
        ok = hmac.compare_digest(_digest(visitor_id, code), str(pending.get("sha256", "")))
        if ok and not expired and attempts < MAX_ATTEMPTS:
            del attributes[PENDING_KEY]
            # Proven now: the address is no longer an unverified detail.
            unverified = [f for f in attributes.get("unverified", []) if f != "email"]
            if attributes.get("email") == pending["email"]:
                attributes["unverified"] = unverified
            contact.attributes = attributes
            uow.session.add(contact)
            return str(pending["email"])
        attempts += 1
        if expired or attempts >= MAX_ATTEMPTS:
            del attributes[PENDING_KEY]
            left = 0
        else:
            attributes[PENDING_KEY] = {**pending, "attempts": attempts}
            left = MAX_ATTEMPTS - attempts
        contact.attributes = attributes
        uow.session.add(contact)
    if left == 0:
        raise gone
    raise WebchatError(
        400,
        "wrong_code",
        f"that code is not right; {left} attempt{'s' if left != 1 else ''} left",
        extra={"attempts_left": left},
    )
