"""The supervisor view (issue 16), in English and Arabic, on a desktop and a phone: the
estimated wait per queue when the hub knows the handle time and the staff, the waiting
column of assigned conversations (until the agent answers, live), and the whisper box —
the assigned agent sees the note live, marked as the supervisor's; the customer's
channel gets nothing."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect
from sqlmodel import select

from hub.models import OutboxItem, Role, User
from hub.services import SYSTEM
from hub.services.access import actor_for
from hub.services.conversations import assign, reply, resolve
from hub.services.users import set_presence
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

WHISPER = {"en": "Offer the refund, then close it", "ar": "اعرض استرداد المبلغ ثم أغلق المحادثة"}
TAG = {"en": "Supervisor whisper", "ar": "همسة المشرف"}
ETA = {"en": "6 min", "ar": "6 د"}


async def _no_sideways_scroll(page: Any, what: str) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate(
        "[...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 392"
        " || e.getBoundingClientRect().left < -2).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 12)"
    )
    assert width <= 390, (what, width, wide)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_estimate_waiting_column_and_whisper(live: Any, clock: Any, lang: str) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad", capacity={"loopback": 1})
    await user(hub, "sue@example.com", role=Role.supervisor, team_ids=(support,), name="Sue", language=lang)
    await set_presence(hub, SYSTEM, ana, "available")
    # One handled conversation: 120 s from assignment to resolution.
    done = (await inbound(live.app.client, "cust-0", "old question", team="Support"))["conversation_id"]
    await assign(hub, SYSTEM, done, ana)
    clock.advance(120)
    await resolve(hub, SYSTEM, done)
    # Ana is busy with Layla's conversation (unanswered); two more customers wait.
    conv = (
        await inbound(live.app.client, "cust-1", "Where is my refund?", sender_name="Layla", team="Support")
    )["conversation_id"]
    await assign(hub, SYSTEM, conv, ana)
    await inbound(live.app.client, "cust-2", "hello", sender_name="Omar", team="Support")
    await inbound(live.app.client, "cust-3", "hello?", sender_name="Nour", team="Support")

    async with chromium() as browser:
        sup, sup_watch = await open_page(browser, live, "sue@example.com", "/supervisor")
        await expect(sup.locator("html")).to_have_attribute("lang", lang)
        # (2 waiting + 1) × 120 s / 1 slot = 6 minutes.
        eta = sup.locator(f'#queues tr[data-team-id="{support}"] td[data-col="estimated"]')
        await expect(eta).to_have_text(ETA[lang])

        # The assigned conversation waits for a reply: a duration, not "—".
        row = sup.locator(f'#open-convs tr[data-conversation-id="{conv}"]')
        wait = row.locator('td[data-col="waiting"]')
        await expect(wait).not_to_have_text("—")
        await expect(wait).to_have_attribute("data-since", clock.now.isoformat().replace("+00:00", "Z"))

        agent, agent_watch = await open_page(browser, live, "ana@example.com", "/console")
        await agent.locator(f'#conv-list [data-conversation-id="{conv}"]').click()
        await expect(agent.locator("#thread-title")).to_contain_text("Layla")

        # The whisper: typed in the watch view, sent with Ctrl+Enter.
        await row.locator("[data-open]").click()
        box = sup.locator("#whisper-body")
        await expect(box).to_be_visible()
        await expect(sup.locator("#whisper-hint")).to_contain_text("Ana Haddad")
        # Empty: one translated message under the box, nothing sent.
        await sup.locator("#whisper-send").click()
        await expect(box).to_have_attribute("aria-invalid", "true")
        await expect(sup.locator("#whisper-error")).to_be_visible()
        await box.fill(WHISPER[lang])
        await box.press("Control+Enter")
        await expect(box).to_have_value("")
        await expect(box).not_to_have_attribute("aria-invalid", "true")
        mine = sup.locator('#viewer-thread li[data-whisper="true"]')
        await expect(mine).to_contain_text(WHISPER[lang])

        # The agent sees it live, marked as the supervisor's whisper.
        note = agent.locator('#thread li[data-whisper="true"]')
        await expect(note).to_contain_text(WHISPER[lang])
        await expect(note.locator(".whisper-tag")).to_have_text(TAG["en"])  # Ana's console is English
        await expect(note.locator(".author")).to_have_text("Sue")

        # Nothing for the customer: no outbox row at all.
        async with hub.db.session() as s:
            assert (await s.exec(select(OutboxItem))).all() == []

        # Ana answers: the customer no longer waits on us, live.
        async with hub.db.session() as s:
            u = await s.get(User, ana)
            assert u is not None
            ana_actor = await actor_for(s, u)
        await reply(hub, ana_actor, conv, "Your refund left today.")
        await expect(wait).to_have_text("—")

        # A phone: the viewer with its whisper box fits; back on the floor, the tables scroll
        # inside their frames, never the page.
        await sup.set_viewport_size({"width": 390, "height": 844})
        await expect(box).to_be_visible()
        await _no_sideways_scroll(sup, "viewer with whisper")
        await sup.locator("#viewer-close").click()
        await expect(sup.locator("#viewer")).to_be_hidden()
        await _no_sideways_scroll(sup, "floor")
        await assert_clean(sup, sup_watch)
        await assert_clean(agent, agent_watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_a_live_refresh_keeps_keyboard_focus_on_the_floor(live: Any, lang: str) -> None:
    """The floor's tables are rebuilt on every refresh; a focused control stays focused
    (a new customer arrives while the supervisor's focus is on a conversation, or on an
    agent's presence, which the refresh after a change redraws)."""
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad")
    await user(hub, "sue@example.com", role=Role.supervisor, team_ids=(support,), name="Sue", language=lang)
    conv = (await inbound(live.app.client, "cust-1", "hello", sender_name="Layla", team="Support"))[
        "conversation_id"
    ]
    async with chromium() as browser:
        sup, watch = await open_page(browser, live, "sue@example.com", "/supervisor")
        await expect(sup.locator("html")).to_have_attribute("lang", lang)
        rows = sup.locator("#open-convs tr[data-conversation-id]")
        await expect(rows).to_have_count(1)
        opener = sup.locator(f'#open-convs [data-open="{conv}"]')
        await opener.focus()
        await inbound(live.app.client, "cust-2", "hi", sender_name="Omar", team="Support")
        await expect(rows).to_have_count(2)  # the table was rebuilt
        await expect(opener).to_be_focused()

        presence = sup.locator(f'#agents tr[data-agent-id="{ana}"] td[data-col="presence"] select')
        await presence.focus()
        await presence.select_option("available")  # saved, then the floor redraws the row
        await expect(sup.locator(f'#agents tr[data-agent-id="{ana}"]')).to_have_attribute(
            "data-presence", "available"
        )
        await expect(presence).to_be_focused()
        await assert_clean(sup, watch)
