"""Delivery status notifications (RFC 3464): which of our messages bounced, and why.

A DSN is ``multipart/report; report-type=delivery-status`` with a human part, a
``message/delivery-status`` part (one header block per message, then one per
recipient) and the original message or its headers. The original Message-ID comes
from the attached headers; some MTAs also write it into the status blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

from channels.email.ids import first_id


@dataclass(frozen=True, slots=True)
class Bounce:
    original_message_id: str | None
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # e.g. 5.1.1
    diagnostic: str
    recipient: str

    @property
    def is_failure(self) -> bool:
        return self.action == "failed" or self.status.startswith("5")

    def reason(self) -> str:
        detail = self.diagnostic or f"status {self.status or 'unknown'}"
        who = f" for {self.recipient}" if self.recipient else ""
        return f"bounced{who}: {detail}"[:1000]


def is_dsn(msg: Message) -> bool:
    return (
        msg.get_content_type() == "multipart/report"
        and str(msg.get_param("report-type", "")).lower() == "delivery-status"
    )


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, Message)]
    # Some parsers (or broken MTAs) leave the status as text: split it ourselves.
    raw = part.get_payload(decode=True)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
    return [HeaderParser().parsestr(chunk) for chunk in re.split(r"\r?\n\s*\r?\n", text) if chunk.strip()]


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    if value is None:
        return ""
    text = " ".join(str(value).split())
    # "rfc822; user@example.com" / "smtp; 550 5.1.1 ..." → the part after the type.
    kind, sep, rest = text.partition(";")
    return rest.strip() if sep and " " not in kind.strip() else text


def _original_id(msg: Message, blocks: list[Message]) -> str | None:
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            candidates = inner if isinstance(inner, list) else [inner]
            for m in candidates:
                if isinstance(m, Message) and m.get("Message-ID"):
                    return first_id(str(m["Message-ID"]))
        elif ctype in ("text/rfc822-headers", "message/global-headers"):
            raw = part.get_payload(decode=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(part.get_payload())
            headers = HeaderParser().parsestr(text)
            if headers.get("Message-ID"):
                return first_id(str(headers["Message-ID"]))
    for block in blocks:
        for name in ("Original-Message-ID", "X-Original-Message-ID"):
            if block.get(name):
                return first_id(str(block[name]))
    return None


def parse_dsn(msg: Message) -> Bounce | None:
    """The bounce a DSN reports, or None when ``msg`` is not a DSN."""
    if not is_dsn(msg):
        return None
    blocks: list[Message] = []
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            blocks = _blocks(part)
            break
    recipients = [b for b in blocks if b.get("Action") or b.get("Final-Recipient")]
    # Report the worst recipient: a failure beats a delay beats a success.
    rank = {"failed": 0, "delayed": 1}
    recipients.sort(key=lambda b: rank.get(_field(b, "Action").lower(), 2))
    first = recipients[0] if recipients else Message()
    return Bounce(
        original_message_id=_original_id(msg, blocks),
        action=_field(first, "Action").lower() or "failed",
        status=_field(first, "Status"),
        diagnostic=_field(first, "Diagnostic-Code"),
        recipient=_field(first, "Final-Recipient") or _field(first, "Original-Recipient"),
    )
