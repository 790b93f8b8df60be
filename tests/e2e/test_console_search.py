"""Conversation search and saved views in the console, in English and Arabic, at 1440 px
and 390 px: "/" focuses the search; an Arabic message stored with a hamza is found
typed without one, with the word marked in the result, never another team's; the
keyboard moves through the results and opens one; filters narrow them; the search is
saved as a view whose count in the sidebar follows a new matching conversation live;
the view is renamed and deleted; nothing scrolls sideways on a phone."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

VIEW = {"en": "Arabic refunds", "ar": "طلبات الاسترداد"}
RENAMED = {"en": "Refunds (Arabic)", "ar": "استرداد بالعربية"}


async def _no_sideways_scroll(page: Any, width: int) -> None:
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate(
        f"[...document.querySelectorAll('body *')].filter(e => e.getClientRects().length &&"
        f" (e.getBoundingClientRect().right > {width + 2} || e.getBoundingClientRect().left < -2))"
        ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 12)"
    )
    assert scroll <= width, (scroll, wide)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_search_filters_views_and_live_counts(live: Any, lang: str) -> None:
    hub = live.app.hub
    client = live.app.client
    support = await team(hub, "Support")
    await team(hub, "Sales")
    await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad", language=lang)
    refund = (await inbound(client, "cust-1", "أريد استرداد المبلغ", sender_name="Layla", team="Support"))[
        "conversation_id"
    ]
    parcel = (await inbound(client, "cust-2", "Where is my parcel?", sender_name="Omar", team="Support"))[
        "conversation_id"
    ]
    # Another team's customer wrote the same word: Ana must not find it.
    await inbound(client, "cust-3", "أريد شراء هاتف", sender_name="Sami", team="Sales")
    await hub.projections.catch_up()

    async with chromium() as browser:
        page, watch = await open_page(
            browser, live, "ana@example.com", "/console", viewport={"width": 1440, "height": 900}
        )
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        rows = page.locator("#conv-list [data-conversation-id]")
        await expect(page.locator("#tab-queue")).to_be_visible()
        await expect(page.locator("#view-list .views-empty")).to_be_visible()  # the console is up

        # "/" focuses the search; typed without the hamza, the stored "أريد" is found.
        await page.locator("body").press("/")
        box = page.locator("#search-q")
        await expect(box).to_be_focused()
        await box.type("اريد")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_have_attribute("data-conversation-id", str(refund))
        await expect(rows.first.locator(".search-match mark")).to_have_text("أريد")
        await expect(page.locator("#tab-queue")).to_be_hidden()  # results, not tabs
        await expect(page.locator("#search-summary")).to_have_text(
            "1 conversation" if lang == "en" else "محادثة واحدة"
        )

        # The keyboard: ↓ from the box to the first result, Enter opens it.
        await box.press("ArrowDown")
        await expect(rows.first).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#thread-title")).to_contain_text("Layla")

        # Filters narrow the same search: nothing is resolved yet.
        await page.locator("#search-filters-toggle").click()
        await page.select_option("#search-status", "resolved")
        await expect(page.locator("#conv-list .empty")).to_be_visible()
        await page.select_option("#search-status", "open")
        await expect(rows).to_have_count(1)

        # Save as a view: it appears in the sidebar with its count.
        await page.locator("#search-save").click()
        dialog = page.locator("#view-dialog")
        await dialog.locator("[name=name]").fill("")
        await dialog.locator("button[type=submit]").click()
        # The hub refuses an empty name, next to the field, in the page's language.
        await expect(dialog.locator("[name=name] + .field-error")).to_have_text(
            "Give the view a name of 1 to 60 characters."
            if lang == "en"
            else "اختر للعرض اسمًا من 1 إلى 60 حرفًا."
        )
        await dialog.locator("[name=name]").fill(VIEW[lang])
        await dialog.locator("button[type=submit]").click()
        await expect(dialog).to_have_count(0)
        view = page.locator("#view-list .view", has_text=VIEW[lang])
        await expect(view.locator(".view-count")).to_have_text("1")
        await expect(view).to_have_class("view current")

        # Back to the tabs, then a new conversation matching the view: its count follows live.
        await page.locator("#search-clear").click()
        await expect(page.locator("#tab-queue")).to_be_visible()
        await expect(box).to_have_value("")
        await inbound(client, "cust-4", "إريد مساعدة في الطلب", sender_name="Huda", team="Support")
        await expect(view.locator(".view-count")).to_have_text("2")
        # Choosing the view shows its conversations, newest activity first.
        await view.locator(".view-open").click()
        await expect(rows).to_have_count(2)
        await expect(rows.nth(1)).to_have_attribute("data-conversation-id", str(refund))

        # J / K from outside the list: the open conversation's row first, then up and
        # down (↑ / ↓ too, in the list); Enter opens.
        await page.locator("#thread-pane").focus()
        await page.keyboard.press("j")
        await expect(rows.nth(1)).to_be_focused()
        await page.keyboard.press("k")
        await expect(rows.first).to_be_focused()
        await page.keyboard.press("ArrowDown")
        await expect(rows.nth(1)).to_be_focused()
        await page.keyboard.press("ArrowUp")
        await expect(rows.first).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#thread-title")).to_contain_text("Huda")

        # Rename the own view, then delete it.
        await view.locator(".view-edit").click()
        await dialog.locator("[name=name]").fill(RENAMED[lang])
        await dialog.locator("button[type=submit]").click()
        renamed = page.locator("#view-list .view", has_text=RENAMED[lang])
        await expect(renamed).to_have_count(1)
        await renamed.locator(".view-edit").click()
        await dialog.locator("#view-delete").click()
        await page.locator("dialog.modal button.danger[type=submit]").click()
        await expect(renamed).to_have_count(0)
        await expect(page.locator("#tab-queue")).to_be_visible()

        # A phone: one pane at a time, the search on top of the list, no sideways scroll.
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.locator("#back-to-list").click()
        await box.fill("parcel")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_have_attribute("data-conversation-id", str(parcel))
        await expect(page.locator("#search-filters-toggle")).to_have_attribute("aria-expanded", "true")
        await expect(page.locator("#search-filters")).to_be_visible()  # still open, at 390 px
        await _no_sideways_scroll(page, 390)
        await rows.first.click()
        await expect(page.locator("#thread-title")).to_contain_text("Omar")
        await _no_sideways_scroll(page, 390)
        await page.locator("#back-to-list").click()
        await expect(box).to_have_value("parcel")

        # The help lists the keys.
        await page.locator("#thread-pane").focus()
        await page.keyboard.press("?")
        await expect(page.locator("#shortcuts-dialog")).to_contain_text("J / K")
        await page.keyboard.press("Escape")
        await assert_clean(page, watch)


async def test_a_view_count_catches_up_with_the_text_index_without_another_event(live: Any) -> None:
    """The text index is a projection, a little behind the message's event. A count the
    console took before the index had the message must not stay short until some other
    event comes: the hub says how far the index had got, and the console asks again."""
    from hub.services import views
    from hub.services.access import Actor

    hub = live.app.hub
    client = live.app.client
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad")
    await inbound(client, "cust-1", "أريد استرداد المبلغ", sender_name="Layla", team="Support")
    await hub.projections.catch_up()
    actor = Actor(user_id=ana, role="agent", team_ids=frozenset({support}), name="Ana Haddad")
    await views.create_view(hub, actor, {"name": "Refunds", "scope": "personal", "filters": {"q": "استرداد"}})

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "ana@example.com", "/console")
        count = page.locator("#view-list .view", has_text="Refunds").locator(".view-count")
        await expect(count).to_have_text("1")

        await hub.projections.stop()  # the index stands still: the console's count is early
        async with page.expect_response(
            lambda r: r.url.endswith("/api/v1/views") and r.request.method == "GET"
        ) as early:
            await inbound(client, "cust-2", "أريد استرداد ثمن الطلب", sender_name="Huda", team="Support")
        answer = await (await early.value).json()
        assert answer["items"][0]["count"] == 1  # asked after the event, before the index had it

        await hub.projections.catch_up()  # the index catches up; no event reaches the console
        await expect(count).to_have_text("2")
        await assert_clean(page, watch)
