"""Team chat in the console: two agents exchange an internal message live — Ana in
English on a 1440 px desktop, Bob in Arabic on a 390 px phone (the chat fills the
screen; nothing scrolls sideways). Ana starts a direct message from the dialog,
mentions Bob and names a conversation; Bob's unread badge counts it, he opens it and
sees the conversation's card, answers, and Ana sees the answer arrive."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from hub.services import SYSTEM
from hub.services.conversations import assign
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


async def _no_sideways_scroll(page: Any) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def test_two_agents_exchange_an_internal_message_live(live: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad", language="en")
    bob = await user(hub, "bob@example.com", team_ids=(support,), name="Bob Saleh", language="ar")
    conv = (await inbound(live.app.client, "cust-1", "Where is my parcel?", sender_name="Layla"))[
        "conversation_id"
    ]
    await assign(hub, SYSTEM, conv, bob)

    async with chromium() as browser:
        ana, ana_watch = await open_page(
            browser, live, "ana@example.com", "/console", viewport={"width": 1440, "height": 900}
        )
        bob_page, bob_watch = await open_page(
            browser, live, "bob@example.com", "/console", viewport={"width": 390, "height": 844}
        )
        await expect(bob_page.locator("html")).to_have_attribute("dir", "rtl")
        await expect(ana.locator("#ch-toggle")).to_have_attribute("title", "Team chat")
        await expect(bob_page.locator("#ch-toggle")).to_have_attribute("title", "محادثة الفريق")

        # Ana (English, desktop) starts a direct message with Bob.
        await ana.locator("#ch-toggle").click()
        await expect(ana.locator("#ch-panel")).to_be_visible()
        await ana.locator("#ch-new").click()
        dialog = ana.locator("#ch-dm-dialog")
        await dialog.locator("select").select_option(str(bob))
        await dialog.locator("button[type=submit]").click()
        await expect(ana.locator("#ch-room-title")).to_have_text("Bob Saleh")
        text = ana.locator("#ch-text")
        await text.fill("")
        await text.type("Hi @bo")
        suggestion = ana.locator("#ch-suggest li").first
        await expect(suggestion).to_contain_text("Bob Saleh")
        await text.press("Enter")  # picks the mention
        await expect(text).to_have_value("Hi @bob ")
        await text.type(f"can you look at #{conv}? <b>bold</b>")
        await text.press("Enter")  # sends
        await expect(text).to_have_value("")
        mine = ana.locator("#ch-messages .ch-msg.mine")
        await expect(mine).to_have_count(1)
        await expect(mine.locator(".ch-text")).to_have_text(f"Hi @bob can you look at #{conv}? <b>bold</b>")
        await expect(mine.locator(".ch-text b")).to_have_count(0)  # text, never markup

        # Bob (Arabic, phone): the badge counts it live; the chat fills the screen.
        badge = bob_page.locator("#ch-toggle .ch-badge")
        await expect(badge).to_have_text("1")
        await bob_page.locator("#ch-toggle").click()
        panel = await bob_page.locator("#ch-panel").bounding_box()
        assert panel is not None and panel["width"] == 390
        room = bob_page.locator("#ch-room-list .ch-room-item.unread")
        await expect(room).to_contain_text("Ana Haddad")
        await expect(room.locator(".ch-unread")).to_have_text("1")
        await _no_sideways_scroll(bob_page)
        await room.click()
        await expect(bob_page.locator("#ch-room-list")).to_be_hidden()  # one side at a time
        message = bob_page.locator("#ch-messages .ch-msg").first
        await expect(message.locator(".ch-text")).to_have_attribute("dir", "auto")
        await expect(message.locator("mark.mention")).to_have_text("@bob")
        card = message.locator(f'.ch-card[data-conversation-id="{conv}"]')
        await expect(card).to_contain_text("Layla")
        await expect(badge).to_be_hidden()  # read on opening
        await _no_sideways_scroll(bob_page)
        await bob_page.locator("#ch-text").fill("حاضر، أتابعها الآن")
        await bob_page.locator("#ch-send").click()

        # Ana sees the answer arrive while her room is open.
        reply = ana.locator("#ch-messages .ch-msg:not(.mine) .ch-text")
        await expect(reply).to_have_text("حاضر، أتابعها الآن")
        await expect(ana.locator("#ch-toggle .ch-badge")).to_be_hidden()
        await _no_sideways_scroll(ana)

        # Bob's card opens the conversation in the console.
        await card.click()
        await expect(bob_page.locator("#ch-panel")).to_be_hidden()
        await expect(bob_page.locator("#thread-title")).to_contain_text("Layla")
        await _no_sideways_scroll(bob_page)
        await assert_clean(ana, ana_watch)
        await assert_clean(bob_page, bob_watch)
