"""link_identity = "verified_email": a visitor proves an address by a mailed code and
their web-chat contact is merged into the known customer — without ever seeing that
customer's other conversations."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, ClassVar

import httpx
import pytest
from sqlmodel import select

from channels.base import SendError, SendResult
from channels.webchat import WebchatChannel, link
from hub.domain import InboundMessage, OutboundMessage
from hub.models import Contact, EventLog, Identity
from hub.services.ingest import ingest
from tests.channels.webchat_support import make_channel

BASE = "/channels/webchat/s/acme"
KNOWN = "Dana@Example.com"


class RecordingEmail:
    """A tiny email channel of our own interface: records what would be mailed."""

    kind: ClassVar[str] = "email"
    address_kind: ClassVar[str] = "email"
    max_body_length: ClassVar[int] = 1_000_000
    supports_attachments: ClassVar[bool] = True
    rate_per_second: ClassVar[float | None] = None

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []
        self.fail = False
        self.channel: WebchatChannel | None = None

    async def settled(self) -> None:
        """Link codes are mailed in the background; wait for the ones in flight."""
        assert self.channel is not None
        await link.drain(self.channel.runtime)

    def routes(self) -> list[Any]:
        return []

    async def start(self, hub: Any) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, message: OutboundMessage) -> SendResult:
        if self.fail:
            raise SendError("smtp down")
        self.sent.append(message)
        return SendResult(provider_message_id=f"mail-{len(self.sent)}")

    def code(self) -> str:
        found = re.search(r"\b(\d{6})\b", self.sent[-1].body)
        assert found is not None
        return found.group(1)


@pytest.fixture
def mail() -> RecordingEmail:
    return RecordingEmail()


@pytest.fixture
def channel() -> WebchatChannel:
    return make_channel(acme={"link_identity": "verified_email"})


@pytest.fixture
def extra_channels(channel: WebchatChannel, mail: RecordingEmail) -> list[Any]:
    mail.channel = channel
    return [channel, mail]


async def known_customer(hub: Any) -> tuple[int, int]:
    """A customer who wrote by email before: (contact id, conversation id)."""
    r = await ingest(
        hub,
        InboundMessage(
            channel="email",
            provider_message_id=f"<{uuid.uuid4()}@mail>",
            address_kind="email",
            sender=KNOWN,
            subject="My invoice",
            body="private: my account number is 4242",
        ),
    )
    return r.contact_id, r.conversation_id


async def chatting_visitor(c: httpx.AsyncClient, email: str = "dana@example.com") -> dict[str, str]:
    res = await c.post(f"{BASE}/session")
    auth = {"authorization": f"Bearer {res.json()['token']}"}
    res = await c.post(
        f"{BASE}/messages",
        json={"id": str(uuid.uuid4()), "body": "hello from the website", "prechat": {"email": email}},
        headers=auth,
    )
    assert res.status_code == 201, res.text
    return auth


async def visitor_contact(hub: Any, auth: dict[str, str], c: httpx.AsyncClient) -> int:
    visitor_id = (await c.post(f"{BASE}/session", headers=auth)).json()["visitor_id"]
    async with hub.db.session() as s:
        ident = (
            await s.exec(select(Identity).where(Identity.kind == "webchat", Identity.address == visitor_id))
        ).one()
    return ident.contact_id


async def test_known_email_gets_a_code_and_confirming_links_the_contact(
    app: Any, mail: RecordingEmail, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    known_id, email_conv = await known_customer(app.hub)
    c = app.new_client()
    assert (await c.get(f"{BASE}/config")).json()["link_identity"] == "verified_email"
    auth = await chatting_visitor(c)
    own_id = await visitor_contact(app.hub, auth, c)
    res = await c.post(f"{BASE}/link/start", json={"email": "  DANA@example.COM "}, headers=auth)
    await mail.settled()
    assert res.status_code == 202 and res.json() == {"sent": True}
    assert len(mail.sent) == 1
    sent = mail.sent[0]
    code = mail.code()
    assert sent.to == "dana@example.com" and sent.channel == "email" and sent.message_id == 0
    assert sent.conversation_id != 0  # the visitor's open chat
    assert code not in caplog.text  # the code is never logged
    async with app.hub.db.session() as s:
        pending = (await s.get(Contact, own_id)).attributes["webchat_link"]  # type: ignore[union-attr]
    assert code not in str(pending) and pending["email"] == "dana@example.com" and pending["attempts"] == 0

    res = await c.post(f"{BASE}/link/confirm", json={"code": code}, headers=auth)
    assert res.status_code == 200 and res.json() == {"linked": True}, res.text
    async with app.hub.db.session() as s:
        own = await s.get(Contact, own_id)
        known = await s.get(Contact, known_id)
        webchat_ident = (await s.exec(select(Identity).where(Identity.kind == "webchat"))).one()
        merged = (await s.exec(select(EventLog).where(EventLog.type == "contact.merged"))).all()
    assert own is not None and own.merged_into_id == known_id
    assert webchat_ident.contact_id == known_id
    assert known is not None and "webchat_link" not in known.attributes
    assert "email" not in known.attributes.get("unverified", [])  # proven by the code
    assert [e.payload for e in merged] == [{"source_id": own_id, "target_id": known_id}]
    # The code is spent.
    res = await c.post(f"{BASE}/link/confirm", json={"code": code}, headers=auth)
    assert res.status_code == 410

    # The visitor still sees only their own web chat, never the email conversation.
    hist = (await c.get(f"{BASE}/history", headers=auth)).json()
    assert [m["body"] for m in hist["messages"]] == ["hello from the website"]
    assert email_conv not in [conv["id"] for conv in hist["conversations"]]
    events = (await c.get(f"{BASE}/events?after=0&wait=0", headers=auth)).json()["events"]
    assert "4242" not in str(events) and "My invoice" not in str(events)
    res = await c.post(f"{BASE}/csat", json={"conversation_id": email_conv, "score": 1}, headers=auth)
    assert res.status_code == 404
    # And the chat goes on, now on the known customer's profile.
    res = await c.post(f"{BASE}/messages", json={"id": str(uuid.uuid4()), "body": "still me"}, headers=auth)
    assert res.status_code == 201, res.text
    async with app.hub.db.session() as s:
        ident = (await s.exec(select(Identity).where(Identity.kind == "webchat"))).one()
    assert ident.contact_id == known_id


async def test_unknown_email_answers_the_same_and_mails_nothing(app: Any, mail: RecordingEmail) -> None:
    await known_customer(app.hub)
    c = app.new_client()
    auth = await chatting_visitor(c, "nobody@example.com")
    res = await c.post(f"{BASE}/link/start", json={"email": "nobody@example.com"}, headers=auth)
    await mail.settled()
    assert res.status_code == 202 and res.json() == {"sent": True}
    assert mail.sent == []
    res = await c.post(f"{BASE}/link/confirm", json={"code": "123456"}, headers=auth)
    assert res.status_code == 410
    res = await c.post(f"{BASE}/link/start", json={"email": "not an email"}, headers=auth)
    await mail.settled()
    assert res.status_code == 422
    # Three code requests an hour per visitor.
    await c.post(f"{BASE}/link/start", json={"email": KNOWN}, headers=auth)
    await mail.settled()
    res = await c.post(f"{BASE}/link/start", json={"email": KNOWN}, headers=auth)
    await mail.settled()
    assert res.status_code == 429 and res.json()["error"]["code"] == "rate_limited"
    # Without the visitor token: refused like every visitor route.
    res = await c.post(f"{BASE}/link/start", json={"email": KNOWN})
    await mail.settled()
    assert res.status_code == 401


async def test_wrong_codes_count_down_then_the_code_is_gone(app: Any, mail: RecordingEmail) -> None:
    known_id, _ = await known_customer(app.hub)
    c = app.new_client()
    auth = await chatting_visitor(c)
    assert (await c.post(f"{BASE}/link/start", json={"email": KNOWN}, headers=auth)).status_code == 202
    await mail.settled()
    code = mail.code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    lefts = []
    for _ in range(4):
        res = await c.post(f"{BASE}/link/confirm", json={"code": wrong}, headers=auth)
        assert res.status_code == 400 and res.json()["error"]["code"] == "wrong_code"
        lefts.append(res.json()["error"]["attempts_left"])
    assert lefts == [4, 3, 2, 1]
    res = await c.post(f"{BASE}/link/confirm", json={"code": wrong}, headers=auth)
    assert res.status_code == 410  # the fifth wrong code uses it up
    res = await c.post(f"{BASE}/link/confirm", json={"code": code}, headers=auth)
    assert res.status_code == 410  # even the right one, now
    own_id = await visitor_contact(app.hub, auth, c)
    assert own_id != known_id


async def test_an_expired_code_is_refused(app: Any, mail: RecordingEmail, clock: Any) -> None:
    await known_customer(app.hub)
    c = app.new_client()
    auth = await chatting_visitor(c)
    await c.post(f"{BASE}/link/start", json={"email": KNOWN}, headers=auth)
    await mail.settled()
    code = mail.code()
    clock.advance(601)
    res = await c.post(f"{BASE}/link/confirm", json={"code": code}, headers=auth)
    assert res.status_code == 410 and res.json()["error"]["code"] == "code_expired"


async def test_an_open_chat_on_the_same_thread_refuses_the_merge(app: Any, mail: RecordingEmail) -> None:
    known_id, _ = await known_customer(app.hub)
    c = app.new_client()
    auth = await chatting_visitor(c)
    visitor_id = (await c.post(f"{BASE}/session", headers=auth)).json()["visitor_id"]
    # The known customer already has an open web chat on this very thread.
    await ingest(
        app.hub,
        InboundMessage(
            channel="webchat",
            provider_message_id=f"{visitor_id}:other",
            address_kind="email",
            sender=KNOWN,
            thread_key=visitor_id,
            body="an earlier open chat",
        ),
    )
    await c.post(f"{BASE}/link/start", json={"email": KNOWN}, headers=auth)
    await mail.settled()
    res = await c.post(f"{BASE}/link/confirm", json={"code": mail.code()}, headers=auth)
    assert res.status_code == 409 and res.json()["error"]["code"] == "thread_open"
    own_id = await visitor_contact(app.hub, auth, c)
    async with app.hub.db.session() as s:
        own = await s.get(Contact, own_id)
    assert own is not None and own.merged_into_id is None and own_id != known_id


async def test_a_failed_mail_is_logged_and_answered_like_any_other(
    app: Any, mail: RecordingEmail, caplog: pytest.LogCaptureFixture
) -> None:
    await known_customer(app.hub)
    mail.fail = True
    c = app.new_client()
    auth = await chatting_visitor(c)
    res = await c.post(f"{BASE}/link/start", json={"email": KNOWN}, headers=auth)
    await mail.settled()
    # Same answer as for an unknown address: an error here would tell who is a customer.
    assert res.status_code == 202 and res.json() == {"sent": True}
    assert "could not mail a web-chat link code" in caplog.text


def test_without_the_email_channel_the_rule_falls_back_to_never(caplog: pytest.LogCaptureFixture) -> None:
    channel = make_channel(acme={"link_identity": "verified_email"})

    class NoEmailHub:
        channels: ClassVar[set[str]] = {"webchat"}

    with caplog.at_level(logging.ERROR):
        assert channel._linking_sites(NoEmailHub()) == frozenset()  # type: ignore[arg-type]
    assert "needs the email channel" in caplog.text and "acme" in caplog.text

    class EmailHub:
        channels: ClassVar[set[str]] = {"webchat", "email"}

    assert channel._linking_sites(EmailHub()) == frozenset({"acme"})  # type: ignore[arg-type]
