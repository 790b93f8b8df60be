"""Admin → Scheduled reports in a browser, in English on a desktop and in Arabic on a
phone: field errors next to their fields in the page's language, a schedule saved and
listed, a test send mailed through a real SMTP server; nothing scrolls sideways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import expect

from channels.email import EmailChannel
from hub.models import Role
from tests.browser_support import chromium
from tests.channels.email_servers import SmtpSink, running_sink
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

FITS = """() => [document.documentElement, ...document.querySelectorAll(".admin-main, dialog[open] form")]
  .filter((el) => el.scrollWidth > el.clientWidth + 1)
  .map((el) => `${el.tagName}.${el.className}: ${el.scrollWidth} > ${el.clientWidth}`)"""


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite only: the API is tested on both databases."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    async with running_sink() as sink:
        yield sink


@pytest.fixture
def extra_channels(smtp_sink: SmtpSink) -> list[Any]:
    from tests.core.test_report_schedules import email_channel

    channel: EmailChannel = email_channel(smtp_sink)
    return [channel]


TEXTS = {
    "en": {
        "hour": "A whole hour from 0 to 23.",
        "recipients": "Choose at least one recipient.",
        "timezone": "Use a time zone like Asia/Riyadh.",
        "weekday": "Mondays at 07:00",
        "sent": "Queued for 1 recipients.",
        "create": "Create",
    },
    "ar": {
        "hour": "ساعة كاملة من 0 إلى 23.",
        "recipients": "اختر مستلمًا واحدًا على الأقل.",
        "timezone": "استخدم منطقة زمنية مثل Asia/Riyadh.",
        "weekday": "كل الاثنين الساعة 07:00",
        "sent": "أُدرج للإرسال إلى 1 من المستلمين.",
        "create": "إنشاء",
    },
}


@pytest.mark.parametrize(("language", "viewport"), [("en", DESKTOP), ("ar", PHONE)])
async def test_an_admin_schedules_a_report_mail(
    live: Any, smtp_sink: SmtpSink, language: str, viewport: dict[str, int]
) -> None:
    hub = live.app.hub
    care = await team(hub, "Care")
    await user(hub, "root@example.com", Role.admin, name="Root", language=language)
    await user(hub, "boss@example.com", Role.supervisor, (care,), name="Boss Lady")
    await user(hub, "agent@example.com", Role.agent, (care,), name="Agent Smith")
    text = TEXTS[language]
    async with chromium() as browser:
        page, watch = await open_page(
            browser, live, "root@example.com", "/admin#schedules", viewport=viewport
        )
        await expect(page.locator("#schedules-table")).to_be_visible()
        await page.locator("#new-schedule").click()
        dialog = page.locator("#schedule-dialog")
        # Agents are not offered as recipients.
        await expect(dialog.locator("fieldset[name=recipients]")).to_contain_text("Boss Lady")
        await expect(dialog.locator("fieldset[name=recipients]")).not_to_contain_text("Agent Smith")
        await expect(dialog.locator("[name=weekday]")).to_be_hidden()
        await dialog.locator("[name=name]").fill("Morning <b>summary</b>")
        await dialog.locator("[name=hour]").fill("24")
        await dialog.locator("[name=timezone]").fill("Mars/Olympus")
        await dialog.get_by_role("button", name=text["create"]).click()
        # Each refusal next to its field, in the page's language.
        await expect(dialog.locator("[name=hour] + .field-error")).to_have_text(text["hour"])
        await expect(dialog.locator("[name=timezone] + .field-error")).to_have_text(text["timezone"])
        await expect(dialog.locator("fieldset[name=recipients] + .field-error")).to_have_text(
            text["recipients"]
        )
        await expect(dialog.locator("[name=hour]")).to_have_attribute("aria-invalid", "true")
        assert await page.evaluate(FITS) == []
        await dialog.locator("[name=frequency]").select_option("weekly")
        await expect(dialog.locator("[name=weekday]")).to_be_visible()
        await dialog.locator("[name=hour]").fill("7")
        await dialog.locator("[name=timezone]").fill("Asia/Riyadh")
        await dialog.locator("fieldset[name=recipients] input").first.check()
        await dialog.get_by_role("button", name=text["create"]).click()
        await expect(dialog).to_be_hidden()
        row = page.locator("#schedules-table tbody tr").first
        await expect(row).to_contain_text("Morning <b>summary</b>")
        await expect(row).to_contain_text(text["weekday"])
        await expect(row).to_contain_text("Boss Lady")
        # The next mail on the schedule's own clock: Monday 12 January, 07:00 in Riyadh.
        await expect(row.locator(".sch-next")).to_contain_text("7:00")
        assert await page.evaluate(FITS) == []
        await row.locator("[data-send]").click()
        await expect(page.locator("#toasts")).to_contain_text(text["sent"])
        while await live.app.worker.run_once():
            pass
        (mail,) = await smtp_sink.wait_for(1)
        assert mail.rcpt_tos == ["boss@example.com"]
        assert mail.message["Subject"].startswith(
            "Weekly report: Morning <b>summary</b>" if language == "en" else "التقرير الأسبوعي"
        )
        await assert_clean(page, watch)
