"""Satisfaction surveys through the API and the loopback channel, on SQLite and
PostgreSQL: the policy (off by default), the delay and quiet hours, the question
through the outbox, a tolerant reply read as the score without opening a
conversation, a non-answer opening one, the comment, expiry, once per N days, consent,
low scores told to supervisors, NPS sent now, and the hosted page for email links."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from hub.care.parse import parse_answer, parse_status_request
from hub.models import Contact, Conversation, EventLog, Role, SurveyRequest
from hub.services import SYSTEM
from hub.services.contacts import update_contact
from hub.services.conversations import resolve
from tests.helpers import inbound, login, team, user


async def setup(app: Any, **policy: Any) -> dict[str, str]:
    hub = app.hub
    care = await team(hub, "Care")
    await user(hub, "admin@example.com", Role.admin)
    await user(hub, "boss@example.com", Role.supervisor, (care,))
    h = await login(app.client, "admin@example.com")
    body = {"enabled": True, "delay_seconds": 60, "quiet_start": None, "quiet_end": None, **policy}
    r = await app.client.put("/api/v1/survey-policies", json=body, headers=h)
    assert r.status_code == 200, r.text
    return h


async def settle(app: Any) -> None:
    await app.hub.projections.catch_up()
    await app.hub.projections.run_due()
    while await app.worker.run_once():
        pass


async def resolved(app: Any, sender: str, body: str = "help") -> dict[str, Any]:
    first = await inbound(app.client, sender, body, team="Care")
    await resolve(app.hub, SYSTEM, first["conversation_id"])
    await settle(app)
    return first


async def requests(app: Any) -> list[SurveyRequest]:
    async with app.hub.db.session() as s:
        return list((await s.exec(select(SurveyRequest).order_by(SurveyRequest.id))).all())


async def conversations(app: Any, contact_id: int) -> list[Conversation]:
    async with app.hub.db.session() as s:
        rows = await s.exec(
            select(Conversation).where(Conversation.contact_id == contact_id).order_by(col(Conversation.id))
        )
        return list(rows.all())


def test_replies_read_as_scores_and_questions_do_not() -> None:
    assert parse_answer("5") == parse_answer("٥") == parse_answer("⭐⭐⭐⭐⭐") == parse_answer("5️⃣")
    assert (
        parse_answer("4 great service!") is not None
        and parse_answer("4 great service!").comment == "great service!"
    )  # type: ignore[union-attr]
    assert parse_answer("خمسة").score == 5  # type: ignore[union-attr]
    for message in ("5?", "2 items are missing from my order", "hello", "6", "where is order 5", "3/10"):
        assert parse_answer(message) is None, message
    assert parse_answer("9", "nps").score == 9 and parse_answer("7", "ces").score == 7  # type: ignore[union-attr]
    assert parse_status_request("status of my refund please", ["status"]) is None
    assert parse_status_request("STATUS: c-2026-000007", ["status"]).reference == "C-2026-000007"  # type: ignore[union-attr]


async def test_policy_off_by_default_asks_nothing(app: Any, loopback: Any) -> None:
    await team(app.hub, "Care")
    await resolved(app, "c-off")
    assert await requests(app) == [] and list(loopback.sent) == []


async def test_resolve_ask_answer_comment(app: Any, loopback: Any, clock: Any) -> None:
    await setup(app)
    first = await resolved(app, "c-1")
    (req,) = await requests(app)
    assert req.status == "scheduled" and list(loopback.sent) == []  # the delay
    clock.advance(61)
    await settle(app)
    (question,) = loopback.sent
    assert "1 (very unsatisfied) to 5" in question.body
    assert question.meta["survey"]["token"] and question.meta["survey"]["high"] == 5
    assert question.meta["survey"]["url"].endswith(f"/s/{question.meta['survey']['token']}")
    # A tolerant reply is the score; it opens no conversation.
    await inbound(app.client, "c-1", "٤ شكرا")
    await settle(app)
    (req,) = await requests(app)
    assert (req.status, req.score, req.answered_via, req.comment) == ("answered", 4, "reply", "شكرا")
    convs = await conversations(app, first["contact_id"])
    assert len(convs) == 1 and convs[0].csat_score == 4 and convs[0].status == "resolved"
    assert [m.body for m in loopback.sent][-1] == "Thank you for your feedback."


async def test_comment_follows_the_score_and_a_question_is_a_new_conversation(
    app: Any, loopback: Any, clock: Any
) -> None:
    await setup(app, delay_seconds=0)
    first = await resolved(app, "c-2")
    await inbound(app.client, "c-2", "2")
    await settle(app)
    assert "tell us more" in loopback.sent[-1].body
    await inbound(app.client, "c-2", "the agent kept me waiting")
    await settle(app)
    (req,) = await requests(app)
    assert req.score == 2 and req.comment == "the agent kept me waiting" and req.low_score
    convs = await conversations(app, first["contact_id"])
    assert len(convs) == 1 and convs[0].csat_comment == "the agent kept me waiting"
    assert "low-score" in convs[0].tags
    async with app.hub.db.session() as s:
        low = (await s.exec(select(EventLog).where(EventLog.type == "survey.low_score"))).all()
    assert len(low) == 1 and low[0].payload["score"] == 2
    # After the answer, a question is a question: a new conversation.
    await inbound(app.client, "c-2", "5")  # nothing is waiting for a score any more
    await inbound(app.client, "c-2", "Can I change my address?")
    convs = await conversations(app, first["contact_id"])
    assert len(convs) == 2 and convs[1].status == "queued"


async def test_a_message_that_is_not_an_answer_opens_a_conversation(app: Any, loopback: Any) -> None:
    await setup(app, delay_seconds=0)
    first = await resolved(app, "c-3")
    assert len(loopback.sent) == 1
    await inbound(app.client, "c-3", "2 items are missing from my order")
    convs = await conversations(app, first["contact_id"])
    assert len(convs) == 2 and convs[1].status == "queued"
    (req,) = await requests(app)
    assert req.status == "sent"  # still waiting for its answer


async def test_expiry_and_once_per_n_days(app: Any, loopback: Any, clock: Any) -> None:
    await setup(app, delay_seconds=0, expiry_hours=24, min_days_between=7)
    first = await resolved(app, "c-4")
    clock.advance(25 * 3600)
    await settle(app)
    (req,) = await requests(app)
    assert req.status == "expired"
    await inbound(app.client, "c-4", "5")  # too late: an ordinary message
    convs = await conversations(app, first["contact_id"])
    assert len(convs) == 2
    await resolve(app.hub, SYSTEM, convs[1].id)  # type: ignore[arg-type]
    await settle(app)
    _, second = await requests(app)
    assert (second.status, second.skip_reason) == ("skipped", "asked_recently")
    assert len(loopback.sent) == 1


async def test_opted_out_customers_are_not_asked(app: Any, loopback: Any) -> None:
    await setup(app, delay_seconds=0)
    first = await inbound(app.client, "c-5", "hi", team="Care")
    # A survey invitation is marketing (hub.services.consent).
    from hub.services.consent import set_consent

    await set_consent(app.hub, SYSTEM, first["contact_id"], "loopback", "marketing", "opted_out")
    await resolve(app.hub, SYSTEM, first["conversation_id"])
    await settle(app)
    (req,) = await requests(app)
    assert (req.status, req.skip_reason) == ("skipped", "opted_out") and list(loopback.sent) == []


async def test_quiet_hours_in_the_customers_time_zone(app: Any, loopback: Any, clock: Any) -> None:
    clock.now = datetime(2026, 1, 5, 19, 30, tzinfo=UTC)  # 22:30 in Riyadh
    await setup(app, delay_seconds=0, quiet_start="21:00", quiet_end="09:00")
    first = await inbound(app.client, "c-6", "hi", team="Care")
    await update_contact(app.hub, SYSTEM, first["contact_id"], {"timezone": "Asia/Riyadh"})
    await resolve(app.hub, SYSTEM, first["conversation_id"])
    await settle(app)
    (req,) = await requests(app)
    assert req.send_at == datetime(2026, 1, 6, 6, 0, tzinfo=UTC)  # 09:00 Riyadh
    assert list(loopback.sent) == []
    clock.now = datetime(2026, 1, 6, 6, 0, tzinfo=UTC)
    await settle(app)
    assert len(loopback.sent) == 1


async def test_nps_sent_now_and_answered_on_the_hosted_page(app: Any, loopback: Any) -> None:
    h = await setup(app)
    first = await inbound(app.client, "c-7", "hi", team="Care", sender_name="Huda")
    r = await app.client.post(
        f"/api/v1/contacts/{first['contact_id']}/surveys",
        json={"survey_key": "nps", "channel": "loopback"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    await settle(app)
    (question,) = loopback.sent
    token = question.meta["survey"]["token"]
    assert question.meta["survey"]["low"] == 0 and question.meta["survey"]["high"] == 10
    page = await app.client.get(f"/s/{token}", params={"score": 9})
    assert page.status_code == 200 and 'value="9" checked' in page.text
    (req,) = await requests(app)
    assert req.status == "sent"  # opening the link records nothing
    r = await app.client.post(f"/s/{token}", data={"comment": "<b>great</b>"})
    assert r.status_code == 422  # no score chosen: the form again, with the error
    r = await app.client.post(f"/s/{token}", data={"score": "9", "comment": "<b>great</b>"})
    assert r.status_code == 200 and "Thank you" in r.text
    (req,) = await requests(app)
    assert (req.kind, req.score, req.comment, req.answered_via) == ("nps", 9, "<b>great</b>", "link")
    again = await app.client.post(f"/s/{token}", data={"score": "3"})
    assert again.status_code == 409
    assert (await app.client.get("/s/not-a-token")).status_code == 404
    listed = (await app.client.get("/api/v1/surveys", params={"contact_id": first["contact_id"]})).json()
    assert listed[0]["score"] == 9 and listed[0]["kind"] == "nps" and listed[0]["contact_name"] == "Huda"


@pytest.mark.parametrize("action", ["complaint", "follow_up"])
async def test_low_score_actions(app: Any, loopback: Any, action: str) -> None:
    await setup(app, delay_seconds=0, low_score_action=action, ask_comment=False)
    first = await resolved(app, f"c-8-{action}")
    await inbound(app.client, f"c-8-{action}", "1")
    await settle(app)
    convs = await conversations(app, first["contact_id"])
    if action == "complaint":
        listed = (await app.client.get("/api/v1/complaints")).json()["items"]
        assert len(listed) == 1 and listed[0]["conversation_id"] == first["conversation_id"]
        assert convs[0].status == "resolved"
    else:
        assert convs[0].status == "queued"  # back to the team for a follow-up


async def test_policies_validate_and_are_admin_only(app: Any) -> None:
    h = await setup(app)
    r = await app.client.put(
        "/api/v1/survey-policies",
        json={"quiet_start": "25:00", "survey_key": "nope", "channel": "fax"},
        headers=h,
    )
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} == {"quiet_start", "survey_key", "channel"}
    boss = app.new_client()
    bh = await login(boss, "boss@example.com")
    assert (await boss.put("/api/v1/survey-policies", json={"enabled": False}, headers=bh)).status_code == 403
    # A changed question keeps old answers on the version they answered.
    body = {
        "kind": "csat",
        "texts": {"en": {"question": "Rate us 1-5"}, "ar": {"question": "قيّمنا من 1 إلى 5"}},
    }
    r = await app.client.put("/api/v1/survey-definitions/csat", json=body, headers=h)
    assert r.status_code == 200 and r.json()["version"] == 2
    async with app.hub.db.session() as s:
        contact = (await s.exec(select(Contact))).first()
    assert contact is None or contact.id


async def test_the_widget_form_answers_through_the_shared_service(app: Any) -> None:
    from channels.webchat import record_csat
    from channels.webchat.errors import WebchatError
    from hub.domain import InboundMessage
    from hub.services.ingest import ingest

    await setup(app)
    chat = await ingest(
        app.hub,
        InboundMessage(channel="webchat", provider_message_id="w1", address_kind="webchat",
                       sender="v_00000009", thread_key="v_00000009", body="hello"),
    )  # fmt: skip
    await resolve(app.hub, SYSTEM, chat.conversation_id)
    await settle(app)  # the policy scheduled a survey for this conversation
    await record_csat(app.hub, chat.conversation_id, "v_00000009", 1, "slow")
    (req,) = await requests(app)
    assert (req.status, req.score, req.answered_via, req.comment, req.low_score) == (
        "answered", 1, "widget", "slow", True
    )  # fmt: skip
    with pytest.raises(WebchatError) as err:
        await record_csat(app.hub, chat.conversation_id, "v_00000009", 5)
    assert err.value.code == "already_rated"
    with pytest.raises(WebchatError) as err:
        await record_csat(app.hub, chat.conversation_id, "v_someone_else", 5)
    assert err.value.code == "not_your_conversation"


async def test_a_customer_who_wrote_arabic_is_asked_in_arabic(app: Any, loopback: Any) -> None:
    await setup(app, delay_seconds=0)
    await resolved(app, "c-ar", "مرحبا، طلبي لم يصل")
    (question,) = loopback.sent
    assert "ما مدى رضاك" in question.body
