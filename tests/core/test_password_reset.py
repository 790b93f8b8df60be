"""Password reset by email, through a real SMTP server (aiosmtpd) configured as the
email channel's: the answer never tells whether an address has an account, the
mailed link works once and for 30 minutes, and an admin can force a reset (mailed,
or handed to the admin when no mail is set up). SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from channels.email import EmailChannel
from hub.models import Role
from hub.services import SYSTEM
from hub.services.users import update_user
from tests.channels.email_servers import Received, SmtpSink, running_sink
from tests.helpers import PASSWORD, login, user

NEW = "a brand new passphrase"


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    async with running_sink() as sink:
        yield sink


@pytest.fixture
def mail_enabled() -> bool:
    """Parametrize to False for a hub without an email channel."""
    return True


@pytest.fixture
def extra_channels(mail_enabled: bool, request: pytest.FixtureRequest) -> list[Any]:
    """The email channel, sending through the sink."""
    if not mail_enabled:
        return []
    sink: SmtpSink = request.getfixturevalue("smtp_sink")
    section = {
        "address": "support@acme.test",
        "company_name": "Acme",
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "smtp_security": "none",
        "smtp_timeout_seconds": 5,
    }
    return [EmailChannel.from_config(section)]


def token_in(mail: Received) -> str:
    body = mail.message.get_body(("plain",))
    assert body is not None
    found = re.search(r"http://\S+/reset-password#token=(\S+)", body.get_content())
    assert found, body.get_content()
    return found.group(1)


async def ask_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/api/v1/auth/password-reset", json={"email": email})


async def confirm(client: httpx.AsyncClient, token: str, password: str = NEW) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": password}
    )


async def drained(app: Any) -> None:
    await app.app.state.staff_mailer.drain()


async def test_the_answer_is_the_same_for_known_and_unknown_addresses(app: Any, smtp_sink: SmtpSink) -> None:
    await user(app.hub, "ana@example.com", name="Ana")
    gone = await user(app.hub, "gone@example.com")
    await update_user(app.hub, SYSTEM, gone, {"active": False})
    answers = [
        await ask_reset(app.client, e) for e in ("ANA@example.com", "nobody@example.com", "gone@example.com")
    ]
    assert {(r.status_code, r.text) for r in answers} == {(202, '{"accepted":true}')}
    await drained(app)
    assert [m.rcpt_tos for m in smtp_sink.received] == [["ana@example.com"]]
    mail = smtp_sink.received[0].message
    assert mail["Subject"] == "Reset your Switchboard password" and "support@acme.test" in mail["From"]
    assert mail["Auto-Submitted"] == "auto-generated"
    assert "within 30 minutes" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_the_mail_is_sent_after_the_answer(app: Any, smtp_sink: SmtpSink) -> None:
    """The lookup and the SMTP conversation happen in the background: the answer does
    not wait for them (so its timing cannot tell a known address)."""
    await user(app.hub, "ana@example.com")
    gate = asyncio.Event()
    accept = smtp_sink.handle_DATA

    async def held(*args: Any) -> str:
        await gate.wait()
        return await accept(*args)

    smtp_sink.handle_DATA = held  # type: ignore[method-assign]
    r = await ask_reset(app.client, "ana@example.com")
    assert r.status_code == 202 and smtp_sink.received == []  # answered while the mail is held
    gate.set()
    assert len(await smtp_sink.wait_for(1)) == 1


async def test_the_link_sets_a_new_password_once_and_ends_every_session(
    app: Any, smtp_sink: SmtpSink
) -> None:
    await user(app.hub, "ana@example.com")
    await login(app.client, "ana@example.com")
    await ask_reset(app.new_client(), "ana@example.com")
    await drained(app)
    token = token_in(smtp_sink.received[0])
    stranger = app.new_client()
    weak = await confirm(stranger, token, "qwertyuiop1")
    assert weak.status_code == 422 and weak.json()["error"]["reason"] == "common"  # the link survives
    assert (await confirm(stranger, token)).status_code == 204
    assert (await app.client.get("/api/v1/auth/me")).status_code == 401
    await login(stranger, "ana@example.com", NEW)
    again = await confirm(app.new_client(), token, "yet another passphrase")
    assert again.status_code == 410 and again.json()["error"]["code"] == "reset_link_expired"


async def test_a_link_expires_after_30_minutes(app: Any, smtp_sink: SmtpSink, clock: Any) -> None:
    await user(app.hub, "ana@example.com")
    await ask_reset(app.client, "ana@example.com")
    await drained(app)
    clock.advance(30 * 60)
    r = await confirm(app.client, token_in(smtp_sink.received[0]))
    assert r.status_code == 410
    await login(app.new_client(), "ana@example.com")  # nothing changed


async def test_any_password_change_kills_open_links(app: Any, smtp_sink: SmtpSink) -> None:
    await user(app.hub, "ana@example.com")
    await ask_reset(app.client, "ana@example.com")
    await drained(app)
    csrf = await login(app.client, "ana@example.com")
    r = await app.client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW}, headers=csrf
    )
    assert r.status_code == 200
    assert (
        await confirm(app.new_client(), token_in(smtp_sink.received[0]), "someone else's pick")
    ).status_code == 410


async def test_reset_requests_are_limited(app: Any, smtp_sink: SmtpSink) -> None:
    await user(app.hub, "ana@example.com")
    answers = [(await ask_reset(app.client, "ana@example.com")).status_code for _ in range(11)]
    assert answers == [202] * 10 + [429]  # per client address
    await drained(app)
    assert len(smtp_sink.received) == 3  # per account, the extra ones are dropped silently


async def test_an_admin_forces_a_reset_and_the_user_gets_the_link(app: Any, smtp_sink: SmtpSink) -> None:
    ana = await user(app.hub, "ana@example.com", language="ar")
    await user(app.hub, "root@example.com", role=Role.admin)
    agent = app.new_client()
    agent_csrf = await login(agent, "ana@example.com")
    secret = (await agent.post("/api/v1/auth/tokens", json={"name": "bot"}, headers=agent_csrf)).json()[
        "token"
    ]
    csrf = await login(app.client, "root@example.com")
    r = await app.client.post(
        f"/api/v1/users/{ana}/password-reset", json={"revoke_tokens": True}, headers=csrf
    )
    assert r.status_code == 200, r.text
    assert r.json()["mailed"] is True and r.json()["reset_url"] is None
    assert (await agent.get("/api/v1/auth/me")).status_code == 401  # signed out
    assert (
        await agent.get("/api/v1/auth/me", headers={"authorization": f"Bearer {secret}"})
    ).status_code == 401
    bad = await app.new_client().post(
        "/api/v1/auth/login", json={"email": "ana@example.com", "password": PASSWORD}
    )
    assert bad.status_code == 401  # the old password is gone
    mail = smtp_sink.received[0]
    assert mail.message["Subject"] == "إعادة تعيين كلمة مرور سويتشبورد"  # in the user's language
    assert (await confirm(app.new_client(), token_in(mail))).status_code == 204
    await login(app.new_client(), "ana@example.com", NEW)


@pytest.mark.parametrize("mail_enabled", [False])
async def test_without_mail_the_admin_gets_the_link(app: Any) -> None:
    ana = await user(app.hub, "ana@example.com")
    await user(app.hub, "root@example.com", role=Role.admin)
    csrf = await login(app.client, "root@example.com")
    assert (await ask_reset(app.new_client(), "ana@example.com")).status_code == 202  # nothing to mail with
    await drained(app)
    r = await app.client.post(f"/api/v1/users/{ana}/password-reset", json={}, headers=csrf)
    body = r.json()
    assert r.status_code == 200 and body["mailed"] is False and "channels.email" in body["mail_error"]
    assert body["reset_url"].startswith(f"{app.hub.settings.base_url}/reset-password#token=")
    token = body["reset_url"].split("#token=", 1)[1]
    assert (await confirm(app.new_client(), token)).status_code == 204
    await login(app.new_client(), "ana@example.com", NEW)
