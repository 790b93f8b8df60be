"""Voice through Twilio: the caller's path from greeting to an agent or voicemail.

    /incoming ─► greeting ─► IVR menu? (/menu) ─► ingest the call (a conversation in
    the same routing queue as every channel, priority above chat) ─► closed or nobody
    there? voicemail : <Enqueue> with hold music and position announcements (/wait)
    agent accepts (bus: conversation.assigned) ─► bridge.py redirects the live call
    to <Dial><Client|Number> ─► leg progress (/agent-status) and end (/dial-status)
    caller presses the voicemail key (/wait-key → <Leave>) or hangs up (/queue-exit)
    voicemail: <Record transcribe> ─► /recording and /transcription become messages
    call over (/status): duration on the thread; never connected → tag "callback"
    agent calls back from the softphone (/outgoing, the TwiML App's Voice URL)

Every webhook is signature-verified; every write is keyed by the CallSid (or the
recording/transcription SID), so Twilio's retries change nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from channels.base import SendError, SendResult
from channels.twilio import availability, call_parse, lookups, store, twiml
from channels.twilio.availability import QueueInsight
from channels.twilio.bridge import HANDOVER_EVENTS, CallBridge
from channels.twilio.listener import BusListener
from channels.twilio.parse import our_number
from channels.twilio.responses import empty_twiml, error, no_content
from channels.twilio.responses import twiml as twiml_response
from channels.twilio.rest import TwilioRest
from channels.twilio.token import SoftphoneNotConfigured, client_identity, voice_access_token
from channels.twilio.voice_config import VoiceConfig
from channels.twilio.webhooks import Params, Webhooks
from hub.domain import InboundMessage, OutboundMessage
from hub.services import abandon
from hub.services.errors import ServiceError
from hub.services.surveys import answer_by_token, start_keypad

if TYPE_CHECKING:
    from hub.context import Hub
    from hub.services.ingest import IngestResult

log = logging.getLogger(__name__)

CALLBACK_TAG = "callback"
# Agent-leg statuses worth a line in the thread ("initiated" is noise).
_LEG_TEXT = {
    "ringing": "Ringing {agent}",
    "in-progress": "{agent} answered the call",
    "answered": "{agent} answered the call",
    "busy": "{agent} was busy",
    "no-answer": "{agent} did not answer",
    "failed": "The call to {agent} failed",
    "canceled": "The call to {agent} was canceled",
}


class TwilioVoiceChannel:
    kind: ClassVar[str] = "voice"
    address_kind: ClassVar[str] = "phone"
    max_body_length: ClassVar[int] = 1600
    supports_attachments: ClassVar[bool] = False
    rate_per_second: ClassVar[float | None] = None

    def __init__(self, config: VoiceConfig) -> None:
        self.config = config
        self.rest = TwilioRest(config.account)
        self.webhooks = Webhooks(config.account)
        # Routing's live driver (position / estimated wait); see availability.py.
        self.queue_insight: QueueInsight | None = None
        self._hub: Hub | None = None
        self.bridge: CallBridge | None = None
        self._listener: BusListener | None = None

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> TwilioVoiceChannel:
        return cls(VoiceConfig.from_section(section))

    # -- Channel -----------------------------------------------------------------------
    def routes(self) -> Sequence[BaseRoute]:
        v = self.webhooks.verified
        return [
            Route("/incoming", v(self._incoming), methods=["POST"]),
            Route("/menu", v(self._menu), methods=["POST"]),
            Route("/wait", v(self._wait), methods=["POST"]),
            Route("/wait-key", v(self._wait_key), methods=["POST"]),
            Route("/queue-exit", v(self._queue_exit), methods=["POST"]),
            Route("/recording", v(self._recording), methods=["POST"]),
            Route("/transcription", v(self._transcription), methods=["POST"]),
            Route("/dial-status", v(self._dial_status), methods=["POST"]),
            Route("/survey", v(self._survey), methods=["POST"]),
            Route("/agent-status", v(self._agent_status), methods=["POST"]),
            Route("/status", v(self._call_status), methods=["POST"]),
            Route("/outgoing", v(self._outgoing), methods=["POST"]),
            Route("/token", self._token, methods=["GET"]),
        ]

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        self.webhooks.hub = hub
        self.rest.client  # noqa: B018 - create the aiohttp session inside the loop
        self.bridge = CallBridge(hub, self.config, self.rest, self.urls)
        self._listener = BusListener(
            hub,
            self.bridge.on_event,
            name="twilio-voice-bridge",
            on_lag=self.bridge.catch_up,
            wants=HANDOVER_EVENTS.__contains__,
        )

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        self.bridge = None
        await self.rest.close()
        self.webhooks.hub = None
        self._hub = None

    async def send(self, message: OutboundMessage) -> SendResult:
        raise SendError("a call cannot take a text reply; call the customer back", retryable=False)

    def urls(self) -> twiml.VoiceUrls:
        assert self._hub is not None
        return twiml.VoiceUrls(f"{self._hub.settings.base_url}/channels/{self.kind}")

    def voice_access_token(self, identity: str) -> str:
        return voice_access_token(self.config, identity)

    # -- the call as a conversation ----------------------------------------------------
    async def _ingest_call(
        self, hub: Hub, params: Params, team: str | None, digits: str = ""
    ) -> IngestResult | None:
        from hub.services import SYSTEM
        from hub.services.conversations import set_priority
        from hub.services.errors import ServiceError
        from hub.services.ingest import ingest

        try:
            result = await ingest(hub, call_parse.call_message(params, team, hub.now(), digits))
        except ServiceError as exc:  # e.g. a withheld number: not a phone identity
            log.info("call not taken: %s", exc.message)
            return None
        if result.new_conversation and self.config.call_priority:
            await set_priority(hub, SYSTEM, result.conversation_id, self.config.call_priority)
        return result

    def _default_team(self, params: Params) -> str | None:
        return self.config.numbers.get(our_number(params.get("To", "")))

    # -- webhooks: arrival, menu, queue -------------------------------------------------
    async def _incoming(self, hub: Hub, params: Params, request: Request) -> Response:
        if "CallSid" not in params:
            return error(400, "bad_request", "expected a CallSid parameter")
        if self.config.ivr is not None:
            return twiml_response(twiml.menu(self.config, self.urls(), 1, greet=True))
        return await self._queue(hub, params, self._default_team(params), greet=True)

    async def _menu(self, hub: Hub, params: Params, request: Request) -> Response:
        ivr = self.config.ivr
        if ivr is None or "CallSid" not in params:
            return error(400, "bad_request", "no menu is configured")
        try:
            attempt = int(request.query_params.get("attempt", "1"))
        except ValueError:
            attempt = 1
        digits = params.get("Digits", "")
        team = ivr.options.get(digits)
        if team is None:
            if attempt < ivr.attempts:
                return twiml_response(
                    twiml.menu(self.config, self.urls(), attempt + 1, greet=False, invalid=bool(digits))
                )
            team, digits = self._default_team(params), ""
        return await self._queue(hub, params, team, greet=False, digits=digits)

    async def _queue(
        self, hub: Hub, params: Params, team: str | None, *, greet: bool, digits: str = ""
    ) -> Response:
        result = await self._ingest_call(hub, params, team, digits)
        if result is None:
            return twiml_response(twiml.refuse(self.config, self.config.prompts["withheld"]))
        sid = params["CallSid"]
        conv = result.conversation_id
        if not availability.is_open(self.config.business_hours, hub.now()):
            return await self._to_voicemail(hub, conv, sid, "after_hours", greet=greet)
        call = await lookups.call_by_sid(hub, self.kind, sid)
        if call is None or not await availability.agents_available(hub, call.team_id):
            return await self._to_voicemail(hub, conv, sid, "no_agents", greet=greet)
        await store.record_event(hub, conv, "The caller is waiting in the queue", key=f"{sid}:queued")
        return twiml_response(twiml.enqueue(self.config, self.urls(), greet=greet))

    async def _wait(self, hub: Hub, params: Params, request: Request) -> Response:
        call = await lookups.call_by_sid(hub, self.kind, params.get("CallSid", ""))
        position: int | None = None
        wait_seconds: float | None = None
        if call is not None:
            insight = availability.insight_of(hub, self.queue_insight)
            if insight is not None:
                position = insight.position(call.conversation_id)
                wait_seconds = insight.estimated_wait(call.conversation_id)
            else:
                position = await availability.queue_position(hub, call.conversation_id)
        return twiml_response(
            twiml.wait(self.config, self.urls(), position=position, wait_seconds=wait_seconds)
        )

    async def _wait_key(self, hub: Hub, params: Params, request: Request) -> Response:
        if self.config.voicemail.enabled and params.get("Digits") == self.config.voicemail.key:
            return twiml_response(twiml.leave_queue())  # → /queue-exit with QueueResult=leave
        return empty_twiml()  # any other key: keep waiting

    async def _queue_exit(self, hub: Hub, params: Params, request: Request) -> Response:
        call = await lookups.call_by_sid(hub, self.kind, params.get("CallSid", ""))
        if call is None:
            return twiml_response(twiml.hang_up())
        result = params.get("QueueResult", "")
        waited = call_parse.duration(params.get("QueueTime"))
        if result == "leave":
            note = f"The caller chose voicemail after {waited} in the queue"
            return await self._to_voicemail(hub, call.conversation_id, call.call_sid, "", note=note)
        if result == "hangup":
            await self._missed(hub, call, f"Missed call: the caller hung up after {waited} in the queue")
            await abandon.caller_hung_up(hub, call.conversation_id)  # reports: abandoned in queue
            return empty_twiml()
        if result in ("queue-full", "error", "system-error"):
            return await self._to_voicemail(hub, call.conversation_id, call.call_sid, "no_agents")
        # bridged / redirected: the call is already elsewhere; this answer is not played.
        return empty_twiml()

    async def _to_voicemail(
        self,
        hub: Hub,
        conversation_id: int,
        call_sid: str,
        reason: str,
        *,
        greet: bool = False,
        note: str = "",
    ) -> Response:
        spoken = self.config.prompts[reason] if reason else ""
        text = note or {
            "after_hours": "After hours: the caller was sent to voicemail",
            "no_agents": "No agent available: the caller was sent to voicemail",
        }.get(reason, "The caller was sent to voicemail")
        await store.record_event(hub, conversation_id, text, key=f"{call_sid}:voicemail")
        await store.add_tag(hub, conversation_id, CALLBACK_TAG)
        return twiml_response(twiml.voicemail(self.config, self.urls(), spoken, greet=greet))

    async def _missed(self, hub: Hub, call: lookups.CallRef, text: str) -> None:
        """A call that never reached an agent becomes a callback task."""
        bridge, voicemail = f"{call.call_sid}:bridge", f"{call.call_sid}:voicemail"
        seen = await lookups.event_keys(hub, call.conversation_id, [bridge, voicemail])
        if bridge in seen:
            return
        await store.add_tag(hub, call.conversation_id, CALLBACK_TAG)
        if voicemail not in seen:  # the voicemail line already says what happened
            await store.record_event(
                hub, call.conversation_id, text, key=f"{call.call_sid}:missed", unless=[bridge]
            )

    # -- webhooks: voicemail ------------------------------------------------------------
    async def _recording(self, hub: Hub, params: Params, request: Request) -> Response:
        msg = call_parse.recording_message(params, self._default_team(params), hub.now())
        result = await self._ingest_caller(hub, msg)
        if result is not None:
            await store.add_tag(hub, result.conversation_id, CALLBACK_TAG)
        return twiml_response(twiml.goodbye(self.config))

    async def _transcription(self, hub: Hub, params: Params, request: Request) -> Response:
        msg = call_parse.transcription_message(params, self._default_team(params), hub.now())
        await self._ingest_caller(hub, msg)
        return no_content()

    async def _ingest_caller(self, hub: Hub, msg: InboundMessage | None) -> IngestResult | None:
        from hub.services.errors import ServiceError
        from hub.services.ingest import ingest

        if msg is None:
            return None
        try:
            return await ingest(hub, msg)
        except ServiceError as exc:
            log.info("voicemail not stored: %s", exc.message)
            return None

    # -- webhooks: the agent leg and the end of the call --------------------------------
    async def _agent_name(self, hub: Hub, call: lookups.CallRef) -> str:
        agent = await lookups.user_identity(hub, call.assignee_id) if call.assignee_id else None
        return agent[1] if agent else "the agent"

    async def _agent_status(self, hub: Hub, params: Params, request: Request) -> Response:
        call = await lookups.call_by_sid(hub, self.kind, params.get("ParentCallSid", ""))
        status = params.get("CallStatus", "")
        if call is None:
            return no_content()
        agent = await self._agent_name(hub, call)
        if status == "completed":
            text = f"Call with {agent} ended after {call_parse.duration(params.get('CallDuration'))}"
        elif status in _LEG_TEXT:
            text = _LEG_TEXT[status].format(agent=agent)
            text = text[0].upper() + text[1:]
        else:
            return no_content()
        meta = {
            "call": {
                "leg": params.get("CallSid", ""),
                "status": status,
                "duration": params.get("CallDuration"),
            }
        }
        await store.record_event(
            hub, call.conversation_id, text, key=f"{call.call_sid}:agent:{status}", meta=meta
        )
        return no_content()

    async def _dial_status(self, hub: Hub, params: Params, request: Request) -> Response:
        call = await lookups.call_by_sid(hub, self.kind, params.get("CallSid", ""))
        status = params.get("DialCallStatus", "")
        if call is None:
            return twiml_response(twiml.hang_up())
        if status in ("completed", "answered"):
            # The agent hung up and the caller is still on the line: the post-call
            # question, when the voice channel's survey policy asks for one.
            token = await start_keypad(hub, call.conversation_id)
            if token is not None:
                return twiml_response(twiml.keypad_survey(self.config, self.urls(), token))
            return twiml_response(twiml.hang_up())
        agent = await self._agent_name(hub, call)
        if status == "canceled":  # the caller hung up while the agent's phone rang
            text = f"Missed call: the caller hung up before {agent} answered"
        else:
            text = f"{agent[0].upper()}{agent[1:]} did not take the call ({status})"
        await store.record_event(hub, call.conversation_id, text, key=f"{call.call_sid}:dial:{status}")
        if status == "canceled":
            await store.add_tag(hub, call.conversation_id, CALLBACK_TAG)
            return twiml_response(twiml.hang_up())
        return await self._to_voicemail(hub, call.conversation_id, call.call_sid, "no_agents")

    async def _survey(self, hub: Hub, params: Params, request: Request) -> Response:
        """The caller's key for the post-call question (Twilio retries change nothing:
        a second answer to the same survey is refused and the caller hears goodbye)."""
        digits = params.get("Digits", "")
        token = request.query_params.get("token", "")
        if not digits.isdigit() or len(digits) != 1:
            return twiml_response(twiml.hang_up())
        try:
            await answer_by_token(hub, token, int(digits), via="keypad")
        except ServiceError as exc:
            if exc.code != "already_answered":
                log.info("keypad survey answer not taken: %s", exc.code)
                return twiml_response(twiml.hang_up())
        return twiml_response(twiml.survey_thanks(self.config))

    async def _call_status(self, hub: Hub, params: Params, request: Request) -> Response:
        """The number's status callback: the call is over (completed, busy, no-answer...)."""
        sid = params.get("CallSid", "")
        status = params.get("CallStatus", "")
        if not sid or status in ("queued", "ringing", "in-progress", "initiated"):
            return no_content()
        call = await lookups.call_by_sid(hub, self.kind, sid)
        if call is None:
            # Hung up before reaching the queue (in the menu): still a call to return.
            if await self._ingest_call(hub, params, self._default_team(params)) is None:
                return no_content()
            call = await lookups.call_by_sid(hub, self.kind, sid)
            assert call is not None
        length = params.get("CallDuration")
        await store.record_event(
            hub,
            call.conversation_id,
            f"Call ended ({status}, {call_parse.duration(length)} in total)",
            key=f"{sid}:ended",
            meta={"call": {"status": status, "duration": length}},
        )
        await self._missed(hub, call, "Missed call: nobody answered; call the customer back")
        return no_content()

    # -- softphone ----------------------------------------------------------------------
    async def _outgoing(self, hub: Hub, params: Params, request: Request) -> Response:
        """The TwiML App's Voice URL: a signed-in agent's softphone calls a customer back.

        Only our own softphones (``client:agent-<id>``) may dial out, only to a phone
        number, and always with one of our numbers as caller ID.
        """
        from hub.addresses import normalize_phone
        from hub.services.errors import Invalid

        caller = params.get("From", "")
        if not caller.startswith("client:agent-"):
            return error(403, "not_an_agent", "only agent softphones may place calls")
        try:
            number = normalize_phone(params.get("To", ""), hub.settings.default_phone_region)
        except Invalid as exc:
            return twiml_response(twiml.refuse(self.config, exc.message))
        wanted = params.get("CallerId", "")
        caller_id = wanted if wanted in self.config.numbers else next(iter(self.config.numbers))
        return twiml_response(twiml.call_out(self.config, number, caller_id))

    # -- softphone token ----------------------------------------------------------------
    async def _token(self, request: Request) -> Response:
        from hub.api.deps import principal_from_request

        hub = self._hub
        if hub is None:
            return error(503, "not_ready", "the hub is starting")
        principal = await principal_from_request(hub, request)
        if principal is None or principal.user.id is None:
            return error(401, "not_authenticated", "sign in first (session cookie or Bearer API token)")
        identity = client_identity(principal.user.id)
        try:
            token = self.voice_access_token(identity)
        except SoftphoneNotConfigured as exc:
            return error(503, "softphone_not_configured", str(exc))
        return JSONResponse(
            {"token": token, "identity": identity, "expires_in": self.config.token_ttl_seconds},
            headers={"cache-control": "no-store"},
        )
