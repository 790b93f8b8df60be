"""The widget in headless Chromium, embedded in a page served from another origin.

The visitor uses the real widget (loader + iframe). The agent is a second browser
context; until the rebuilt console lands it works through the hub's REST API from a
page on the hub's origin (see ``RestAgent`` — the one place to switch to the console).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from channels.webchat import WebchatChannel
from hub.models import Conversation
from tests.browser_support import chromium
from tests.channels.webchat_support import free_port, host_site, make_channel, mount_page
from tests.helpers import PASSWORD, team, user

pytestmark = pytest.mark.browser

FRAME = "iframe[data-switchboard-widget]"
TOKEN_KEY = "sb-widget:acme:token"


@pytest.fixture
def host_socket() -> Iterator[tuple[socket.socket, int]]:
    sock, port = free_port()
    yield sock, port
    sock.close()


@pytest.fixture
def channel(host_socket: tuple[socket.socket, int]) -> WebchatChannel:
    origin = f"http://localhost:{host_socket[1]}"
    return make_channel(
        acme={
            "allowed_origins": [origin],
            "prechat": {"name": "optional", "email": "optional"},
            "topics": {},
        },
        extra_sites={
            "acme-ar": {
                "name": "أكمي",
                "allowed_origins": [origin],
                "team": "Support",
                "language": "ar",
                "position": "left",
            }
        },
    )


@pytest.fixture
def extra_channels(channel: WebchatChannel) -> list[Any]:
    return [channel]


class RestAgent:
    """An agent in their own browser context, acting through the REST API.

    Signs in like the login page does (POST /api/v1/auth/login, then the CSRF token
    on every write) from a page on the hub's origin. Swap for the console UI later.
    """

    def __init__(self, page: Any, csrf: str) -> None:
        self.page = page
        self.csrf = csrf

    @classmethod
    async def sign_in(cls, browser: Any, base: str, email: str) -> RestAgent:
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(f"{base}/login")
        csrf = await page.evaluate(
            """async ([email, password]) => {
                const r = await fetch('/api/v1/auth/login', {method: 'POST',
                    headers: {'content-type': 'application/json'}, body: JSON.stringify({email, password})});
                return (await r.json()).csrf_token;
            }""",
            [email, PASSWORD],
        )
        return cls(page, csrf)

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        result = await self.page.evaluate(
            """async ([method, path, body, csrf]) => {
                const r = await fetch('/api/v1' + path, {method, body: body ? JSON.stringify(body) : undefined,
                    headers: {'content-type': 'application/json', 'x-csrf-token': csrf}});
                return {status: r.status, data: await r.json()};
            }""",
            [method, path, body, self.csrf],
        )
        assert result["status"] < 300, result
        return result["data"]

    async def take(self, conversation_id: int, user_id: int) -> None:
        await self.call("POST", f"/conversations/{conversation_id}/assign", {"user_id": user_id})

    async def reply(self, conversation_id: int, body: str) -> None:
        await self.call("POST", f"/conversations/{conversation_id}/reply", {"body": body})

    async def resolve(self, conversation_id: int) -> None:
        await self.call("POST", f"/conversations/{conversation_id}/resolve", {})


async def only_conversation(hub: Any) -> Conversation:
    async with hub.db.session() as s:
        rows = (await s.exec(select(Conversation))).all()
    assert len(rows) == 1
    return rows[0]


def widget_frame(page: Any) -> Any:
    return page.frame(url=re.compile(r"/widget/frame"))


async def test_visitor_and_agent_chat_in_two_browsers(
    live: Any, channel: WebchatChannel, host_socket: tuple[socket.socket, int]
) -> None:
    from playwright.async_api import expect

    hub = live.app.hub
    mount_page(live.app, channel)
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", name="Ana Lima", team_ids=(support,))
    async with host_site(host_socket[0], live.base) as site, chromium() as browser:
        # -- the visitor on the third-party site
        visitor_ctx = await browser.new_context()
        page = await visitor_ctx.new_page()
        await page.goto(f"{site}/?site=acme")
        w = page.frame_locator(FRAME)
        await w.locator("#launcher").click()
        await w.locator("#prechat [name=name]").fill("Sam")
        await w.locator("#prechat [name=email]").fill("sam-at-example")
        await w.locator("#prechat [name=message]").fill("Hello, where is my order?")
        await w.locator("#prechat button[type=submit]").click()
        # The hub's validation message, under the field; nothing was stored.
        await expect(w.locator("#prechat [data-field=email] .field-error")).to_have_text(
            "this does not look like an email address (like name@example.com)"
        )
        await expect(w.locator(".msg")).to_have_count(0)
        await w.locator("#prechat [name=email]").fill("sam@example.com")
        await w.locator("#prechat button[type=submit]").click()
        await expect(w.locator(".msg.you .body")).to_have_text(["Hello, where is my order?"])
        await expect(w.locator(".msg.you")).not_to_have_class(re.compile("pending"))
        conv = await only_conversation(hub)
        assert conv.channel == "webchat" and conv.team_id == support

        # -- the agent, in a second browser context
        agent = await RestAgent.sign_in(browser, live.base, "ana@example.com")
        await agent.take(conv.id, ana)  # type: ignore[arg-type]
        await expect(w.locator(".msg.note")).to_have_text(["Ana joined the chat."])
        await agent.reply(conv.id, "Hi Sam! It ships <b>today</b>.")  # type: ignore[arg-type]
        agent_msg = w.locator(".msg.agent")
        await expect(agent_msg.locator(".body")).to_have_text(
            "Hi Sam! It ships <b>today</b>."
        )  # text, not HTML
        await expect(agent_msg.locator(".who")).to_have_text("Ana")
        assert await agent_msg.locator(".body").get_attribute("dir") == "auto"
        assert await agent_msg.locator("b").count() == 0

        # -- reload: the same visitor, with their history
        await page.reload()
        w = page.frame_locator(FRAME)
        await w.locator("#launcher").click()
        await expect(w.locator(".msg .body")).to_have_text(
            ["Hello, where is my order?", "Hi Sam! It ships <b>today</b>."]
        )
        await expect(w.locator("#prechat")).to_have_count(0)
        # Kept in the host page's own storage (third-party storage is blocked here).
        token = await page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')")
        assert token and token.startswith("v1.")

        # -- a second visitor sees nothing of the first, even with a forged token
        other_ctx = await browser.new_context()
        other = await other_ctx.new_page()
        await other.goto(f"{site}/?site=acme")
        ow = other.frame_locator(FRAME)
        await ow.locator("#launcher").click()
        await expect(ow.locator("#prechat")).to_be_visible()
        await expect(ow.locator(".msg")).to_have_count(0)
        frame = widget_frame(other)
        own = await other.evaluate(f"localStorage.getItem('{TOKEN_KEY}')")
        version, body, _mac = token.split(".")
        own_body = own.split(".")[1]
        forged = f"{version}.{body}.{own.split('.')[2]}"  # the first visitor's claims, my signature
        probes = await frame.evaluate(
            """async ([forged, own, convId]) => {
                const api = '/channels/webchat/s/acme';
                const h = (t) => ({authorization: 'Bearer ' + t, 'content-type': 'application/json'});
                const hist = await fetch(api + '/history', {headers: h(forged)});
                const csat = await fetch(api + '/csat', {method: 'POST', headers: h(own),
                    body: JSON.stringify({conversation_id: convId, score: 1})});
                const mine = await (await fetch(api + '/history', {headers: h(own)})).json();
                return [hist.status, csat.status, (await csat.json()).error.code, mine.messages.length];
            }""",
            [forged, own, conv.id],
        )
        assert probes == [401, 404, "not_your_conversation", 0]
        assert own_body != body
        # A tampered token in storage: refused, dropped, and the widget starts afresh.
        await other.evaluate(f"localStorage.setItem('{TOKEN_KEY}', {forged!r})")
        await other.reload()
        ow = other.frame_locator(FRAME)
        await ow.locator("#launcher").click()
        await expect(ow.locator("#prechat")).to_be_visible()
        await expect(ow.locator(".msg")).to_have_count(0)
        fresh = await other.evaluate(f"localStorage.getItem('{TOKEN_KEY}')")
        assert fresh and fresh not in (forged, token)

        # -- the agent resolves: the first visitor rates the conversation
        await agent.resolve(conv.id)  # type: ignore[arg-type]
        await expect(w.locator("#survey")).to_be_visible()
        await w.locator("#survey .star[data-score='4']").click()
        await w.locator("#survey-comment").fill("Quick and kind")
        await w.locator("#survey button[type=submit]").click()
        await expect(w.locator("#survey-done")).to_be_visible()
        async with hub.db.session() as s:
            rated = await s.get(Conversation, conv.id)
        assert rated is not None and (rated.csat_score, rated.csat_comment) == (4, "Quick and kind")
        for ctx in (visitor_ctx, other_ctx, agent.page.context):
            await ctx.close()


async def test_arabic_widget_is_right_to_left(
    live: Any, channel: WebchatChannel, host_socket: tuple[socket.socket, int]
) -> None:
    from playwright.async_api import expect

    mount_page(live.app, channel)
    async with host_site(host_socket[0], live.base) as site, chromium() as browser:
        ctx = await browser.new_context()
        page = await ctx.new_page()
        await page.goto(f"{site}/?site=acme-ar")
        w = page.frame_locator(FRAME)
        await expect(w.locator("html")).to_have_attribute("dir", "rtl")
        await expect(w.locator("html")).to_have_attribute("lang", "ar")
        await expect(w.locator("#launcher")).to_have_attribute("aria-label", "تحدث معنا")
        # The site puts the widget on the left; the frame tells the loader so.
        iframe = page.locator(FRAME)
        await expect(iframe).to_have_css("left", "16px")
        await w.locator("#launcher").click()
        await expect(w.locator("#subtitle")).to_have_text("مرحبًا! كيف يمكننا مساعدتك اليوم؟")
        await w.locator("#input").fill("مرحبا، أحتاج مساعدة")
        await w.locator("#send").click()
        await expect(w.locator(".msg.you .body")).to_have_text("مرحبا، أحتاج مساعدة")
        await ctx.close()


async def test_long_poll_fallback_in_the_browser(
    live: Any, channel: WebchatChannel, host_socket: tuple[socket.socket, int]
) -> None:
    from playwright.async_api import expect

    hub = live.app.hub
    mount_page(live.app, channel)
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,))
    async with host_site(host_socket[0], live.base) as site, chromium() as browser:
        ctx = await browser.new_context()
        page = await ctx.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        await page.goto(f"{site}/?site=acme&transport=poll")
        w = page.frame_locator(FRAME)
        await w.locator("#launcher").click()
        await w.locator("#prechat [name=message]").fill("no websockets here")
        await w.locator("#prechat button[type=submit]").click()
        await expect(w.locator(".msg.you")).not_to_have_class(re.compile("pending"))
        conv = await only_conversation(hub)
        agent = await RestAgent.sign_in(browser, live.base, "ana@example.com")
        await agent.take(conv.id, ana)  # type: ignore[arg-type]
        await agent.reply(conv.id, "got it over long polling")  # type: ignore[arg-type]
        await expect(w.locator(".msg.agent .body")).to_have_text("got it over long polling")
        assert sockets == []
        await ctx.close()
        await agent.page.context.close()
