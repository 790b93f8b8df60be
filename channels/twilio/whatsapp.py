"""WhatsApp through Twilio's WhatsApp sender (``whatsapp:+…`` addresses).

Same path as SMS. WhatsApp allows free-form replies only within 24 hours of the
customer's last message (the customer-service window); outside it only approved
templates may be sent. Templates are configured by name → Content SID and chosen
with ``meta = {"template": name, "variables": {...}}`` on the outbound message.

A survey question (``meta["survey"]``) goes out as the quick-reply template configured
for its kind in ``survey_content_sids``, with the question as variable ``1``; without
one it is plain text. A tapped button comes back as a message whose ``Body`` is the
button's text; when its ``ButtonPayload`` is a score and it answers a survey question,
the score becomes the body, so the hub reads it as the answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from channels.base import SendError
from channels.twilio import lookups
from channels.twilio.messaging import BaseTwilioMessagingChannel
from channels.twilio.responses import error
from hub.domain import InboundMessage, OutboundMessage

if TYPE_CHECKING:
    from hub.context import Hub

WINDOW = timedelta(hours=24)
# A survey template's button ids: the score ("5"), or "sv:5" to tell them apart.
_SCORE_PAYLOAD = re.compile(r"^(?:sv:)?(\d{1,2})$")


def window_closes_at(last_inbound: datetime | None) -> datetime | None:
    return last_inbound + WINDOW if last_inbound is not None else None


class TwilioWhatsAppChannel(BaseTwilioMessagingChannel):
    kind: ClassVar[str] = "whatsapp"
    label: ClassVar[str] = "WhatsApp"
    max_attachments: ClassVar[int] = 1  # one media item per WhatsApp message
    window: ClassVar[timedelta] = WINDOW

    def routes(self) -> Sequence[BaseRoute]:
        return [
            *super().routes(),
            Route("/conversations/{conversation_id:int}/window", self._window_info, methods=["GET"]),
        ]

    def outgoing(self, message: OutboundMessage, media: list[str]) -> dict[str, Any]:
        params = super().outgoing(message, media)
        params["from_"] = f"whatsapp:{params['from_']}"
        params["to"] = f"whatsapp:{message.to}"
        template = self._content(message)
        if template is not None:
            sid, variables = template
            params.pop("body")
            params["content_sid"] = sid
            if variables:
                params["content_variables"] = json.dumps(variables, ensure_ascii=False)
        return params

    async def check_window(self, message: OutboundMessage) -> None:
        if self._content(message) is not None or self._hub is None:
            return  # approved templates may be sent at any time
        closes = window_closes_at(await lookups.last_inbound_at(self._hub, message.conversation_id))
        if closes is None or self._hub.now() > closes:
            raise SendError("outside WhatsApp's 24-hour window; send an approved template", retryable=False)

    def _content(self, message: OutboundMessage) -> tuple[str, dict[str, str]] | None:
        """The Content SID and variables to send instead of a body, if any."""
        return self._template(message) or self._survey_template(message)

    def _survey_template(self, message: OutboundMessage) -> tuple[str, dict[str, str]] | None:
        survey = message.meta.get("survey")
        if not isinstance(survey, dict):
            return None
        sid = self.config.survey_content_sids.get(str(survey.get("kind")))
        if sid is None:
            return None
        # WhatsApp refuses a template variable with a line break, a tab or 4+ spaces in a row.
        return sid, {"1": " ".join(message.body.split())}

    async def inbound(self, hub: Hub, msg: InboundMessage) -> InboundMessage:
        """A quick-reply button tapped on a survey question: its payload is the score."""
        match = _SCORE_PAYLOAD.match(str(msg.raw.get("ButtonPayload") or ""))
        replied = str(msg.raw.get("OriginalRepliedMessageSid") or "")
        if match is None or not replied:
            return msg
        # Only for a survey's own buttons: another template's button "1" is not a score.
        if not await lookups.is_survey_question(hub, self.kind, replied):
            return msg
        # The hub records it as a button answer (hub.services.surveys.intercept).
        return msg.model_copy(update={"body": match.group(1), "meta": {**msg.meta, "survey_via": "button"}})

    def _template(self, message: OutboundMessage) -> tuple[str, dict[str, str]] | None:
        name = message.meta.get("template")
        if name is None:
            return None
        sid = self.config.templates.get(str(name))
        if sid is None:
            known = ", ".join(sorted(self.config.templates)) or "none configured"
            raise SendError(f"unknown WhatsApp template {name!r} (known: {known})", retryable=False)
        variables = message.meta.get("variables") or {}
        if not isinstance(variables, dict):
            raise SendError("template variables must be a table of name -> text", retryable=False)
        return sid, {str(k): str(v) for k, v in variables.items()}

    async def _window_info(self, request: Request) -> Response:
        """For the composer: is free text allowed now, and which templates exist."""
        from hub.api.deps import principal_from_request
        from hub.services.access import can_view
        from hub.services.conversations import load_conversation
        from hub.services.errors import NotFound

        hub: Hub | None = self._hub
        if hub is None:
            return error(503, "not_ready", "the hub is starting")
        principal = await principal_from_request(hub, request)
        if principal is None:
            return error(401, "not_authenticated", "sign in first (session cookie or Bearer API token)")
        async with hub.db.session() as s:
            try:
                conv = await load_conversation(s, request.path_params["conversation_id"])
            except NotFound as exc:
                return error(404, exc.code, exc.message)
        if conv.channel != self.kind:
            return error(404, "not_found", "not a WhatsApp conversation")
        if not can_view(principal.actor, conv):
            return error(403, "not_your_team", "you may not see this conversation (not your team)")
        closes = window_closes_at(conv.last_inbound_at)
        return JSONResponse(
            {
                "open": closes is not None and hub.now() <= closes,
                "closes_at": closes.isoformat() if closes else None,
                "templates": sorted(self.config.templates),
            }
        )
