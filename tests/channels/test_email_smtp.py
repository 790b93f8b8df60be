"""The email channel end to end over real SMTP: mail sent with aiosmtplib into the hub's
aiosmtpd listener lands in the real database (SQLite and PostgreSQL); replies leave
through the real outbox worker and aiosmtplib into an aiosmtpd server playing the
customer's mail server, whose received headers are checked as a mail client would."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import socket
from collections.abc import AsyncIterator, Iterator
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from sqlmodel import col, func, select

from channels.base import SendError
from channels.email import EmailChannel
from hub.api import routes_attachments
from hub.config import Settings, load_settings
from hub.domain import OutboundMessage
from hub.models import Conversation, Message, OutboxItem, Role
from tests.channels.email_servers import Received, SmtpSink, running_sink
from tests.helpers import login, team, user

FIXTURES = Path(__file__).parent.parent / "fixtures" / "email"
SUPPORT = "support@acme.test"


def email_section(**overrides: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "address": SUPPORT,
        "company_name": "Acme",
        "smtp_host": "127.0.0.1",
        "smtp_port": 2525,
        "smtp_security": "none",
        "smtp_timeout_seconds": 2,
        "listener_port": 0,
        "accept_domains": ["help.acme.test"],
        "max_attachment_bytes": 200_000,
        "max_message_bytes": 2_000_000,
        "team": "Support",
    }
    section.update(overrides)
    return section


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    # The core reads the email channel's default team from settings.channels.email.team.
    return load_settings(
        None,
        database_url=db_url,
        data_dir=str(tmp_path / "var"),
        channels={"loopback": {}, "email": {"team": "Support"}},
    )


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    async with running_sink() as sink:
        yield sink


@pytest.fixture
def email(smtp_sink: SmtpSink) -> EmailChannel:
    return EmailChannel.from_config(email_section(smtp_port=smtp_sink.port))


@pytest.fixture
def extra_channels(email: EmailChannel) -> list[Any]:
    return [email]


@pytest.fixture
def api(app: Any) -> Any:
    # hub/app.py will include this router; until then the test mounts it itself.
    paths = {getattr(r, "path", "") for r in app.app.router.routes}
    if "/api/v1/messages/{message_id}/attachments/{index}" not in paths:
        app.app.include_router(routes_attachments.router, prefix="/api/v1")
    return app


# -- helpers -----------------------------------------------------------------------------
def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def wire(raw: bytes) -> bytes:
    """``raw`` as SMTP carries it: CRLF line ends (whatever a checkout did to the file)."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


async def smtp_in(
    channel: EmailChannel, raw: bytes, *, mail_from: str = "customer@example.com", rcpt: str = SUPPORT
) -> str:
    """Send ``raw`` into the hub's listener; returns the server's final reply text."""
    assert channel.listener is not None and channel.listener.port
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1",
        port=channel.listener.port,
        start_tls=False,
        local_hostname="mx.example.com",
        timeout=10,
    )
    async with client:
        # sendmail, not aiosmtplib.send: bounces come from the null sender "<>".
        _, reply = await client.sendmail(mail_from, [rcpt], raw)
    return reply


def mail(
    subject: str,
    body: str,
    *,
    sender: str = "Maria Lopez <maria@example.com>",
    message_id: str,
    extra: str = "",
) -> bytes:
    text = (
        f"From: {sender}\r\nTo: Acme <{SUPPORT}>\r\nSubject: {subject}\r\n"
        f"Date: Mon, 05 Jan 2026 09:00:00 +0000\r\nMessage-ID: <{message_id}>\r\n{extra}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    return text.encode()


async def messages(hub: Any, **where: Any) -> list[Message]:
    async with hub.db.session() as s:
        stmt = select(Message).order_by(col(Message.id))
        for key, value in where.items():
            stmt = stmt.where(getattr(Message, key) == value)
        return list((await s.exec(stmt)).all())


async def get(hub: Any, model: Any, ident: int) -> Any:
    async with hub.db.session() as s:
        row = await s.get(model, ident)
    assert row is not None
    return row


async def agent_reply(app: Any, conversation_id: int, body: str) -> dict[str, Any]:
    """A supervisor of the Support team replies through the API."""
    client = app.new_client()
    csrf = await login(client, "smith@acme.test")
    res = await client.post(
        f"/api/v1/conversations/{conversation_id}/reply", json={"body": body}, headers=csrf
    )
    assert res.status_code == 201, res.text
    data: dict[str, Any] = res.json()
    return data


async def support_team(app: Any) -> int:
    support = await team(app.hub, "Support")
    await user(app.hub, "smith@acme.test", role=Role.supervisor, team_ids=(support,), name="Agent Smith")
    return support


# -- inbound through the listener --------------------------------------------------------
async def test_listener_ingests_mail_committed_before_250(app: Any, email: EmailChannel) -> None:
    support = await support_team(app)
    reply = await smtp_in(email, fixture("plain_utf8.eml"), mail_from="maria@example.com")
    assert reply.endswith("ingested")
    (m,) = await messages(app.hub)  # committed by the time the sender saw 250
    conv = await get(app.hub, Conversation, m.conversation_id)
    assert (m.channel, m.provider_message_id, m.subject) == (
        "email",
        "CAF=plain.utf8.4471@mail.example.com",
        "Order 4471 arrived damaged",
    )
    assert m.body.startswith("Hello,\n\nMARKER-PLAIN: my order 4471 arrived damaged")
    assert (conv.contact_address, conv.channel_account, conv.team_id) == (
        "maria@example.com",
        SUPPORT,
        support,
    )
    assert conv.thread_key == "CAF=plain.utf8.4471@mail.example.com"
    assert m.meta["from"] == "Maria Lopez <maria@example.com>" and m.meta["source"] == "smtp"
    assert "MARKER-PLAIN" in m.meta["full_text"] and "parse_warning" not in m.meta
    assert m.raw["rfc822"].encode() == wire(fixture("plain_utf8.eml"))


async def test_arabic_and_quoted_history(app: Any, email: EmailChannel) -> None:
    await smtp_in(email, fixture("arabic_windows1256_qp.eml"))
    await smtp_in(email, fixture("arabic_outlook_reply.eml"))
    first, second = await messages(app.hub)
    assert "طلبي رقم 4471 لم يصل بعد" in first.body and first.subject == "طلب متأخر"
    assert second.body == "تم حل المشكلة، شكرا جزيلا. MARKER-AR-OUTLOOK-NEW"
    assert "MARKER-AR-OUTLOOK-QUOTED" in second.meta["full_text"]
    assert second.raw["rfc822"].encode() == wire(fixture("arabic_outlook_reply.eml"))
    # 8-bit windows-1256 on the wire (no transfer encoding): still read, still kept exactly.
    raw = mail("x", "", message_id="8bit@example.sa").replace(b"utf-8", b"windows-1256")
    raw += "شكرا جزيلا".encode("windows-1256") + b"\r\n"
    await smtp_in(email, raw)
    third = (await messages(app.hub))[-1]
    assert third.body == "شكرا جزيلا"
    assert third.raw["rfc822_encoding"] == "latin-1"  # not UTF-8: latin-1 maps bytes 1:1
    assert third.raw["rfc822"].encode("latin-1") == raw


@pytest.mark.parametrize(
    ("name", "warning", "sender"),
    [
        ("malformed_boundary.eml", "without its boundary", "broken@example.com"),
        ("malformed_charset.eml", "unknown charset", "weird@example.com"),
        ("malformed_missing_headers.eml", "missing Message-ID", "no-id@example.com"),
        ("missing_from.eml", "missing or invalid From address", "missing-sender@unknown.invalid"),
    ],
)
async def test_malformed_mail_is_ingested_with_a_warning(
    app: Any, email: EmailChannel, name: str, warning: str, sender: str
) -> None:
    assert (await smtp_in(email, fixture(name))).endswith("ingested")
    (m,) = await messages(app.hub)
    conv = await get(app.hub, Conversation, m.conversation_id)
    assert warning in m.meta["parse_warning"] and conv.contact_address == sender
    assert "MARKER-" in m.body
    # Redelivery of a mail without Message-ID dedupes on the digest of its bytes.
    assert (await smtp_in(email, fixture(name))).endswith("duplicate")
    assert len(await messages(app.hub)) == 1


async def test_listener_refuses_strangers_and_oversized_mail(app: Any, email: EmailChannel) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await smtp_in(email, mail("x", "y", message_id="a@x.test"), rcpt="someone@elsewhere.test")
    assert refused.value.recipients[0].code == 550
    # accept_domains: any address of help.acme.test is ours too.
    assert (
        await smtp_in(email, mail("x", "y", message_id="b@x.test"), rcpt="billing@help.acme.test")
    ).endswith("ingested")
    huge = mail("big", "x" * 2_100_000, message_id="c@x.test")
    with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
        await smtp_in(email, huge)
    assert too_big.value.code == 552
    assert len(await messages(app.hub)) == 1


async def test_listener_answers_451_when_storing_fails(
    app: Any, email: EmailChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert email.inbound is not None
    real = email.inbound.deliver
    calls = 0

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database went away")
        return await real(*args, **kwargs)

    monkeypatch.setattr(email.inbound, "deliver", flaky)
    with pytest.raises(aiosmtplib.SMTPDataError) as failed:
        await smtp_in(email, fixture("signature.eml"))
    assert failed.value.code == 451 and await messages(app.hub) == []
    assert (await smtp_in(email, fixture("signature.eml"))).endswith("ingested")  # the sender's retry
    (m,) = await messages(app.hub)
    assert m.body == "MARKER-SIG-BODY: the reset link expires before I can click it."


# -- outbound threading -------------------------------------------------------------------
async def test_reply_threads_in_the_customers_mail_client(
    app: Any, email: EmailChannel, smtp_sink: SmtpSink
) -> None:
    await support_team(app)
    await smtp_in(email, mail("Order 4471 arrived damaged", "It is broken", message_id="root-1@example.com"))
    (first,) = await messages(app.hub)
    conv_id = first.conversation_id
    sent = await agent_reply(app, conv_id, "Sorry <b>Maria</b>!\nA replacement is on its way.")
    assert await app.worker.run_once() == 1
    (got,) = await smtp_sink.wait_for(1)
    out = got.message
    ours = out["Message-ID"].strip("<>")

    # What a client threads on: In-Reply-To = the customer's mail, References = the chain.
    assert out["In-Reply-To"] == "<root-1@example.com>"
    assert out["References"].split() == ["<root-1@example.com>"]
    assert out["Subject"] == f"Re: Order 4471 arrived damaged [#SB-{conv_id}]"
    assert getaddresses([str(out["From"])]) == [("Agent Smith via Acme", SUPPORT)]
    assert (got.mail_from, got.rcpt_tos, str(out["To"])) == (
        SUPPORT,
        ["maria@example.com"],
        "maria@example.com",
    )
    assert re.fullmatch(rf"sb\.{conv_id}\.{sent['id']}\.[0-9a-f]{{12}}@acme\.test", ours)
    text = out.get_body(("plain",))
    html = out.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().replace("\r\n", "\n") == "Sorry <b>Maria</b>!\nA replacement is on its way.\n"
    assert "Sorry &lt;b&gt;Maria&lt;/b&gt;!<br>" in html.get_content()  # escaped, never raw HTML
    (stored,) = await messages(app.hub, direction="outbound")
    assert (stored.provider_message_id, stored.delivery_status) == (ours, "sent")

    # The customer's client answers with the full chain: same conversation.
    chain = f"In-Reply-To: <{ours}>\r\nReferences: <root-1@example.com> <{ours}>\r\n"
    await smtp_in(
        email, mail("Re: Order 4471", "Thanks!\n\n> quoted", message_id="r2@example.com", extra=chain)
    )
    # Outlook keeps only In-Reply-To, pointing at our reply: same conversation.
    await smtp_in(
        email, mail("RE: Order", "Also this", message_id="r3@example.com", extra=f"In-Reply-To: <{ours}>\r\n")
    )
    # A client that dropped every header still carries the token in the subject.
    await smtp_in(email, mail(f"Re: anything [#SB-{conv_id}]", "Token only", message_id="r4@example.com"))
    # A new mail without any of that is a new conversation.
    await smtp_in(email, mail("Another problem", "New topic", message_id="new-1@example.com"))
    inbound = await messages(app.hub, direction="inbound")
    assert [m.conversation_id == conv_id for m in inbound] == [True, True, True, True, False]
    assert inbound[1].body == "Thanks!"

    # The second reply answers the latest customer mail and carries the whole chain.
    await agent_reply(app, conv_id, "Noted.")
    assert await app.worker.run_once() == 1
    second = (await smtp_sink.wait_for(2))[1].message
    assert second["In-Reply-To"] == "<r4@example.com>"
    assert second["References"].split() == ["<r4@example.com>"]  # r4 carried no References
    assert second["Subject"] == f"Re: Order 4471 arrived damaged [#SB-{conv_id}]"


async def test_reply_after_a_full_chain_keeps_the_root_first(
    app: Any, email: EmailChannel, smtp_sink: SmtpSink
) -> None:
    await support_team(app)
    raw = fixture("gmail_reply.eml")  # References: <root> <an earlier reply of ours>
    await smtp_in(email, raw)
    (m,) = await messages(app.hub)
    conv = await get(app.hub, Conversation, m.conversation_id)
    assert conv.thread_key == "CAF=plain.utf8.4471@mail.example.com"  # the root of the chain
    await agent_reply(app, m.conversation_id, "On it")
    await app.worker.run_once()
    out = (await smtp_sink.wait_for(1))[0].message
    assert out["In-Reply-To"] == "<CAF=gmail.reply.2@mail.example.com>"
    assert out["References"].split() == [
        "<CAF=plain.utf8.4471@mail.example.com>",
        "<sb.1.2.0123456789ab@acme.test>",
        "<CAF=gmail.reply.2@mail.example.com>",
    ]
    assert out["Subject"] == f"Re: Order 4471 arrived damaged [#SB-{m.conversation_id}]"


# -- bounces and loops --------------------------------------------------------------------
async def test_bounce_marks_the_reply_failed(app: Any, email: EmailChannel, smtp_sink: SmtpSink) -> None:
    await support_team(app)
    await smtp_in(email, mail("Help", "please", sender="nobody@example.com", message_id="h1@example.com"))
    (m,) = await messages(app.hub)
    sent = await agent_reply(app, m.conversation_id, "Here you go")
    await app.worker.run_once()
    ours = (await smtp_sink.wait_for(1))[0].message["Message-ID"].strip("<>")
    dsn = fixture("dsn_postfix.eml").replace(b"sb.5.11.dddddddddddd@acme.test", ours.encode())
    sub = app.hub.bus.subscribe()
    assert (await smtp_in(email, dsn, mail_from="")).endswith("bounce")
    failed = await get(app.hub, Message, sent["id"])
    assert failed.delivery_status == "failed"
    assert (
        "550 5.1.1" in failed.error
        and "User unknown" in failed.error
        and "nobody@example.com" in failed.error
    )
    async with asyncio.timeout(5):
        event = await sub.get()
    sub.close()
    assert event is not None and event.type == "message.status"
    assert event.payload["delivery_status"] == "failed"
    # The DSN itself never becomes a customer message.
    assert len(await messages(app.hub, direction="inbound")) == 1


async def test_non_standard_bounce_quoting_our_id_also_fails_the_reply(
    app: Any, email: EmailChannel, smtp_sink: SmtpSink
) -> None:
    await support_team(app)
    await smtp_in(email, mail("Help", "please", message_id="h2@example.com"))
    (m,) = await messages(app.hub)
    sent = await agent_reply(app, m.conversation_id, "Here you go")
    await app.worker.run_once()
    ours = (await smtp_sink.wait_for(1))[0].message["Message-ID"]
    qmail = (
        fixture("mailer_daemon.eml")
        + f"\r\n--- Below this line is a copy of the message.\r\nMessage-ID: {ours}\r\n".encode()
    )
    assert (await smtp_in(email, qmail, mail_from="")).endswith("bounce")
    failed = await get(app.hub, Message, sent["id"])
    assert failed.delivery_status == "failed" and "5.1.1" in failed.error


def autoresponder(channel: EmailChannel, headers: str, *, mail_from: str, answers: list[str]) -> Any:
    """The customer's autoresponder: answers every mail it receives, into the hub."""

    async def respond(got: Received) -> None:
        original = got.message
        raw = (
            f"From: Maria Lopez <maria@example.com>\r\nTo: {SUPPORT}\r\n"
            f"Subject: Automatic reply: {original['Subject']}\r\n"
            f"Message-ID: <auto-{len(got.raw)}-{original['Message-ID'].strip('<>')}>\r\n"
            f"In-Reply-To: {original['Message-ID']}\r\nReferences: {original['Message-ID']}\r\n"
            f"{headers}Content-Type: text/plain\r\n\r\nI am away until Monday.\r\n"
        ).encode()
        answers.append(await smtp_in(channel, raw, mail_from=mail_from))

    return respond


@pytest.mark.parametrize(
    ("headers", "envelope"),
    [
        ("Auto-Submitted: auto-replied\r\n", "maria@example.com"),
        ("X-Autoreply: yes\r\n", "maria@example.com"),
        ("Precedence: junk\r\n", "maria@example.com"),
        ("", ""),  # RFC 3834 style: nothing but the null reverse path
    ],
)
async def test_autoresponder_does_not_loop(
    app: Any, email: EmailChannel, smtp_sink: SmtpSink, headers: str, envelope: str
) -> None:
    await support_team(app)
    answers: list[str] = []
    smtp_sink.responder = autoresponder(email, headers, mail_from=envelope, answers=answers)
    await smtp_in(email, mail("Where is my order", "?", message_id="loop-1@example.com"))
    (m,) = await messages(app.hub)
    await agent_reply(app, m.conversation_id, "It ships today")
    for _ in range(5):  # give a loop every chance to build up
        await app.worker.run_once()
        await smtp_sink.settle()
    assert len(smtp_sink.received) == 1  # one reply, one auto-reply, nothing more
    assert answers == ["2.0.0 OK ignored"]  # the hub took the auto-reply and dropped it
    assert [x.direction for x in await messages(app.hub)] == ["inbound", "outbound"]
    async with app.hub.db.session() as s:
        assert (await s.exec(select(func.count()).select_from(OutboxItem))).one() == 1


async def test_flooding_sender_is_rate_limited(app: Any, email: EmailChannel) -> None:
    replies = [
        await smtp_in(email, mail(f"Ticket {i}", "help", message_id=f"flood-{i}@example.com"))
        for i in range(23)
    ]
    assert replies.count("2.0.0 OK ingested") == 20 and replies[-1] == "2.0.0 OK ignored"
    assert len(await messages(app.hub)) == 20
    # Someone else (another From behind another envelope sender) is not affected.
    other = mail("Mine", "hi", sender="other@example.com", message_id="o@example.com")
    assert (await smtp_in(email, other, mail_from="other@example.com")).endswith("ingested")


async def test_rate_limit_counts_the_envelope_sender_too(app: Any, email: EmailChannel) -> None:
    """A flooder that varies the From header behind one MAIL FROM is still limited."""
    replies = [
        await smtp_in(
            email,
            mail("Hi", "spam", sender=f"Person {i} <p{i}@example.com>", message_id=f"rot-{i}@example.com"),
            mail_from="flood@example.com",
        )
        for i in range(21)
    ]
    assert replies.count("2.0.0 OK ingested") == 20 and replies[-1] == "2.0.0 OK ignored"
    # ... and one that varies MAIL FROM behind one From is too (the From is counted).
    again = [
        await smtp_in(
            email,
            mail("Hi", "more", sender="p0@example.com", message_id=f"env-{i}@example.com"),
            mail_from=f"bounce-{i}@example.com",
        )
        for i in range(20)
    ]
    assert again.count("2.0.0 OK ingested") == 19 and again[-1] == "2.0.0 OK ignored"
    assert (
        await smtp_in(
            email,
            mail("Mine", "hi", sender="other@example.com", message_id="o@example.com"),
            mail_from="o@x.test",
        )
    ).endswith("ingested")


async def test_a_message_id_reused_by_another_sender_is_not_a_duplicate(
    app: Any, email: EmailChannel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="channels.email")
    constant = "form-mailer@shop.example"  # one Message-ID every mail of a broken form mailer carries
    first = mail("Order", "from maria", sender="Maria <maria@example.com>", message_id=constant)
    second = mail("Order", "from bob", sender="Bob <bob@example.com>", message_id=constant)
    assert (await smtp_in(email, first, mail_from="maria@example.com")).endswith("ingested")
    assert (await smtp_in(email, second, mail_from="bob@example.com")).endswith("ingested")
    stored = await messages(app.hub)
    assert [m.body for m in stored] == ["from maria", "from bob"]
    assert stored[0].conversation_id != stored[1].conversation_id
    assert stored[0].provider_message_id == constant
    assert stored[1].provider_message_id == f"bob@example.com/{constant}"
    # Redeliveries of either are still duplicates, and each dedupe is logged with its ids.
    caplog.clear()
    assert (await smtp_in(email, second, mail_from="bob@example.com")).endswith("duplicate")
    assert (await smtp_in(email, first, mail_from="maria@example.com")).endswith("duplicate")
    assert len(await messages(app.hub)) == 2
    dedupes = [r for r in caplog.records if r.getMessage().startswith("email duplicate")]
    assert [(getattr(r, "message_id", None), getattr(r, "conversation_id", None)) for r in dedupes] == [
        (stored[1].id, stored[1].conversation_id),
        (stored[0].id, stored[0].conversation_id),
    ]
    assert constant in dedupes[0].getMessage() and "bob@example.com" in dedupes[0].getMessage()
    # Bob's follow-up threads into Bob's conversation.
    follow = mail(
        "Re: Order", "bob again", sender="bob@example.com", message_id="bob-2@example.com",
        extra=f"In-Reply-To: <{constant}>\r\n",
    )  # fmt: skip
    assert (await smtp_in(email, follow, mail_from="bob@example.com")).endswith("ingested")
    assert (await messages(app.hub))[-1].conversation_id == stored[1].conversation_id


async def test_our_own_mail_is_ignored(app: Any, email: EmailChannel) -> None:
    own = mail("Re: x", "copy", sender=f"Agent via Acme <{SUPPORT}>", message_id="o1@example.com")
    assert (await smtp_in(email, own)).endswith("ignored")
    echo = mail("Re: x", "echo", message_id="sb.1.2.0123456789ab@acme.test")
    assert (await smtp_in(email, echo)).endswith("ignored")
    assert await messages(app.hub) == []


# -- attachments ----------------------------------------------------------------------------
async def test_attachments_are_stored_with_limits_and_served_to_the_team_only(
    api: Any, email: EmailChannel
) -> None:
    app = api
    support = await support_team(app)
    billing = await team(app.hub, "Billing")
    await user(app.hub, "ann@acme.test", team_ids=(support,))
    await user(app.hub, "bob@acme.test", team_ids=(billing,))
    # Over max_attachment_bytes (200 kB); and the raw mail is now big enough to go to a file.
    big = base64.encodebytes(b"\x01" * 300_000).replace(b"\n", b"\r\n")
    raw = fixture("attachments.eml").replace(
        b"--==mixed==--",
        b'--==mixed==\r\nContent-Type: text/html; name="page.html"\r\n'
        b'Content-Disposition: attachment; filename="page.html"\r\n\r\n<script>alert(1)</script>\r\n'
        b'--==mixed==\r\nContent-Type: application/octet-stream; name="big.bin"\r\n'
        b'Content-Disposition: attachment; filename="big.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + big
        + b"--==mixed==--",
    )
    await smtp_in(email, raw)
    (m,) = await messages(app.hub)
    assert [a["filename"] for a in m.attachments] == ["contract.pdf", "إيصال.txt", "page.html"]
    root = Path(app.hub.settings.data_dir) / "attachments"
    pdf = Path(m.attachments[0]["path"])
    assert pdf.parent.parent == root and len(pdf.name) == 64  # content-addressed
    assert (await asyncio.to_thread(pdf.read_bytes)).startswith(b"%PDF")
    rejected = {r["filename"]: r["reason"] for r in m.meta["rejected_attachments"]}
    assert rejected == {
        "setup.exe": "file type .exe is not accepted",
        "big.bin": "too large (300000 bytes; the limit is 200000)",
    }
    assert await asyncio.to_thread(Path(m.raw["rfc822_path"]).read_bytes) == raw and m.raw["size"] == len(raw)

    ann = app.new_client()
    await login(ann, "ann@acme.test")
    url = f"/api/v1/messages/{m.id}/attachments"
    got = await ann.get(f"{url}/0")
    assert got.status_code == 200 and got.content.startswith(b"%PDF")
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    receipt = await ann.get(f"{url}/1")
    assert (
        receipt.text == "إيصال رقم 55" and "filename*=utf-8''%D8%A5" in receipt.headers["content-disposition"]
    )
    page = await ann.get(f"{url}/2")  # HTML is never served as HTML
    assert page.headers["content-type"] == "application/octet-stream"
    assert page.headers["content-disposition"].startswith("attachment;")
    assert (await ann.get(f"{url}/9")).status_code == 404

    bob = app.new_client()
    await login(bob, "bob@acme.test")
    denied = await bob.get(f"{url}/0")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "not_your_team"
    assert (await app.new_client().get(f"{url}/0")).status_code == 401


# -- send errors ------------------------------------------------------------------------------
@pytest.fixture
def refused_port() -> Iterator[int]:
    # Bound but never listening: connecting is refused at once, and no one else gets it.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield int(sock.getsockname()[1])
    sock.close()


def outbound(**kw: Any) -> OutboundMessage:
    base: dict[str, Any] = {
        "message_id": 7,
        "conversation_id": 3,
        "channel": "email",
        "to": "maria@example.com",
        "subject": "Question",
        "body": "Answer",
        "author_name": "Ann",
    }
    return OutboundMessage(**(base | kw))


@pytest.mark.parametrize(
    ("script", "retryable", "reason"),
    [
        ({"rcpt_replies": ["550 5.1.1 no such user"]}, False, "recipient refused: 550"),
        ({"rcpt_replies": ["452 4.2.2 mailbox full"]}, True, "recipient refused: 452"),
        ({"data_replies": ["554 5.7.1 rejected as spam"]}, False, "SMTP 554"),
        ({"data_replies": ["451 4.7.1 greylisted, try later"]}, True, "SMTP 451"),
        ({"greet_never": True}, True, "SMTP connection"),
    ],
)
async def test_send_errors_map_to_retryable_or_final(
    app: Any, email: EmailChannel, smtp_sink: SmtpSink, script: dict[str, Any], retryable: bool, reason: str
) -> None:
    for key, value in script.items():
        setattr(smtp_sink, key, list(value) if isinstance(value, list) else value)  # the sink pops it
    channel = email
    if smtp_sink.greet_never:  # a short timeout keeps the hanging case fast
        channel = EmailChannel.from_config(
            email_section(smtp_port=smtp_sink.port, listener_port=None, smtp_timeout_seconds=0.3)
        )
        await channel.start(app.hub)
    try:
        with pytest.raises(SendError) as err:
            await channel.send(outbound())
    finally:
        if channel is not email:
            await channel.stop()
    assert err.value.retryable is retryable and err.value.reason.startswith(reason), err.value.reason


async def test_no_reply_to_a_placeholder_sender(app: Any, email: EmailChannel) -> None:
    with pytest.raises(SendError) as err:
        await email.send(outbound(to="missing-sender@unknown.invalid"))
    assert not err.value.retryable and "unknown" in err.value.reason


async def test_send_to_a_closed_port_is_retryable(app: Any, refused_port: int) -> None:
    channel = EmailChannel.from_config(email_section(smtp_port=refused_port, listener_port=None))
    await channel.start(app.hub)
    try:
        with pytest.raises(SendError) as err:
            await channel.send(outbound())
    finally:
        await channel.stop()
    assert err.value.retryable and "SMTP connection" in err.value.reason


async def test_a_final_smtp_error_fails_the_reply_through_the_outbox(
    app: Any, email: EmailChannel, smtp_sink: SmtpSink
) -> None:
    await support_team(app)
    await smtp_in(email, mail("Hi", "there", message_id="f1@example.com"))
    (m,) = await messages(app.hub)
    sent = await agent_reply(app, m.conversation_id, "Reply")
    smtp_sink.rcpt_replies = ["550 5.1.1 user unknown"]
    assert await app.worker.run_once() == 1
    failed = await get(app.hub, Message, sent["id"])
    assert failed.delivery_status == "failed" and "550 5.1.1 user unknown" in failed.error
