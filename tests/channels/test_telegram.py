"""The Telegram adapter against a local Bot API double over real HTTP.

Inbound goes through the hub's real webhook route (or the real polling loop) into the
real database; outbound goes through the real outbox worker and the real
python-telegram-bot client, whose ``base_url`` points at the double.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from channels.base import Channel
from channels.telegram import TelegramChannel, parse_config, parse_update
from hub.config import Settings, load_settings
from hub.domain import Attachment
from hub.models import Contact, Conversation, Identity, Message, OutboxItem, Role
from hub.services import SYSTEM
from hub.services.conversations import reply
from tests.channels.telegram_double import HANG, BotApiDouble, Scripted, api_error, html_error
from tests.helpers import login, team, user

TOKEN = "7012345678:AAFtestTokenForTheLocalDouble_0123"
SECRET = "whsec-telegram_test-0123456789"
WEBHOOK = "/channels/telegram/webhook"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "telegram"
REFUSED = "refused"  # placeholder base_url: a local port that refuses connections
LAYLA = "4021557713"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


# -- fixtures ----------------------------------------------------------------------------
@pytest.fixture
async def bot_api() -> AsyncIterator[BotApiDouble]:
    double = BotApiDouble(TOKEN)
    await double.start()
    yield double
    await double.stop()


@pytest.fixture
def refused_url() -> Iterator[str]:
    # Bound but never listening: connecting gets an immediate RST (connection refused),
    # and keeping it bound means no other test can take the port meanwhile.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/bot"
    sock.close()


@pytest.fixture
def telegram_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Config changes for one test (parametrize indirectly); None removes a key."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def telegram(
    request: pytest.FixtureRequest, bot_api: BotApiDouble, telegram_overrides: dict[str, Any]
) -> TelegramChannel:
    section: dict[str, Any] = {
        "bot_token": TOKEN,
        "webhook_secret": SECRET,
        "base_url": bot_api.base_url,
        "timeout": 0.5,  # the hanging-send case waits this long
        "team": "Support",
        "topics": {"billing": "Billing"},
        **telegram_overrides,
    }
    if section["base_url"] == REFUSED:
        section["base_url"] = request.getfixturevalue("refused_url")
    return TelegramChannel.from_config({k: v for k, v in section.items() if v is not None})


@pytest.fixture
def extra_channels(telegram: TelegramChannel) -> list[Any]:
    return [telegram]


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    # The core reads the channel's default team from settings.channels.telegram.team.
    return load_settings(
        None,
        database_url=db_url,
        data_dir=str(tmp_path / "var"),
        channels={"loopback": {}, "telegram": {"team": "Support"}},
    )


# -- helpers -----------------------------------------------------------------------------
async def post_update(client: httpx.AsyncClient, update: Any, secret: str | None = SECRET) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    return await client.post(WEBHOOK, content=body, headers=headers)


async def ingest_fixture(app: Any, name: str) -> dict[str, Any]:
    res = await post_update(app.client, load(name))
    assert res.status_code == 200, res.text
    data: dict[str, Any] = res.json()
    return data


async def inbound_messages(hub: Any) -> list[Message]:
    async with hub.db.session() as s:
        rows = await s.exec(select(Message).where(Message.direction == "inbound").order_by(col(Message.id)))
        return list(rows.all())


async def conversation(hub: Any, conversation_id: int) -> Conversation:
    async with hub.db.session() as s:
        conv = await s.get(Conversation, conversation_id)
    assert conv is not None
    return conv


async def outbound_state(hub: Any, message_id: int) -> tuple[Message, OutboxItem]:
    async with hub.db.session() as s:
        m = await s.get(Message, message_id)
        item = (await s.exec(select(OutboxItem).where(OutboxItem.message_id == message_id))).one()
    assert m is not None
    return m, item


# -- configuration -----------------------------------------------------------------------
def test_adapter_declares_its_limits_and_fits_the_protocol() -> None:
    channel = TelegramChannel.from_config({"bot_token": TOKEN, "webhook_secret": SECRET})
    assert isinstance(channel, Channel)
    assert (channel.kind, channel.address_kind, channel.max_body_length) == ("telegram", "telegram", 4096)
    assert channel.supports_attachments and channel.rate_per_second == 30
    assert channel.config.base_url == "https://api.telegram.org/bot" and channel.config.mode == "webhook"
    assert TOKEN not in repr(channel.config) and SECRET not in repr(channel.config)


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        ({"bot_token": None}, "bot_token", "expected the token from @BotFather"),
        ({"bot_token": "not-a-token"}, "bot_token", "expected the token from @BotFather"),
        ({"webhook_secret": None}, "webhook_secret", "required in webhook mode"),
        ({"webhook_secret": "short"}, "webhook_secret", "expected 16-256 characters"),
        ({"webhook_secret": "has spaces in it, sixteen+"}, "webhook_secret", "expected 16-256 characters"),
        ({"mode": "push"}, "mode", 'expected "webhook" or "polling"'),
        ({"base_url": "api.telegram.org"}, "base_url", "expected an http(s) URL"),
        ({"webhook_url": "http://hub.example.com/x"}, "webhook_url", "expected an https:// URL"),
        ({"topics": ["billing"]}, "topics", "expected a table"),
        ({"topics": {"no spaces": "Billing"}}, "topics.no spaces", "expected a topic of 1-64"),
        ({"topics": {"billing": ""}}, "topics.billing", "expected a team name"),
        ({"timeout": 0}, "timeout", "greater than 0"),
        ({"poll_timeout": 90}, "poll_timeout", "from 0 to 60"),
        ({"token": TOKEN}, "token", "unknown setting"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(change: dict[str, Any], key: str, expected: str) -> None:
    section = {
        k: v for k, v in {"bot_token": TOKEN, "webhook_secret": SECRET, **change}.items() if v is not None
    }
    with pytest.raises(ValueError) as info:
        parse_config(section)
    message = str(info.value)
    assert message.startswith(f"config error: channels.telegram.{key}: ") and expected in message
    assert "\n" not in message


def test_polling_mode_needs_no_webhook_secret() -> None:
    config = parse_config({"bot_token": TOKEN, "mode": "polling", "team": "Support"})
    assert (config.mode, config.webhook_secret, config.team) == ("polling", None, "Support")


# -- parsing: each captured update shape -------------------------------------------------
def _file(name: str, content_type: str, size: int, file_id: str) -> dict[str, Any]:
    return {
        "filename": name,
        "content_type": content_type,
        "size": size,
        "url": f"telegram:file_id:{file_id}",
        "path": None,
    }


PARSE_CASES: list[tuple[str, dict[str, Any]]] = [
    ("text_private", {"body": "Hi, my order #4411 has not arrived yet", "kind": "text"}),
    (
        "text_group",
        {"body": "Is the store open on Friday?", "sender": "5120033442", "thread_key": "-1002233445566"},
    ),
    (
        "photo",
        {
            "body": "The box arrived damaged",
            "kind": "media",
            "attachments": [
                _file("photo_AQADx7ExG2nTiFJ9.jpg", "image/jpeg", 118774, "AgACAgQAAxkBAAIFVmZp1s-large-1280")
            ],
        },
    ),
    (
        "document",
        {
            "body": "Here is my invoice",
            "attachments": [
                _file("invoice-4411.pdf", "application/pdf", 48213, "BQACAgQAAxkBAAIFWGZp1tInvoice4411")
            ],
        },
    ),
    (
        "voice",
        {
            "body": "",
            "attachments": [
                _file("voice_AgADvRQAAlSTiFI.ogg", "audio/ogg", 15716, "AwACAgQAAxkBAAIFWWZp1uVoiceNote")
            ],
        },
    ),
    (
        "video",
        {"attachments": [_file("unboxing.mp4", "video/mp4", 2345678, "BAACAgQAAxkBAAIFWmZp1wUnboxingVideo")]},
    ),
    (
        "sticker",
        {
            "body": "👍",
            "attachments": [
                _file("sticker_AgADAgADxkY8Sg.webp", "image/webp", 23176, "CAACAgIAAxkBAAIFW2Zp1xThumbsUp")
            ],
        },
    ),
    (
        "location",
        {
            "body": "Location: 24.713552, 46.675296 (https://www.openstreetmap.org/?mlat=24.713552&mlon=46.675296)",
            "kind": "text",
            "meta": {"location": {"latitude": 24.713552, "longitude": 46.675296}},
        },
    ),
    (
        "contact",
        {
            "body": "Contact: Layla Haddad, +966501234567",
            "meta": {
                "contact": {
                    "phone_number": "+966501234567",
                    "first_name": "Layla",
                    "last_name": "Haddad",
                    "user_id": 4021557713,
                }
            },
        },
    ),
    (
        "venue",
        {
            "body": "Venue: Kingdom Centre, King Fahd Rd, Al Olaya, Riyadh\n"
            "Location: 24.69102, 46.685306 (https://www.openstreetmap.org/?mlat=24.69102&mlon=46.685306)",
            "meta": {
                "venue": {"title": "Kingdom Centre", "address": "King Fahd Rd, Al Olaya, Riyadh"},
                "location": {"latitude": 24.69102, "longitude": 46.685306},
            },
        },
    ),
    (
        # Posted on behalf of the group: `from` is Telegram's shared placeholder bot.
        "anonymous_admin",
        {"sender": "-1002233445566", "sender_name": "Acme Customers", "language": None, "meta": {}},
    ),
    ("start_billing", {"body": "/start billing", "team": "Billing", "meta": {"start_payload": "billing"}}),
    ("start_unknown_topic", {"team": None, "language": "hi", "sender_name": "Ravi"}),
    (
        "edited_message",
        {
            "provider_message_id": f"{LAYLA}:1365:edit:1767603725",
            "body": "Hi, my order #4412 has not arrived yet",
            "meta": {"edited": True, "message_id": 1365},
        },
    ),
    ("poll", {"body": "[Telegram poll: not supported here]", "meta": {"unsupported": "poll"}}),
]


@pytest.mark.parametrize(("name", "expected"), PARSE_CASES, ids=[c[0] for c in PARSE_CASES])
def test_update_fixture_parses_to_the_normalized_message(name: str, expected: dict[str, Any]) -> None:
    raw = load(name)
    msg = parse_update(raw, bot_id="7012345678", topics={"billing": "Billing"})
    assert msg is not None
    payload = raw.get("message") or raw["edited_message"]
    chat_id = str(payload["chat"]["id"])
    defaults: dict[str, Any] = {
        "provider_message_id": f"{chat_id}:{payload['message_id']}",
        "sender": LAYLA,
        "sender_name": "Layla Haddad",
        "thread_key": chat_id,
        "language": payload["from"].get("language_code"),
        "kind": "media" if expected.get("attachments") else "text",
        "attachments": [],
        "team": None,
    }
    if name.startswith("start_"):
        defaults["sender"] = str(payload["from"]["id"])
        defaults["sender_name"] = "Sara Nguyen"
    if name == "text_group":
        defaults["sender_name"] = "Omar"
    want = {**defaults, **expected}
    got = msg.model_dump()
    got["attachments"] = [dict(a) for a in got["attachments"]]
    for key in (
        "provider_message_id",
        "sender",
        "sender_name",
        "thread_key",
        "language",
        "kind",
        "attachments",
        "team",
    ):
        assert got[key] == want[key], f"{name}: {key}"
    if "body" in want:
        assert msg.body == want["body"]
    assert msg.meta["update_id"] == raw["update_id"]
    assert msg.meta.items() >= want.get("meta", {}).items()
    assert (msg.channel, msg.address_kind, msg.channel_account, msg.raw) == (
        "telegram",
        "telegram",
        "7012345678",
        raw,
    )
    if msg.sender != str(payload["from"]["id"]):  # posted as a chat: not the placeholder's name
        assert "username" not in msg.meta


@pytest.mark.parametrize("name", ["my_chat_member", "new_chat_members"])
def test_updates_without_a_customer_message_parse_to_nothing(name: str) -> None:
    assert parse_update(load(name), bot_id="7012345678", topics={}) is None


# -- webhook into the hub ------------------------------------------------------------------
async def test_updates_become_conversations_messages_and_attachments(app: Any) -> None:
    names = [
        "text_private",
        "photo",
        "document",
        "voice",
        "location",
        "contact",
        "edited_message",
        "text_group",
    ]
    results = {name: await ingest_fixture(app, name) for name in names}
    assert not any(r["duplicate"] for r in results.values())

    # One private chat is one conversation; the group chat with another person is another.
    private = {results[n]["conversation_id"] for n in names if n != "text_group"}
    assert len(private) == 1 and results["text_group"]["conversation_id"] not in private
    conv = await conversation(app.hub, private.pop())
    assert (conv.channel, conv.thread_key, conv.contact_address, conv.channel_account, conv.language) == (
        "telegram",
        LAYLA,
        LAYLA,
        "7012345678",
        "ar",
    )
    group = await conversation(app.hub, results["text_group"]["conversation_id"])
    assert (group.thread_key, group.contact_address) == ("-1002233445566", "5120033442")

    async with app.hub.db.session() as s:
        contact = await s.get(Contact, conv.contact_id)
        identity = (await s.exec(select(Identity).where(Identity.contact_id == conv.contact_id))).one()
    assert contact is not None and (contact.name, contact.language) == ("Layla Haddad", "ar")
    assert (identity.kind, identity.address) == ("telegram", LAYLA)

    stored = {m.id: m for m in await inbound_messages(app.hub)}
    photo = stored[results["photo"]["message_id"]]
    assert (photo.kind, photo.body) == ("media", "The box arrived damaged")
    assert photo.attachments == [
        {
            "filename": "photo_AQADx7ExG2nTiFJ9.jpg",
            "content_type": "image/jpeg",
            "size": 118774,
            "url": "telegram:file_id:AgACAgQAAxkBAAIFVmZp1s-large-1280",
        }
    ]
    assert photo.raw == load("photo") and photo.meta["update_id"] == 815503703
    assert stored[results["voice"]["message_id"]].attachments[0]["content_type"] == "audio/ogg"
    assert stored[results["location"]["message_id"]].meta["location"]["latitude"] == 24.713552
    assert stored[results["contact"]["message_id"]].meta["contact"]["phone_number"] == "+966501234567"
    edited = stored[results["edited_message"]["message_id"]]
    assert edited.meta["edited"] is True and edited.provider_message_id == f"{LAYLA}:1365:edit:1767603725"
    assert edited.created_at.timestamp() == 1767603725  # when the customer edited it


async def test_a_redelivered_update_is_a_no_op(app: Any) -> None:
    first = await ingest_fixture(app, "text_private")
    again = await ingest_fixture(app, "text_private")
    assert again == {**first, "duplicate": True}
    assert len(await inbound_messages(app.hub)) == 1


async def test_forged_webhooks_get_403_and_store_nothing(app: Any) -> None:
    for secret in (None, "", "wrong-secret-0123456789", SECRET[:-1], SECRET + "x"):
        res = await post_update(app.client, load("text_private"), secret=secret)
        assert res.status_code == 403, secret
        assert res.json()["error"]["code"] == "bad_secret"
    assert await inbound_messages(app.hub) == []
    async with app.hub.db.session() as s:
        assert (await s.exec(select(Conversation))).all() == []


async def test_what_is_not_a_customer_message_is_acknowledged_or_refused(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="channels.telegram")
    bad_json = await post_update(app.client, b'{"update_id": 1, "message": ')
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]["message"]
    not_an_update = await post_update(app.client, {"ok": True})
    assert not_an_update.status_code == 400 and "update_id" in not_an_update.json()["error"]["message"]
    assert (await post_update(app.client, [1, 2])).status_code == 400

    # Telegram retries every non-2xx, so what we do not handle is acknowledged.
    for name in ("my_chat_member", "new_chat_members", "poll_pre_bot_api_9_6"):
        res = await post_update(app.client, load(name))
        assert (res.status_code, res.json()) == (200, {"ok": True, "ignored": True}), name
    assert "ignored telegram update 815503713 (my_chat_member)" in caplog.text
    assert "telegram update 815503716 (message) could not be read" in caplog.text
    assert await inbound_messages(app.hub) == []


async def test_start_deep_link_topic_picks_the_team(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    billing = await team(app.hub, "Billing")
    support = await team(app.hub, "Support")
    routed = await ingest_fixture(app, "start_billing")
    assert (await conversation(app.hub, routed["conversation_id"])).team_id == billing
    caplog.set_level(logging.INFO, logger="channels.telegram")
    unknown = await ingest_fixture(app, "start_unknown_topic")
    assert (await conversation(app.hub, unknown["conversation_id"])).team_id == support  # the default
    assert "'spring-promo' is not in channels.telegram.topics" in caplog.text


# -- outbound --------------------------------------------------------------------------------
async def test_update_to_agent_reply_to_bot_api_call_end_to_end(
    app: Any, bot_api: BotApiDouble, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    inbound = await ingest_fixture(app, "text_private")
    await user(app.hub, "lead@example.com", role=Role.admin)
    headers = await login(app.client, "lead@example.com")
    res = await app.client.post(
        f"/api/v1/conversations/{inbound['conversation_id']}/reply",
        json={"body": "Sorry Layla, it ships today."},
        headers=headers,
    )
    assert res.status_code == 201, res.text
    message_id = res.json()["id"]

    assert await app.worker.run_once() == 1
    call = bot_api.called("sendMessage")[-1]
    assert (call.params["chat_id"], call.params["text"]) == (LAYLA, "Sorry Layla, it ships today.")
    m, item = await outbound_state(app.hub, message_id)
    assert (m.delivery_status, item.status) == ("sent", "sent")
    assert m.provider_message_id == f"{LAYLA}:5001"  # chat:message id, as inbound
    # httpx logs each request URL at INFO, and the Bot API puts the token in the URL.
    assert "/sendMessage" in caplog.text and TOKEN not in caplog.text and "<bot-token>" in caplog.text


async def test_outbound_media_text_and_limits(app: Any, bot_api: BotApiDouble) -> None:
    conv = (await ingest_fixture(app, "document"))["conversation_id"]
    stored = Path(app.hub.settings.data_dir) / "attachments" / "replies" / "return-label.pdf"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"%PDF-1.7 return label")

    async def send(body: str, *attachments: Attachment) -> tuple[Message, OutboxItem]:
        m = await reply(app.hub, SYSTEM, conv, body, attachments=attachments)
        assert await app.worker.run_once() == 1
        return await outbound_state(app.hub, m.id)  # type: ignore[arg-type]

    # One image by URL and a short body: a single sendPhoto with the body as caption.
    await send(
        "Your label",
        Attachment(filename="label.png", content_type="image/png", url="https://cdn.example.com/l.png"),
    )
    photo = bot_api.called("sendPhoto")[-1].params
    assert (photo["chat_id"], photo["photo"], photo["caption"]) == (
        LAYLA,
        "https://cdn.example.com/l.png",
        "Your label",
    )

    # The customer's own file sent back by its Telegram file id, without downloading it.
    customer_file = Attachment(
        filename="invoice-4411.pdf",
        content_type="application/pdf",
        url="telegram:file_id:BQACAgQAAxkBAAIFWGZp1tInvoice4411",
    )
    await send("", customer_file)
    assert bot_api.called("sendDocument")[-1].params["document"] == "BQACAgQAAxkBAAIFWGZp1tInvoice4411"

    # A file stored by the hub is uploaded; a body too long for a caption goes first.
    long_body = "Please print this. " * 60
    m, _ = await send(
        long_body,
        Attachment(
            filename="return-label.pdf", content_type="application/pdf", path="replies/return-label.pdf"
        ),
    )
    text, upload = [c for c in bot_api.calls if c.method.startswith("send")][-2:]
    assert (text.method, text.params["text"]) == ("sendMessage", long_body.strip())
    assert upload.method == "sendDocument" and upload.files["document"] == (
        "return-label.pdf",
        b"%PDF-1.7 return label",
    )
    assert m.delivery_status == "sent" and m.provider_message_id == f"{LAYLA}:5003"  # the text, sent first

    # What can never be sent is dead-lettered at once, without calling Telegram.
    calls = len(bot_api.calls)
    escape = Attachment(filename="passwd", path="../../etc/passwd")
    m, item = await send("x", escape)
    assert item.status == "dead" and "outside the attachment directory" in (m.error or "")
    m, item = await send("y" * 4097)
    assert item.status == "dead" and "Telegram takes 4096" in (m.error or "")
    assert len(bot_api.calls) == calls


SEND_FAILURES = [
    # (config overrides, the double's answer, retried?, expected delay or None, reason fragment)
    pytest.param(
        {},
        api_error(429, "Too Many Requests: retry after 7", retry_after=7),
        True,
        7.0,
        "RetryAfter: Flood control exceeded",
        id="429-retry-after",
    ),
    pytest.param(
        {},
        api_error(403, "Forbidden: bot was blocked by the user"),
        False,
        None,
        "bot was blocked",
        id="403-blocked",
    ),
    pytest.param(
        {}, api_error(400, "Bad Request: chat not found"), False, None, "Chat not found", id="400-no-chat"
    ),
    pytest.param(
        {}, api_error(500, "Internal Server Error"), True, None, "NetworkError: Internal Server", id="500"
    ),
    pytest.param(
        {}, html_error(502, "502 Bad Gateway"), True, None, "NetworkError: Bad Gateway (502)", id="502-html"
    ),
    pytest.param({}, HANG, True, None, "TimedOut", id="timeout"),
    pytest.param({"base_url": REFUSED}, None, True, None, "httpx.ConnectError", id="connection-refused"),
]


@pytest.mark.parametrize(
    ("telegram_overrides", "answer", "retried", "delay", "reason"),
    SEND_FAILURES,
    indirect=["telegram_overrides"],
)
async def test_send_failures_are_retried_waited_or_dead_lettered(
    app: Any,
    bot_api: BotApiDouble,
    clock: Any,
    answer: Scripted | None,
    retried: bool,
    delay: float | None,
    reason: str,
) -> None:
    conv = (await ingest_fixture(app, "text_private"))["conversation_id"]
    if answer is not None:
        bot_api.script("sendMessage", answer)
    sent = await reply(app.hub, SYSTEM, conv, "We are on it")
    assert await app.worker.run_once() == 1
    m, item = await outbound_state(app.hub, sent.id)  # type: ignore[arg-type]
    assert reason in (item.last_error or ""), item.last_error
    if not retried:
        assert (item.status, item.attempts, m.delivery_status) == ("dead", 1, "failed")
        assert reason in (m.error or "") and "(after 1 attempt)" in (m.error or "")
        return
    assert (item.status, m.delivery_status) == ("pending", "pending")
    wait = (item.next_attempt_at - clock.now).total_seconds()
    if delay is not None:
        assert wait == delay  # Telegram's retry_after, not our shorter backoff
    else:
        assert 1.0 <= wait <= 2.0  # the outbox's first backoff step
    if answer is None:
        return  # nothing listens on that port: no second attempt to make
    clock.advance(wait)
    assert await app.worker.run_once() == 1
    m, item = await outbound_state(app.hub, sent.id)  # type: ignore[arg-type]
    assert (item.status, m.delivery_status, item.attempts) == ("sent", "sent", 2)
    assert [c.params["text"] for c in bot_api.called("sendMessage")] == ["We are on it", "We are on it"]


# -- start-up and polling -------------------------------------------------------------------
@pytest.mark.parametrize(
    "telegram_overrides",
    [{"webhook_url": "https://hub.example.com/channels/telegram/webhook"}],
    indirect=True,
)
async def test_webhook_mode_checks_the_bot_and_registers_the_webhook(app: Any, bot_api: BotApiDouble) -> None:
    call = await bot_api.wait_for("setWebhook")
    assert call.params["url"] == "https://hub.example.com/channels/telegram/webhook"
    assert call.params["secret_token"] == SECRET
    # callback_query: the survey buttons (channels/telegram/survey.py).
    assert json.loads(call.params["allowed_updates"]) == ["message", "edited_message", "callback_query"]
    assert [c.method for c in bot_api.calls[:2]] == ["getMe", "setWebhook"]


POLLING = {"mode": "polling", "webhook_secret": None, "poll_timeout": 5, "poll_retry_seconds": 0.01}


@pytest.mark.parametrize("telegram_overrides", [POLLING], indirect=True)
async def test_polling_ingests_updates_and_advances_the_offset(
    app: Any, bot_api: BotApiDouble, telegram: TelegramChannel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="channels.telegram")

    def polled_with(offset: int) -> list[Any]:
        return [c for c in bot_api.called("getUpdates") if c.params.get("offset") == str(offset)]

    first, second = load("text_private"), load("photo")
    await bot_api.push_update(first)
    await bot_api.push_update(second)
    # The next offset is asked for only after both updates were committed.
    await bot_api.wait_until(lambda: bool(polled_with(second["update_id"] + 1)))
    assert [m.provider_message_id for m in await inbound_messages(app.hub)] == [
        f"{LAYLA}:1365",
        f"{LAYLA}:1366",
    ]
    assert bot_api.calls[0].method == "getUpdates"  # a webhook is never removed behind our back
    assert json.loads(bot_api.called("getUpdates")[0].params["allowed_updates"]) == [
        "message",
        "edited_message",
        "callback_query",
    ]

    # Failed polls are retried after a backoff, from the same offset.
    webhook_is_set = api_error(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    )
    bot_api.script("getUpdates", webhook_is_set, html_error(502, "502 Bad Gateway"))
    third = load("document")
    await bot_api.push_update(third)
    await bot_api.wait_until(lambda: len(polled_with(third["update_id"] + 1)) >= 3)
    assert len(await inbound_messages(app.hub)) == 3
    assert "telegram polling refused (Conflict: can't use getUpdates" in caplog.text
    assert "remove the bot's webhook (deleteWebhook" in caplog.text
    assert "telegram polling failed (NetworkError: Bad Gateway (502)" in caplog.text

    # Nobody can post updates to a hub that polls.
    assert (await post_update(app.client, load("text_group"))).status_code == 403

    # stop() ends the loop even in the middle of a long poll.
    await asyncio.wait_for(telegram.stop(), 5)
    assert telegram._task is None
