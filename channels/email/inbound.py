"""One path for every inbound mail, whether the IMAP poller or the SMTP listener got it:
parse → guards (own mail, bounces, automatic mail, rate limit) → attachments →
threading → ``ingest`` (committed before the caller acknowledges the mail).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlmodel import col, select

from channels.email.attachments import AttachmentStore, Rejected
from channels.email.config import EmailConfig
from channels.email.ids import sender_scoped_id, storable_id
from channels.email.loops import (
    SenderRateLimit,
    bounce_summary,
    envelope_address,
    noise_reason,
    our_ids_in_text,
    own_mail_reason,
)
from channels.email.parse import ParsedEmail, parse_email
from channels.email.threads import CHANNEL, find_thread_key
from hub.addresses import normalize_email
from hub.context import Hub
from hub.domain import Attachment, DeliveryUpdate, InboundMessage
from hub.models import Conversation, Message
from hub.services.errors import Invalid
from hub.services.ingest import IngestResult, delivery_update, ingest

log = logging.getLogger(__name__)

RAW_INLINE_MAX = 256 * 1024  # larger raw mail goes to a file beside the attachments
FULL_TEXT_MAX = 1_000_000
UNKNOWN_SENDER = "missing-sender@unknown.invalid"
TRUNCATED_NOTE = "\n\n[… shortened; the full text is kept with the message]"


@dataclass(frozen=True, slots=True)
class Outcome:
    action: Literal["ingested", "duplicate", "ignored", "bounce"]
    reason: str = ""
    message_id: int | None = None
    conversation_id: int | None = None


class InboundMail:
    def __init__(
        self, cfg: EmailConfig, store: AttachmentStore, limiter: SenderRateLimit, raw_dir: Path
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.limiter = limiter
        self.raw_dir = raw_dir

    async def deliver(
        self, hub: Hub, raw: bytes, *, source: str, envelope_sender: str | None = None
    ) -> Outcome:
        """Handle one raw mail. Raises only when it should be retried (e.g. database down)."""
        mail = await asyncio.to_thread(parse_email, raw)  # big mails: keep the loop free
        reason = own_mail_reason(mail, self.cfg)
        if reason is not None:
            return self._ignored(mail, reason, source)
        if mail.bounce is not None:
            return await self._dsn(hub, mail)
        if (mail.from_addr or "").partition("@")[0].lower() in ("mailer-daemon", "postmaster"):
            ours = our_ids_in_text(mail, self.cfg)
            if ours:
                return await self._failed(hub, ours, bounce_summary(mail))
        reason = noise_reason(mail, self.cfg, envelope_sender)
        if reason is not None:
            return self._ignored(mail, reason, source)
        sender = mail.from_addr or UNKNOWN_SENDER
        envelope = envelope_address(envelope_sender, mail)
        # Counted by envelope sender and From alike: varying one never buys more mail.
        if not self.limiter.allow_all((sender, envelope or ""), hub.now()):
            return self._ignored(
                mail,
                f"more than {self.cfg.rate_limit_per_sender} mails from this sender"
                f" (envelope {envelope or '?'}, From {sender})",
                source,
            )
        return await self._ingest(hub, mail, sender, source)

    # -- ingest ------------------------------------------------------------------------
    async def _ingest(self, hub: Hub, mail: ParsedEmail, sender: str, source: str) -> Outcome:
        saved = await asyncio.to_thread(lambda: [self.store.save(p) for p in mail.parts])
        stored = tuple(a for a in saved if isinstance(a, Attachment))
        rejected = [r for r in saved if isinstance(r, Rejected)]
        raw_ref = await asyncio.to_thread(self._raw_ref, mail.raw)
        provider_id = storable_id(mail.message_id, mail.raw)
        msg = InboundMessage(
            channel=CHANNEL,
            provider_message_id=provider_id,
            address_kind="email",
            sender=sender,
            sender_name=mail.from_name[:200],
            channel_account=self._mailbox(mail),
            thread_key=await find_thread_key(hub, mail, provider_id, _bare(sender)),
            subject=mail.subject[:998],
            body=_shorten(mail.reply_text, hub.settings.max_body_chars),
            kind="media" if stored and not mail.reply_text.strip() else "text",
            attachments=stored,
            received_at=hub.now(),
            meta=self._meta(mail, rejected, source),
            raw=raw_ref,
        )
        msg, result = await self._ingest_once(hub, msg)
        if result.duplicate:
            msg, result = await self._scope_to_sender(hub, msg, result)
        if result.duplicate:
            log.info(
                "email duplicate: Message-ID %s from %s is already message %s (conversation %s)",
                mail.message_id or "?",
                msg.sender,
                result.message_id,
                result.conversation_id,
                extra={
                    "channel": CHANNEL,
                    "message_id": result.message_id,
                    "conversation_id": result.conversation_id,
                    "provider_message_id": msg.provider_message_id,
                    "source": source,
                },
            )
        action: Literal["ingested", "duplicate"] = "duplicate" if result.duplicate else "ingested"
        return Outcome(action, "", result.message_id, result.conversation_id)

    async def _ingest_once(self, hub: Hub, msg: InboundMessage) -> tuple[InboundMessage, IngestResult]:
        try:
            return msg, await ingest(hub, msg)
        except Invalid as exc:
            if exc.code != "bad_address" or msg.sender == UNKNOWN_SENDER:
                raise
            # A From the core cannot normalize: keep the mail under a placeholder contact.
            meta = {
                **msg.meta,
                "parse_warning": _join(msg.meta.get("parse_warning"), f"sender rejected: {exc}"),
            }
            msg = msg.model_copy(update={"sender": UNKNOWN_SENDER, "meta": meta})
            return msg, await ingest(hub, msg)

    async def _scope_to_sender(
        self, hub: Hub, msg: InboundMessage, dup: IngestResult
    ) -> tuple[InboundMessage, IngestResult]:
        """Deduplication is per sender: a Message-ID another sender already used is no
        redelivery of theirs, so this mail is stored under a sender-scoped id (which
        dedupes its own redeliveries in turn)."""
        async with hub.db.session() as s:
            stored_from = (
                await s.exec(
                    select(Conversation.contact_address)
                    .join(Message, col(Message.conversation_id) == Conversation.id)
                    .where(Message.id == dup.message_id)
                )
            ).first()
        sender = _bare(msg.sender)
        if stored_from is None or stored_from == sender:
            return msg, dup
        scoped = sender_scoped_id(sender, msg.provider_message_id)
        log.info(
            "email Message-ID %s was already used by another sender (message %s); storing as %s",
            msg.provider_message_id,
            dup.message_id,
            scoped,
            extra={"channel": CHANNEL, "message_id": dup.message_id},
        )
        return await self._ingest_once(hub, msg.model_copy(update={"provider_message_id": scoped}))

    def _mailbox(self, mail: ParsedEmail) -> str:
        """Which of our addresses the customer wrote to (accept_domains may allow many)."""
        for addr in (a.lower() for a in (*mail.to, *mail.cc)):
            if addr == self.cfg.address or addr.rpartition("@")[2] in self.cfg.accept_domains:
                return addr
        return self.cfg.address

    def _meta(self, mail: ParsedEmail, rejected: list[Rejected], source: str) -> dict[str, Any]:
        meta: dict[str, Any] = {**mail.header_meta(), "source": source}
        meta["full_text"] = mail.text[:FULL_TEXT_MAX]
        if len(mail.text) > FULL_TEXT_MAX:
            meta["full_text_truncated"] = True
        if mail.warnings:
            meta["parse_warning"] = "; ".join(mail.warnings)[:2000]
        if rejected:
            meta["rejected_attachments"] = [r.as_meta() for r in rejected]
        inline = {p.content_id: p.filename for p in mail.parts if p.inline and p.content_id}
        if inline:
            meta["inline_images"] = inline
        return meta

    def _raw_ref(self, raw: bytes) -> dict[str, Any]:
        """The raw message itself when small, else a file path (JSON columns are no blob store)."""
        if len(raw) <= RAW_INLINE_MAX and b"\x00" not in raw:
            try:
                return {"rfc822": raw.decode("utf-8")}
            except UnicodeDecodeError:
                # latin-1 maps every byte to one code point: encode back for the exact bytes.
                return {"rfc822": raw.decode("latin-1"), "rfc822_encoding": "latin-1"}
        digest = hashlib.sha256(raw).hexdigest()
        path = self.raw_dir / digest[:2] / f"{digest}.eml"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(raw)
            tmp.replace(path)
        return {"rfc822_path": str(path), "size": len(raw), "sha256": digest}

    # -- bounces and noise --------------------------------------------------------------
    async def _dsn(self, hub: Hub, mail: ParsedEmail) -> Outcome:
        bounce = mail.bounce
        assert bounce is not None
        if not bounce.is_failure:
            log.info(
                "email delivery report (%s) noted, nothing to do", bounce.action, extra={"channel": CHANNEL}
            )
            return Outcome("ignored", f"delivery report: {bounce.action}")
        if not bounce.original_message_id:
            log.warning("bounce without the original Message-ID; cannot tell which reply failed")
            return Outcome("ignored", "bounce without the original Message-ID")
        return await self._failed(hub, [bounce.original_message_id], bounce.reason())

    async def _failed(self, hub: Hub, message_ids: list[str], reason: str) -> Outcome:
        known = False
        for mid in message_ids:
            update = DeliveryUpdate(channel=CHANNEL, provider_message_id=mid, status="failed", error=reason)
            known = await delivery_update(hub, update) or known
        log.info("email bounce for %s: %s", message_ids[0], reason, extra={"channel": CHANNEL})
        return Outcome("bounce", reason if known else f"{reason} (for a message we do not know)")

    def _ignored(self, mail: ParsedEmail, reason: str, source: str) -> Outcome:
        log.info(
            "email ignored (%s) via %s: from %s, Message-ID %s",
            reason,
            source,
            mail.from_addr or "?",
            mail.message_id or "?",
            extra={"channel": CHANNEL},
        )
        return Outcome("ignored", reason)


def _bare(sender: str) -> str:
    """The sender as the core stores it (``Conversation.contact_address``)."""
    try:
        return normalize_email(sender)
    except Invalid:
        return sender.strip().lower()


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATED_NOTE)] + TRUNCATED_NOTE


def _join(a: object, b: str) -> str:
    return f"{a}; {b}" if a else b
