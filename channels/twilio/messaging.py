"""What SMS and WhatsApp through Twilio share: webhooks, opt-outs, status, sending.

Inbound: verify the signature, parse, ``ingest`` (durable, deduplicated on the
MessageSid), and only then answer ``<Response/>``. STOP/START and the other keywords
are the hub's (hub.services.consent_reactor: one matcher for every channel); this
adapter adds its configured ``opt_out_keywords``/``opt_in_keywords`` to it and refuses
to send what consent blocks. Outbound: the Message resource through the official
client, with a status callback to this adapter. Subclasses set ``kind`` and adjust the
outgoing parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from channels.base import SendError, SendResult
from channels.twilio import lookups, parse
from channels.twilio.config import MessagingConfig
from channels.twilio.early_status import EarlyStatuses
from channels.twilio.listener import BusListener
from channels.twilio.responses import empty_twiml, error, no_content
from channels.twilio.rest import TwilioRest
from channels.twilio.webhooks import Params, Webhooks
from hub.consent_keywords import normalize_keyword
from hub.domain import InboundMessage, OutboundMessage
from hub.events import Event

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger(__name__)

# Twilio's standard SMS opt-out and opt-in keywords (its "Advanced Opt-Out" defaults).
_TWILIO_WORDS = "STOP STOPALL UNSUBSCRIBE CANCEL END QUIT OPTOUT REVOKE START UNSTOP"
TWILIO_SMS_KEYWORDS = frozenset(normalize_keyword(k) for k in _TWILIO_WORDS.split())


class BaseTwilioMessagingChannel:
    kind: ClassVar[str]
    label: ClassVar[str]  # how the channel is named to agents: "SMS", "WhatsApp"
    address_kind: ClassVar[str] = "phone"
    max_body_length: ClassVar[int] = 1600  # Twilio's limit for one Message resource
    supports_attachments: ClassVar[bool] = True
    max_attachments: ClassVar[int] = 10
    rate_per_second: ClassVar[float | None] = 1.0  # a long code's sustained rate

    def __init__(self, config: MessagingConfig) -> None:
        self.config = config
        self.rest = TwilioRest(config.account)
        self.webhooks = Webhooks(config.account)
        self.early = EarlyStatuses()
        self._hub: Hub | None = None
        self._listener: BusListener | None = None

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> Self:
        return cls(MessagingConfig.from_section(cls.kind, section))

    # -- Channel -----------------------------------------------------------------------
    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route("/incoming", self.webhooks.verified(self._incoming), methods=["POST"]),
            Route("/status", self.webhooks.verified(self._status), methods=["POST"]),
        ]

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        self.webhooks.hub = hub
        self.rest.client  # noqa: B018 - create the aiohttp session inside the loop
        self._listener = BusListener(
            hub, self._apply_parked, name=f"twilio-{self.kind}-status", wants="message.status".__eq__
        )

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        await self.rest.close()
        self.webhooks.hub = None
        self._hub = None

    async def send(self, message: OutboundMessage) -> SendResult:
        await self._check_allowed(message)
        media = self._media_urls(message)
        params = self.outgoing(message, media)
        if self.config.status_callback and self._hub is not None:
            params["status_callback"] = f"{self._hub.settings.base_url}/channels/{self.kind}/status"
        created = await self.rest.call(lambda client: client.messages.create_async(**params))
        return SendResult(provider_message_id=str(created.sid))

    @property
    def provider_confirmed_keywords(self) -> frozenset[str]:
        """Words Twilio answers itself on SMS (its standard opt-out handling, which also
        blocks the number until START): the hub records them and sends no confirmation
        of its own, which Twilio would refuse (error 21610). None on WhatsApp."""
        return TWILIO_SMS_KEYWORDS if self.kind == "sms" else frozenset()

    @property
    def opt_out_keywords(self) -> frozenset[str]:
        """This channel's words on top of the hub's (hub.consent_keywords)."""
        return self.config.opt_out_keywords

    @property
    def opt_in_keywords(self) -> frozenset[str]:
        return self.config.opt_in_keywords

    # -- hooks for SMS / WhatsApp -----------------------------------------------------
    def outgoing(self, message: OutboundMessage, media: list[str]) -> dict[str, Any]:
        """Keyword arguments for ``messages.create``: From, To, Body, MediaUrl."""
        return {
            "from_": message.channel_account or self.config.default_number,
            "to": message.to,
            "body": message.body,
            "media_url": media or None,
        }

    async def check_window(self, message: OutboundMessage) -> None:
        """WhatsApp overrides: may this message be sent now?"""

    async def inbound(self, hub: Hub, msg: InboundMessage) -> InboundMessage:
        """WhatsApp overrides: the parsed message, adjusted before it is ingested."""
        return msg

    # -- sending rules -----------------------------------------------------------------
    async def _check_allowed(self, message: OutboundMessage) -> None:
        if self._hub is not None and await lookups.consent_blocks(self._hub, message):
            raise SendError(
                f"the customer opted out of {self.label} (a STOP reply, or recorded consent); "
                "after STOP they must reply START before we can message them",
                retryable=False,
            )
        await self.check_window(message)

    def _media_urls(self, message: OutboundMessage) -> list[str]:
        if len(message.attachments) > self.max_attachments:
            raise SendError(
                f"{self.label} takes at most {self.max_attachments} attachment(s) per message",
                retryable=False,
            )
        urls = [a.url for a in message.attachments if a.url]
        if len(urls) != len(message.attachments):
            # Twilio fetches media itself, so it needs a public URL for each file.
            raise SendError("Twilio needs a public URL for every attachment", retryable=False)
        return urls

    # -- webhooks ----------------------------------------------------------------------
    async def _incoming(self, hub: Hub, params: Params, request: Request) -> Response:
        from hub.services.errors import ServiceError
        from hub.services.ingest import ingest

        try:
            msg = parse.inbound_message(self.kind, params, self.config, hub.now())
        except ValueError as exc:
            return error(400, "bad_request", str(exc))
        msg = await self.inbound(hub, msg)
        try:
            await ingest(hub, msg)
        except ServiceError as exc:
            return error(exc.status, exc.code, exc.message)
        # STOP/START: the hub's consent reactor acts on the committed message.
        return empty_twiml()

    async def _status(self, hub: Hub, params: Params, request: Request) -> Response:
        from hub.services.ingest import delivery_update

        update = parse.delivery_update(self.kind, params)
        if update is None:
            return no_content()
        if not await delivery_update(hub, update):
            from hub.campaigns.delivery import campaign_status

            if await campaign_status(hub, update):
                return no_content()  # a campaign message (they have no message row)
            # Not recorded yet (see early_status): park it, then look once more in
            # case the outbox committed in between.
            self.early.park(update, hub.now())
            if await delivery_update(hub, update):
                self.early.discard(update.provider_message_id)
        return no_content()

    async def _apply_parked(self, event: Event) -> None:
        from hub.services.ingest import delivery_update

        sid = _status_sid(event)
        if sid is None or sid not in self.early or self._hub is None:
            return
        for update in self.early.take(sid):
            await delivery_update(self._hub, update)


def _status_sid(event: Event) -> str | None:
    if event.type != "message.status":
        return None
    sid = event.payload.get("provider_message_id")
    return sid if isinstance(sid, str) else None
