"""The password pages in a real browser at phone width: changing one's password (English
and Arabic, right to left, each error under its own field and translated), asking
for a reset link from the sign-in page, and setting a password with a link."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from hub.models import Role
from hub.services import SYSTEM
from hub.services.credentials import force_reset
from hub.services.staff_mail import reset_url
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import PASSWORD, login, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

PHONE = {"width": 390, "height": 844}
NEW = "a brand new passphrase"

TEXT = {
    "en": {
        "title": "Change your password",
        "wrong": "The current password is not right.",
        "common": "This is one of the most common passwords. Choose another one.",
        "mismatch": "The two new passwords are not the same.",
        "done": "Your password is changed.",
    },
    "ar": {
        "title": "تغيير كلمة المرور",
        "wrong": "كلمة المرور الحالية غير صحيحة.",
        "common": "هذه من أكثر كلمات المرور شيوعًا. اختر غيرها.",
        "mismatch": "كلمتا المرور الجديدتان غير متطابقتين.",
        "done": "تم تغيير كلمة المرور.",
    },
}


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite only: the browser side; the API is tested on both databases."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


async def fill(page: Any, current: str, new: str, again: str | None = None) -> None:
    await page.fill("#current_password", current)
    await page.fill("#new_password", new)
    await page.fill("#confirm_password", new if again is None else again)
    await page.click("#password-form button[type=submit]")


async def assert_under(page: Any, field: str, text: str) -> None:
    """``text`` is shown directly under the input ``field``, which is marked invalid."""
    note = page.locator(f"#{field}-error")
    await expect(note).to_have_text(text)
    await expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
    box, under = await page.locator(f"#{field}").bounding_box(), await note.bounding_box()
    assert box is not None and under is not None
    assert 0 <= under["y"] - (box["y"] + box["height"]) < 12, (box, under)
    assert under["x"] >= 0 and under["x"] + under["width"] <= PHONE["width"]


@pytest.mark.parametrize("language", ["en", "ar"])
async def test_change_password_page_at_phone_width(live: Any, language: str) -> None:
    await user(live.app.hub, "ana@example.com", language=language, name="Ana")
    text = TEXT[language]
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "ana@example.com", "/password", viewport=PHONE)
        await expect(page.locator("h1")).to_have_text(text["title"])
        assert await page.evaluate("document.documentElement.dir") == ("rtl" if language == "ar" else "ltr")
        # Nothing sticks out sideways at 390 px.
        assert await page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]

        await fill(page, "not my password", NEW)
        await assert_under(page, "current_password", text["wrong"])
        await expect(page.locator("#new_password-error")).to_be_hidden()

        await fill(page, PASSWORD, "qwertyuiop123")
        await assert_under(page, "new_password", text["common"])
        await expect(page.locator("#current_password-error")).to_be_hidden()

        await fill(page, PASSWORD, NEW, "something else entirely")
        await assert_under(page, "confirm_password", text["mismatch"])

        await page.check("#revoke_tokens")
        await fill(page, PASSWORD, NEW)
        await expect(page.locator("#done")).to_contain_text(text["done"])
        await expect(page.locator(".field-error:visible")).to_have_count(0)
        await assert_clean(page, watch)
    async with httpx.AsyncClient(base_url=live.base) as c:
        await login(c, "ana@example.com", NEW)  # the new password works


async def test_the_header_links_to_the_password_page(live: Any) -> None:
    await user(live.app.hub, "ana@example.com")
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "ana@example.com", "/console")
        await page.click("#change-password")
        await page.wait_for_url(lambda url: url.endswith("/password"))
        await expect(page.locator("#password-form")).to_be_visible()
        await assert_clean(page, watch)


async def test_forgot_password_from_the_sign_in_page(live: Any) -> None:
    async with chromium() as browser:
        context = await browser.new_context(viewport=PHONE)
        page = await context.new_page()
        await page.goto(f"{live.base}/login")
        await page.click("#forgot-link")
        await page.wait_for_url(lambda url: url.endswith("/forgot-password"))
        await page.fill("#email", "nobody@example.com")
        await page.click("#forgot-form button[type=submit]")
        await expect(page.locator("#forgot-done")).to_contain_text("If an account uses this address")


async def test_a_reset_link_sets_the_password(live: Any) -> None:
    hub = live.app.hub
    ana = await user(hub, "ana@example.com")
    link = await force_reset(hub, SYSTEM, ana, revoke_api_tokens=False)
    url = reset_url(hub, link).replace(hub.settings.base_url, live.base)
    async with chromium() as browser:
        context = await browser.new_context(viewport=PHONE)
        page = await context.new_page()
        await page.goto(url)
        assert "token" not in page.url  # taken out of the address bar at once
        await page.fill("#new_password", "password2024")
        await page.fill("#confirm_password", "password2024")
        await page.click("#reset-form button[type=submit]")
        await expect(page.locator("#new_password-error")).to_have_text(
            "This is one of the most common passwords. Choose another one."
        )
        await page.fill("#new_password", NEW)
        await page.fill("#confirm_password", NEW)
        await page.click("#reset-form button[type=submit]")
        await expect(page.locator("#reset-done")).to_have_text("Your password is set. You can sign in now.")
    async with httpx.AsyncClient(base_url=live.base) as c:
        await login(c, "ana@example.com", NEW)


async def test_an_admin_resets_a_password_and_gets_the_link_without_mail(live: Any) -> None:
    await user(live.app.hub, "root@example.com", role=Role.admin, name="Root")
    await user(live.app.hub, "bob@example.com", name="Bob")
    async with chromium() as browser:
        # (#users: a hub without agents or a channel opens on the first-run checklist.)
        page, watch = await open_page(browser, live, "root@example.com", "/admin#users")
        await expect(page.locator("#users-table tr", has_text="Root").locator("[data-reset]")).to_have_count(
            0
        )
        await (
            page.locator("#users-table tr", has_text="Bob")
            .get_by_role("button", name="Reset password")
            .click()
        )
        await page.locator("#reset-dialog").get_by_role("button", name="Reset password").click()
        link = page.locator("#reset-link-dialog #reset-link")
        await expect(link).to_contain_text("/reset-password#token=")
        token = (await link.inner_text()).split("#token=", 1)[1]
        await page.locator("#reset-link-dialog").get_by_role("button", name="Done").click()
        await assert_clean(page, watch)
    async with httpx.AsyncClient(base_url=live.base) as c:
        refused = await c.post("/api/v1/auth/login", json={"email": "bob@example.com", "password": PASSWORD})
        assert refused.status_code == 401  # the old password was cleared
        r = await c.post("/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW})
        assert r.status_code == 204
        await login(c, "bob@example.com", NEW)
