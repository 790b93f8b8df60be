"""``WebchatChannel``: the embeddable widget's adapter (see docs/channels/webchat.md).

Inbound: the customer websocket (and its REST fallback) hands each visitor message to
``ingest`` and acknowledges only after the commit. Outbound: agents' replies reach
the visitor live from the bus (``message.created``) the moment they are committed, so
``send`` only confirms them to the outbox — and mails them when the visitor has left.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.routing import BaseRoute

from channels.base import SendResult
from channels.webchat.actions import Runtime, provider_id
from channels.webchat.attachments import UploadStore
from channels.webchat.availability import AvailabilityCheck
from channels.webchat.config import Rate, WebchatConfig, parse_config
from channels.webchat.followup import email_if_away
from channels.webchat.gateway import CustomerGateway
from channels.webchat.http import build_routes
from channels.webchat.page import build_page_routes
from channels.webchat.ratelimit import RateLimiter
from hub.domain import OutboundMessage

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger(__name__)

# One typing signal per visitor every 2 s is plenty for a "…is typing" indicator.
TYPING_RATE = Rate(burst=1, per_minute=30)


class WebchatChannel:
    kind: ClassVar[str] = "webchat"
    address_kind: ClassVar[str] = "webchat"
    max_body_length: ClassVar[int] = 65_536  # agent replies; visitors have max_message_chars
    supports_attachments: ClassVar[bool] = True
    rate_per_second: ClassVar[float | None] = None

    def __init__(self, config: WebchatConfig) -> None:
        self.config = config
        self._runtime: Runtime | None = None

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> WebchatChannel:
        return cls(parse_config(section))

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the webchat channel is not started")
        return self._runtime

    # -- Channel -------------------------------------------------------------------------
    def routes(self) -> Sequence[BaseRoute]:
        """Mounted under /channels/webchat: REST, long-poll and the customer socket."""
        return build_routes(lambda: self.runtime)

    def extra_routes(self) -> Sequence[BaseRoute]:
        """Mounted at the app root: the iframe page /widget/frame (framable, own CSP)."""
        return build_page_routes(lambda: self.runtime)

    async def start(self, hub: Hub) -> None:
        cfg = self.config
        gateway = CustomerGateway(hub, queue_refresh_seconds=cfg.queue_refresh_seconds)
        gateway.away_after_seconds = cfg.away_after_seconds
        gateway.abandon_after_seconds = max(cfg.abandon_after_seconds, cfg.away_after_seconds)
        self._runtime = Runtime(
            hub=hub,
            config=cfg,
            gateway=gateway,
            uploads=UploadStore(
                Path(hub.settings.data_dir) / "attachments" / "webchat",
                max_bytes=cfg.max_attachment_bytes,
                allowed_types=cfg.attachment_types,
                secret=cfg.token_secret,
            ),
            visitor_limiter=RateLimiter(cfg.visitor_rate),
            ip_limiter=RateLimiter(cfg.ip_rate),
            typing_limiter=RateLimiter(TYPING_RATE),
            availability=AvailabilityCheck(hub),
            linking_sites=self._linking_sites(hub),
        )
        await gateway.start()

    def _linking_sites(self, hub: Hub) -> frozenset[str]:
        wanted = frozenset(
            k for k, site in self.config.sites.items() if site.link_identity == "verified_email"
        )
        if wanted and "email" not in hub.channels:
            log.error(
                'channels.webchat: link_identity = "verified_email" needs the email channel, which is '
                'not enabled; sites %s behave as "never" (no linking)',
                ", ".join(sorted(wanted)),
            )
            return frozenset()
        return wanted

    async def stop(self) -> None:
        if self._runtime is not None:
            await self._runtime.gateway.stop()
            self._runtime = None

    async def send(self, message: OutboundMessage) -> SendResult:
        await email_if_away(self.runtime, message)
        return SendResult(provider_message_id=provider_id(message.message_id), status="sent")
