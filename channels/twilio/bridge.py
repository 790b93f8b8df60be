"""Connect a waiting caller to the agent who accepted the call.

Acceptance is a ``conversation.assigned`` (or ``.transferred``) event on the bus (routing's offer accepted,
or a supervisor's assignment). The live call is then redirected through the REST API
to TwiML that dials the agent's softphone (``<Client>``) or phone (``<Number>``).

Every hub process sees the event; the ``<CallSid>:bridge`` event line is the claim,
so exactly one process redirects the call (a unique constraint decides). A call whose
caller already hung up or went to voicemail is not bridged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlmodel import col, select

from channels.base import SendError
from channels.twilio import lookups, store, twiml
from channels.twilio.rest import TwilioRest
from channels.twilio.token import client_identity
from channels.twilio.voice_config import VoiceConfig
from hub.context import Hub
from hub.events import Event
from hub.models import EventLog
from hub.services.uow import event_from_row

log = logging.getLogger(__name__)

CHANNEL = "voice"
# A waiting call goes to whoever it is given: an accepted offer, a supervisor's
# assignment, or a transfer to a colleague before anyone picked up.
HANDOVER_EVENTS = frozenset({"conversation.assigned", "conversation.transferred"})


def ended_keys(call_sid: str) -> list[str]:
    """Event keys after which the caller is no longer waiting."""
    return [f"{call_sid}:{k}" for k in ("ended", "missed", "voicemail")]


class CallBridge:
    def __init__(
        self, hub: Hub, cfg: VoiceConfig, rest: TwilioRest, urls: Callable[[], twiml.VoiceUrls]
    ) -> None:
        self.hub = hub
        self.cfg = cfg
        self.rest = rest
        self.urls = urls

    async def on_event(self, event: Event) -> None:
        if event.type not in HANDOVER_EVENTS or event.payload.get("channel") != CHANNEL:
            return
        assignee = event.payload.get("assignee_id")
        if event.conversation_id is None or not isinstance(assignee, int):
            return
        await self.bridge(event.conversation_id, assignee)

    async def catch_up(self, after_id: int | None) -> None:
        """After the listener lagged: assignments from the event log, in order."""
        async with self.hub.db.session() as s:
            stmt = (
                select(EventLog)
                .where(col(EventLog.type).in_(sorted(HANDOVER_EVENTS)))
                .order_by(col(EventLog.id))
            )
            if after_id is not None:
                stmt = stmt.where(col(EventLog.id) > after_id)
            rows = (await s.exec(stmt.limit(1000))).all()
        for row in rows:
            await self.on_event(event_from_row(row))

    def target_for(self, user_id: int, email: str) -> twiml.Target:
        number = self.cfg.agent_numbers.get(email.lower())
        if number:
            return twiml.Target("number", number)
        return twiml.Target("client", client_identity(user_id))

    async def bridge(self, conversation_id: int, user_id: int) -> bool:
        hub = self.hub
        call = await lookups.call_of_conversation(hub, conversation_id)
        agent = await lookups.user_identity(hub, user_id)
        if call is None or agent is None:
            return False
        email, name = agent
        target = self.target_for(user_id, email)
        how = f"phone {target.address}" if target.kind == "number" else "browser softphone"
        claimed = await store.record_event(
            hub,
            conversation_id,
            f"Connecting the caller to {name} ({how})",
            key=f"{call.call_sid}:bridge",
            unless=ended_keys(call.call_sid),
            meta={"call": {"agent_id": user_id, "target": target.kind}},
        )
        if not claimed:
            return False
        document = twiml.bridge(self.cfg, self.urls(), target).to_xml()
        try:
            await self.rest.call(lambda client: client.calls(call.call_sid).update_async(twiml=document))
        except SendError as exc:
            log.warning("bridging call failed: %s", exc.reason, extra={"conversation_id": conversation_id})
            await store.record_event(
                hub,
                conversation_id,
                f"Could not connect the call to {name}: {exc.reason}",
                key=f"{call.call_sid}:bridge-failed",
            )
            return False
        return True
