"""The contact profile's consent section, in English at 1440 px then Arabic at 390 px:
a keyword the customer sent shows with its source and time, staff change a decision
(saved at once, audited with their name), nothing scrolls sideways on a phone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from hub.services import SYSTEM
from hub.services.conversations import assign
from hub.services.users import update_user
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

HOSTILE = '<img src=x onerror="window.__pwned=1">'


async def test_profile_consent_editor_in_english_and_arabic(live: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad", language="en")
    got = await inbound(live.app.client, "cust-1", "hello", sender_name=HOSTILE)
    await assign(hub, SYSTEM, got["conversation_id"], ana)
    await inbound(live.app.client, "cust-1", "STOP")  # the keyword reactor records it
    await hub.projections.catch_up()
    url = f"/contacts#contact={got['contact_id']}"

    async with chromium() as browser:
        page, watch = await open_page(
            browser, live, "ana@example.com", url, viewport={"width": 1440, "height": 900}
        )
        section = page.locator("#consent")
        await expect(section.locator("#cs-h")).to_have_text("Consent")
        await expect(page.locator("#cs-loopback-marketing")).to_have_value("opted_out")
        await expect(page.locator("#cs-loopback-marketing-meta")).to_contain_text("Keyword reply")
        await expect(page.locator("#cs-loopback-marketing-meta .cs-note")).to_have_text("STOP")
        await expect(page.locator("#cs-sms-service")).to_have_value("")

        await page.select_option("#cs-sms-marketing", "opted_in")
        await expect(page.locator("#cs-sms-marketing-meta")).to_contain_text("Staff by Ana Haddad")
        await expect(page.locator("#cs-sms-marketing")).to_be_focused()

        # The same person in Arabic, on a phone.
        await update_user(hub, SYSTEM, ana, {"language": "ar"})
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.reload()
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        await expect(section.locator("#cs-h")).to_have_text("الموافقة")
        await expect(page.locator("#cs-sms-marketing-meta")).to_contain_text("الموظفون بواسطة Ana Haddad")
        # Each change is on the timeline too (the keyword and Ana's).
        changes = page.locator('#timeline li[data-kind="consent_changed"]')
        await expect(changes).to_have_count(2)
        await expect(changes.first).to_contain_text("Ana Haddad")
        await page.select_option("#cs-whatsapp-service", "opted_out")
        await expect(page.locator("#cs-whatsapp-service-meta")).to_contain_text("الموظفون")
        await section.scroll_into_view_if_needed()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 392, width
        assert await page.evaluate("window.__pwned") is None
        await assert_clean(page, watch)

    async with hub.db.session() as s:
        from hub.services.consent import state_of

        assert await state_of(s, got["contact_id"], "whatsapp") == {"service": "opted_out"}
        assert await state_of(s, got["contact_id"], "sms") == {"marketing": "opted_in"}
