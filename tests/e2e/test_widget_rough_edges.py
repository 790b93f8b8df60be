"""Issue 16's widget rough edges, in headless Chromium through the real loader:

- an empty pre-chat submit flags every required field (the name too), not only the
  message, in the widget's language;
- with nobody there and no email channel, the offline form neither asks for an email
  nor promises an answer by email, and no "number 1 in the queue" follows it;
- after a reload, a rating still asked for and the offline form come one at a time (the
  conversation keeps its room) and the "conversation was closed" line is still there.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import expect

from channels.webchat import WebchatChannel
from hub.models import User
from hub.services import SYSTEM
from hub.services.access import actor_for
from hub.services.conversations import assign, reply, resolve
from hub.services.users import set_presence
from tests.browser_support import chromium
from tests.channels.webchat_support import free_port, host_site, make_channel, mount_page
from tests.e2e.test_widget_browser import FRAME, only_conversation
from tests.helpers import team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite only: the widget reads the same API on both (covered elsewhere)."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def routing_enabled() -> bool:
    # Routing knows nobody is signed in (the widget goes offline) and sends the place in line.
    return True


@pytest.fixture
def host_socket() -> Iterator[tuple[socket.socket, int]]:
    sock, port = free_port()
    yield sock, port
    sock.close()


@pytest.fixture
def channel(host_socket: tuple[socket.socket, int]) -> WebchatChannel:
    origin = f"http://localhost:{host_socket[1]}"
    required = {"name": "required", "email": "required"}
    return make_channel(
        queue_refresh_seconds=0.2,
        acme={"allowed_origins": [origin], "prechat": required, "topics": {}},
        extra_sites={
            "acme-ar": {
                "name": "أكمي",
                "allowed_origins": [origin],
                "team": "Support",
                "language": "ar",
                "prechat": required,
            },
            "acme-quick": {
                "name": "Acme",
                "allowed_origins": [origin],
                "team": "Support",
                "prechat": {"name": "required", "email": "optional"},
            },
        },
    )


@pytest.fixture
def extra_channels(channel: WebchatChannel) -> list[Any]:
    return [channel]  # no email channel


@pytest.mark.parametrize(
    ("site", "errors"),
    [
        (
            "acme",
            {
                "name": "please enter your name",
                "email": "please enter an email address",
                "message": "please write your message",
            },
        ),
        (
            "acme-ar",
            {
                "name": "يرجى إدخال اسمك.",
                "email": "يرجى إدخال بريد إلكتروني.",
                "message": "يرجى كتابة رسالتك.",
            },
        ),
    ],
)
async def test_an_empty_prechat_submit_flags_every_required_field(
    live: Any,
    channel: WebchatChannel,
    host_socket: tuple[socket.socket, int],
    site: str,
    errors: dict[str, str],
) -> None:
    hub = live.app.hub
    mount_page(live.app, channel)
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,))
    await set_presence(hub, SYSTEM, ana, "available", reason="test")  # online: the pre-chat form
    await hub.routing.idle()
    async with host_site(host_socket[0], live.base) as host, chromium() as browser:
        ctx = await browser.new_context(viewport={"width": 390, "height": 844})
        page = await ctx.new_page()
        await page.goto(f"{host}/?site={site}")
        w = page.frame_locator(FRAME)
        await w.locator("#launcher").click()
        await expect(w.locator("#prechat")).to_be_visible()
        await w.locator("#prechat button[type=submit]").click()
        for name, text in errors.items():
            await expect(w.locator(f"#prechat [data-field={name}] .field-error")).to_have_text(text)
            await expect(w.locator(f"#prechat [data-field={name}] [name]")).to_have_attribute(
                "aria-invalid", "true"
            )
        # The first refused field has the focus; nothing was sent.
        await expect(w.locator("#prechat [name=name]")).to_be_focused()
        await expect(w.locator(".msg")).to_have_count(0)
        # Filled in, the errors go and the chat starts.
        await w.locator("#prechat [name=name]").fill("Sam")
        await w.locator("#prechat [name=email]").fill("sam@example.com")
        await w.locator("#prechat [name=message]").fill("Hello")
        await w.locator("#prechat button[type=submit]").click()
        await expect(w.locator(".msg.you .body")).to_have_text(["Hello"])
        await expect(w.locator("#prechat")).to_have_count(0)
        await ctx.close()


async def test_offline_without_email_then_rating_and_offline_form_one_at_a_time(
    live: Any, channel: WebchatChannel, host_socket: tuple[socket.socket, int]
) -> None:
    hub = live.app.hub
    mount_page(live.app, channel)
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", name="Ana Lima", team_ids=(support,))
    async with host_site(host_socket[0], live.base) as host, chromium() as browser:
        ctx = await browser.new_context(viewport={"width": 390, "height": 844})
        page = await ctx.new_page()
        queue_frames: list[dict[str, Any]] = []
        queue_seen = asyncio.Event()

        def watch(ws: Any) -> None:
            def received(payload: Any) -> None:
                frame = json.loads(payload) if isinstance(payload, str) else {}
                if frame.get("type") == "queue":
                    queue_frames.append(frame)
                    queue_seen.set()

            ws.on("framereceived", received)

        page.on("websocket", watch)
        await page.goto(f"{host}/?site=acme-quick")
        w = page.frame_locator(FRAME)
        await w.locator("#launcher").click()

        # -- nobody signed in, no email channel: the answer will come here, not by email
        offline = w.locator("#offline")
        await expect(offline).to_be_visible()
        await expect(offline.locator(".intro")).to_have_text(
            "Leave a message and we will answer here, in this chat, when we are back."
        )
        # The address is asked as the site's chat asks it (optional), not demanded.
        await expect(offline.locator("[data-field=email] .optional")).to_be_visible()
        # Empty submit: the name (required by the site) and the message, both flagged.
        await offline.locator("button[type=submit]").click()
        await expect(offline.locator("[data-field=name] .field-error")).to_have_text("please enter your name")
        await expect(offline.locator("[data-field=message] .field-error")).to_have_text(
            "please write your message"
        )
        await expect(offline.locator("[data-field=email] .field-error")).to_be_hidden()
        await offline.locator("[name=name]").fill("Noor")
        await offline.locator("[name=message]").fill("Please call me back")
        await offline.locator("button[type=submit]").click()
        await expect(offline.locator(".done")).to_have_text(
            "Thanks! We received your message. Our answer will appear in this chat when we are back."
        )
        conv = await only_conversation(hub)
        assert conv.status == "queued"
        # The hub does tell the widget its place in line; the widget does not show it.
        await asyncio.wait_for(queue_seen.wait(), 10)
        assert queue_frames[-1]["conversation_id"] == conv.id and queue_frames[-1]["position"] == 1
        await expect(w.locator("#queue")).to_be_hidden()

        # -- an agent answers and closes it while the visitor is away
        await assign(hub, SYSTEM, conv.id, ana)  # type: ignore[arg-type]
        async with hub.db.session() as s:
            agent = await actor_for(s, await s.get(User, ana))
        await reply(hub, agent, conv.id, "We called you, all sorted.")  # type: ignore[arg-type]
        await expect(w.locator(".msg.agent .body")).to_have_text(["We called you, all sorted."])
        await resolve(hub, SYSTEM, conv.id)  # type: ignore[arg-type]
        await expect(w.locator(".msg.note.closed-line")).to_have_text(["This conversation was closed."])
        await expect(w.locator("#survey")).to_be_visible()

        # -- reload: the closed line is still there; one card, the rating, then the form
        await page.reload()
        w = page.frame_locator(FRAME)
        await w.locator("#launcher").click()
        await expect(w.locator("#log > li")).to_have_count(3)  # the message, the reply, closed
        await expect(w.locator("#log > li").last).to_have_text("This conversation was closed.")
        await expect(w.locator("#survey")).to_be_visible()
        await expect(w.locator("#offline")).to_have_count(0)
        await expect(w.locator(".card:visible")).to_have_count(1)
        log_box = await w.locator("#log").bounding_box()
        panel_box = await w.locator("#panel").bounding_box()
        assert log_box and panel_box and log_box["height"] >= 0.29 * panel_box["height"], (log_box, panel_box)
        await w.locator("#survey-later").click()
        await expect(w.locator("#survey")).to_have_count(0)
        await expect(w.locator("#offline")).to_be_visible()
        await expect(w.locator(".card:visible")).to_have_count(1)
        await expect(w.locator(".msg.note.closed-line")).to_have_text(["This conversation was closed."])
        await ctx.close()
