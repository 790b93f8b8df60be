"""Surveys and complaints on Telegram, through the real entry points: updates posted to
the hub's webhook (or taken by the real polling loop), the real python-telegram-bot
client out to the local Bot API double, the admin API to turn surveys on, resolve and
read answers; SQLite and PostgreSQL.

The survey question carries one button per score; a press (a ``callback_query``)
records the score, is answered with a toast in the customer's language and takes the
keyboard off the question. Presses the hub cannot use are still answered, and the
webhook is always acknowledged.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from channels.telegram import TelegramChannel
from hub.config import Settings, load_settings
from hub.models import Message
from tests.channels.care_support import (
    CSAT_AR,
    CSAT_EN,
    EXPIRY_HOURS,
    NOT_FOUND_EN,
    Admin,
    conversation_count,
    settle,
    token_of,
)
from tests.channels.telegram_double import BotApiDouble, api_error
from tests.helpers import team

TOKEN = "7012345678:AAFtestTokenForTheLocalDouble_0123"
SECRET = "whsec-telegram_test-0123456789"
WEBHOOK = "/channels/telegram/webhook"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "telegram"
LAYLA = 4021557713
OMAR = 5120033442
GROUP = -1002233445566
POLLING = {"mode": "polling", "webhook_secret": None, "poll_timeout": 5, "poll_retry_seconds": 0.01}
_ids = itertools.count(900_000_000)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApiDouble]:
    double = BotApiDouble(TOKEN)
    await double.start()
    yield double
    await double.stop()


@pytest.fixture
def telegram_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return dict(getattr(request, "param", {}))


@pytest.fixture
def telegram(bot_api: BotApiDouble, telegram_overrides: dict[str, Any]) -> TelegramChannel:
    section = {
        "bot_token": TOKEN,
        "webhook_secret": SECRET,
        "base_url": bot_api.base_url,
        "timeout": 2,
        "team": "Support",
        **telegram_overrides,
    }
    return TelegramChannel.from_config({k: v for k, v in section.items() if v is not None})


@pytest.fixture
def extra_channels(telegram: TelegramChannel) -> list[Any]:
    return [telegram]


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        None,
        database_url=db_url,
        data_dir=str(tmp_path / "var"),
        channels={"loopback": {}, "telegram": {"team": "Support"}},
    )


@pytest.fixture
async def admin(app: Any, monkeypatch: pytest.MonkeyPatch) -> Admin:
    await team(app.hub, "Support")
    return await Admin.create(app, monkeypatch)


# -- updates as Telegram sends them ------------------------------------------------------------
async def post_update(client: httpx.AsyncClient, update: dict[str, Any]) -> dict[str, Any]:
    res = await client.post(
        WEBHOOK,
        content=json.dumps(update).encode(),
        headers={"content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET},
    )
    assert res.status_code == 200, res.text
    data: dict[str, Any] = res.json()
    assert "method" not in data  # Telegram would run it as a Bot API call
    return data


def text_update(text: str, *, user: int = LAYLA, chat: int | None = None) -> dict[str, Any]:
    """A text message like text_private.json, from ``user`` in ``chat`` (their private chat)."""
    update = copy.deepcopy(load("text_private"))
    update["update_id"] = next(_ids)
    message = update["message"]
    message.update(message_id=next(_ids) % 100_000, text=text)
    if user != LAYLA:
        message["from"] = {"id": user, "is_bot": False, "first_name": "Omar", "language_code": "en"}
        message["chat"] = {"id": user, "first_name": "Omar", "type": "private"}
    if chat is not None:
        message["chat"] = {"id": chat, "title": "Acme Customers", "type": "supergroup"}
    return update


def press(question: Message, data: str, *, user: dict[str, Any] | None = None) -> dict[str, Any]:
    """A button press on ``question`` (our sent message) carrying ``data``."""
    update = copy.deepcopy(load("callback_query"))
    update["update_id"] = next(_ids)
    query = update["callback_query"]
    query["id"] = str(next(_ids))
    chat_id, message_id = str(question.provider_message_id).split(":")
    query["message"].update(message_id=int(message_id), text=question.body)
    if int(chat_id) < 0:
        query["message"]["chat"] = {"id": int(chat_id), "title": "Acme Customers", "type": "supergroup"}
    if user is not None:
        query["from"] = user
    query["data"] = data
    return update


OMAR_USER = {"id": OMAR, "is_bot": False, "first_name": "Omar", "username": "omar_s", "language_code": "en"}


async def question_of(hub: Any) -> Message:
    """The survey question as sent (its provider id is chat:message id)."""
    async with hub.db.session() as s:
        rows = (
            await s.exec(select(Message).where(Message.direction == "outbound").order_by(col(Message.id)))
        ).all()
    found = [m for m in rows if "survey" in (m.meta or {})]
    assert found, "no survey question was sent"
    return found[-1]


async def surveyed(app: Any, admin: Admin, update: dict[str, Any]) -> int:
    """A conversation from ``update``, resolved, and its survey sent."""
    conv: int = (await post_update(app.client, update))["conversation_id"]
    await admin.enable_surveys()
    await admin.resolve(conv)
    await settle(app)
    return conv


def toasts(bot_api: BotApiDouble) -> list[str | None]:
    return [c.params.get("text") for c in bot_api.called("answerCallbackQuery")]


# -- surveys -------------------------------------------------------------------------------------
async def test_score_buttons_record_the_answer_toast_in_arabic_and_leave_the_question(
    app: Any, admin: Admin, bot_api: BotApiDouble
) -> None:
    conv = await surveyed(app, admin, load("text_private"))  # Layla writes Arabic (language_code ar)
    [call] = bot_api.called("sendMessage")
    assert call.params["chat_id"] == str(LAYLA) and call.params["text"].startswith(CSAT_AR)
    token = await token_of(app.hub, conv)
    keyboard = json.loads(call.params["reply_markup"])
    assert keyboard == {
        "inline_keyboard": [[{"text": str(n), "callback_data": f"sv:{token}:{n}"} for n in range(1, 6)]]
    }
    assert all(len(b["callback_data"].encode()) <= 64 for b in keyboard["inline_keyboard"][0])
    question = await question_of(app.hub)
    # A forged score outside the scale (our buttons carry 1-5 only) records nothing.
    assert (await post_update(app.client, press(question, f"sv:{token}:9")))["callback"] == "invalid"
    assert (await admin.survey_of(conv))["status"] == "sent" and not bot_api.called("editMessageReplyMarkup")
    bot_api.calls.clear()

    before = await conversation_count(app.hub)
    assert await post_update(app.client, press(question, f"sv:{token}:4")) == {
        "ok": True,
        "callback": "answered",
    }
    survey = await admin.survey_of(conv)
    assert (survey["status"], survey["score"], survey["answered_via"]) == ("answered", 4, "button")
    assert (await admin.conversation(conv))["csat_score"] == 4
    assert await conversation_count(app.hub) == before
    [answered] = bot_api.called("answerCallbackQuery")
    assert answered.params["text"] == "شكرًا لك على تقييمك!"
    assert answered.params["callback_query_id"].isdigit()
    [edit] = bot_api.called("editMessageReplyMarkup")
    assert f"{edit.params['chat_id']}:{edit.params['message_id']}" == question.provider_message_id
    assert "reply_markup" not in edit.params  # no keyboard: the buttons are gone
    # The hub asks for a comment, as plain text, in Arabic.
    await settle(app)
    follow_up = bot_api.called("sendMessage")[-1]
    assert follow_up.params["text"].startswith("شكرًا لك! هل تود") and "reply_markup" not in follow_up.params

    # A second press (another client still showing the keyboard) changes nothing.
    again = await post_update(app.client, press(question, f"sv:{token}:1"))
    assert again == {"ok": True, "callback": "already_answered"}
    assert toasts(bot_api)[-1] == "لقد أجبت على هذا الاستبيان من قبل. شكرًا لك!"
    assert (await admin.survey_of(conv))["score"] == 4
    # Buttons that are not ours only stop the spinner.
    for data in ("menu:billing", "sv:", f"sv:{token}:x", "sv:a:b:c"):
        assert await post_update(app.client, press(question, data)) == {"ok": True, "callback": "ignored"}
        assert toasts(bot_api)[-1] is None
    # An unknown token: refused, answered.
    assert (await post_update(app.client, press(question, "sv:nope:3")))["callback"] == "not_found"
    assert (await admin.survey_of(conv))["score"] == 4


async def test_a_question_opens_a_conversation_the_limit_holds_and_an_expired_button_says_so(
    app: Any, admin: Admin, bot_api: BotApiDouble, clock: Any
) -> None:
    conv = await surveyed(app, admin, load("text_private"))
    question = await question_of(app.hub)
    token = await token_of(app.hub, conv)

    asked = (await post_update(app.client, text_update("I have another question?")))["conversation_id"]
    assert asked != conv and (await admin.conversation(asked))["status"] == "queued"
    assert (await admin.survey_of(conv))["status"] == "sent"
    # That one resolved within min_days_between: no second survey.
    await admin.resolve(asked)
    await settle(app)
    skipped = await admin.survey_of(asked)
    assert (skipped["status"], skipped["skip_reason"]) == ("skipped", "asked_recently")
    assert len([c for c in bot_api.called("sendMessage") if "reply_markup" in c.params]) == 1

    clock.advance(EXPIRY_HOURS * 3600 + 1)
    await settle(app)
    await admin.relogin()
    assert (await admin.survey_of(conv))["status"] == "expired"
    assert await post_update(app.client, press(question, f"sv:{token}:5")) == {
        "ok": True,
        "callback": "survey_expired",
    }
    assert toasts(bot_api)[-1] == "انتهت صلاحية هذا الاستبيان. شكرًا لك على أي حال."
    assert len(bot_api.called("editMessageReplyMarkup")) == 1  # nothing left to press
    # A typed "5" now is a message: it opens a conversation.
    later = (await post_update(app.client, text_update("5")))["conversation_id"]
    assert later not in (conv, asked) and (await admin.conversation(later))["status"] == "queued"
    assert (await admin.survey_of(conv))["score"] is None


async def test_in_a_group_only_the_customer_asked_may_answer(
    app: Any, admin: Admin, bot_api: BotApiDouble
) -> None:
    conv = await surveyed(app, admin, load("text_group"))  # Omar, in the customers' group
    [call] = bot_api.called("sendMessage")
    assert call.params["chat_id"] == str(GROUP) and call.params["text"].startswith(CSAT_EN)
    question = await question_of(app.hub)
    token = await token_of(app.hub, conv)

    layla = load("callback_query")["callback_query"]["from"]  # another member of the group
    refused = await post_update(app.client, press(question, f"sv:{token}:1", user=layla))
    assert refused == {"ok": True, "callback": "not_yours"}
    assert toasts(bot_api)[-1] == "هذا الاستبيان موجّه إلى شخص آخر."  # in the presser's language
    assert (await admin.survey_of(conv))["status"] == "sent" and not bot_api.called("editMessageReplyMarkup")

    answered = await post_update(app.client, press(question, f"sv:{token}:5", user=OMAR_USER))
    assert answered == {"ok": True, "callback": "answered"}
    assert toasts(bot_api)[-1] == "Thank you for your feedback!"
    assert (await admin.survey_of(conv))["score"] == 5


async def test_a_press_the_hub_cannot_record_is_answered_and_can_be_repeated(
    app: Any, admin: Admin, bot_api: BotApiDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv = await surveyed(app, admin, load("text_group"))
    question = await question_of(app.hub)
    token = await token_of(app.hub, conv)

    async def database_away(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr("channels.telegram.survey.answer_by_token", database_away)
        failed = await post_update(app.client, press(question, f"sv:{token}:3", user=OMAR_USER))
    assert failed == {"ok": True, "callback": "error"}
    assert toasts(bot_api)[-1] == "Sorry, that did not work. Please try again in a moment."
    assert not bot_api.called("editMessageReplyMarkup")  # the buttons stay for another try
    # Telegram refusing the toast (too late) or the edit does not undo the answer.
    bot_api.script(
        "answerCallbackQuery", api_error(400, "Bad Request: query is too old and response timeout expired")
    )
    bot_api.script("editMessageReplyMarkup", api_error(400, "Bad Request: message is not modified"))
    again = await post_update(app.client, press(question, f"sv:{token}:3", user=OMAR_USER))
    assert again == {"ok": True, "callback": "answered"}
    assert (await admin.survey_of(conv))["score"] == 3


@pytest.mark.parametrize("telegram_overrides", [POLLING], indirect=True)
async def test_polling_takes_presses_too(app: Any, admin: Admin, bot_api: BotApiDouble) -> None:
    first = load("text_group")
    await bot_api.push_update(first)
    # The next offset is asked for once the update is committed.
    offset = str(first["update_id"] + 1)
    await bot_api.wait_until(
        lambda: any(c.params.get("offset") == offset for c in bot_api.called("getUpdates"))
    )
    async with app.hub.db.session() as s:
        (conv,) = (await s.exec(select(Message.conversation_id))).all()
    await admin.enable_surveys()
    await admin.resolve(conv)
    await settle(app)
    question = await question_of(app.hub)
    token = await token_of(app.hub, conv)
    await bot_api.push_update(press(question, f"sv:{token}:2", user=OMAR_USER))
    await bot_api.wait_for("answerCallbackQuery")
    await bot_api.wait_for("editMessageReplyMarkup")
    assert (await admin.survey_of(conv))["score"] == 2
    assert json.loads(bot_api.called("getUpdates")[0].params["allowed_updates"])[-1] == "callback_query"


# -- complaints ----------------------------------------------------------------------------------
async def test_keyword_opens_a_complaint_and_status_is_answered_to_its_owner_only(
    app: Any, admin: Admin, bot_api: BotApiDouble
) -> None:
    await post_update(app.client, text_update("أريد تقديم شكوى بخصوص التوصيل"))
    await settle(app)
    [ack] = bot_api.called("sendMessage")
    listed = (await app.client.get("/api/v1/complaints")).json()["items"]
    reference = listed[0]["reference"]
    assert ack.params["chat_id"] == str(LAYLA) and reference in ack.params["text"]
    assert "الرقم المرجعي" in ack.params["text"]  # acknowledged in Arabic, on Telegram

    await post_update(app.client, text_update(f"حالة {reference}"))
    await settle(app)
    status = bot_api.called("sendMessage")[-1].params
    assert status["chat_id"] == str(LAYLA) and status["text"].startswith(f"الشكوى {reference}")

    await post_update(app.client, text_update(f"status {reference}", user=OMAR))
    await post_update(app.client, text_update("status C-2026-999999", user=OMAR))
    await settle(app)
    other, missing = (c.params for c in bot_api.called("sendMessage")[-2:])
    assert other["chat_id"] == missing["chat_id"] == str(OMAR)
    assert other["text"] == missing["text"] and other["text"].startswith(NOT_FOUND_EN)
    assert reference not in other["text"]
