"""The acceptance flow of the staff UI in two headless Chromium contexts against the
real server: a message arrives on the loopback channel, the agent gets the offer,
accepts and replies; the reply leaves through the outbox; the supervisor's view
follows every step live. Then a dropped socket: nothing is missed, nothing doubled."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from hub.models import Role
from hub.services import SYSTEM
from hub.services.conversations import assign
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


@pytest.fixture
def routing_enabled() -> bool:
    return True


async def test_offer_accept_reply_with_the_supervisor_watching_live(live: Any, loopback: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad")
    await user(hub, "sam@example.com", role=Role.supervisor, team_ids=(support,), name="Sam Lead")

    async with chromium() as browser:
        sup, sup_watch = await open_page(browser, live, "sam@example.com", "/supervisor")
        queue = sup.locator(f'#queues tr[data-team-id="{support}"]')
        await expect(queue.locator('[data-col="waiting"]')).to_have_text("0")
        await expect(sup.locator(".conn")).to_have_attribute("data-state", "open")
        await sup.evaluate("window.__same_page = true")  # gone if the page ever reloads

        agent, agent_watch = await open_page(browser, live, "ana@example.com", "/console")
        await expect(agent.locator(".conn")).to_have_attribute("data-state", "open")

        # Ana is offline: the customer waits in the queue, and the supervisor sees it.
        conv = (
            await inbound(
                live.app.client, "cust-1", "Hello, where is my order?", team="Support", sender_name="Layla"
            )
        )["conversation_id"]
        await expect(queue.locator('[data-col="waiting"]')).to_have_text("1")
        await expect(sup.locator(f'#open-convs tr[data-conversation-id="{conv}"]')).to_contain_text("Layla")

        # Available: routing offers the conversation to Ana.
        await agent.select_option("#presence", "available")
        offer = agent.locator(f'[data-offer="{conv}"]')
        await expect(offer).to_be_visible()
        await expect(offer).to_have_attribute("role", "alertdialog")
        await expect(offer).to_contain_text("Layla")
        await expect(offer).to_contain_text("Hello, where is my order?")
        await expect(offer.locator(".countdown")).to_contain_text("Expires in")
        await expect(queue.locator('[data-col="waiting"]')).to_have_text("0")
        await expect(queue.locator('[data-col="offered"]')).to_have_text("1")
        await expect(sup.locator(f'#agents tr[data-agent-id="{ana}"]')).to_have_attribute(
            "data-presence", "available"
        )

        await offer.get_by_role("button", name="Accept").click()
        await expect(offer).to_have_count(0)
        await expect(agent.locator("#thread-title")).to_contain_text("Layla")
        await expect(agent.locator("#thread .msg.inbound .body")).to_have_text(["Hello, where is my order?"])
        await expect(agent.locator(f'#conv-list [data-conversation-id="{conv}"]')).to_be_visible()

        agent_row = sup.locator(f'#agents tr[data-agent-id="{ana}"]')
        await expect(agent_row.locator(".load-total")).to_have_text("1")
        await expect(queue.locator('[data-col="offered"]')).to_have_text("0")
        await expect(queue.locator('[data-col="in_progress"]')).to_have_text("1")

        # Reply with Enter; it shows as sending, leaves through the outbox, then "sent".
        box = agent.locator("#composer-text")
        await box.fill("Your order ships today.")
        await box.press("Enter")
        mine = agent.locator("#thread .msg.outbound", has_text="Your order ships today.")
        await expect(mine).to_have_count(1)
        await expect(box).to_have_value("")
        assert await live.app.worker.run_once() == 1
        assert [m.body for m in loopback.sent] == ["Your order ships today."]
        loopback.token = "a-token-for-the-sent-list"  # /sent is served only with a token
        async with httpx.AsyncClient(base_url=live.base) as client:
            outbox = (
                await client.get("/channels/loopback/sent", headers={"x-loopback-token": loopback.token})
            ).json()
        assert [(m["conversation_id"], m["body"]) for m in outbox] == [(conv, "Your order ships today.")]
        await expect(mine.locator(".delivery")).to_have_attribute("data-status", "sent")

        assert await sup.evaluate("window.__same_page") is True
        await assert_clean(agent, agent_watch)
        await assert_clean(sup, sup_watch)


async def test_a_dropped_socket_misses_nothing_and_doubles_nothing(live: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,))
    conv = (await inbound(live.app.client, "cust-7", "first", team="Support", sender_name="Omar"))[
        "conversation_id"
    ]
    await assign(hub, SYSTEM, conv, ana)

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "ana@example.com", "/console")
        await page.locator(f'#conv-list [data-conversation-id="{conv}"]').click()
        bodies = page.locator("#thread .msg.inbound .body")
        await expect(bodies).to_have_text(["first"])
        conn = page.locator(".conn")
        await expect(conn).to_have_attribute("data-state", "open")

        # The network goes away and the socket with it; reconnects fail meanwhile.
        await page.context.set_offline(True)
        await page.evaluate("window.__sockets.forEach((s) => s.close())")
        await expect(conn).to_have_attribute("data-state", "reconnecting")
        for body in ("gap one", "gap two", "gap three"):
            await inbound(live.app.client, "cust-7", body)
        # Another customer writes meanwhile, too (a new conversation in Ana's team).
        other = (await inbound(live.app.client, "cust-8", "new here", team="Support"))["conversation_id"]

        await page.context.set_offline(False)
        await expect(conn).to_have_attribute("data-state", "open", timeout=20_000)
        await expect(bodies).to_have_text(["first", "gap one", "gap two", "gap three"])
        await page.locator("#tab-queue").click()
        await expect(page.locator(f'#conv-list [data-conversation-id="{other}"]')).to_be_visible()

        # And live again after the resume, still without duplicates.
        await inbound(live.app.client, "cust-7", "after")
        await expect(bodies).to_have_text(["first", "gap one", "gap two", "gap three", "after"])
        assert await page.evaluate("window.__sockets.length") >= 2  # it did reconnect
        await assert_clean(page, watch)
