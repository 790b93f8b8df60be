"""The notification centre and the profile page in a real browser, English and Arabic:
a mention reaches the mentioned agent's bell live (its text shown as text), clicking it
opens the conversation and marks it read, an assignment adds one, "mark all read"
clears the badge; the profile saves name, time zone and notification settings with
translated field errors, signs out the other session (whose console goes to sign-in);
initials avatars in the list; no horizontal scroll at 390 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from hub.services import SYSTEM
from hub.services.access import Actor
from hub.services.conversations import add_note, assign
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

MENTIONED = {"en": "Ana Haddad mentioned you", "ar": "أشار إليك Ana Haddad"}
ASSIGNED = {"en": "A conversation was assigned to you", "ar": "أُسندت إليك محادثة"}
BAD_ZONE = {
    "en": "This is not a time zone. Use a name like Asia/Riyadh.",
    "ar": "هذه ليست منطقة زمنية. استخدم اسمًا مثل Asia/Riyadh.",
}
SAVED = {"en": "Saved.", "ar": "تم الحفظ."}
SIGNED_OUT = {"en": "Signed out of 1 other sessions.", "ar": "تم تسجيل الخروج من 1 جلسات أخرى."}


async def no_sideways_scroll(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate(
        "[...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 392"
        " || e.getBoundingClientRect().left < -2).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 12)"
    )
    assert width <= 390, (width, wide)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_a_mention_notifies_the_mentioned_agent_live(live: Any, lang: str) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad")
    ben = await user(hub, "ben@example.com", team_ids=(support,), name="Ben Odeh", language=lang)
    first = (
        await inbound(live.app.client, "cust-1", "My order is late", sender_name="Layla", team="Support")
    )["conversation_id"]
    second = (await inbound(live.app.client, "cust-2", "Refund please", sender_name="Omar", team="Support"))[
        "conversation_id"
    ]
    await assign(hub, SYSTEM, first, ana)

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "ben@example.com", "/console")
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        bell = page.locator("#nt-bell")
        await expect(bell).to_have_attribute("data-unread", "0")
        await expect(bell.locator(".nt-badge")).to_be_hidden()

        # Ana writes a note mentioning Ben: his bell counts it without a reload.
        hostile = "@ben can you check <img src=x onerror=alert(1)> <b>this</b>?"
        await add_note(hub, Actor(user_id=ana, role="agent", team_ids=frozenset({support})), first, hostile)
        await hub.projections.catch_up()
        await expect(bell).to_have_attribute("data-unread", "1")
        await expect(bell.locator(".nt-badge")).to_have_text("1")

        await bell.click()
        panel = page.locator("#nt-panel")
        await expect(panel).to_be_visible()
        item = panel.locator(".nt-item").first
        await expect(item).to_have_attribute("data-kind", "mention")
        await expect(item.locator(".nt-what")).to_contain_text(MENTIONED[lang])
        # The note is text: no element was made from it.
        await expect(item.locator(".nt-excerpt")).to_have_text(hostile)
        assert await panel.locator("img, b").count() == 0

        # Clicking opens the conversation and marks it read.
        await item.locator(".nt-open").click()
        await expect(panel).to_be_hidden()
        await expect(page.locator("#thread-title")).to_contain_text("Layla")
        await expect(bell).to_have_attribute("data-unread", "0")
        await expect(page).to_have_url(re.compile(rf"#c={first}$"))

        # An assignment adds one; "mark all read" clears the badge.
        await assign(hub, SYSTEM, second, ben)
        await hub.projections.catch_up()
        await expect(bell).to_have_attribute("data-unread", "1")
        await bell.click()
        await expect(panel.locator(".nt-item")).to_have_count(2)
        newest = panel.locator(".nt-item").first
        await expect(newest).to_have_attribute("data-kind", "assigned")
        await expect(newest.locator(".nt-what")).to_contain_text(ASSIGNED[lang])
        await expect(panel.locator(".nt-item.unread")).to_have_count(1)
        # Ben's own conversation shows his initials in the list.
        await expect(page.locator(f'#conv-list [data-conversation-id="{second}"] .avatar')).to_have_text("BO")

        # A phone: the panel fits the screen.
        await page.set_viewport_size({"width": 390, "height": 844})
        await expect(panel).to_be_visible()
        await no_sideways_scroll(page)
        await page.locator("#nt-mark-all").click()
        await expect(bell).to_have_attribute("data-unread", "0")
        await expect(panel.locator(".nt-item.unread")).to_have_count(0)
        await page.keyboard.press("Escape")
        await expect(panel).to_be_hidden()
        await no_sideways_scroll(page)
        await assert_clean(page, watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_the_profile_page(live: Any, lang: str) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    await user(hub, "ben@example.com", team_ids=(support,), name="Ben Odeh", language=lang)

    async with chromium() as browser:
        other, _ = await open_page(browser, live, "ben@example.com", "/console")
        await expect(other.locator("#nt-bell")).to_be_visible()
        page, watch = await open_page(browser, live, "ben@example.com", "/console")
        await page.locator("#profile-link").click()
        await expect(page).to_have_url(re.compile(r"/profile$"))
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        await expect(page.locator("#profile-avatar .avatar")).to_have_text("BO")
        await expect(page.locator("#pf-name")).to_have_value("Ben Odeh")
        await expect(page.locator("#pf-password")).to_have_attribute("href", "/password")

        # A time zone that is not one: the hub's refusal, translated, next to the field.
        await page.locator("#pf-timezone").fill("Mars/Olympus")
        await page.locator("#pf-save").click()
        await expect(page.locator("#pf-timezone")).to_have_attribute("aria-invalid", "true")
        error = page.locator("#pf-timezone + .field-error")
        await expect(error).to_be_visible()
        await expect(error).to_have_text(BAD_ZONE[lang])

        await page.locator("#pf-timezone").fill("Asia/Riyadh")
        await page.locator("#pf-name").fill("Benjamin Odeh")
        await page.locator("#pf-kind-offer_missed").uncheck()
        await page.locator("#pf-save").click()
        await expect(page.locator("#details-done")).to_have_text(SAVED[lang])
        await expect(page.locator("#pf-timezone")).not_to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#me")).to_have_text("Benjamin Odeh")
        saved = await page.evaluate("fetch('/api/v1/profile').then(r => r.json())")
        assert saved["timezone"] == "Asia/Riyadh" and saved["name"] == "Benjamin Odeh"
        assert saved["notify"]["offer_missed"] is False and saved["notify"]["mention"] is True

        # A phone: nothing scrolls sideways.
        await page.set_viewport_size({"width": 390, "height": 844})
        await no_sideways_scroll(page)

        # Sign out of the other session: its console goes to the sign-in page.
        await page.locator("#pf-sign-out-others").click()
        await page.locator("dialog[open] button[type=submit]").click()
        await expect(page.locator("#security-done")).to_have_text(SIGNED_OUT[lang])
        await expect(other).to_have_url(re.compile(r"/login"))
        still = await page.evaluate("fetch('/api/v1/auth/me').then(r => r.status)")
        assert still == 200
        await assert_clean(page, watch)
