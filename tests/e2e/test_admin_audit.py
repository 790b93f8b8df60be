"""Admin pages of issue 16 in English and Arabic, on a desktop and a phone: the first-run
checklist of an empty hub (admin page and console) ticking live, the audit log with its
filters, field-level errors and paging, and the users list searched and paged with the
keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from hub.models import Role, User
from hub.services import SYSTEM
from hub.services.access import actor_for
from hub.services.users import create_team, update_user
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

STEP = {
    "en": {"team": "Create a team", "err": "The end date must not be before the start date."},
    "ar": {"team": "أنشئ فريقًا", "err": "يجب ألا يسبق تاريخ النهاية تاريخ البداية."},
}


async def _fits_a_phone(page: Any, what: str) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    width = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate(
        "[...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 392"
        " || e.getBoundingClientRect().left < -2).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 12)"
    )
    assert width <= 390, (what, width, wide)
    await page.set_viewport_size({"width": 1440, "height": 900})


async def _as(hub: Any, user_id: int) -> Any:
    async with hub.db.session() as s:
        u = await s.get(User, user_id)
        assert u is not None
        return await actor_for(s, u)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_the_checklist_of_an_empty_hub_ticks_live(live: Any, lang: str) -> None:
    hub = live.app.hub
    await user(hub, "root@example.com", role=Role.admin, name="Rita", language=lang)
    async with chromium() as browser:
        page, watch = await open_page(
            browser, live, "root@example.com", "/admin", viewport={"width": 1440, "height": 900}
        )
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        checklist = page.locator("#first-run")
        await expect(checklist).to_be_visible()  # an empty hub opens on it
        await expect(page.locator('#admin-tabs a[href="#start"]')).to_have_attribute("aria-current", "page")
        steps = checklist.locator("[data-step]")
        await expect(steps).to_have_count(3)
        team_step = checklist.locator('[data-step="team"]')
        await expect(team_step).to_have_attribute("data-done", "false")
        await expect(team_step.locator("strong")).to_have_text(STEP[lang]["team"])
        await expect(team_step.locator('a[href="/admin#teams"]')).to_be_visible()
        guides = checklist.locator("[data-guide]")
        await expect(guides).to_have_count(4)
        await expect(checklist.locator('[data-guide="webchat"]')).to_have_attribute(
            "href", "/api/v1/setup/guides/webchat"
        )
        guide = await page.request.get(f"{live.base}/api/v1/setup/guides/webchat")
        assert guide.status == 200 and "webchat" in (await guide.text()).lower()
        await _fits_a_phone(page, "checklist")

        # Someone else creates a team, then an agent: each step ticks live.
        support = await create_team(hub, SYSTEM, name="Support")
        await expect(team_step).to_have_attribute("data-done", "true")
        agents = checklist.locator('[data-step="agents"]')
        await expect(agents).to_have_attribute("data-done", "false")
        await user(hub, "ana@example.com", team_ids=(support.id or 0,))
        await expect(agents).to_have_attribute("data-done", "true")
        await expect(checklist.locator('[data-step="channel"]')).to_have_attribute("data-done", "false")

        # The console, for an admin, shows the same checklist instead of an empty thread.
        console, console_watch = await open_page(browser, live, "root@example.com", "/console")
        await expect(console.locator("#thread #first-run")).to_be_visible()
        await expect(console.locator('#thread [data-step="team"]')).to_have_attribute("data-done", "true")
        await assert_clean(page, watch)
        await assert_clean(console, console_watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_the_audit_log_filters_and_pages(live: Any, lang: str) -> None:
    hub = live.app.hub
    root = await user(hub, "root@example.com", role=Role.admin, name="Rita Root", language=lang)
    support = await team(hub, "Support")
    await user(hub, "ben@example.com", team_ids=(support,), name="Ben")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana")
    admin = await _as(hub, root)
    await update_user(hub, admin, ana, {"name": "Ana Haddad", "role": "supervisor"})
    for i in range(30):  # more than one page of Rita's changes
        await update_user(hub, admin, ana, {"languages": ["en", f"x{i}"]})

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "root@example.com", "/admin#audit")
        table = page.locator("#audit-table tbody")
        rows = table.locator("tr[data-entry-id]")
        await expect(rows).to_have_count(25)
        await expect(rows.first.locator("th")).to_have_text("Rita Root")
        await page.locator("#audit-pager-next").press("Enter")
        await expect(page.locator("#audit-pager-status")).to_contain_text("26")
        await expect(page.locator("#audit-pager-prev")).to_be_enabled()

        # Filter: Rita's changes to users, then the one that renamed Ana.
        await page.select_option("#audit-actor_id", str(root))
        await page.select_option("#audit-kind", "user")
        await page.select_option("#audit-entity", "user")
        await page.fill("#audit-entity_id", str(ana))
        await page.locator("#audit-apply").click()
        await expect(rows).to_have_count(25)
        await page.locator("#audit-pager-next").click()
        await expect(rows).to_have_count(6)  # 31 changes of Ana by Rita
        renamed = rows.filter(has_text="Ana Haddad").last
        await expect(renamed.locator("dd .before").first).to_have_text("Ana")
        await expect(renamed.locator("dd .after").first).to_have_text("Ana Haddad")
        await expect(renamed).to_contain_text("supervisor")

        # A range that ends before it starts: one translated message, at the end date.
        await page.fill("#audit-since", "2026-02-01")
        await page.fill("#audit-until", "2026-01-01")
        await page.locator("#audit-apply").click()
        await expect(page.locator("#audit-until")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#audit-until-error")).to_have_text(STEP[lang]["err"])
        await expect(page.locator("#audit-error")).to_be_hidden()
        await page.locator("#audit-reset").click()
        await expect(page.locator("#audit-until")).not_to_have_attribute("aria-invalid", "true")
        await expect(rows).to_have_count(25)
        await _fits_a_phone(page, "audit log")
        await assert_clean(page, watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_users_are_searched_and_paged(live: Any, lang: str) -> None:
    hub = live.app.hub
    await user(hub, "root@example.com", role=Role.admin, name="Rita Root", language=lang)
    support = await team(hub, "Support")
    for i in range(30):
        await user(hub, f"agent{i}@example.com", name=f"Agent {i:02d}", team_ids=(support,))
    await user(hub, "layla@shop.example", name="ليلى حداد", team_ids=(support,))
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "root@example.com", "/admin#users")
        rows = page.locator("#users-table tbody tr[data-user-id]")
        await expect(rows).to_have_count(25)
        # The keyboard: Tab to the search box, type, the list follows from the server.
        await page.locator("#users-search").focus()
        await page.keyboard.type("agent 2")
        await expect(rows).to_have_count(12)  # every word: Agent 02, 12, 20..29
        await expect(rows.first.locator("th")).to_have_text("Agent 02")
        await page.locator("#users-search").fill("agent")
        await expect(rows).to_have_count(25)
        await page.locator("#users-pager-next").focus()
        await page.keyboard.press("Enter")
        await expect(rows).to_have_count(5)
        await expect(rows.first.locator("th")).to_have_text("Agent 25")
        await expect(page.locator("#users-pager-prev")).to_be_focused()  # next became disabled
        await page.keyboard.press("Enter")
        await expect(rows).to_have_count(25)
        await page.locator("#users-search").fill("حداد")
        await expect(rows).to_have_count(1)
        await expect(rows.first.locator("td").first).to_have_text("layla@shop.example")
        await _fits_a_phone(page, "users")
        await assert_clean(page, watch)
