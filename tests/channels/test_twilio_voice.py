"""Voice through Twilio: TwiML answers parsed and checked, the bridge over the REST double."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlmodel import col, select

from channels.twilio import TwilioVoiceChannel
from hub.config import Settings
from hub.models import Conversation, EventLog, Message, Role
from hub.services import SYSTEM
from hub.services.conversations import assign
from hub.services.users import set_presence
from tests.channels.twilio_double import (
    ACCOUNT_SID,
    CUSTOMER,
    OUR_NUMBER,
    TwilioDouble,
    channel_config,
    cheap_passwords,
    hub_settings,
    post_webhook,
    webhook,
)
from tests.helpers import login, team, user

V = "/channels/voice"
BASE = "http://testserver/channels/voice"
CALL = "CA5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
API_KEY, API_SECRET = "SK" + "5e" * 16, "Xq7softphoneSigningSecret0123456"
IVR = {
    "ivr": {"prompt": "For sales press 1. For support press 2.", "options": {"1": "Sales", "2": "Support"}}
}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return hub_settings(db_url, tmp_path)


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_passwords(monkeypatch)


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioDouble]:
    async with TwilioDouble(credentials={API_KEY: API_SECRET}).running() as double:
        yield double


@pytest.fixture
def voice_extra() -> dict[str, Any]:
    """Per-test additions to [channels.voice] (parametrize to override)."""
    return {}


@pytest.fixture
def voice(twilio_api: TwilioDouble, voice_extra: dict[str, Any]) -> TwilioVoiceChannel:
    cfg = channel_config(
        twilio_api.url,
        api_key=API_KEY,
        api_secret=API_SECRET,
        agent_numbers={"Phone.Agent@example.com": "+14155550199"},
        **voice_extra,
    )
    return TwilioVoiceChannel.from_config(cfg)


@pytest.fixture
def extra_channels(voice: TwilioVoiceChannel) -> list[Any]:
    return [voice]


def verbs(res: Any) -> list[tuple[str, dict[str, str], str]]:
    """The TwiML document as (verb, attributes, text) in order, nested verbs flattened."""
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(res.text)
    assert root.tag == "Response"
    return [(el.tag, dict(el.attrib), (el.text or "").strip()) for el in root.iter() if el is not root]


def tags(res: Any) -> list[str]:
    return [v[0] for v in verbs(res)]


async def agent(hub: Any, email: str, team_id: int, presence: str = "available") -> int:
    uid = await user(hub, email, team_ids=(team_id,))
    await set_presence(hub, SYSTEM, uid, presence)
    return uid


async def conversation_of(hub: Any, call_sid: str = CALL) -> Conversation:
    async with hub.db.session() as s:
        conv = (await s.exec(select(Conversation).where(Conversation.thread_key == call_sid))).one()
    return conv


async def thread(hub: Any, conversation_id: int) -> list[Message]:
    async with hub.db.session() as s:
        rows = await s.exec(
            select(Message).where(Message.conversation_id == conversation_id).order_by(col(Message.id))
        )
        return list(rows.all())


async def call_in(app: Any, path: str = "/incoming", fixture: str = "voice_incoming", **kw: str) -> Any:
    return await post_webhook(app.client, V + path, webhook(fixture, **kw))


# -- arrival ---------------------------------------------------------------------------


async def test_a_call_is_greeted_queued_and_becomes_a_conversation(app: Any) -> None:
    support = await team(app.hub, "Support")
    await agent(app.hub, "ana@example.com", support)
    res = await call_in(app)
    assert tags(res) == ["Say", "Enqueue"]
    say, enqueue = verbs(res)
    assert say == ("Say", {"language": "en-US"}, "Thank you for calling.")
    assert enqueue == (
        "Enqueue",
        {
            "waitUrl": f"{BASE}/wait",
            "waitUrlMethod": "POST",
            "action": f"{BASE}/queue-exit",
            "method": "POST",
        },
        "switchboard",
    )
    conv = await conversation_of(app.hub)
    assert (conv.channel, conv.status, conv.team_id, conv.priority) == ("voice", "queued", support, 10)
    assert (conv.contact_address, conv.channel_account) == (CUSTOMER, OUR_NUMBER)
    call, waiting = await thread(app.hub, conv.id)  # type: ignore[arg-type]
    assert (call.kind, call.provider_message_id, call.body) == (
        "call",
        CALL,
        f"Incoming call to {OUR_NUMBER}",
    )
    assert (waiting.kind, waiting.body) == ("event", "The caller is waiting in the queue")


async def test_a_retried_call_webhook_is_a_no_op_with_the_same_answer(app: Any) -> None:
    support = await team(app.hub, "Support")
    await agent(app.hub, "ana@example.com", support)
    first, again = await call_in(app), await call_in(app)
    assert verbs(first) == verbs(again)
    conv = await conversation_of(app.hub)
    assert len(await thread(app.hub, conv.id)) == 2  # type: ignore[arg-type]


async def test_unsigned_voice_webhooks_are_refused_and_store_nothing(app: Any) -> None:
    res = await post_webhook(app.client, V + "/incoming", webhook("voice_incoming"), signature=None)
    assert res.status_code == 403
    async with app.hub.db.session() as s:
        assert (await s.exec(select(Message))).first() is None


async def test_a_withheld_number_is_told_politely_and_nothing_is_stored(app: Any) -> None:
    res = await call_in(app, From="Anonymous", Caller="Anonymous")
    assert tags(res) == ["Say", "Hangup"]
    async with app.hub.db.session() as s:
        assert (await s.exec(select(Message))).first() is None


@pytest.mark.parametrize("voice_extra", [IVR])
async def test_ivr_menu_digit_routes_to_its_team(app: Any) -> None:
    await team(app.hub, "Support")
    sales = await team(app.hub, "Sales")
    await agent(app.hub, "sam@example.com", sales)
    res = await call_in(app)
    assert tags(res) == ["Say", "Gather", "Say", "Redirect"]
    _, gather, prompt, redirect = verbs(res)
    assert gather[1] == {
        "numDigits": "1",
        "action": f"{BASE}/menu?attempt=1",
        "method": "POST",
        "timeout": "6",
    }
    assert prompt[2] == "For sales press 1. For support press 2."
    assert redirect[2] == f"{BASE}/menu?attempt=1"
    res = await post_webhook(app.client, V + "/menu?attempt=1", webhook("voice_gather", Digits="1"))
    assert tags(res) == ["Enqueue"]
    conv = await conversation_of(app.hub)
    assert conv.team_id == sales
    [call, _] = await thread(app.hub, conv.id)  # type: ignore[arg-type]
    assert call.body == f"Incoming call to {OUR_NUMBER} (menu option 1: Sales)"


@pytest.mark.parametrize("voice_extra", [IVR])
async def test_ivr_invalid_then_silence_falls_back_to_the_numbers_team(app: Any) -> None:
    support = await team(app.hub, "Support")
    await agent(app.hub, "ana@example.com", support)
    res = await post_webhook(app.client, V + "/menu?attempt=1", webhook("voice_gather", Digits="7"))
    assert next(v[2] for v in verbs(res) if v[0] == "Say") == "Sorry, that is not an option."
    assert ("Gather", f"{BASE}/menu?attempt=2") in [(v[0], v[1].get("action")) for v in verbs(res)]
    params = {k: v for k, v in webhook("voice_gather").items() if k not in ("Digits", "FinishedOnKey", "msg")}
    res = await post_webhook(app.client, V + "/menu?attempt=2", params)
    assert tags(res) == ["Enqueue"]
    assert (await conversation_of(app.hub)).team_id == support


ARABIC = {
    "language": "ar-SA",
    "voice": "Polly.Zeina",
    "prompts": {"greeting": "شكرا لاتصالك.", "no_agents": "جميع موظفينا مشغولون."},
}


@pytest.mark.parametrize("voice_extra", [ARABIC])
async def test_nobody_available_goes_to_voicemail_in_the_configured_language(app: Any) -> None:
    await team(app.hub, "Support")
    res = await call_in(app)
    assert tags(res) == ["Say", "Say", "Say", "Record", "Say", "Hangup"]
    doc = verbs(res)
    assert doc[0] == ("Say", {"language": "ar-SA", "voice": "Polly.Zeina"}, "شكرا لاتصالك.")
    assert doc[1][2] == "جميع موظفينا مشغولون."
    assert doc[3][1] == {
        "action": f"{BASE}/recording",
        "method": "POST",
        "maxLength": "120",
        "playBeep": "true",
        "finishOnKey": "#",
        "transcribe": "true",
        "transcribeCallback": f"{BASE}/transcription",
    }
    conv = await conversation_of(app.hub)
    assert conv.tags == ["callback"] and conv.status == "queued"
    assert (await thread(app.hub, conv.id))[-1].body == "No agent available: the caller was sent to voicemail"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "voice_extra",
    [
        {
            "business_hours": {
                "timezone": "Asia/Riyadh",
                "days": ["sun", "mon"],
                "open": "13:00",
                "close": "17:00",
            }
        }
    ],
)
async def test_after_hours_goes_to_voicemail(app: Any) -> None:
    support = await team(app.hub, "Support")
    await agent(app.hub, "ana@example.com", support)
    res = await call_in(app)  # Monday 09:00 UTC is 12:00 in Riyadh: not open yet
    assert [v[2] for v in verbs(res) if v[0] == "Say"][1] == "We are closed at the moment."
    assert "Record" in tags(res)


# -- waiting ---------------------------------------------------------------------------


class FixedInsight:
    def position(self, conversation_id: int) -> int | None:
        return 3

    def estimated_wait(self, conversation_id: int) -> float | None:
        return 170.0


async def test_hold_loop_announces_the_position_and_offers_voicemail(
    app: Any, voice: TwilioVoiceChannel
) -> None:
    support = await team(app.hub, "Support")
    await agent(app.hub, "ana@example.com", support)
    first = "CA" + "1" * 32
    await call_in(app, CallSid=first)
    await call_in(app)  # the second caller
    res = await post_webhook(app.client, V + "/wait", webhook("voice_queue_wait"))
    assert tags(res) == ["Say", "Gather", "Say", "Play"]
    position, gather, hint, play = verbs(res)
    assert position[2] == "You are number 2 in the queue."
    assert gather[1] == {"numDigits": "1", "action": f"{BASE}/wait-key", "method": "POST", "timeout": "1"}
    assert hint[2] == "To leave a voicemail instead, press 1 at any time."
    assert play[2].endswith(".mp3")
    voice.queue_insight = FixedInsight()  # what routing's live driver will provide
    res = await post_webhook(app.client, V + "/wait", webhook("voice_queue_wait"))
    assert [v[2] for v in verbs(res) if v[0] == "Say"][:2] == [
        "You are number 3 in the queue.",
        "The expected wait is about 3 minutes.",
    ]


async def test_pressing_the_key_leaves_the_queue_for_voicemail(app: Any) -> None:
    support = await team(app.hub, "Support")
    await agent(app.hub, "ana@example.com", support)
    await call_in(app)
    assert tags(await post_webhook(app.client, V + "/wait-key", webhook("voice_queue_key", Digits="5"))) == []
    assert tags(await post_webhook(app.client, V + "/wait-key", webhook("voice_queue_key"))) == ["Leave"]
    res = await post_webhook(app.client, V + "/queue-exit", webhook("voice_queue_exit", QueueResult="leave"))
    assert "Record" in tags(res)
    conv = await conversation_of(app.hub)
    assert conv.tags == ["callback"]
    assert (await thread(app.hub, conv.id))[-1].body == "The caller chose voicemail after 0:45 in the queue"  # type: ignore[arg-type]


async def test_hanging_up_in_the_queue_is_a_missed_call_to_return(app: Any) -> None:
    support = await team(app.hub, "Support")
    await agent(app.hub, "ana@example.com", support)
    await call_in(app)
    res = await post_webhook(app.client, V + "/queue-exit", webhook("voice_queue_exit"))
    assert tags(res) == []
    await post_webhook(app.client, V + "/status", webhook("voice_status_completed"))
    conv = await conversation_of(app.hub)
    assert (conv.status, conv.tags) == ("queued", ["callback"])
    bodies = [m.body for m in await thread(app.hub, conv.id)][2:]  # type: ignore[arg-type]
    assert bodies == [
        "Missed call: the caller hung up after 0:45 in the queue",
        "Call ended (completed, 1:03 in total)",
    ]
    # Abandoned in the queue (reports), once, though Twilio may retry the callback.
    assert conv.abandoned_at is not None
    await post_webhook(app.client, V + "/queue-exit", webhook("voice_queue_exit"))
    async with app.hub.db.session() as s:
        kinds = (await s.exec(select(EventLog.type).where(EventLog.type == "conversation.abandoned"))).all()
    assert kinds == ["conversation.abandoned"]


async def test_hanging_up_in_the_menu_still_leaves_a_callback_task(app: Any) -> None:
    await team(app.hub, "Support")
    await post_webhook(app.client, V + "/status", webhook("voice_status_completed", CallDuration="4"))
    conv = await conversation_of(app.hub)
    assert conv.tags == ["callback"]
    assert [m.kind for m in await thread(app.hub, conv.id)] == ["call", "event", "event"]  # type: ignore[arg-type]


# -- voicemail -------------------------------------------------------------------------


async def test_recording_and_transcription_arrive_as_messages_once(app: Any) -> None:
    await team(app.hub, "Support")
    await call_in(app)  # nobody available: voicemail
    for _ in range(2):  # Twilio retries: no-ops
        res = await post_webhook(app.client, V + "/recording", webhook("voice_recording"))
        assert tags(res) == ["Say", "Hangup"]
        assert (
            await post_webhook(app.client, V + "/transcription", webhook("voice_transcription"))
        ).status_code == 204
    conv = await conversation_of(app.hub)
    msgs = [m for m in await thread(app.hub, conv.id) if m.direction == "inbound"]  # type: ignore[arg-type]
    assert [(m.kind, m.body) for m in msgs] == [
        ("call", f"Incoming call to {OUR_NUMBER}"),
        ("media", "Voicemail (0:14)"),
        ("text", "Voicemail transcription: Hi, this is Layla about order 1042, please call me back."),
    ]
    [recording] = msgs[1].attachments
    assert recording["url"].endswith("/Recordings/RE7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29.mp3")
    assert recording["content_type"] == "audio/mpeg"


# -- bridging --------------------------------------------------------------------------


async def _waiting_call(app: Any, twilio_api: TwilioDouble, email: str) -> tuple[int, int]:
    support = await team(app.hub, "Support")
    uid = await agent(app.hub, email, support)
    twilio_api.add_call(CALL, CUSTOMER, OUR_NUMBER)
    await call_in(app)
    conv = await conversation_of(app.hub)
    assert conv.id is not None
    return conv.id, uid


def dial_of(twiml_text: str) -> tuple[list[str], dict[str, str], ET.Element]:
    root = ET.fromstring(twiml_text)
    dial = root.find("Dial")
    assert dial is not None and len(dial) == 1
    return [el.tag for el in root], dict(dial.attrib), dial[0]


async def test_accepting_a_call_bridges_it_to_the_agents_softphone(
    app: Any, twilio_api: TwilioDouble, voice: TwilioVoiceChannel
) -> None:
    conv, uid = await _waiting_call(app, twilio_api, "ana@example.com")
    admin = await user(app.hub, "lead@example.com", role=Role.supervisor)
    await assign(app.hub, SYSTEM, conv, uid)  # what routing's accepted offer emits
    update = await twilio_api.wait_for(lambda r: "/Calls/" in r.path)
    assert update.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{CALL}.json"
    assert update.username == API_KEY  # REST calls use the API key when one is configured
    order, dial, client = dial_of(update.one("Twiml") or "")
    assert order == ["Say", "Dial"]
    assert dial == {"action": f"{BASE}/dial-status", "method": "POST", "timeout": "25"}
    assert (client.tag, client.text) == ("Client", f"agent-{uid}")
    assert client.attrib == {
        "statusCallback": f"{BASE}/agent-status",
        "statusCallbackEvent": "initiated ringing answered completed",
        "statusCallbackMethod": "POST",
    }
    assert admin  # a second, unrelated user changes nothing
    # Another hub process (or a resync after lag) seeing the same assignment: no-op.
    assert voice.bridge is not None
    await voice.bridge.catch_up(None)
    assert len(twilio_api.call_updates()) == 1
    # The agent leg reports progress; each becomes a line in the thread.
    for fixture in (
        "voice_agent_ringing",
        "voice_agent_answered",
        "voice_agent_completed",
        "voice_agent_completed",
    ):
        res = await post_webhook(app.client, V + "/agent-status", webhook(fixture, To=f"client:agent-{uid}"))
        assert res.status_code == 204
    res = await post_webhook(app.client, V + "/dial-status", webhook("voice_dial_action"))
    assert tags(res) == ["Hangup"]
    await post_webhook(app.client, V + "/status", webhook("voice_status_completed"))
    bodies = [m.body for m in await thread(app.hub, conv) if m.kind == "event"]
    assert bodies == [
        "The caller is waiting in the queue",
        "Connecting the caller to Ana (browser softphone)",
        "Ringing Ana",
        "Ana answered the call",
        "Call with Ana ended after 0:58",
        "Call ended (completed, 1:03 in total)",
    ]
    async with app.hub.db.session() as s:
        after = await s.get(Conversation, conv)
    assert after is not None and after.tags == []  # answered: no callback needed


async def test_an_agent_with_a_phone_number_is_dialled_on_it(app: Any, twilio_api: TwilioDouble) -> None:
    conv, uid = await _waiting_call(app, twilio_api, "phone.agent@example.com")
    await assign(app.hub, SYSTEM, conv, uid)
    update = await twilio_api.wait_for(lambda r: "/Calls/" in r.path)
    _, _, number = dial_of(update.one("Twiml") or "")
    assert (number.tag, number.text) == ("Number", "+14155550199")


async def test_a_caller_who_already_hung_up_is_not_bridged(
    app: Any, twilio_api: TwilioDouble, voice: TwilioVoiceChannel
) -> None:
    conv, uid = await _waiting_call(app, twilio_api, "ana@example.com")
    await post_webhook(app.client, V + "/status", webhook("voice_status_completed"))
    assert voice.bridge is not None
    assert await voice.bridge.bridge(conv, uid) is False
    assert twilio_api.call_updates() == []


@pytest.mark.parametrize(("dial_status", "answer"), [("no-answer", "Record"), ("canceled", "Hangup")])
async def test_an_agent_who_does_not_answer_leaves_a_callback(
    app: Any, twilio_api: TwilioDouble, dial_status: str, answer: str
) -> None:
    conv, uid = await _waiting_call(app, twilio_api, "ana@example.com")
    await assign(app.hub, SYSTEM, conv, uid)
    await twilio_api.wait_for(lambda r: "/Calls/" in r.path)
    params = webhook("voice_dial_action", DialCallStatus=dial_status, DialCallDuration="0")
    res = await post_webhook(app.client, V + "/dial-status", params)
    assert answer in tags(res)  # no answer: voicemail; the caller gone: nothing to play
    async with app.hub.db.session() as s:
        after = await s.get(Conversation, conv)
    assert after is not None and after.tags == ["callback"]


async def test_a_failed_bridge_is_shown_on_the_thread(app: Any, twilio_api: TwilioDouble) -> None:
    conv, uid = await _waiting_call(app, twilio_api, "ana@example.com")
    twilio_api.calls[CALL]["status"] = "completed"  # Twilio knows the caller is gone
    sub = app.hub.bus.subscribe()
    await assign(app.hub, SYSTEM, conv, uid)
    async for event in sub:
        if event.type == "message.created" and "Could not connect" in event.payload["body"]:
            break
    sub.close()
    assert "Twilio error 21220" in (await thread(app.hub, conv))[-1].body


# -- softphone token -------------------------------------------------------------------


async def test_softphone_token_needs_a_signed_in_user(app: Any) -> None:
    assert (await app.client.get(V + "/token")).status_code == 401
    uid = await user(app.hub, "ana@example.com")
    await login(app.client, "ana@example.com")
    res = await app.client.get(V + "/token")
    assert res.status_code == 200 and res.headers["cache-control"] == "no-store"
    body = res.json()
    claims = jwt.decode(body["token"], API_SECRET, algorithms=["HS256"])
    assert body["identity"] == f"agent-{uid}"
    assert (claims["iss"], claims["sub"]) == (API_KEY, ACCOUNT_SID)
    assert claims["grants"] == {"identity": f"agent-{uid}", "voice": {"incoming": {"allow": True}}}


async def test_an_agent_softphone_calls_a_customer_back_from_our_number(app: Any) -> None:
    params = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": "CA" + "42" * 16,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": "client:agent-7",
        "Caller": "client:agent-7",
        "To": CUSTOMER,
        "Called": "",
    }
    res = await post_webhook(app.client, V + "/outgoing", params)
    [(dial, attrs, _), (number, _, text)] = verbs(res)
    assert (dial, attrs["callerId"], number, text) == ("Dial", OUR_NUMBER, "Number", CUSTOMER)
    res = await post_webhook(app.client, V + "/outgoing", {**params, "From": "+15550001111"})
    assert res.status_code == 403  # only our softphones dial out


# -- the post-call keypad question -------------------------------------------------------


async def test_the_caller_rates_the_call_with_one_key_after_the_agent_hangs_up(
    app: Any, twilio_api: TwilioDouble
) -> None:
    from urllib.parse import parse_qs, urlparse

    from hub.models import SurveyRequest
    from hub.services.surveys import save_policy

    # Only a policy for the voice channel itself asks on calls.
    await save_policy(app.hub, SYSTEM, None, None, {"enabled": True})
    conv, uid = await _waiting_call(app, twilio_api, "ana@example.com")
    await assign(app.hub, SYSTEM, conv, uid)
    await twilio_api.wait_for(lambda r: "/Calls/" in r.path)
    res = await post_webhook(app.client, V + "/dial-status", webhook("voice_dial_action"))
    assert tags(res) == ["Hangup"]
    await save_policy(app.hub, SYSTEM, None, "voice", {"enabled": True})
    res = await post_webhook(app.client, V + "/dial-status", webhook("voice_dial_action"))
    gather, say, hangup = verbs(res)
    assert (gather[0], gather[1]["numDigits"], say[0], hangup[0]) == ("Gather", "1", "Say", "Hangup")
    assert "Press a key from 1" in say[2]
    action = gather[1]["action"]
    assert action.startswith(f"{BASE}/survey?token=")
    # Twilio retries the dial action: the same question, not a second survey.
    again = await post_webhook(app.client, V + "/dial-status", webhook("voice_dial_action"))
    assert verbs(again)[0][1]["action"] == action
    token = parse_qs(urlparse(action).query)["token"][0]
    path = V + "/survey?token=" + token
    res = await post_webhook(app.client, path, {"CallSid": CALL, "Digits": "4"}, signed_url=action)
    assert tags(res) == ["Say", "Hangup"] and "Thank you" in verbs(res)[0][2]
    retried = await post_webhook(app.client, path, {"CallSid": CALL, "Digits": "4"}, signed_url=action)
    assert tags(retried) == ["Say", "Hangup"]
    async with app.hub.db.session() as s:
        (req,) = (await s.exec(select(SurveyRequest))).all()
        after = await s.get(Conversation, conv)
    assert (req.channel, req.status, req.score, req.answered_via) == ("voice", "answered", 4, "keypad")
    assert after is not None and after.csat_score == 4
    # A key that is not a score, or an unsigned post, records nothing.
    bad = await post_webhook(app.client, path, {"CallSid": CALL, "Digits": "*"}, signed_url=action)
    assert tags(bad) == ["Hangup"]
    assert (await post_webhook(app.client, path, {"Digits": "1"}, signature=None)).status_code == 403
