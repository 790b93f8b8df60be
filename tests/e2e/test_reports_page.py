"""The reports page in the browser, in English and Arabic: the overview renders the
figures of a known week (seeded through the real services with the fake clock) and
their change against the previous week, a filter changes them, a figure drills down
to its conversations, the tables download as CSV and a chart as PNG, the charts read
right to left in Arabic, and the page fits a phone. Customer text is hostile markup:
it stays text."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.async_api import expect

from channels.loopback import LoopbackChannel
from hub.models import Role
from hub.services import SYSTEM
from hub.services.conversations import assign, reply, resolve, transfer
from hub.services.surveys import save_policy
from tests.browser_support import chromium
from tests.e2e.test_console_support import INIT_SCRIPT, Watch, assert_clean
from tests.helpers import PASSWORD, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

HOSTILE = '<img src=x onerror="alert(1)">'
# Without digits: a survey answer with a second number in it is not taken as an answer.
HOSTILE_WORDS = '<b onclick="alert(document.domain)">agent</b>'
# Sun-Thu 09:00-17:00 Riyadh: the business zone the page offers.
HOURS = {
    "timezone": "Asia/Riyadh",
    "days": {d: [["09:00", "17:00"]] for d in ("sun", "mon", "tue", "wed", "thu")},
}
# Thursday 1 to Wednesday 7 January 2026 in Riyadh; the previous period is 25-31 December.
WEEK = "#range=custom&from=2026-01-01&to=2026-01-07&tz=Asia%2FRiyadh"
PHONE = {"width": 390, "height": 844}
TEXT = {
    "en": {"conversations": "Conversations", "up": "▲ 200%", "period": "Jan 1, 2026 – Jan 7, 2026"},
    "ar": {"conversations": "المحادثات", "up": "▲ 200\u200e%\u200e", "period": "1 يناير 2026 – 7 يناير 2026"},
}


class WhatsAppStandIn(LoopbackChannel):
    """Loopback under the "whatsapp" kind: a second channel for the mix and the filter."""

    kind: ClassVar[str] = "whatsapp"


@pytest.fixture
def extra_channels() -> list[Any]:
    return [WhatsAppStandIn()]


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite: the API tests cover PostgreSQL; these are about the page."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def at(clock: Any, month: int, day: int, hh: int, mm: int) -> None:
    year = 2025 if month == 12 else 2026
    clock.now = datetime(year, month, day, hh, mm, tzinfo=UTC)


async def post(app: Any, kind: str, sender: str, body: str, **kw: Any) -> int:
    r = await app.client.post(f"/channels/{kind}/messages", json={"sender": sender, "body": body, **kw})
    assert r.status_code in (200, 201), r.text
    return int(r.json()["conversation_id"])


async def settle(app: Any) -> None:
    """Fold the event log into the rollups and send what the outbox holds (surveys)."""
    await app.hub.projections.catch_up()
    await app.hub.projections.run_due()
    while await app.worker.run_once():
        pass
    await app.hub.projections.catch_up()


async def seed_week(app: Any, clock: Any, lang: str) -> dict[str, int]:
    """One conversation in the previous week; three in the week: A (loopback, Care,
    answered in time, resolved, rated 4 with a hostile comment), B (WhatsApp, Care,
    answered late, transferred to Billing, resolved) and C (loopback, Billing, waiting)."""
    hub = app.hub
    at(clock, 12, 28, 8, 0)
    care = await team(
        hub, "Care", business_hours=HOURS, routing={"sla_seconds": {"loopback": 60, "whatsapp": 60}}
    )
    billing = await team(hub, "Billing")
    sara = await user(hub, "sara@example.com", Role.agent, (care, billing), name="Sara Nasser")
    await user(hub, "boss@example.com", Role.supervisor, (care, billing), name="Mona", language=lang)
    await user(hub, "care-boss@example.com", Role.supervisor, (care,), name="Huda", language=lang)
    await user(hub, "root@example.com", Role.admin, name="Root", language=lang)
    await save_policy(hub, SYSTEM, None, None, {"enabled": True, "delay_seconds": 0, "ask_comment": False})
    from tests.core.test_reports import _actor

    agent = await _actor(hub, sara)
    # Previous week: Monday 29 December.
    at(clock, 12, 29, 9, 0)
    old = await post(
        app, "loopback", "cust-old", "hello from last year", team="Care", sender_name="Old Timer"
    )
    await assign(hub, SYSTEM, old, sara)
    await reply(hub, agent, old, "hi")
    # A: Monday 5 January 12:00 Riyadh.
    at(clock, 1, 5, 9, 0)
    a = await post(app, "loopback", "cust-a", "my order is late", team="Care", sender_name=f"Layla {HOSTILE}")
    at(clock, 1, 5, 9, 1)
    await assign(hub, SYSTEM, a, sara)
    at(clock, 1, 5, 9, 3)
    await reply(hub, agent, a, "on its way")
    at(clock, 1, 5, 9, 10)
    await resolve(hub, SYSTEM, a)
    await settle(app)
    at(clock, 1, 5, 9, 11)
    await post(app, "loopback", "cust-a", f"4 kind {HOSTILE_WORDS}")
    # B: WhatsApp, answered after 20 minutes, transferred to Billing, resolved.
    at(clock, 1, 5, 9, 20)
    b = await post(app, "whatsapp", "cust-b", "refund please", team="Care", sender_name="Karim")
    at(clock, 1, 5, 9, 40)
    await assign(hub, SYSTEM, b, sara)
    at(clock, 1, 5, 10, 0)
    await reply(hub, agent, b, "checking")
    at(clock, 1, 5, 10, 5)
    await transfer(hub, SYSTEM, b, to_team_id=billing, to_user_id=sara)
    at(clock, 1, 5, 10, 10)
    await resolve(hub, SYSTEM, b)
    # C: Tuesday, Billing, still waiting.
    at(clock, 1, 6, 10, 0)
    c = await post(app, "loopback", "cust-c", "invoice?", team="Billing", sender_name="Nour")
    at(clock, 1, 7, 12, 0)
    await settle(app)
    return {"care": care, "billing": billing, "sara": sara, "old": old, "a": a, "b": b, "c": c}


async def open_reports(
    browser: Any, live: Any, email: str, path: str = f"/reports{WEEK}", *, viewport: Any = None
) -> tuple[Any, Watch]:
    """Sign in (one context per person) in Riyadh's time zone, motion reduced."""
    context = await browser.new_context(
        viewport=viewport or {"width": 1400, "height": 1000},
        timezone_id="Asia/Riyadh",
        reduced_motion="reduce",
        accept_downloads=True,
    )
    await context.add_init_script(INIT_SCRIPT)
    page = await context.new_page()
    watch = Watch()
    page.on(
        "console",
        lambda m: (
            watch.console_errors.append(m.text)
            if m.type == "error"
            else (watch.missing_strings.append(m.text) if m.text.startswith("i18n: missing") else None)
        ),
    )
    page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
    page.on("dialog", lambda d: watch.dialogs.append(d.message))
    await page.goto(f"{live.base}{path}")
    await page.wait_for_url(lambda url: "/login?next=" in url)
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(lambda url: "/reports" in url or "/wallboard" in url)
    if "#" in path and "#" not in page.url:
        await page.goto(f"{live.base}{path}")
    return page, watch


def tile(page: Any, metric: str) -> Any:
    return page.locator(f'#tiles [data-metric="{metric}"]')


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_overview_filters_tables_and_downloads(
    live: Any, clock: Any, lang: str, tmp_path: Path
) -> None:
    ids = await seed_week(live.app, clock, lang)
    text = TEXT[lang]
    async with chromium() as browser:
        page, watch = await open_reports(browser, live, "boss@example.com")
        await expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        await expect(page.locator("#reports-main")).to_have_attribute("data-state", "ready")
        await expect(page.locator("#report-period")).to_contain_text(text["period"])
        # The headline figures of the week, and the change against the week before.
        await expect(tile(page, "conversations").locator(".tile-label")).to_have_text(text["conversations"])
        await expect(tile(page, "conversations").locator(".tile-value")).to_have_text("3")
        await expect(tile(page, "conversations").locator(".tile-delta [aria-hidden]")).to_have_text(
            text["up"]
        )
        await expect(tile(page, "resolved").locator(".tile-value")).to_have_text("2")
        await expect(tile(page, "transfers").locator(".tile-value")).to_have_text("1")
        await expect(tile(page, "answered").locator(".tile-value")).to_have_text("2")
        # Answered: A within its 60 s target, B after 20 minutes.
        await expect(tile(page, "service_level").locator(".tile-value")).to_have_text(
            "50%" if lang == "en" else "50\u200e%\u200e"
        )
        await expect(tile(page, "csat").locator(".tile-value")).to_have_text("4")
        # The heat map: Monday 12:00 in Riyadh holds A and B; Tuesday 13:00 holds C.
        await expect(page.locator('#heatmap td[data-day="0"][data-hour="12"]')).to_have_text("2")
        await expect(page.locator('#heatmap td[data-day="1"][data-hour="13"]')).to_have_text("1")
        # Teams and the channel mix.
        care_row = page.locator(f'#teams-table tr[data-team-id="{ids["care"]}"]')
        await expect(care_row.locator("th")).to_have_text("Care")
        await expect(page.locator('#channels-table tr[data-channel="whatsapp"] td').first).to_have_text("1")
        await expect(page.locator(f'#agents-table tr[data-agent-id="{ids["sara"]}"] th')).to_have_text(
            "Sara Nasser"
        )
        # By customer: one row per resolution category; the agents' time as a chart.
        await expect(page.locator("#breakdown-table tbody tr[data-key]")).to_have_count(5)
        await expect(page.locator("#agent-time-canvas")).to_have_attribute("role", "img")
        # What customers wrote: hostile markup stays text.
        await expect(page.locator("#verbatims .verbatim-text")).to_have_text(f"kind {HOSTILE_WORDS}")
        # Charts: labelled canvases, the numbers in a hidden table; right to left in Arabic.
        canvas = page.locator("#volume-canvas")
        await expect(canvas).to_have_attribute("role", "img")
        await expect(page.locator("#volume-data tbody tr")).to_have_count(7)
        reverse = await page.evaluate("Chart.getChart('volume-canvas').options.scales.x.reverse")
        legend_rtl = await page.evaluate("Chart.getChart('volume-canvas').options.plugins.legend.rtl")
        assert (reverse, legend_rtl) == ((True, True) if lang == "ar" else (False, False))

        # A filter changes the figures (and the address keeps it).
        await page.select_option("#f-team", str(ids["billing"]))
        await expect(tile(page, "conversations").locator(".tile-value")).to_have_text("1")
        await expect(tile(page, "resolved").locator(".tile-value")).to_have_text("1")
        assert f"team={ids['billing']}" in page.url
        await page.select_option("#f-team", "")
        await page.select_option("#f-channel", "whatsapp")
        await expect(tile(page, "conversations").locator(".tile-value")).to_have_text("1")
        await expect(tile(page, "transfers").locator(".tile-value")).to_have_text("1")
        await page.select_option("#f-channel", "")
        await expect(tile(page, "conversations").locator(".tile-value")).to_have_text("3")

        # CSV of a table: the file the API writes, for the period shown.
        async with page.expect_download() as info:
            await page.click("#csv-teams")
        download = await info.value
        body = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(body)))
        by_team = {r["team_id"]: r for r in rows}
        assert by_team[str(ids["care"])]["conversations"] == "2"
        assert by_team[str(ids["billing"])]["conversations"] == "1"
        # A chart as PNG.
        async with page.expect_download() as info:
            await page.click('[data-png="volume"]')
        png = await info.value
        assert png.suggested_filename.endswith(".png")
        data = await asyncio.to_thread(Path(await png.path()).read_bytes)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"

        # A custom range that ends before it starts: said next to the field, translated.
        await page.fill("#f-to", "2025-12-01")
        await page.locator("#f-to").dispatch_event("change")
        await expect(page.locator("#f-to + .field-error")).to_be_visible()
        await expect(page.locator("#f-to")).to_have_attribute("aria-invalid", "true")
        await assert_clean(page, watch)


async def test_a_supervisor_sees_their_own_teams_and_agents_none(live: Any, clock: Any) -> None:
    ids = await seed_week(live.app, clock, "en")
    async with chromium() as browser:
        page, watch = await open_reports(browser, live, "care-boss@example.com")
        await expect(tile(page, "conversations").locator(".tile-value")).to_have_text("2")
        options = await page.locator("#f-team option").evaluate_all("(els) => els.map((e) => e.value)")
        assert options == ["", str(ids["care"])]
        await assert_clean(page, watch)
        page, _ = await open_reports(browser, live, "sara@example.com")
        await expect(page.locator("#reports-main .error")).to_have_text(
            "You do not have permission for this page."
        )


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_drill_down_lists_the_conversations_behind_a_figure(live: Any, clock: Any, lang: str) -> None:
    ids = await seed_week(live.app, clock, lang)
    async with chromium() as browser:
        page, watch = await open_reports(browser, live, "boss@example.com")
        await expect(tile(page, "conversations").locator(".tile-value")).to_have_text("3")
        await tile(page, "conversations").click()
        dialog = page.locator("#drill")
        rows = dialog.locator("tbody tr[data-conversation-id]")
        await expect(rows).to_have_count(3)
        got = await rows.evaluate_all(
            "(els) => els.map((e) => Number(e.dataset.conversationId)).sort((a, b) => a - b)"
        )
        assert got == sorted([ids["a"], ids["b"], ids["c"]])
        await expect(dialog.locator(f'tr[data-conversation-id="{ids["a"]}"] td').first).to_have_text(
            f"Layla {HOSTILE}"
        )
        await expect(dialog.locator(f'tr[data-conversation-id="{ids["a"]}"] a')).to_have_attribute(
            "href", f"/console#c={ids['a']}"
        )
        await page.keyboard.press("Escape")
        await expect(dialog).to_have_count(0)
        await expect(tile(page, "conversations")).to_be_focused()
        # Answered after the target: B only.
        await tile(page, "service_level").click()
        await expect(rows).to_have_count(1)
        await expect(rows).to_have_attribute("data-conversation-id", str(ids["b"]))
        await dialog.locator("#drill-close").click()
        # From a table: the resolutions counted for Care (A; B was resolved in Billing).
        await page.locator(f'#teams-table tr[data-team-id="{ids["care"]}"] [data-drill="resolved"]').click()
        await expect(rows).to_have_count(1)
        await expect(rows).to_have_attribute("data-conversation-id", str(ids["a"]))
        await assert_clean(page, watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_reports_fit_a_phone(live: Any, clock: Any, lang: str) -> None:
    await seed_week(live.app, clock, lang)
    async with chromium() as browser:
        page, watch = await open_reports(browser, live, "root@example.com", viewport=PHONE)
        await expect(tile(page, "conversations").locator(".tile-value")).to_have_text("3")
        await expect(page.locator("#heatmap tbody tr")).to_have_count(7)
        fit = await page.evaluate(
            """() => ({ doc: document.documentElement.scrollWidth, inner: innerWidth,
                 main: document.querySelector('#reports-main').scrollWidth,
                 mainClient: document.querySelector('#reports-main').clientWidth })"""
        )
        assert fit["doc"] <= fit["inner"], fit
        assert fit["main"] <= fit["mainClient"] + 1, fit
        await assert_clean(page, watch)


def _row(
    conv: int, name: str, channel: str, team_id: int, assignee: int | None, status: str
) -> dict[str, Any]:
    return {
        "id": conv,
        "channel": channel,
        "status": status,
        "team_id": team_id,
        "assignee_id": assignee,
        "contact_id": 1,
        "contact_name": name,
        "created_at": "2026-01-05T09:00:00Z",
        "resolved_at": "2026-01-05T09:10:00Z" if status == "resolved" else None,
    }


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_drill_down_dialog_asks_for_the_figure_and_pages(live: Any, clock: Any, lang: str) -> None:
    """The dialog on its own, with the list answered by the browser (the same shape as
    GET /reports/conversations): the query it sends, the rows as text, the links into
    the console, "More" with the cursor, Escape back to the figure."""
    ids = await seed_week(live.app, clock, lang)
    asked: list[dict[str, list[str]]] = []

    async def answer(route: Any) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        asked.append(query)
        if "cursor" not in query:
            items = [
                _row(ids["a"], f"Layla {HOSTILE}", "loopback", ids["care"], ids["sara"], "resolved"),
                _row(ids["b"], "Karim", "whatsapp", ids["billing"], ids["sara"], "resolved"),
            ]
            await route.fulfill(json={"items": items, "next_cursor": "page-2"})
        else:
            items = [_row(ids["c"], "Nour", "loopback", ids["billing"], None, "queued")]
            await route.fulfill(json={"items": items, "next_cursor": None})

    async with chromium() as browser:
        page, watch = await open_reports(browser, live, "boss@example.com")
        await page.route("**/api/v1/reports/conversations?*", answer)
        await expect(tile(page, "conversations").locator(".tile-value")).to_have_text("3")
        await tile(page, "conversations").click()
        dialog = page.locator("#drill")
        rows = dialog.locator("tbody tr[data-conversation-id]")
        await expect(rows).to_have_count(2)
        assert asked[0]["metric"] == ["conversations"] and asked[0]["limit"] == ["50"]
        # The period shown: 1-7 January in Riyadh, up to its end.
        assert asked[0]["since"] == ["2025-12-31T21:00:00.000Z"]
        assert asked[0]["until"] == ["2026-01-07T21:00:00.000Z"]
        first = dialog.locator(f'tr[data-conversation-id="{ids["a"]}"]')
        await expect(first.locator("td").first).to_have_text(f"Layla {HOSTILE}")
        await expect(first.locator("a")).to_have_attribute("href", f"/console#c={ids['a']}")
        await expect(dialog.locator("img")).to_have_count(0)
        await dialog.locator("#drill-more").click()
        await expect(rows).to_have_count(3)
        assert asked[1]["cursor"] == ["page-2"]
        await expect(dialog.locator("#drill-more")).to_be_hidden()
        await expect(dialog.locator(f'tr[data-conversation-id="{ids["c"]}"] a')).to_be_focused()
        await page.keyboard.press("Escape")
        await expect(dialog).to_have_count(0)
        await expect(tile(page, "conversations")).to_be_focused()
        # Service level drills to the conversations answered late; a table cell adds its team.
        await tile(page, "service_level").click()
        await expect(rows).to_have_count(2)
        assert asked[-1]["metric"] == ["answered_late"]
        await dialog.locator("#drill-close").click()
        await page.locator(
            f'#teams-table tr[data-team-id="{ids["billing"]}"] [data-drill="conversations"]'
        ).click()
        await expect(rows).to_have_count(2)
        assert asked[-1]["metric"] == ["conversations"] and asked[-1]["team_id"] == [str(ids["billing"])]
        await assert_clean(page, watch)
