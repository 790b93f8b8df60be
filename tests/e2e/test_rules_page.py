"""Automation rules and macros in the browser, English then Arabic on one page: an admin
makes a rule (a refused field is marked next to itself), a loopback message sets it
off, its firings and dry run show; an agent applies a macro with Alt+M and a number key
and the thread shows a rule's line. At 390 px nothing scrolls sideways."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect
from sqlmodel import select

from hub.models import CannedResponse, Conversation, Label, Role
from hub.services import SYSTEM, rules
from hub.services.access import Actor
from hub.services.conversations import assign
from hub.services.macros import create_macro
from hub.services.uow import unit_of_work
from tests.browser_support import chromium
from tests.core.test_rules import settle
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


async def _label(hub: Any, key: str, en: str, ar: str) -> None:
    async with unit_of_work(hub) as uow:
        uow.session.add(Label(key=key, name_en=en, name_ar=ar))


async def _no_sideways_scroll(page: Any) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width


async def test_admin_makes_a_rule_that_fires_on_a_loopback_message(live: Any) -> None:
    hub = live.app.hub
    await team(hub, "Support")
    await user(hub, "root@example.com", role=Role.admin, name="Root")
    await _label(hub, "vip", "VIP", "مهم")
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "root@example.com", "/admin#rules")
        await page.locator("#new-rule").click()
        dialog = page.locator("#rule-dialog")
        await dialog.get_by_role("button", name="Add a condition").click()
        await dialog.locator('[name="conditions.0.values"]').fill("refund, استرداد")
        await dialog.locator('[name="actions.0.labels"]').select_option("vip")
        await dialog.locator("button[type=submit]").click()
        # No name: the hub's refusal is shown next to the field.
        await expect(dialog.locator("[name=name] + .field-error")).to_have_text("This is required.")
        await dialog.locator("[name=name]").fill("Refunds are VIP")
        await dialog.locator("button[type=submit]").click()
        await expect(dialog).to_have_count(0)
        row = page.locator("#rules-table tbody tr[data-rule]")
        await expect(row).to_have_count(1)
        await expect(row.first).to_contain_text("Refunds are VIP")

        cid = (await inbound(live.app.client, "cust-1", "I want a refund please"))["conversation_id"]
        await settle(hub)  # the hub's runner does this by itself; the test waits for it
        await row.first.locator("[data-firings]").click()
        firing = page.locator("#rule-firings tbody tr")
        await expect(firing).to_have_count(1)
        await expect(firing.first).to_have_attribute("data-outcome", "fired")
        await expect(firing.first).to_contain_text(f"#{cid}")
        async with hub.db.session() as s:
            conv = (await s.exec(select(Conversation).where(Conversation.id == cid))).one()
        assert conv.tags == ["vip"]

        # A shared macro for everyone, from Admin → Macros.
        await page.goto(f"{live.base}/admin#macros")
        await page.locator("#new-macro").click()
        macro = page.locator("#macro-dialog")
        await macro.locator("[name=name]").fill("Thank and close")
        await macro.locator("[name=scope]").select_option("everyone")
        await macro.locator('[name="actions.0.labels"]').select_option("vip")
        await macro.get_by_role("button", name="Add an action").click()
        await macro.locator('[name="actions.1.type"]').select_option("resolve")
        await macro.locator('[name="actions.1.category"]').select_option("inquiry")
        await macro.locator("button[type=submit]").click()
        await expect(macro).to_have_count(0)
        await expect(page.locator("#macros-table tbody tr[data-macro]")).to_contain_text("Thank and close")
        await page.goto(f"{live.base}/admin#rules")

        # Arabic: the page turns right-to-left; the dry run lists the conversation.
        await page.locator("#lang-toggle").click()
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        await expect(page.locator("#admin-main h2")).to_have_text("القواعد")
        await page.locator("#rules-table [data-dry]").click()
        await expect(page.locator("#rule-panel")).to_contain_text("تنطبق الآن على 1 من آخر 1 محادثة.")
        await expect(page.locator("#rule-panel")).to_contain_text(
            "تنطبق ولا شيء يتغير"
        )  # vip is there already
        await page.locator("#rules-table [data-edit]").click()
        await expect(page.locator("#rule-dialog")).to_be_visible()
        await _no_sideways_scroll(page)
        await page.keyboard.press("Escape")
        await assert_clean(page, watch)


async def test_agent_applies_a_macro_and_sees_a_rules_line(live: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana")
    await _label(hub, "vip", "VIP", "مهم")
    await _label(hub, "done", "Done", "منجز")
    async with unit_of_work(hub) as uow:
        canned = CannedResponse(
            shortcut="thanks", title="Thanks", body="Thank you for writing!", language="en"
        )
        uow.session.add(canned)
    await rules.create_rule(
        hub,
        Actor(user_id=None, role="admin"),
        {
            "name": "Mark VIP",
            "trigger": "message_received",
            "actions": [{"type": "add_labels", "labels": ["vip"]}],
        },
    )
    me = Actor(user_id=ana, role="agent", team_ids=frozenset({support}))
    await create_macro(
        hub,
        me,
        {
            "name": "Thank and tag",
            "actions": [
                {"type": "add_labels", "labels": ["done"]},
                {"type": "canned_reply", "canned_id": canned.id},
            ],
        },
    )
    cid = (await inbound(live.app.client, "cust-1", "hello", team="Support"))["conversation_id"]
    await assign(hub, SYSTEM, cid, ana)
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "ana@example.com", "/console")
        await page.locator(f'#conv-list [data-conversation-id="{cid}"]').click()
        line = page.locator('#thread [data-event-type="rule.fired"]')
        await expect(line).to_contain_text("Rule Mark VIP: added vip")
        await page.keyboard.press("Alt+KeyM")
        menu = page.locator("#macro-menu")
        await expect(menu).to_contain_text("Thank and tag")
        await page.keyboard.press("1")
        await expect(menu).to_have_count(0)
        await expect(page.locator('#thread-labels .label-chip[data-label="done"]')).to_be_visible()
        await expect(page.locator("#thread .msg.outbound").last).to_contain_text("Thank you for writing!")

        await page.locator("#lang-toggle").click()
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        await expect(line).to_contain_text("القاعدة Mark VIP: أضافت vip")
        await page.locator("#thread-macros").click()
        await expect(page.locator("#macro-menu h2")).to_have_text(f"تطبيق إجراء مجمّع على #{cid}")
        await _no_sideways_scroll(page)
        await page.keyboard.press("Escape")
        await assert_clean(page, watch)
