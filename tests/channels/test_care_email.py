"""Surveys and complaints by email, through the real entry points: mail sent with
aiosmtplib into the hub's SMTP listener, the real outbox and aiosmtplib out to an
aiosmtpd server playing the customer's mail server, the admin API to turn surveys on,
resolve and read answers, and the customer's click on an emailed rating link in
headless Chromium against the hub served on its ``public_url``; SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import uvicorn

from channels.email import EmailChannel
from channels.email.config import EmailConfig
from channels.email.send import compose
from hub.config import Settings, load_settings
from hub.domain import OutboundMessage
from tests.browser_support import chromium
from tests.channels.care_support import (
    COMMENT_EN,
    CSAT_EN,
    EXPIRY_HOURS,
    NOT_FOUND_EN,
    Admin,
    conversation_count,
    latest_inbound,
    settle,
    token_of,
)
from tests.channels.email_servers import Received, SmtpSink, running_sink
from tests.helpers import team

SUPPORT = "support@acme.test"
MARIA = "maria@example.com"


def email_section(**overrides: Any) -> dict[str, Any]:
    return {
        "address": SUPPORT,
        "company_name": "Acme",
        "smtp_host": "127.0.0.1",
        "smtp_port": 2525,
        "smtp_security": "none",
        "smtp_timeout_seconds": 2,
        "listener_port": 0,
        "team": "Support",
        **overrides,
    }


@pytest.fixture
def hub_socket() -> Iterator[socket.socket]:
    """The port the hub is served on, known before the app exists: its public_url."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture
def public_url(hub_socket: socket.socket) -> str:
    return f"http://127.0.0.1:{hub_socket.getsockname()[1]}"


@pytest.fixture
def settings(db_url: str, tmp_path: Path, public_url: str) -> Settings:
    return load_settings(
        None,
        database_url=db_url,
        data_dir=str(tmp_path / "var"),
        public_url=public_url,
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
async def admin(app: Any, monkeypatch: pytest.MonkeyPatch) -> Admin:
    await team(app.hub, "Support")
    return await Admin.create(app, monkeypatch)


@pytest.fixture
async def served(app: Any, hub_socket: socket.socket, public_url: str) -> AsyncIterator[str]:
    """The app on a real uvicorn at its public_url, in the test's loop."""
    config = uvicorn.Config(app.app, lifespan="off", log_level="warning", ws="none")
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[hub_socket])
    assert server.started, "uvicorn did not start"
    loop_task = asyncio.create_task(server.main_loop())
    yield public_url
    server.should_exit = True
    await asyncio.wait_for(loop_task, 10)
    await server.shutdown(sockets=[hub_socket])


# -- mail in and out ------------------------------------------------------------------------
_sequence = iter(range(1, 1_000_000))


async def mail_in(
    app: Any,
    channel: EmailChannel,
    body: str,
    *,
    subject: str = "Order 4471 arrived damaged",
    sender: str = MARIA,
    in_reply_to: str | None = None,
) -> int:
    """The customer's mail, delivered into the hub's SMTP listener; returns its conversation."""
    assert channel.listener is not None and channel.listener.port
    message_id = f"cust-{next(_sequence)}@example.com"
    threading = f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    raw = (
        f"From: Customer <{sender}>\r\nTo: Acme <{SUPPORT}>\r\nSubject: {subject}\r\n"
        f"Date: Mon, 05 Jan 2026 09:00:00 +0000\r\nMessage-ID: <{message_id}>\r\n{threading}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=channel.listener.port, start_tls=False, timeout=10)
    async with client:
        _, reply = await client.sendmail(sender, [SUPPORT], raw)
    assert reply.endswith("ingested"), reply
    return (await latest_inbound(app.hub)).conversation_id


def plain(got: Received | EmailMessage) -> str:
    msg = got.message if isinstance(got, Received) else got
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def html_of(got: Received | EmailMessage) -> str:
    msg = got.message if isinstance(got, Received) else got
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


class Links(HTMLParser):
    """Every link in an HTML part: (href, text), and the dir of the survey block."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.survey_dir: str | None = None
        self._href: str | None = None
        self._text = ""
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            self._href, self._text = values.get("href"), ""
        if tag == "div" and values.get("class") == "survey":
            self.survey_dir = values.get("dir")

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, self._text))
            self._href = None


async def surveyed(app: Any, admin: Admin, email: EmailChannel, sink: SmtpSink) -> tuple[int, Received]:
    """A conversation by mail, resolved, and the survey mailed after it."""
    conv = await mail_in(app, email, "It is broken, please help")
    await admin.enable_surveys()
    await admin.resolve(conv)
    await settle(app)
    (question,) = await sink.wait_for(1)
    return conv, question


# -- surveys -----------------------------------------------------------------------------------
async def test_survey_mail_has_one_click_links_and_opening_them_records_nothing(
    app: Any, admin: Admin, email: EmailChannel, smtp_sink: SmtpSink, public_url: str
) -> None:
    conv, question = await surveyed(app, admin, email, smtp_sink)
    page = f"{public_url}/s/{await token_of(app.hub, conv)}"
    mail = question.message
    assert question.rcpt_tos == [MARIA] and mail["Subject"] == f"Re: Order 4471 arrived damaged [#SB-{conv}]"
    assert mail["In-Reply-To"].startswith("<cust-")  # threads under the customer's mail
    text = plain(question)
    assert text.startswith(CSAT_EN)
    assert [f"{n}: {page}?score={n}" for n in range(1, 6)] == [
        line for line in text.splitlines() if line[:2] in {"1:", "2:", "3:", "4:", "5:"}
    ]
    assert text.rstrip().endswith(f"Or answer here: {page}")
    links = Links(html_of(question))
    assert links.links == [*((f"{page}?score={n}", str(n)) for n in range(1, 6)), (page, page)]
    assert links.survey_dir == "ltr"
    assert "Or answer here: <a href" in html_of(question)

    # A mail scanner (or the customer) opening every link records nothing.
    for href, _ in links.links:
        res = await app.client.get(href.removeprefix(public_url))
        assert res.status_code == 200 and 'name="score"' in res.text
    assert 'value="4" checked' in (await app.client.get(f"/s/{page.rsplit('/', 1)[1]}?score=4")).text
    assert (await admin.survey_of(conv))["status"] == "sent"


@pytest.mark.browser
async def test_a_click_on_the_emailed_link_answers_in_the_browser(
    app: Any, admin: Admin, email: EmailChannel, smtp_sink: SmtpSink, served: str
) -> None:
    conv, question = await surveyed(app, admin, email, smtp_sink)
    four = next(href for href, text in Links(html_of(question)).links if text == "4")
    assert four.startswith(served)  # the link as mailed, straight to the hub
    async with chromium() as browser:
        page = await (await browser.new_context()).new_page()
        await page.goto(four)
        assert await page.is_checked("input[name=score][value='4']")
        assert (await admin.survey_of(conv))["status"] == "sent"  # opening it recorded nothing
        # The customer changes their mind, adds a word and sends.
        await page.click("label.score:has(input[value='5'])")
        await page.fill("#comment", "Fast and kind")
        await page.click("button[type=submit]")
        await page.wait_for_selector("p.done")
        assert await page.inner_text("p.done") == "Thank you for your feedback."
        # The link again, later: already answered.
        await page.goto(four)
        assert await page.inner_text("p.done") == "This survey is already answered. Thank you."
    survey = await admin.survey_of(conv)
    assert (survey["status"], survey["score"], survey["answered_via"], survey["comment"]) == (
        "answered",
        5,
        "link",
        "Fast and kind",
    )
    rated = await admin.conversation(conv)
    assert (rated["csat_score"], rated["csat_comment"]) == (5, "Fast and kind")


async def test_replies_by_mail_a_question_opens_a_conversation_a_score_answers(
    app: Any, admin: Admin, email: EmailChannel, smtp_sink: SmtpSink
) -> None:
    conv, question = await surveyed(app, admin, email, smtp_sink)
    ours = question.message["Message-ID"]
    subject = f"Re: Order 4471 arrived damaged [#SB-{conv}]"
    asked = await mail_in(app, email, "I have another question?", subject=subject, in_reply_to=ours)
    assert asked != conv and (await admin.conversation(asked))["status"] == "queued"
    assert (await admin.survey_of(conv))["status"] == "sent"

    before = await conversation_count(app.hub)
    quoted = f"5\n\nOn Mon, 5 Jan 2026 at 09:00, Acme <{SUPPORT}> wrote:\n> {CSAT_EN}\n"
    await mail_in(app, email, quoted, subject=subject, in_reply_to=ours)
    await settle(app)
    survey = await admin.survey_of(conv)
    assert (survey["status"], survey["score"], survey["answered_via"]) == ("answered", 5, "reply")
    assert await conversation_count(app.hub) == before
    assert plain(smtp_sink.received[-1]).strip() == COMMENT_EN


async def test_after_expiry_the_page_says_so_and_a_5_is_a_message(
    app: Any, admin: Admin, email: EmailChannel, smtp_sink: SmtpSink, clock: Any
) -> None:
    conv, question = await surveyed(app, admin, email, smtp_sink)
    page = f"/s/{await token_of(app.hub, conv)}"
    clock.advance(EXPIRY_HOURS * 3600 + 1)
    await settle(app)
    await admin.relogin()
    assert (await admin.survey_of(conv))["status"] == "expired"
    shown = await app.client.get(f"{page}?score=5")
    assert shown.status_code == 410 and "This survey has expired" in shown.text
    sent = await app.client.post(page, data={"score": "5", "comment": ""})
    assert sent.status_code == 409 and "This survey has expired" in sent.text
    later = await mail_in(app, email, "5", subject="Re: Order", in_reply_to=question.message["Message-ID"])
    assert later != conv and (await admin.conversation(later))["status"] == "queued"
    assert (await admin.survey_of(conv))["score"] is None


def test_arabic_survey_mail_is_right_to_left_and_everything_is_escaped(tmp_path: Path) -> None:
    cfg = EmailConfig.from_section(email_section())
    url = 'https://hub.example.com/s/tok"en<x>'
    message = OutboundMessage(
        message_id=7,
        conversation_id=3,
        channel="email",
        to=MARIA,
        body="ما مدى رضاك عن الخدمة التي تلقيتها؟ <b>",
        meta={
            "survey": {
                "token": "tok",
                "kind": "ces",
                "low": 1,
                "high": 7,
                "url": url,
                "link_text": f"أو أجب من هنا: {url}",
            }
        },
    )
    mail = compose(
        cfg, message, message_id="m@acme.test", subject="Re: x", in_reply_to=None, references=[], now=_NOW
    )
    markup = html_of(mail)
    links = Links(markup)
    assert links.survey_dir == "rtl"
    assert [text for _, text in links.links] == [*map(str, range(1, 8)), url]
    assert [href for href, _ in links.links][:7] == [f"{url}?score={n}" for n in range(1, 8)]
    assert "<x>" not in markup and "&lt;b&gt;" in markup and 'tok&quot;en&lt;x&gt;?score=1"' in markup
    text = plain(mail)
    assert f"7: {url}?score=7" in text and text.rstrip().endswith(f"أو أجب من هنا: {url}")
    # An ordinary reply is untouched.
    ordinary = compose(
        cfg,
        message.model_copy(update={"meta": {}}),
        message_id="n@acme.test",
        subject="Re: x",
        in_reply_to=None,
        references=[],
        now=_NOW,
    )
    assert "score=" not in html_of(ordinary) and plain(ordinary).strip() == message.body


_NOW = datetime.fromisoformat("2026-01-05T09:00:00+00:00")


# -- complaints ----------------------------------------------------------------------------------
async def test_keyword_mail_opens_a_complaint_and_status_is_answered_to_its_owner_only(
    app: Any, admin: Admin, email: EmailChannel, smtp_sink: SmtpSink
) -> None:
    await mail_in(app, email, "I would like to file a complaint: the parcel was crushed.")
    await settle(app)
    (ack,) = await smtp_sink.wait_for(1)
    reference = (await app.client.get("/api/v1/complaints")).json()["items"][0]["reference"]
    assert ack.rcpt_tos == [MARIA] and reference in plain(ack)

    await mail_in(app, email, f"status {reference}", subject="Where is it")
    await settle(app)
    status = (await smtp_sink.wait_for(2))[1]
    assert status.rcpt_tos == [MARIA] and plain(status).startswith(f"Complaint {reference}: received")

    stranger = "mallory@example.net"
    await mail_in(app, email, f"status {reference}", subject="status", sender=stranger)
    await mail_in(app, email, "status C-2026-999999", subject="status", sender=stranger)
    await settle(app)
    other, missing = (await smtp_sink.wait_for(4))[2:]
    assert other.rcpt_tos == missing.rcpt_tos == [stranger]
    assert plain(other) == plain(missing) and plain(other).startswith(NOT_FOUND_EN)
    assert reference not in plain(other)
