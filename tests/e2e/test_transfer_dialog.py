"""The transfer dialog offers only colleagues of the chosen team; choosing another team
and a colleague in it moves the conversation there with them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from hub.models import Conversation
from hub.services import SYSTEM
from hub.services.conversations import assign
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite only: the browser side; the service rule is tested on both databases."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


async def test_transfer_lists_only_the_teams_colleagues(live: Any) -> None:
    hub = live.app.hub
    billing, tech = await team(hub, "Billing"), await team(hub, "Tech")
    ana = await user(hub, "ana@example.com", team_ids=(billing,), name="Ana Haddad")
    await user(hub, "bob@example.com", team_ids=(billing,), name="Bob Stone")
    tess = await user(hub, "tess@example.com", team_ids=(tech,), name="Tess Lee")
    conv = (await inbound(live.app.client, "cust-1", "refund please", team="Billing"))["conversation_id"]
    await assign(hub, SYSTEM, conv, ana)

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "ana@example.com", "/console")
        await page.locator(f'#conv-list [data-conversation-id="{conv}"]').click()
        await expect(page.locator("#thread .msg.inbound")).to_have_count(1)
        await page.keyboard.press("Alt+T")
        dialog = page.locator("#transfer-dialog")
        await dialog.locator("#tr-agent").check()
        options = dialog.locator("#tr-agent-select option")
        await expect(options).to_have_count(1)
        await expect(options.first).to_contain_text("Bob Stone")
        await dialog.locator("#tr-team-select").select_option(label="Tech")
        await expect(options).to_have_count(1)
        await expect(options.first).to_contain_text("Tess Lee")
        await dialog.get_by_role("button", name="Transfer").click()
        await expect(dialog).to_have_count(0)
        await assert_clean(page, watch)

    async with hub.db.session() as s:
        moved = await s.get(Conversation, conv)
    assert moved is not None and (moved.team_id, moved.assignee_id) == (tech, tess)
