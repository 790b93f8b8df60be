"""The IMAP poller against a real Dovecot on 127.0.0.1: IDLE and polling, UID tracking
across restarts (nothing lost, nothing repeated), UIDVALIDITY changes, \\Seen flags,
the whole fixture corpus through a real mailbox, and reconnecting after failures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from channels.email import EmailChannel
from channels.email.imap import ImapPoller
from hub.config import Settings, load_settings
from hub.models import Message
from tests.channels.email_servers import Dovecot, running_dovecot
from tests.channels.test_email_parse import CORPUS

FIXTURES = Path(__file__).parent.parent / "fixtures" / "email"
WAIT = 15.0  # seconds; every wait below is for a condition, bounded by this


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        None, database_url=db_url, data_dir=str(tmp_path / "var"), channels={"loopback": {}, "email": {}}
    )


def section(server: Dovecot, user: str, password: str, **overrides: Any) -> dict[str, Any]:
    return {
        "address": "support@acme.test",
        "smtp_host": "127.0.0.1",
        "smtp_security": "none",
        "imap_host": server.host,
        "imap_port": server.port,
        "imap_security": "none",
        "imap_username": user,
        "imap_password": password,
        "imap_poll_seconds": 3600,  # with IDLE, only a server push can explain new mail
        **overrides,
    }


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def mailbox(dovecot: Dovecot) -> tuple[str, str]:
    return dovecot.add_user()


@pytest.fixture
def email(dovecot: Dovecot, mailbox: tuple[str, str]) -> EmailChannel:
    return EmailChannel.from_config(section(dovecot, *mailbox))


@pytest.fixture
def extra_channels(email: EmailChannel) -> list[Any]:
    return [email]


@pytest.fixture
async def started(app: Any, dovecot: Dovecot) -> AsyncIterator[Any]:
    """Start extra channels inside a test; stopped at the end."""
    channels: list[EmailChannel] = []

    async def start(**overrides: Any) -> EmailChannel:
        user, password = dovecot.add_user()
        channel = EmailChannel.from_config(section(dovecot, user, password, **overrides))
        channel.mailbox = (user, password)  # type: ignore[attr-defined]
        await channel.start(app.hub)
        channels.append(channel)
        return channel

    yield start
    for channel in channels:
        await channel.stop()


def mail(n: int, body: str = "hello", sender: str = "maria@example.com") -> bytes:
    return (
        f"From: Maria <{sender}>\r\nTo: support@acme.test\r\nSubject: Mail {n}\r\n"
        f"Message-ID: <imap-{n}@example.com>\r\nDate: Mon, 05 Jan 2026 09:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body} {n}\r\n"
    ).encode()


async def append(server: Dovecot, box: tuple[str, str], *raws: bytes) -> None:
    await asyncio.to_thread(server.append, *box, *raws)


def poller(channel: EmailChannel) -> ImapPoller:
    assert channel.poller is not None
    return channel.poller


async def wait_uid(channel: EmailChannel, uid: int) -> None:
    p = poller(channel)
    async with asyncio.timeout(WAIT):
        await p.wait_until(lambda: p.last_uid >= uid)


async def bodies(hub: Any) -> list[str]:
    async with hub.db.session() as s:
        rows = await s.exec(select(Message.body).order_by(col(Message.id)))
        return list(rows.all())


def state_file(app: Any) -> Path:
    (path,) = (Path(app.hub.settings.data_dir) / "email").glob("imap-*.json")
    return path


# -- tests ---------------------------------------------------------------------------------
async def test_idle_picks_up_new_mail_and_marks_it_seen(
    app: Any,
    email: EmailChannel,
    dovecot: Dovecot,
    mailbox: tuple[str, str],
) -> None:
    async with asyncio.timeout(WAIT):
        await poller(email).idling.wait()  # connected, synced, waiting for a push
    await append(dovecot, mailbox, mail(1), mail(2))
    await wait_uid(email, 2)
    assert await bodies(app.hub) == ["hello 1", "hello 2"]
    async with app.hub.db.session() as s:
        m = (await s.exec(select(Message).order_by(col(Message.id)))).first()
    assert m is not None and m.meta["source"] == "imap" and m.provider_message_id == "imap-1@example.com"
    flags = await asyncio.to_thread(dovecot.flags, *mailbox)
    assert all("\\Seen" in f for f in flags.values()) and len(flags) == 2


async def test_restart_neither_loses_nor_repeats_mail(
    app: Any,
    email: EmailChannel,
    dovecot: Dovecot,
    mailbox: tuple[str, str],
) -> None:
    async with asyncio.timeout(WAIT):
        await poller(email).idling.wait()
    await append(dovecot, mailbox, mail(1), mail(2))
    await wait_uid(email, 2)
    await email.stop()

    # While the hub is down, mail keeps arriving; and the crash lost the record of UID 2
    # (committed to the database, not yet to the state file).
    await append(dovecot, mailbox, mail(3), mail(4))
    path = state_file(app)
    state = json.loads(path.read_text())
    assert state["last_uid"] == 2
    path.write_text(json.dumps({**state, "last_uid": 1}))

    await email.start(app.hub)
    await wait_uid(email, 4)
    assert await bodies(app.hub) == ["hello 1", "hello 2", "hello 3", "hello 4"]  # 2 dropped as duplicate
    assert json.loads(path.read_text()) == {**state, "last_uid": 4}


async def test_changed_uidvalidity_rereads_the_folder_without_duplicates(
    app: Any,
    email: EmailChannel,
    dovecot: Dovecot,
    mailbox: tuple[str, str],
) -> None:
    async with asyncio.timeout(WAIT):
        await poller(email).idling.wait()
    await append(dovecot, mailbox, mail(1))
    await wait_uid(email, 1)
    await email.stop()
    path = state_file(app)
    real = json.loads(path.read_text())
    path.write_text(json.dumps({"uidvalidity": real["uidvalidity"] + 1, "last_uid": 50}))
    await append(dovecot, mailbox, mail(2))
    await email.start(app.hub)
    await wait_uid(email, 2)
    assert await bodies(app.hub) == ["hello 1", "hello 2"]
    assert json.loads(path.read_text()) == {"uidvalidity": real["uidvalidity"], "last_uid": 2}


async def test_polling_when_idle_is_off(app: Any, started: Any, dovecot: Dovecot) -> None:
    channel = await started(imap_idle=False, imap_poll_seconds=0.1)
    p = poller(channel)
    async with asyncio.timeout(WAIT):
        await p.wait_until(lambda: p.passes >= 1)
    assert not p.idling.is_set()
    await append(dovecot, channel.mailbox, mail(7))  # type: ignore[attr-defined]
    await wait_uid(channel, 1)
    assert await bodies(app.hub) == ["hello 7"]


async def test_first_run_takes_unread_mail_only(app: Any, dovecot: Dovecot) -> None:
    box = dovecot.add_user()

    def seed() -> None:
        conn = dovecot._imap(*box)
        try:
            conn.append("INBOX", "(\\Seen)", None, mail(1, "already read"))
            conn.append("INBOX", None, None, mail(2, "unread"))
        finally:
            conn.logout()

    await asyncio.to_thread(seed)
    channel = EmailChannel.from_config(section(dovecot, *box, imap_mark_seen=False))
    await channel.start(app.hub)
    try:
        await wait_uid(channel, 2)
    finally:
        await channel.stop()
    assert await bodies(app.hub) == ["unread 2"]
    flags = await asyncio.to_thread(dovecot.flags, *box)
    assert "\\Seen" not in flags[2]  # imap_mark_seen = false leaves it unread


async def test_the_corpus_through_a_real_mailbox(
    app: Any,
    email: EmailChannel,
    dovecot: Dovecot,
    mailbox: tuple[str, str],
) -> None:
    files = sorted(FIXTURES.glob("*.eml"))
    await append(dovecot, mailbox, *(f.read_bytes() for f in files))
    await wait_uid(email, len(files))
    async with app.hub.db.session() as s:
        stored = {m.provider_message_id: m for m in (await s.exec(select(Message))).all()}
    ignored = {
        "auto_replied.eml", "x_autoreply.eml", "precedence_bulk.eml", "list_mail.eml", "mailer_daemon.eml",
        "read_receipt.eml", "dsn_postfix.eml", "dsn_gmail.eml",
    }  # fmt: skip
    assert len(stored) == len(files) - len(ignored)
    texts = "\n".join(m.meta["full_text"] for m in stored.values())
    for name in {f.name for f in files} - ignored:
        assert CORPUS[name][0] in texts, name


async def test_bad_credentials_back_off_and_report(app: Any, dovecot: Dovecot) -> None:
    user, _ = dovecot.add_user()
    channel = EmailChannel.from_config(section(dovecot, user, "wrong-password"))
    await channel.start(app.hub)
    try:
        p = poller(channel)
        async with asyncio.timeout(WAIT):
            await p.wait_until(lambda: p.failures >= 1)
        assert p.last_error is not None and "LOGIN failed" in p.last_error
    finally:
        await channel.stop()  # promptly, even in the middle of a backoff


async def test_a_mail_whose_ingest_fails_is_fetched_again(
    app: Any, email: EmailChannel, dovecot: Dovecot, mailbox: tuple[str, str], monkeypatch: pytest.MonkeyPatch
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
    p = poller(email)
    async with asyncio.timeout(WAIT):
        await p.idling.wait()
    await append(dovecot, mailbox, mail(1), mail(2))
    async with asyncio.timeout(WAIT):
        await p.wait_until(lambda: p.failures >= 1)
    assert p.last_uid == 0  # nothing recorded: the failed mail was not committed
    await wait_uid(email, 2)  # reconnected after the backoff, fetched UID 1 again
    assert await bodies(app.hub) == ["hello 1", "hello 2"] and calls == 3
