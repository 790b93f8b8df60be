"""Twilio's message webhooks (form parameters) → the hub's normalized shapes."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from channels.twilio.config import MessagingConfig
from channels.twilio.rest import describe_error
from hub.addresses import normalize_phone
from hub.consent_keywords import KeywordMatcher
from hub.domain import Attachment, DeliveryUpdate, InboundMessage
from hub.services.errors import Invalid

MAX_MEDIA = 10  # Twilio sends at most 10 media per message (MediaUrl0..MediaUrl9)
# Kept in meta["twilio"] for agents: our number, segments, the WhatsApp id, and what a
# tapped button sent (its text, its payload, the message it belonged to).
_META_KEYS = (
    "To",
    "NumSegments",
    "WaId",
    "MessageType",
    "ButtonText",
    "ButtonPayload",
    "OriginalRepliedMessageSid",
)

# Twilio MessageStatus -> hub delivery status. Statuses before "sent" (accepted,
# scheduled, queued, sending) say nothing the outbox has not already recorded.
_STATUS: dict[str, Literal["sent", "delivered", "read", "failed"]] = {
    "sent": "sent",
    "delivered": "delivered",
    "partially_delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}

Keyword = Literal["opt_out", "opt_in"] | None


def strip_channel(address: str) -> str:
    """``whatsapp:+14155238886`` → ``+14155238886``."""
    prefix, sep, rest = address.partition(":")
    return rest if sep and prefix.isalpha() else address


def our_number(raw: str) -> str:
    """Our number as configured (E.164); unusual senders (short codes) stay as given."""
    try:
        return normalize_phone(strip_channel(raw))
    except Invalid:
        return strip_channel(raw)


def message_sid(params: Mapping[str, str]) -> str:
    # SmsSid / SmsMessageSid are the deprecated names Twilio still sends alongside.
    return params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid") or ""


def inbound_message(
    kind: str, params: Mapping[str, str], cfg: MessagingConfig, received_at: datetime
) -> InboundMessage:
    """An incoming SMS/MMS/WhatsApp webhook as an :class:`InboundMessage`."""
    sid, sender = message_sid(params), params.get("From", "")
    if not sid or not sender:
        raise ValueError("expected MessageSid and From parameters")
    to = our_number(params.get("To", ""))
    attachments = tuple(_media(sid, params))
    body = params.get("Body", "")
    if not body and params.get("Latitude") and params.get("Longitude"):
        # A WhatsApp location pin has no body; give the agent something to click.
        label = params.get("Address") or params.get("Label") or "Shared location"
        body = f"{label}: https://maps.google.com/?q={params['Latitude']},{params['Longitude']}"
    return InboundMessage(
        channel=kind,
        provider_message_id=sid,
        address_kind="phone",
        sender=sender,
        sender_name=params.get("ProfileName", ""),
        channel_account=to,
        body=body,
        kind="media" if attachments else "text",
        attachments=attachments,
        team=cfg.numbers.get(to),
        received_at=received_at,
        meta={"twilio": {k: params[k] for k in _META_KEYS if params.get(k)}},
        raw=dict(params),
    )


def _media(sid: str, params: Mapping[str, str]) -> list[Attachment]:
    try:
        count = min(int(params.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    found = []
    for i in range(count):
        url = params.get(f"MediaUrl{i}")
        if not url:
            continue
        content_type = params.get(f"MediaContentType{i}") or "application/octet-stream"
        ext = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
        # Twilio-hosted media: the URL is the reference (fetching it needs the
        # account credentials unless media auth is off).
        found.append(Attachment(filename=f"{sid}-{i}{ext}", content_type=content_type, url=url))
    return found


def keyword_of(body: str, cfg: MessagingConfig) -> Keyword:
    """The hub's matcher (hub.consent_keywords) with this channel's configured words."""
    return KeywordMatcher.build(cfg.opt_out_keywords, cfg.opt_in_keywords).match(body)


def delivery_update(kind: str, params: Mapping[str, str]) -> DeliveryUpdate | None:
    """A message status callback; ``None`` when it says nothing new (queued, sending)."""
    sid = message_sid(params)
    twilio_status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    status = _STATUS.get(twilio_status)
    if not sid or status is None:
        return None
    error = None
    if status == "failed":
        detail = describe_error(params.get("ErrorCode"), params.get("ErrorMessage"))
        error = f"{twilio_status}: {detail}"
    return DeliveryUpdate(channel=kind, provider_message_id=sid, status=status, error=error, raw=dict(params))
