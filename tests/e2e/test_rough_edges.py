"""Issue 16's rough edges in the console, in real Chromium:

- an API error is one translated message next to the field it is about (sign-in page
  and an admin dialog, English and Arabic), never pydantic's English;
- a pending offer card leaves the customer panel's header (and the thread's) clear;
- snoozed, resolved and reopened events name who did it, reopening drops the category,
  and the customer panel's status follows the header's live;
- after a transfer the thread shows its newest entry;
- a 500-character tag is refused with a clear message; a long one is cut with a tooltip.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import expect

from hub.models import Role, User
from hub.services import SYSTEM
from hub.services import conversations as conv_svc
from hub.services.access import actor_for
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

RAW = ("String should", "body.", "Field required", "Input should")


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite only: these are about the pages; the API is tested on both databases."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


async def actor(hub: Any, user_id: int) -> Any:
    async with hub.db.session() as s:
        return await actor_for(s, await s.get(User, user_id))


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


TEXTS = {
    "en": {
        "at_least_3": "Write at least 3 characters.",
        "required": "This is required.",
        "check": "Check the fields marked below.",
    },
    "ar": {
        "at_least_3": "اكتب 3 أحرف على الأقل.",
        "required": "هذا الحقل مطلوب.",
        "check": "راجع الحقول المشار إليها أدناه.",
    },
}


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_errors_are_one_translated_message_next_to_the_field(live: Any, lang: str) -> None:
    await user(live.app.hub, "root@example.com", role=Role.admin, language=lang)
    text = TEXTS[lang]
    async with chromium() as browser:
        # -- the sign-in page: too short an address, no password
        context = await browser.new_context(viewport={"width": 390, "height": 844})
        page = await context.new_page()
        await page.goto(f"{live.base}/login")
        if lang == "ar":
            await page.click("#lang-toggle")
            await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        await page.fill("#email", "ab")
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#email-error")).to_have_text(text["at_least_3"])
        await expect(page.locator("#password-error")).to_have_text(text["required"])
        await expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#error")).to_be_hidden()  # said once, at the field
        body = await page.locator("main").inner_text()
        assert not any(raw in body for raw in RAW), body
        # Corrected, the errors go.
        await page.fill("#email", "nobody@example.com")
        await page.fill("#password", "wrong-password-1")
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#error")).to_be_visible()
        await expect(page.locator("#email-error")).to_be_hidden()
        await context.close()

        # -- an admin dialog: a new user with too short an address and no name
        page, watch = await open_page(browser, live, "root@example.com", "/admin#users")
        await page.click("#new-user")
        dialog = page.locator("#user-dialog")
        await dialog.locator("[name=email]").fill("ab")
        await dialog.locator("[name=name]").fill("")
        await dialog.locator("button[type=submit]").click()
        await expect(dialog.locator("[name=email] + .field-error")).to_have_text(text["at_least_3"])
        await expect(dialog.locator("[name=name] + .field-error")).to_have_text(text["required"])
        await expect(dialog.locator(".field-error")).to_have_count(2)
        await expect(dialog.locator("p.error")).to_have_text(text["check"])
        shown = await dialog.inner_text()
        assert not any(raw in shown for raw in RAW), shown
        assert await page.evaluate("window.__csp") == [] and watch.page_errors == []


@pytest.fixture
def routing_enabled() -> bool:
    return True


CONSOLE = {
    "en": {
        "open": "Open",
        "snoozed": "Snoozed",
        "resolved": "Resolved",
        "snoozed_by": "Snoozed by Ana Haddad",
        "resolved_by": "Resolved as Inquiry by Ana Haddad",
        "reopened_by": "Reopened by Ana Haddad",
        "inquiry": "Inquiry",
    },
    "ar": {
        "open": "مفتوحة",
        "snoozed": "مؤجلة",
        "resolved": "محلولة",
        "snoozed_by": "أجّلها Ana Haddad",
        "resolved_by": "أغلقها Ana Haddad كمحلولة: استفسار",
        "reopened_by": "أعاد Ana Haddad فتحها",
        "inquiry": "استفسار",
    },
}


@pytest.mark.parametrize(("lang", "width"), [("en", 1440), ("ar", 390)])
async def test_offer_card_status_actors_and_reopen_in_the_console(live: Any, lang: str, width: int) -> None:
    hub = live.app.hub
    text = CONSOLE[lang]
    phone = width < 640
    billing = await team(hub, "Billing")
    ana = await user(hub, "ana@example.com", name="Ana Haddad", team_ids=(billing,), language=lang)
    first = (
        await inbound(live.app.client, "cust-1", "my invoice is wrong", team="Billing", sender_name="Noor")
    )["conversation_id"]
    await conv_svc.assign(hub, SYSTEM, first, ana)
    agent = await actor(hub, ana)
    async with chromium() as browser:
        page, watch = await open_page(
            browser, live, "ana@example.com", "/console", viewport={"width": width, "height": 900}
        )
        await page.locator(f'#conv-list [data-conversation-id="{first}"]').click()
        status = page.locator("#conv-status")
        in_panel = page.locator(f'#contact .history li[data-conversation-id="{first}"] .status-chip')
        await expect(status).to_have_text(text["open"])
        await expect(in_panel).to_have_text(text["open"])

        # -- a pending offer never covers the customer panel's header, nor the thread's
        await page.locator("#presence").select_option("available")
        other = (await inbound(live.app.client, "cust-2", "hello?", team="Billing", sender_name="Omar"))[
            "conversation_id"
        ]
        card = page.locator(f'.offer[data-offer="{other}"]')
        await expect(card).to_be_visible()
        await expect(card.locator(".offer-who")).to_contain_text("Omar")
        # Nothing of the thread is under the card: its header and, on a phone, its bar.
        card_box = await card.bounding_box()
        controls = page.locator("#thread-header button:visible, #thread-bar button:visible")
        buttons = [await b.bounding_box() for b in await controls.all()]
        assert card_box and buttons and not any(overlaps(card_box, b) for b in buttons if b), (
            card_box,
            buttons,
        )
        if phone:
            await page.click("#show-contact")  # on a phone the panel is a view of its own
            await expect(page.locator("#contact .contact-head")).to_be_visible()
        head_box = await page.locator("#contact .contact-head").bounding_box()
        assert head_box and not overlaps(card_box, head_box), (card_box, head_box)
        await card.locator(".reject").click()
        await expect(card).to_have_count(0)

        # -- snooze, resolve and reopen: each names who did it; the panel follows the header
        await conv_svc.snooze(hub, agent, first, hub.now() + timedelta(hours=2))
        await expect(in_panel).to_have_text(text["snoozed"])
        if phone:
            await page.click("#back-to-thread")
        await expect(status).to_have_text(text["snoozed"])
        events = page.locator("#thread .event .event-line")
        await expect(events.last).to_contain_text(text["snoozed_by"])
        await conv_svc.resolve(hub, agent, first, category="inquiry")
        await expect(status).to_have_text(text["resolved"])
        await expect(events.last).to_contain_text(text["resolved_by"])
        await expect(page.locator("#thread-header")).to_contain_text(text["inquiry"])
        await conv_svc.reopen(hub, agent, first)
        await expect(status).to_have_text(text["open"])
        await expect(events.last).to_contain_text(text["reopened_by"])
        # Reopening drops the category: it described how the conversation ended.
        await expect(page.locator("#thread-header")).not_to_contain_text(text["inquiry"])
        if phone:
            await page.click("#show-contact")
        await expect(in_panel).to_have_text(text["open"])
        fits = await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits
        await assert_clean(page, watch)


async def test_after_a_transfer_the_thread_shows_its_newest_entry(live: Any) -> None:
    hub = live.app.hub
    billing, tech = await team(hub, "Billing"), await team(hub, "Tech")
    ana = await user(hub, "ana@example.com", name="Ana Haddad", team_ids=(billing, tech))
    conv = (await inbound(live.app.client, "cust-1", "message 0", team="Billing"))["conversation_id"]
    for i in range(1, 30):
        await inbound(live.app.client, "cust-1", f"message {i}\nwith a second line", team="Billing")
    await conv_svc.assign(hub, SYSTEM, conv, ana)
    async with chromium() as browser:
        page, watch = await open_page(
            browser, live, "ana@example.com", "/console", viewport={"width": 1440, "height": 900}
        )
        await page.locator(f'#conv-list [data-conversation-id="{conv}"]').click()
        await expect(page.locator("#thread .msg.inbound")).to_have_count(30)
        await page.keyboard.press("Alt+T")
        dialog = page.locator("#transfer-dialog")
        await dialog.locator("#tr-team-select").select_option(label="Tech")
        await dialog.locator("textarea").fill("Over to Tech: their router.\nSecond line.\nThird line.")
        await dialog.get_by_role("button", name="Transfer").click()
        await expect(dialog).to_have_count(0)
        newest = page.locator("#thread > li").last
        await expect(newest).to_have_attribute("data-event-type", "conversation.transferred")
        await expect(newest).to_be_in_viewport()
        at_end = "(el) => el.scrollHeight - el.scrollTop - el.clientHeight < 2"
        assert await page.locator("#thread").evaluate(at_end)
        await assert_clean(page, watch)


async def test_a_500_character_tag_is_refused_and_a_long_one_is_cut_with_a_tooltip(live: Any) -> None:
    hub = live.app.hub
    billing = await team(hub, "Billing")
    ana = await user(hub, "ana@example.com", team_ids=(billing,))
    conv = (await inbound(live.app.client, "cust-1", "hi", team="Billing"))["conversation_id"]
    await conv_svc.assign(hub, SYSTEM, conv, ana)
    long_tag = "premium-" + "x" * 42  # 50 characters: the most a tag may have
    async with chromium() as browser:
        for lang, width in (("en", 1440), ("ar", 390)):
            async with hub.db.transaction() as s:
                me = await s.get(User, ana)
                assert me is not None
                me.language = lang
            page, watch = await open_page(
                browser, live, "ana@example.com", "/console", viewport={"width": width, "height": 900}
            )
            await page.locator(f'#conv-list [data-conversation-id="{conv}"]').click()
            if width < 640:
                await page.click("#show-contact")
            tag_input = page.locator("#tag-input")
            await tag_input.fill("t" * 500)
            await tag_input.press("Enter")
            refused = {"en": "Write at most 100 characters.", "ar": "اكتب 100 حرفًا على الأكثر."}
            await expect(page.locator("#contact .error")).to_have_text(refused[lang])
            await expect(page.locator("#contact .tags .chip")).to_have_count(0 if lang == "en" else 1)
            if lang == "en":
                await page.locator("#tag-input").fill(long_tag)
                await page.locator("#tag-input").press("Enter")
            chip = page.locator("#contact .tags .chip bdi")
            await expect(chip).to_have_attribute("title", long_tag)
            cut = await chip.evaluate("(el) => el.scrollWidth > el.clientWidth")
            assert cut, "a 50-character tag is cut (ellipsis), the whole of it in the tooltip"
            fits = await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert fits
            await assert_clean(page, watch)
            await page.context.close()
