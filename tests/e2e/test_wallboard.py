"""The live wallboard in the browser, in English and Arabic: a card per team and one for
all teams; a conversation arriving, an agent changing presence and an answer change
the figures live (from the socket, no reload); it fits a phone; agents may not see it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from hub.models import Role
from hub.services import SYSTEM, abandon
from hub.services.conversations import assign
from hub.services.users import set_presence
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean
from tests.e2e.test_reports_page import PHONE, open_reports
from tests.helpers import team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

HOSTILE_TEAM = '<img src=x onerror="alert(1)"> Care'
TEXT = {
    "en": {"waiting": "Waiting", "all": "All teams"},
    "ar": {"waiting": "في الانتظار", "all": "كل الفرق"},
}


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


async def staff(hub: Any, lang: str) -> dict[str, int]:
    care = await team(hub, HOSTILE_TEAM)
    billing = await team(hub, "Billing")
    return {
        "care": care,
        "billing": billing,
        "sara": await user(hub, "sara@example.com", Role.agent, (care,), name="Sara"),
        "omar": await user(hub, "omar@example.com", Role.agent, (billing,), name="Omar"),
        "boss": await user(
            hub, "boss@example.com", Role.supervisor, (care, billing), name="Mona", language=lang
        ),
    }


def figure(page: Any, team_id: int | str, col: str) -> Any:
    return page.locator(f'.wall-team[data-team-id="{team_id}"] [data-col="{col}"] .wall-value')


def presence(page: Any, team_id: int | str, p: str) -> Any:
    return page.locator(f'.wall-team[data-team-id="{team_id}"] [data-presence="{p}"] .wall-presence-n')


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_the_wallboard_updates_live(live: Any, lang: str) -> None:
    hub = live.app.hub
    ids = await staff(hub, lang)
    await set_presence(hub, SYSTEM, ids["sara"], "available")
    async with chromium() as browser:
        page, watch = await open_reports(browser, live, "boss@example.com", "/wallboard")
        await expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        care = page.locator(f'.wall-team[data-team-id="{ids["care"]}"]')
        await expect(care.locator("h2")).to_have_text(HOSTILE_TEAM)
        await expect(page.locator('.wall-team[data-team-id="all"] h2')).to_have_text(TEXT[lang]["all"])
        await expect(care.locator('[data-col="waiting"] .wall-label')).to_have_text(TEXT[lang]["waiting"])
        await expect(figure(page, ids["care"], "waiting")).to_have_text("0")
        await expect(figure(page, ids["care"], "longest")).to_have_text("—")
        await expect(presence(page, ids["care"], "available")).to_have_text("1")
        await expect(page.locator(".conn")).to_have_attribute("data-state", "open")

        # A customer writes in: the Care card and the total count them, live.
        async with httpx.AsyncClient(base_url=live.base) as c:
            r = await c.post(
                "/channels/loopback/messages",
                json={"sender": "cust-1", "body": "hello?", "team": HOSTILE_TEAM, "sender_name": "Layla"},
            )
        assert r.status_code in (200, 201), r.text
        conv = int(r.json()["conversation_id"])
        await expect(figure(page, ids["care"], "waiting")).to_have_text("1")
        await expect(figure(page, "all", "waiting")).to_have_text("1")
        await expect(figure(page, ids["billing"], "waiting")).to_have_text("0")
        await expect(figure(page, ids["care"], "longest")).not_to_have_text("—")
        await expect(care).to_have_class("wall-team has-waiting")
        # Presence changes move the agent counts.
        await set_presence(hub, SYSTEM, ids["sara"], "busy")
        await expect(presence(page, ids["care"], "busy")).to_have_text("1")
        await expect(presence(page, ids["care"], "available")).to_have_text("0")
        # Answered: out of the queue, counted as answered today, within the target.
        await assign(hub, SYSTEM, conv, ids["sara"])
        await expect(figure(page, ids["care"], "waiting")).to_have_text("0")
        await expect(figure(page, ids["care"], "answered")).to_have_text("1")
        await expect(figure(page, ids["care"], "service_level")).to_have_text(
            "100%" if lang == "en" else "100\u200e%\u200e"
        )
        await expect(figure(page, ids["care"], "abandoned")).to_have_text("0")
        # A caller hangs up in the queue: abandoned today, live (GET /queues, the team's day).
        async with httpx.AsyncClient(base_url=live.base) as c:
            r = await c.post(
                "/channels/loopback/messages",
                json={"sender": "cust-2", "body": "anyone?", "team": HOSTILE_TEAM, "sender_name": "Omar"},
            )
        assert r.status_code in (200, 201), r.text
        await expect(figure(page, ids["care"], "waiting")).to_have_text("1")
        assert await abandon.caller_hung_up(hub, int(r.json()["conversation_id"]))
        await expect(figure(page, ids["care"], "abandoned")).to_have_text("1")
        await expect(figure(page, "all", "abandoned")).to_have_text("1")
        # Full screen: the top bar goes, Escape brings it back.
        await page.click("#wall-full")
        await expect(page.locator("#topbar")).to_be_hidden()
        await page.keyboard.press("Escape")
        await expect(page.locator("#topbar")).to_be_visible()
        assert await page.evaluate("window.__sockets.length") == 1  # live, never reloaded
        await assert_clean(page, watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_the_wallboard_fits_a_phone_and_is_for_supervisors(live: Any, lang: str) -> None:
    hub = live.app.hub
    ids = await staff(hub, lang)
    async with chromium() as browser:
        page, watch = await open_reports(browser, live, "boss@example.com", "/wallboard", viewport=PHONE)
        await expect(figure(page, ids["care"], "waiting")).to_have_text("0")
        fit = await page.evaluate(
            """() => ({ doc: document.documentElement.scrollWidth, inner: innerWidth,
                 wall: document.querySelector('#wall').scrollWidth, wallClient: document.querySelector('#wall').clientWidth })"""
        )
        assert fit["doc"] <= fit["inner"] and fit["wall"] <= fit["wallClient"] + 1, fit
        await assert_clean(page, watch)
        page, _ = await open_reports(browser, live, "sara@example.com", "/wallboard")
        await expect(page.locator("#wall .error")).to_be_visible()
        await expect(page.locator(".wall-team")).to_have_count(0)
