"""A user created in Admin with the capacity left as shown can receive work, and an
agent whose capacity is zero on every channel is told so in the console (English and
Arabic, at phone width)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect
from sqlmodel import select

from hub.models import Role, User
from hub.services.users import CHANNEL_CAPACITY_DEFAULT
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite only: the browser side; the API default is tested on both databases."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


async def test_admin_form_starts_from_the_default_capacities(live: Any) -> None:
    await user(live.app.hub, "root@example.com", role=Role.admin, name="Root")
    async with chromium() as browser:
        # (#users: a hub without agents or a channel opens on the first-run checklist.)
        page, watch = await open_page(browser, live, "root@example.com", "/admin#users")
        await page.locator("#new-user").click()
        dialog = page.locator("#user-dialog")
        await expect(dialog.locator("[name='capacity.email']")).to_have_value(
            str(CHANNEL_CAPACITY_DEFAULT["email"])
        )
        await dialog.locator("[name=email]").fill("new@example.com")
        await dialog.locator("[name=name]").fill("New Agent")
        await dialog.get_by_role("button", name="Create").click()
        await page.locator("#password-dialog").get_by_role("button", name="Done").click()
        await expect(page.locator("#users-table")).to_contain_text("New Agent")
        await assert_clean(page, watch)
    async with live.app.hub.db.session() as s:
        created = (await s.exec(select(User).where(User.email == "new@example.com"))).one()
    assert created.capacity == CHANNEL_CAPACITY_DEFAULT


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "Your capacity is 0 on every channel"), ("ar", "سعتك صفر على كل القنوات")],
)
async def test_console_warns_an_agent_with_no_capacity(live: Any, language: str, text: str) -> None:
    hub = live.app.hub
    t = await team(hub, "Support")
    await user(hub, "zero@example.com", team_ids=(t,), capacity={}, language=language)
    await user(hub, "some@example.com", team_ids=(t,), capacity={"sms": 0, "email": 2}, language=language)
    phone = {"width": 390, "height": 844}
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "zero@example.com", "/console", viewport=phone)
        warning = page.locator("#capacity-warning")
        await expect(warning).to_be_visible()
        await expect(warning).to_contain_text(text)
        box = await warning.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        # The text wraps inside the phone's width (the rest of the console's phone
        # layout is not this test's business).
        assert await warning.evaluate("(el) => el.scrollWidth <= el.clientWidth")
        await assert_clean(page, watch)

        other, other_watch = await open_page(browser, live, "some@example.com", "/console", viewport=phone)
        await expect(other.locator("#topbar")).not_to_be_empty()
        await expect(other.locator("#capacity-warning")).to_be_hidden()
        await assert_clean(other, other_watch)
