"""The email channel adapter: IMAP poller and/or SMTP listener in, SMTP out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.routing import BaseRoute

from channels.base import SendError, SendResult
from channels.email.attachments import AttachmentStore
from channels.email.config import EmailConfig
from channels.email.ids import our_message_id
from channels.email.imap import ImapPoller, UidStateFile
from channels.email.inbound import InboundMail, Outcome
from channels.email.loops import SenderRateLimit
from channels.email.send import compose, read_files, smtp_send
from channels.email.smtp_listener import SmtpListener
from channels.email.threads import reply_chain, reply_subject
from hub.domain import OutboundMessage

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger(__name__)


class EmailChannel:
    kind: ClassVar[str] = "email"
    address_kind: ClassVar[str] = "email"
    max_body_length: ClassVar[int] = 1_000_000
    supports_attachments: ClassVar[bool] = True
    rate_per_second: ClassVar[float | None] = None

    def __init__(self, config: EmailConfig) -> None:
        self.config = config
        self._hub: Hub | None = None
        self.inbound: InboundMail | None = None
        self.store: AttachmentStore | None = None
        self.listener: SmtpListener | None = None
        self.poller: ImapPoller | None = None

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> EmailChannel:
        return cls(EmailConfig.from_section(section))

    # -- Channel -----------------------------------------------------------------------
    def routes(self) -> Sequence[BaseRoute]:
        return []  # mail arrives over IMAP or SMTP, not HTTP

    async def start(self, hub: Hub) -> None:
        cfg = self.config
        self._hub = hub
        data_dir = Path(hub.settings.data_dir)
        state_dir = cfg.state_dir or data_dir / "email"
        self.store = AttachmentStore(
            cfg.attachments_dir or data_dir / "attachments",
            max_bytes=cfg.max_attachment_bytes,
            denied_extensions=cfg.denied_extensions,
            denied_content_types=cfg.denied_content_types,
            allowed_content_types=cfg.allowed_content_types,
        )
        limiter = SenderRateLimit(cfg.rate_limit_per_sender, cfg.rate_limit_window_seconds)
        self.inbound = InboundMail(cfg, self.store, limiter, state_dir / "raw")
        if cfg.listener_port is not None:
            self.listener = SmtpListener(cfg, self._from_listener)
            await self.listener.start()
        if cfg.imap is not None:
            self.poller = ImapPoller(cfg.imap, self._from_imap, UidStateFile.for_mailbox(state_dir, cfg.imap))
            self.poller.start()

    async def stop(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
            self.poller = None
        if self.listener is not None:
            await self.listener.stop()
            self.listener = None
        self._hub = None

    async def send(self, message: OutboundMessage) -> SendResult:
        hub, store, cfg = self._hub, self.store, self.config
        if hub is None or store is None:
            raise SendError("the email channel is not started")
        if message.to.endswith(".invalid"):
            # The placeholder contact of mail that came without a usable From.
            raise SendError(
                "the customer's address is unknown (their mail had no usable From)", retryable=False
            )
        in_reply_to, references = await reply_chain(hub, message.conversation_id, message.thread_key)
        message_id = our_message_id(
            message.conversation_id, message.message_id, message.thread_key, cfg.domain
        )
        files = await asyncio.to_thread(read_files, message, store.root) if message.attachments else []
        mail = compose(
            cfg,
            message,
            message_id=message_id,
            subject=reply_subject(message.subject, message.conversation_id, reply=in_reply_to is not None),
            in_reply_to=in_reply_to,
            references=references,
            now=hub.now(),
            files=files,
        )
        await smtp_send(cfg, mail, message.to)
        # The provider id is our Message-ID: a DSN quoting it fails this exact message.
        return SendResult(provider_message_id=message_id)

    # -- inbound -----------------------------------------------------------------------
    async def receive(
        self, raw: bytes, *, source: str = "api", envelope_sender: str | None = None
    ) -> Outcome:
        """Hand one raw RFC 5322 message to the hub (used by the listener and poller)."""
        if self._hub is None or self.inbound is None:
            raise RuntimeError("the email channel is not started")
        return await self.inbound.deliver(self._hub, raw, source=source, envelope_sender=envelope_sender)

    async def _from_listener(self, raw: bytes, envelope_sender: str | None) -> Outcome:
        return await self.receive(raw, source="smtp", envelope_sender=envelope_sender)

    async def _from_imap(self, raw: bytes) -> Outcome:
        return await self.receive(raw, source="imap")
