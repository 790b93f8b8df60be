"""Tasks in the console (issue 18), in English then Arabic on one page: "Add task" in a
thread creates a task linked to the conversation, the Tasks panel lists it (its due
time shown in the viewer's zone), completing it moves it out of the open list and a
missed call's task offers "Call back" (a tel: link); at 390 px neither the form nor
the panel scrolls sideways."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import expect
from sqlmodel import select

from channels.twilio import store as voice_store
from hub.models import Conversation, Message, Task
from hub.services import SYSTEM
from hub.services.contacts import add_identity
from hub.services.conversations import assign
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

TEXT = {
    "en": {"add": "Add task", "complete": "Complete", "done": "Task completed.", "call": "Call back"},
    "ar": {"add": "إضافة مهمة", "complete": "إنجاز", "done": "أُنجزت المهمة.", "call": "معاودة الاتصال"},
}


async def _no_sideways_scroll(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate(
        "[...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 392)"
        ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 12)"
    )
    assert width <= 390, (width, wide)


async def test_create_and_complete_a_task_from_a_thread(live: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad")
    convs = []
    for n, name in enumerate(("Layla", "Omar")):
        body = await inbound(
            live.app.client, f"cust-{n}", "Please call me back", sender_name=name, team="Support"
        )
        await assign(hub, SYSTEM, body["conversation_id"], ana)
        await add_identity(hub, SYSTEM, body["contact_id"], "phone", f"+1 202 555 010{n}")
        convs.append(body["conversation_id"])
    # A missed call on the second: the reactor makes a callback task for the team.
    await voice_store.add_tag(hub, convs[1], "callback")
    await hub.projections.catch_up()

    async with chromium() as browser:
        page, watch = await open_page(
            browser, live, "ana@example.com", "/console", viewport={"width": 1440, "height": 900}
        )
        for lang in ("en", "ar"):
            words = TEXT[lang]
            if lang == "ar":
                await page.locator("#lang-toggle").click()
                await expect(page.locator("html")).to_have_attribute("dir", "rtl")
            await page.locator(f'#conv-list [data-conversation-id="{convs[0]}"]').click()
            add = page.locator("#thread-add-task")
            await expect(add).to_have_text(words["add"])
            await add.click()
            dialog = page.locator("#tk-dialog")
            await expect(dialog.locator("#tk-linked")).to_contain_text(f"#{convs[0]}")
            # Empty title: the hub's refusal next to the field, translated.
            await dialog.locator("button[type=submit]").click()
            await expect(dialog.locator("[name=title]")).to_have_attribute("aria-invalid", "true")
            title = f"Send the refund form <b>{lang}</b>"
            await dialog.locator("[name=title]").fill(title)
            await dialog.locator("[name=due_at]").fill("2026-01-06T09:30")
            await dialog.locator("button[type=submit]").click()
            await expect(dialog).to_have_count(0)

            await page.locator("#tk-button").click()
            panel = page.locator("#tk-panel")
            item = panel.locator(".tk-item", has_text=title)
            await expect(item).to_be_visible()  # shown as text, markup and all
            await expect(item.locator(".tk-meta")).to_contain_text("9:30")  # in my zone, as typed
            call = panel.locator('.tk-item [data-action="call"]')
            await expect(call).to_have_text(words["call"])
            assert (await call.get_attribute("href")) == "tel:+12025550101"
            await item.locator('[data-action="complete"]').click()
            await expect(page.locator(".toast", has_text=words["done"])).to_be_visible()
            await expect(item).to_have_count(0)
            await page.locator("#tk-close").click()
            await expect(panel).to_be_hidden()

        # Going offline with open conversations: the hand-over dialog (in Arabic now).
        await page.select_option("#presence", "offline")
        handover = page.locator("#ho-dialog")
        await expect(handover.locator("#ho-list input[type=checkbox]")).to_have_count(2)
        await handover.locator("[name=note]").fill("العميلة تنتظر اتصالًا")
        await handover.locator("button[type=submit]").click()
        await expect(handover).to_have_count(0)
        await expect(page.locator("#presence")).to_have_value("offline")

        # A phone: the form and the panel fit.
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.locator("#tk-button").click()
        await expect(page.locator("#tk-panel .tk-item")).to_have_count(1)
        await _no_sideways_scroll(page)
        await page.locator("#tk-new").click()
        await expect(page.locator("#tk-dialog")).to_be_visible()
        await _no_sideways_scroll(page)
        await page.keyboard.press("Escape")
        await page.locator("#tk-close").click()
        await _no_sideways_scroll(page)
        await assert_clean(page, watch)
    async with hub.db.session() as s:
        done = (await s.exec(select(Task).where(Task.status == "done"))).all()
    assert sorted(t.title for t in done) == [f"Send the refund form <b>{x}</b>" for x in ("ar", "en")]
    assert all(t.conversation_id == convs[0] and t.created_by == ana for t in done)
    async with hub.db.session() as s:
        moved = [await s.get(Conversation, cid) for cid in convs]
        notes = (await s.exec(select(Message.body).where(Message.kind == "note"))).all()
    assert notes == ["العميلة تنتظر اتصالًا"] * 2
    assert [(c.status, c.assignee_id) for c in moved if c] == [("queued", None), ("queued", None)]
    assert all(t.due_at is not None and t.due_at - t.created_at < timedelta(days=400) for t in done)
