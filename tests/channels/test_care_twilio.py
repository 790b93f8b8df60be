"""Surveys and complaints over Twilio SMS and WhatsApp, through the real entry points:
signed webhooks in, the real twilio client out to the local double, the admin API to
turn surveys on, resolve and read answers; SQLite and PostgreSQL.

SMS: the question is plain text; a "5" answers it without opening a conversation, a
question opens one, after expiry a "5" is a message again, and a customer is asked at
most once per ``min_days_between``. WhatsApp: with a Content API template for the kind
the question goes out with quick-reply buttons, and a tapped button's payload is the
score. Complaints: a keyword opens one acknowledged by SMS; "status <reference>" is
answered to its owner only.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from channels.twilio import TwilioSmsChannel, TwilioWhatsAppChannel
from hub.config import Settings
from hub.models import Conversation, Message
from hub.services import SYSTEM
from hub.services.conversations import reply
from tests.channels.care_support import (
    COMMENT_EN,
    CSAT_AR,
    CSAT_EN,
    EXPIRY_HOURS,
    NOT_FOUND_EN,
    THANKS_EN,
    Admin,
    conversation_count,
    latest_inbound,
    settle,
)
from tests.channels.twilio_double import (
    CUSTOMER,
    WHATSAPP_NUMBER,
    TwilioDouble,
    channel_config,
    hub_settings,
    post_webhook,
    webhook,
)
from tests.helpers import team

SMS_IN = "/channels/sms/incoming"
WHATSAPP_IN = "/channels/whatsapp/incoming"
OTHER_CUSTOMER = "+14155550122"
CSAT_BUTTONS = "HX" + "c5a7" * 8


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return hub_settings(db_url, tmp_path)


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioDouble]:
    async with TwilioDouble().running() as double:
        yield double


@pytest.fixture
def extra_channels(twilio_api: TwilioDouble) -> list[Any]:
    sms = TwilioSmsChannel.from_config(channel_config(twilio_api.url))
    whatsapp = TwilioWhatsAppChannel.from_config(
        channel_config(
            twilio_api.url,
            numbers={WHATSAPP_NUMBER: "Support"},
            survey_content_sids={"csat": CSAT_BUTTONS},
        )
    )
    return [sms, whatsapp]


@pytest.fixture
async def admin(app: Any, monkeypatch: pytest.MonkeyPatch) -> Admin:
    await team(app.hub, "Support")
    return await Admin.create(app, monkeypatch)


async def sms(app: Any, body: str, sender: str = CUSTOMER) -> int:
    """The customer texts ``body``; returns the conversation it landed in."""
    params = webhook("sms_inbound", Body=body, From=sender, MessageSid="SM" + secrets.token_hex(16))
    res = await post_webhook(app.client, SMS_IN, params)
    assert res.status_code == 200, res.text
    return (await latest_inbound(app.hub)).conversation_id


def texts_to(twilio_api: TwilioDouble, number: str) -> list[str]:
    return [m.one("Body") or "" for m in twilio_api.messages() if m.one("To") == number]


async def surveyed_sms_conversation(app: Any, admin: Admin, twilio_api: TwilioDouble) -> int:
    """A conversation the customer had, resolved, and the survey texted after it."""
    conv = await sms(app, "Hi, has order 1042 shipped yet?")
    await admin.enable_surveys()
    await admin.resolve(conv)
    await settle(app)
    return conv


# -- SMS surveys ---------------------------------------------------------------------------


async def test_sms_resolve_survey_reply_5_then_a_comment(
    app: Any, admin: Admin, twilio_api: TwilioDouble
) -> None:
    conv = await surveyed_sms_conversation(app, admin, twilio_api)
    [question] = twilio_api.messages()
    body = question.one("Body") or ""
    # Plain text: the question says how to answer; no template, no link.
    assert body.startswith(CSAT_EN) and "Reply with a number from 1" in body
    assert question.one("To") == CUSTOMER and question.one("ContentSid") is None and "http" not in body
    survey = await admin.survey_of(conv)
    assert (survey["status"], survey["kind"], survey["channel"]) == ("sent", "csat", "sms")

    before = await conversation_count(app.hub)
    assert await sms(app, "5") == conv  # stored with the survey, in the resolved conversation
    await settle(app)
    survey = await admin.survey_of(conv)
    assert (survey["status"], survey["score"], survey["answered_via"]) == ("answered", 5, "reply")
    rated = await admin.conversation(conv)
    assert (rated["csat_score"], rated["status"]) == (5, "resolved")
    assert await conversation_count(app.hub) == before
    # The hub asks for a comment by SMS; the next text is it, and is thanked for.
    assert texts_to(twilio_api, CUSTOMER)[-1] == COMMENT_EN
    await sms(app, "Quick and friendly, thanks")
    await settle(app)
    assert (await admin.survey_of(conv))["comment"] == "Quick and friendly, thanks"
    assert (await admin.conversation(conv))["csat_comment"] == "Quick and friendly, thanks"
    assert texts_to(twilio_api, CUSTOMER)[-1] == THANKS_EN
    assert await conversation_count(app.hub) == before


async def test_sms_a_question_instead_of_a_score_opens_a_conversation(
    app: Any, admin: Admin, twilio_api: TwilioDouble
) -> None:
    conv = await surveyed_sms_conversation(app, admin, twilio_api)
    new = await sms(app, "I have another question?")
    assert new != conv
    opened = await admin.conversation(new)
    assert (opened["status"], opened["channel"]) == ("queued", "sms")
    assert (await admin.survey_of(conv))["status"] == "sent"  # still waiting for a score
    assert (await admin.conversation(conv))["csat_score"] is None


async def test_sms_expired_survey_then_5_is_a_message_and_asked_once_per_period(
    app: Any, admin: Admin, twilio_api: TwilioDouble, clock: Any
) -> None:
    conv = await surveyed_sms_conversation(app, admin, twilio_api)
    clock.advance(EXPIRY_HOURS * 3600 + 1)
    await settle(app)
    await admin.relogin()
    assert (await admin.survey_of(conv))["status"] == "expired"

    later = await sms(app, "5")  # too late to be an answer: it is a message
    assert later != conv
    assert (await admin.conversation(later))["status"] == "queued"
    assert (await admin.survey_of(conv))["score"] is None

    # Resolved again within min_days_between (7): not asked again.
    await admin.resolve(later)
    await settle(app)
    skipped = await admin.survey_of(later)
    assert (skipped["status"], skipped["skip_reason"]) == ("skipped", "asked_recently")
    assert sum(CSAT_EN in b for b in texts_to(twilio_api, CUSTOMER)) == 1

    # A week after the first survey was sent, the next resolution asks again.
    clock.advance(4 * 86400)
    await admin.relogin()
    third = await sms(app, "Another order is late")
    await admin.resolve(third)
    await settle(app)
    assert (await admin.survey_of(third))["status"] == "sent"
    assert sum(CSAT_EN in b for b in texts_to(twilio_api, CUSTOMER)) == 2


# -- WhatsApp surveys ------------------------------------------------------------------------


async def whatsapp(app: Any, fixture: str = "whatsapp_inbound", **params: str) -> int:
    res = await post_webhook(
        app.client, WHATSAPP_IN, webhook(fixture, MessageSid="SM" + secrets.token_hex(16), **params)
    )
    assert res.status_code == 200, res.text
    return (await latest_inbound(app.hub)).conversation_id


async def test_whatsapp_survey_goes_as_quick_reply_template_and_a_tapped_button_is_the_score(
    app: Any, admin: Admin, twilio_api: TwilioDouble
) -> None:
    conv = await whatsapp(app)
    await admin.enable_surveys()
    await admin.resolve(conv)
    await settle(app)
    [question] = twilio_api.messages()
    assert question.one("ContentSid") == CSAT_BUTTONS and question.one("Body") is None
    assert (question.one("To"), question.one("From")) == (
        f"whatsapp:{CUSTOMER}",
        f"whatsapp:{WHATSAPP_NUMBER}",
    )
    variables = json.loads(question.one("ContentVariables") or "{}")
    # The customer wrote in Arabic (the fixture), so the question is in Arabic.
    assert list(variables) == ["1"] and variables["1"].startswith(CSAT_AR)
    assert "\n" not in variables["1"]  # WhatsApp refuses line breaks in template variables

    # The customer taps "😀 Very satisfied", whose payload is "5".
    async with app.hub.db.session() as s:
        sid = (await s.exec(select(Message.provider_message_id).where(Message.direction == "outbound"))).one()
    assert sid is not None and sid.startswith("SM")
    before = await conversation_count(app.hub)
    assert await whatsapp(app, "whatsapp_quick_reply", OriginalRepliedMessageSid=sid) == conv
    await settle(app)
    survey = await admin.survey_of(conv)
    assert (survey["status"], survey["score"], survey["answered_via"]) == ("answered", 5, "button")
    assert (await admin.conversation(conv))["csat_score"] == 5
    assert await conversation_count(app.hub) == before
    tapped = await latest_inbound(app.hub)
    assert tapped.body == "5"  # the score; what the customer saw stays beside it
    assert tapped.meta["twilio"]["ButtonText"] == "😀 Very satisfied"
    assert tapped.meta["twilio"]["ButtonPayload"] == "5"
    # The follow-up (inside the 24-hour window) is free text, in the customer's Arabic.
    assert twilio_api.messages()[-1].one("Body") == "شكرًا لك! هل تود إخبارنا بالمزيد؟ أرسل تعليقك في رسالة."


async def test_whatsapp_without_a_template_for_the_kind_is_plain_text_and_other_buttons_are_messages(
    app: Any, admin: Admin, twilio_api: TwilioDouble
) -> None:
    conv = await whatsapp(app)
    # An agent's message with another template's buttons, tapped while no survey waits
    # for the button: its payload "1" is not a score.
    menu = await reply(app.hub, SYSTEM, conv, "Which team? 1 Billing, 2 Returns")
    await settle(app)
    async with app.hub.db.session() as s:
        menu_sid = (await s.get(Message, menu.id)).provider_message_id  # type: ignore[union-attr]
    await admin.enable_surveys(survey_key="nps")  # no NPS template configured
    await admin.resolve(conv)
    await settle(app)
    question = twilio_api.messages()[-1]
    assert question.one("ContentSid") is None
    assert (question.one("Body") or "").startswith("ما مدى احتمال أن توصي بنا")  # they wrote in Arabic

    before = await conversation_count(app.hub)
    tapped = await whatsapp(
        app,
        "whatsapp_quick_reply",
        Body="Billing",
        ButtonText="Billing",
        ButtonPayload="1",
        OriginalRepliedMessageSid=menu_sid or "",
    )
    assert tapped != conv and await conversation_count(app.hub) == before + 1
    assert (await latest_inbound(app.hub)).body == "Billing"
    assert (await admin.survey_of(conv))["status"] == "sent"
    # A typed score answers the NPS question as usual.
    await whatsapp(app, Body="9")
    await settle(app)
    survey = await admin.survey_of(conv)
    assert (survey["kind"], survey["status"], survey["score"]) == ("nps", "answered", 9)


# -- complaints by SMS -----------------------------------------------------------------------


async def test_sms_keyword_opens_a_complaint_and_status_is_answered_to_its_owner_only(
    app: Any, admin: Admin, twilio_api: TwilioDouble
) -> None:
    await sms(app, "I want to make a complaint: you charged me twice")
    await settle(app)
    [ack] = texts_to(twilio_api, CUSTOMER)
    listed = (await app.client.get("/api/v1/complaints")).json()["items"]
    assert len(listed) == 1 and listed[0]["source"] == "keyword"
    reference = listed[0]["reference"]
    assert reference == "C-2026-000001" and reference in ack

    before = await conversation_count(app.hub)
    await sms(app, f"status {reference}")
    await settle(app)
    answer = texts_to(twilio_api, CUSTOMER)[-1]
    assert answer.startswith(f"Complaint {reference}: received")

    # Someone else asking about that reference, or about one that does not exist, gets
    # the same answer: nothing says the reference exists.
    await sms(app, f"status {reference}", sender=OTHER_CUSTOMER)
    await sms(app, "status C-2026-999999", sender=OTHER_CUSTOMER)
    await settle(app)
    other, missing = texts_to(twilio_api, OTHER_CUSTOMER)
    assert other == missing and other.startswith(NOT_FOUND_EN) and reference not in other
    # Status requests are answered by the hub: nobody's queue grew.
    async with app.hub.db.session() as s:
        queued = (await s.exec(select(Conversation).where(Conversation.status == "queued"))).all()
    assert len(queued) == 1 and await conversation_count(app.hub) >= before
