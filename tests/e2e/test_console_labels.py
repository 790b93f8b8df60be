"""Conversation labels in the console, in English and Arabic: a label added from the
thread (with the keyboard) shows as a chip in the header and the list, the list
filters by it, a label another hand adds appears live, × removes one; at 390 px
nothing scrolls sideways."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from hub.models import Role
from hub.services import SYSTEM
from hub.services import labels as label_svc
from hub.services.conversations import assign
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

NAMES = {"en": "Refund requested", "ar": "طلب استرداد"}


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_a_label_added_in_the_thread_is_a_chip_and_filters_the_list(live: Any, lang: str) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad", language=lang)
    await label_svc.create(
        hub,
        SYSTEM,
        {"key": "refund", "name_en": NAMES["en"], "name_ar": NAMES["ar"], "color": "#b91c1c"},
    )
    # A long name: cut with an ellipsis, whole in the tooltip.
    long_name = "A very long label name that goes on and on for sixty chars!"[:60]
    await label_svc.create(
        hub, SYSTEM, {"key": "long", "name_en": long_name, "name_ar": long_name, "color": "#1d4ed8"}
    )
    first = (await inbound(live.app.client, "cust-1", "I want my money back", sender_name="Layla"))[
        "conversation_id"
    ]
    second = (await inbound(live.app.client, "cust-2", "Where is my parcel?", sender_name="Omar"))[
        "conversation_id"
    ]
    await assign(hub, SYSTEM, first, ana)
    await assign(hub, SYSTEM, second, ana)

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "ana@example.com", "/console")
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        rows = page.locator("#conv-list [data-conversation-id]")
        await expect(rows).to_have_count(2)
        await page.locator(f'#conv-list [data-conversation-id="{first}"]').click()
        await expect(page.locator("#thread-title")).to_contain_text("Layla")

        # Quick add with the keyboard: the menu opens on ArrowDown, Enter picks.
        add = page.locator("#label-add")
        await add.focus()
        await add.press("ArrowDown")
        menu = page.locator("#label-menu")
        await expect(menu).to_be_visible()
        item = menu.locator('[data-label="refund"]')
        await expect(item).to_have_text(NAMES[lang])
        await expect(menu.locator('[role="menuitem"]').first).to_be_focused()
        # The seeded "callback" label comes first (position 0); refund is next.
        await page.keyboard.press("ArrowDown")
        await expect(item).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(menu).to_be_hidden()

        chip = page.locator('#thread-labels .label-chip[data-label="refund"]')
        await expect(chip).to_contain_text(NAMES[lang])
        await expect(chip).to_have_attribute("title", NAMES[lang])
        row_chip = page.locator(
            f'#conv-list [data-conversation-id="{first}"] .label-chip[data-label="refund"]'
        )
        await expect(row_chip).to_have_text(NAMES[lang])
        await expect(add).to_be_focused()

        # The long one: added with the mouse, truncated, the full name in the title.
        await add.click()
        await menu.locator('[data-label="long"]').click()
        long_chip = page.locator('#thread-labels .label-chip[data-label="long"]')
        await expect(long_chip).to_have_attribute("title", long_name)
        # (Polled: the header re-renders when the event comes back, replacing the chip.)
        await page.wait_for_function(
            """() => {
              const e = document.querySelector('#thread-labels .label-chip[data-label="long"] .label-name');
              return e !== null && e.clientWidth > 0 && e.scrollWidth > e.clientWidth;
            }"""
        )

        # Filter the list by label: only the labelled conversation stays.
        await page.select_option("#label-filter", "refund")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_have_attribute("data-conversation-id", str(first))

        # Another hand labels the second conversation: it joins the filtered list live.
        await label_svc.add_to_conversation(hub, SYSTEM, second, "refund")
        await expect(rows).to_have_count(2)

        # × on the chip removes it; the filtered list follows.
        await chip.get_by_role("button").click()
        await expect(chip).to_have_count(0)
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_have_attribute("data-conversation-id", str(second))
        await page.select_option("#label-filter", "")
        await expect(rows).to_have_count(2)

        # A phone: the thread with its chips does not scroll sideways.
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.locator("#back-to-list").click()  # one pane at a time: the list first
        await page.locator(f'#conv-list [data-conversation-id="{second}"]').click()
        await expect(page.locator('#thread-labels .label-chip[data-label="refund"]')).to_be_visible()
        await page.locator("#label-add").click()
        await expect(page.locator("#label-menu")).to_be_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        wide = await page.evaluate(
            "[...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 392"
            " || e.getBoundingClientRect().left < -2).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 12)"
        )
        assert width <= 390, (width, wide)
        await page.keyboard.press("Escape")
        await expect(page.locator("#label-menu")).to_be_hidden()
        await assert_clean(page, watch)


ERRORS = {
    "en": "Use 1-40 lower-case letters, digits, - or _, starting with a letter or digit.",
    "ar": "استخدم من 1 إلى 40 من الأحرف اللاتينية الصغيرة والأرقام و- أو _ تبدأ بحرف أو رقم.",
}


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_admin_creates_reorders_and_deactivates_labels(live: Any, lang: str) -> None:
    hub = live.app.hub
    await user(hub, "root@example.com", role=Role.admin, name="Root", language=lang)
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "root@example.com", "/admin#labels")
        table = page.locator("#labels-table tbody tr[data-label]")
        await expect(table).to_have_count(1)  # the seeded callback
        await page.locator("#new-label").click()
        dialog = page.locator("#label-dialog")
        await dialog.locator("[name=key]").fill("Bad Key")
        await dialog.locator("[name=name_en]").fill("Refund requested")
        await dialog.locator("[name=name_ar]").fill("طلب استرداد")
        await dialog.locator("button[type=submit]").click()
        # The hub's refusal, translated, next to the key.
        error = dialog.locator("[name=key] + .field-error")
        await expect(error).to_have_text(ERRORS[lang])
        await expect(dialog.locator("[name=key]")).to_have_attribute("aria-invalid", "true")
        await dialog.locator("[name=key]").fill("refund")
        await dialog.locator("button[type=submit]").click()
        await expect(dialog).to_have_count(0)
        await expect(table).to_have_count(2)
        refund = page.locator('#labels-table tr[data-label="refund"]')
        await expect(refund.locator(".label-chip")).to_have_text(
            "Refund requested" if lang == "en" else "طلب استرداد"
        )

        # Up: refund comes first; focus follows the moved row.
        await refund.locator("[data-up]").click()
        await expect(table.first).to_have_attribute("data-label", "refund")
        await expect(page.locator('[data-down="refund"]')).to_be_focused()

        await refund.locator("[data-toggle]").click()
        await expect(refund).to_have_class("inactive")
        labels = (await live.app.client.get("/api/v1/labels")).status_code
        assert labels == 401  # the list needs a sign-in
        await page.set_viewport_size({"width": 390, "height": 844})
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        await assert_clean(page, watch)
