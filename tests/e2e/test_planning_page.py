"""The planning page (/planning) in English and Arabic: a supervisor sees the forecast of
their team with its MAPE beside it, the two charts drawn by the vendored Chart.js, the
table per day (the holiday ahead needs nobody), a shrinkage change re-staffing the plan,
the CSV download, right-to-left in Arabic, and no sideways scroll on a 390 px phone."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from playwright.async_api import expect

from hub.models import Role
from tests.browser_support import chromium
from tests.core.test_forecast import HOURS, NOW, ORIGIN, WEEKS, seed, synthetic
from tests.e2e.test_console_support import assert_clean, open_page
from tests.e2e.test_narrow_screens import PHONE, assert_fits
from tests.helpers import team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=15_000)

TEXT = {
    "en": {
        "mape": "Forecast error (MAPE, last 4 weeks)",
        "day": "Thursday, Dec 10",
        "chart": "Forecast arrivals and agents per half hour",
    },
    "ar": {
        "mape": "خطأ التنبؤ (MAPE، آخر 4 أسابيع)",
        "day": "الخميس، 10 ديسمبر",
        "chart": "الوصول المتوقع والموظفون لكل نصف ساعة",
    },
}


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite: the API tests cover PostgreSQL; this one is about the page."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_planning_page(live: Any, clock: Any, lang: str) -> None:
    hub = live.app.hub
    clock.now = NOW
    care = await team(hub, "Care", business_hours=HOURS)
    await user(hub, "boss@example.com", Role.supervisor, (care,), name="Mona", language=lang)
    await seed(hub, care, "whatsapp", synthetic(ORIGIN - WEEKS * 336, ORIGIN + 26))
    text = TEXT[lang]
    # statsmodels loads on the first forecast of a process (seconds on a busy machine):
    # load it before the page asks, so the page's wait is the forecast's.
    import statsmodels.tsa.holtwinters  # noqa: F401

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "boss@example.com", "/planning")
        # The team is chosen (the supervisor's only one); the channel is picked.
        await expect(page.locator("#f-team option")).to_have_count(1)
        await page.select_option("#f-channel", "whatsapp")
        await expect(page).to_have_url(
            f"{live.base}/planning#team_id={care}&channel=whatsapp&days=14&shrinkage=0.3&model=erlang_c"
        )
        await expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        facts = page.locator("#plan-facts")
        mape = facts.locator(".mape")
        # The plan of the channel picked (the first channel's, without history, may show first).
        await expect(mape.locator(".fact-value")).to_have_text(re.compile(r"%$"), timeout=60_000)
        await expect(mape.locator("dt")).to_have_text(text["mape"])
        value = await mape.locator(".fact-value").inner_text()
        assert value.endswith("%") and float(value.rstrip(" %")) < 10, value
        # Charts drawn (Chart.js sized the canvases) and labelled for screen readers.
        for chart in ("#forecast-canvas", "#history-canvas"):
            await expect(page.locator(chart)).to_have_attribute("role", "img")
            assert await page.locator(chart).evaluate("c => c.width > 0 && !!window.Chart.getChart(c)")
        assert (await page.locator("#forecast-canvas").get_attribute("aria-label")).startswith(text["chart"])
        # Per day: 14 days; the holiday ahead (Thursday 10 Dec) needs nobody.
        rows = page.locator("#plan-days tbody tr")
        await expect(rows).to_have_count(14)
        holiday = page.locator('#plan-days tr[data-day="2026-12-10"]')
        await expect(holiday.locator("th")).to_have_text(text["day"])
        await expect(holiday.locator("td").nth(0)).to_have_text("0")
        await expect(holiday.locator("td").nth(3)).to_have_text("0")
        today = page.locator('#plan-days tr[data-day="2026-12-03"] td')
        scheduled_30 = await today.nth(2).inner_text()
        # More shrinkage: more agents on the schedule for the same required agents.
        await page.fill("#f-shrinkage", "50")
        await page.locator("#f-shrinkage").dispatch_event("change")
        await expect(today.nth(2)).not_to_have_text(scheduled_30)
        assert int(await today.nth(2).inner_text()) > int(scheduled_30)
        assert "shrinkage=0.5" in (await page.locator("#plan-csv").get_attribute("href") or "")
        # CSV download.
        async with page.expect_download() as info:
            await page.click("#plan-csv")
        download = await info.value
        assert download.suggested_filename == f"forecast-team-{care}-whatsapp.csv"
        body = (await download.path()).read_text(encoding="utf-8")
        rows_csv = list(csv.DictReader(io.StringIO(body)))
        assert sum(r["kind"] == "forecast" for r in rows_csv) == 14 * 48
        # A phone: nothing scrolls sideways.
        await page.set_viewport_size(PHONE)
        await expect(rows).to_have_count(14)
        await assert_fits(page, f"planning ({lang})")
        await assert_clean(page, watch)
