"""An SMTP listener for setups that route mail straight to the hub (an MX, or a relay
that forwards to it), built on aiosmtpd.

It runs on the hub's own event loop (``loop.create_server`` with aiosmtpd's ``SMTP``
protocol) rather than in aiosmtpd's threaded ``Controller``: ``ingest`` uses the hub's
async database engine, which belongs to this loop. A mail is answered ``250`` only
after it is committed (or deliberately dropped as noise); if storing fails the sender
gets ``451`` and retries, as SMTP intends.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from email.utils import parseaddr
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email.config import EmailConfig
from channels.email.inbound import Outcome

log = logging.getLogger(__name__)

Deliver = Callable[[bytes, str | None], Awaitable[Outcome]]


class HubSmtpHandler:
    """aiosmtpd handler hooks: who may be written to, and what happens to the data."""

    def __init__(self, cfg: EmailConfig, deliver: Deliver) -> None:
        self.cfg = cfg
        self.deliver = deliver

    def accepts(self, address: str) -> bool:
        addr = parseaddr(address)[1].lower() or address.lower()
        if addr == self.cfg.address:
            return True
        return addr.rpartition("@")[2] in self.cfg.accept_domains

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not self.accepts(address):
            return f"550 5.1.1 <{address}>: recipient not accepted here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:
            content = envelope.content
            raw = (
                content if isinstance(content, bytes) else (content or "").encode("utf-8", "surrogateescape")
            )
        try:
            outcome = await self.deliver(raw, envelope.mail_from)
        except Exception:
            log.exception("could not store an inbound mail; asking the sender to retry")
            return "451 4.3.0 temporary failure storing the message; try again later"
        return f"250 2.0.0 OK {outcome.action}"


class SmtpListener:
    def __init__(self, cfg: EmailConfig, deliver: Deliver) -> None:
        self.cfg = cfg
        self.handler = HubSmtpHandler(cfg, deliver)
        self._server: asyncio.Server | None = None
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()  # open connections, to close on stop
        self.port: int | None = None

    def _protocol(self) -> SMTP:
        smtp = SMTP(
            self.handler,
            data_size_limit=self.cfg.max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self.cfg.domain,  # never a reverse-DNS lookup per connection
            loop=asyncio.get_running_loop(),
        )
        self._sessions.add(smtp)
        return smtp

    async def start(self) -> None:
        assert self.cfg.listener_port is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol, self.cfg.listener_host, self.cfg.listener_port
        )
        sockname: Any = self._server.sockets[0].getsockname()
        self.port = int(sockname[1])
        log.info("SMTP listener on %s:%s", self.cfg.listener_host, self.port)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        # Open sessions keep their transports past server.close(): close them too.
        for smtp in list(self._sessions):
            if smtp.transport is not None:
                smtp.transport.close()
        self._sessions.clear()
        await self._server.wait_closed()
        self._server = None
