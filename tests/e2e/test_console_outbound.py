"""Outbound, canned variables and snooze-until in the console, in English and Arabic:
from the customer panel an agent starts a WhatsApp conversation with an approved
template (it leaves through the outbox to the Twilio double), a canned answer is
previewed with its variables filled and an unknown one marked, then inserted and sent
by SMS; the snooze menu's "until…" takes a date and time, refusing the past and more
than a year; the admin page edits both language versions with the variable list; at
390 px nothing scrolls sideways."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from sqlmodel import select

from channels.twilio import TwilioSmsChannel, TwilioWhatsAppChannel
from hub.config import Settings
from hub.models import Conversation, Role
from hub.services import SYSTEM
from hub.services.canned import create as create_canned
from hub.services.conversations import assign
from tests.browser_support import chromium
from tests.channels.twilio_double import (
    CUSTOMER,
    WHATSAPP_NUMBER,
    TwilioDouble,
    channel_config,
    hub_settings,
    post_webhook,
    webhook,
)
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

TEMPLATE_SID = "HX" + "0123456789abcdef" * 2
PHONE = {"width": 390, "height": 844}
SMS_BODY = "Hi, has order 1042 shipped yet?"  # tests/fixtures/twilio/sms_inbound.json


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return hub_settings(db_url, tmp_path)


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioDouble]:
    async with TwilioDouble().running() as double:
        yield double


@pytest.fixture
def extra_channels(twilio_api: TwilioDouble) -> list[Any]:
    return [
        TwilioSmsChannel.from_config(channel_config(twilio_api.url)),
        TwilioWhatsAppChannel.from_config(
            channel_config(
                twilio_api.url,
                numbers={f"whatsapp:{WHATSAPP_NUMBER}": "Support"},
                templates={"order_update": TEMPLATE_SID},
            )
        ),
    ]


async def no_sideways_scroll(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate(
        "[...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 392"
        " || e.getBoundingClientRect().left < -2).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 12)"
    )
    assert width <= 390, (width, wide)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_outbound_template_canned_preview_and_snooze_until(
    live: Any, twilio_api: TwilioDouble, lang: str
) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad", language=lang)
    await create_canned(
        hub,
        SYSTEM,
        {
            "shortcut": "thanks",
            "title": "Thanks",
            "language": "en",
            "body": 'Hi {{contact.first_name | "there"}}, this is {{agent.name}} of {{team.name}}. {{contact.shoe_size}}',
            "variants": {
                "ar": 'مرحبًا {{contact.first_name | "عزيزي العميل"}}، معك {{agent.name}}. {{contact.shoe_size}}'
            },
        },
    )
    res = await post_webhook(live.app.client, "/channels/sms/incoming", webhook("sms_inbound"))
    assert res.status_code == 200, res.text
    async with hub.db.session() as s:
        sms_conv = (await s.exec(select(Conversation))).one()
    await assign(hub, SYSTEM, sms_conv.id, ana)
    async with hub.db.session() as s:
        # The conversation's language picks the canned answer's version.
        stored_conv = await s.get(Conversation, sms_conv.id)
        assert stored_conv is not None
        stored_conv.language = lang
        s.add(stored_conv)
        await s.commit()

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "ana@example.com", "/console")
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        await page.locator(f'#conv-list [data-conversation-id="{sms_conv.id}"]').click()

        # -- outbound: WhatsApp outside the 24-hour window takes a template ----------
        start = page.locator("#outbound-start")
        await start.click()
        dialog = page.locator("#outbound-dialog")
        await expect(dialog).to_be_visible()
        await page.select_option("#ob-channel", "whatsapp")
        await expect(dialog.locator("#ob-to")).to_have_text(CUSTOMER)
        await expect(dialog.locator("#ob-window")).to_contain_text("24-hour" if lang == "en" else "24 ساعة")
        # Outside the window there is no free-text choice: the template is preselected.
        await expect(dialog.locator("#ob-template option")).to_have_count(1)
        await expect(dialog.locator("#ob-template")).to_have_value("order_update")
        await dialog.locator("#ob-var-1").fill("Layla")
        await dialog.locator("#ob-var-2").fill("1042")
        await dialog.locator("#ob-body").fill("Your order 1042 ships today")

        # A phone: the dialog fits.
        await page.set_viewport_size(PHONE)
        await no_sideways_scroll(page)
        await page.set_viewport_size({"width": 1440, "height": 900})

        await dialog.locator("button[type=submit]").click()
        await expect(dialog).to_have_count(0)
        # The console opens the new conversation, assigned to Ana, the message in it.
        await page.wait_for_url(lambda url: "#c=" in url and f"#c={sms_conv.id}" not in url)
        wa_id = int(page.url.rsplit("#c=", 1)[1])
        await expect(page.locator("#thread")).to_contain_text("Your order 1042 ships today")
        assert await live.app.worker.run_once() == 1
        [sent] = twilio_api.messages()
        assert sent.one("ContentSid") == TEMPLATE_SID and sent.one("To") == f"whatsapp:{CUSTOMER}"
        assert json.loads(sent.one("ContentVariables") or "{}") == {"1": "Layla", "2": "1042"}
        async with hub.db.session() as s:
            wa = await s.get(Conversation, wa_id)
        assert wa is not None and (wa.channel, wa.assignee_id, wa.status) == ("whatsapp", ana, "assigned")

        # -- a canned answer: previewed with its variables, then inserted -------------
        await page.locator(f'#conv-list [data-conversation-id="{sms_conv.id}"]').click()
        # Opened once the thread shows the customer's SMS (the composer is switched first).
        await expect(page.locator("#thread")).to_contain_text(SMS_BODY)
        text = page.locator("#composer-text")
        await text.fill("/thanks")
        await expect(page.locator("#composer-suggestions li").first).to_contain_text("/thanks")
        await text.press("Enter")
        preview = page.locator("#canned-preview")
        await expect(preview).to_be_visible()
        greeting = {
            "en": "Hi there, this is Ana Haddad of Support.",
            "ar": "مرحبًا عزيزي العميل، معك Ana Haddad.",
        }[lang]
        filled = f"{greeting} {{{{contact.shoe_size}}}}"
        await expect(preview.locator(".canned-text")).to_have_text(filled)
        await expect(preview.locator("mark.var-unknown")).to_have_text("{{contact.shoe_size}}")
        await expect(preview.locator("#canned-unknown")).to_contain_text("contact.shoe_size")
        await expect(page.locator("#canned-insert")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(preview).to_have_count(0)
        await expect(text).to_have_value(filled)
        await text.fill(greeting)
        await text.press("Enter")
        await expect(text).to_have_value("")
        assert await live.app.worker.run_once() == 1
        assert twilio_api.messages()[-1].one("Body") == greeting

        # -- snooze until a chosen date and time ------------------------------------
        await page.locator("#snooze").click()
        snooze = page.locator("#snooze-dialog")
        await expect(snooze.locator("#snooze-at")).to_be_hidden()
        await page.select_option("#snooze-choice", "custom")
        when = snooze.locator("#snooze-at")
        await expect(when).to_be_visible()
        await when.fill("2025-12-01T10:00")  # before the hub's now (2026-01-05)
        await snooze.locator("button[type=submit]").click()
        await expect(snooze.locator("#snooze-at + .field-error")).to_have_text(
            "Pick a time in the future." if lang == "en" else "اختر وقتًا في المستقبل."
        )
        await when.fill("2027-03-01T10:00")  # more than a year ahead
        await snooze.locator("button[type=submit]").click()
        await expect(snooze.locator("#snooze-at + .field-error")).to_have_text(
            "Snooze for at most a year." if lang == "en" else "التأجيل لمدة أقصاها سنة."
        )
        await page.set_viewport_size(PHONE)
        await no_sideways_scroll(page)
        await page.set_viewport_size({"width": 1440, "height": 900})
        await when.fill("2026-02-01T10:30")
        chosen = await page.evaluate("new Date('2026-02-01T10:30').toISOString()")
        await snooze.locator("button[type=submit]").click()
        await expect(snooze).to_have_count(0)
        async with hub.db.session() as s:
            stored = await s.get(Conversation, sms_conv.id)
        assert stored is not None and stored.status == "snoozed"
        assert stored.snoozed_until == datetime.fromisoformat(chosen.replace("Z", "+00:00")).astimezone(UTC)

        # -- the phone layout: the customer panel's button and the dialog fit ---------
        await page.set_viewport_size(PHONE)
        await page.goto(f"{live.base}/console#c={wa_id}")
        if await page.locator("#show-contact").count():
            await page.locator("#show-contact").click()
        await page.locator("#outbound-start").click()
        await expect(page.locator("#outbound-dialog")).to_be_visible()
        await no_sideways_scroll(page)
        await page.keyboard.press("Escape")
        await assert_clean(page, watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_admin_edits_both_versions_with_the_variable_list(live: Any, lang: str) -> None:
    hub = live.app.hub
    await user(hub, "root@example.com", role=Role.admin, name="Root", language=lang)
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "root@example.com", "/admin#canned")
        await page.locator("#new-canned").click()
        dialog = page.locator("#canned-dialog")
        variables = dialog.locator("#canned-variables [data-variable]")
        await expect(variables).to_have_count(5)
        await dialog.locator("[name=shortcut]").fill("welcome")
        await dialog.locator("[name=title]").fill("Welcome")
        await dialog.locator("#canned-body-en").fill("Hello ")
        await dialog.locator('[data-variable="contact.first_name"]').click()
        await expect(dialog.locator("#canned-body-en")).to_have_value("Hello {{contact.first_name}}")
        # The Arabic version left empty on purpose, then the English one emptied:
        # the hub's refusal is shown next to the English text, translated.
        await dialog.locator("#canned-body-en").fill("")
        await dialog.locator("button[type=submit]").click()
        await expect(dialog.locator("#canned-body-en + .field-error")).to_have_text(
            "This is required." if lang == "en" else "هذا الحقل مطلوب."
        )
        await dialog.locator("#canned-body-en").fill("Hello {{contact.first_name}}")
        await dialog.locator("#canned-body-ar").click()
        await dialog.locator('[data-variable="agent.name"]').click()
        await expect(dialog.locator("#canned-body-ar")).to_have_value("{{agent.name}}")
        await dialog.locator("#canned-body-ar").fill("أهلًا {{contact.first_name}}")
        await page.set_viewport_size(PHONE)
        await no_sideways_scroll(page)
        await page.set_viewport_size({"width": 1440, "height": 900})
        await dialog.locator("button[type=submit]").click()
        await expect(dialog).to_have_count(0)
        row = page.locator("#canned-table tr[data-canned-id]")
        await expect(row).to_have_count(1)
        await expect(row.locator(".lang-tag")).to_have_text("+ ar")
        rows = (await live.app.client.get("/api/v1/canned-responses")).status_code
        assert rows == 401
        async with hub.db.session() as s:
            from hub.models import CannedResponse

            stored = (await s.exec(select(CannedResponse))).one()
        assert (stored.language, stored.body, stored.variants) == (
            "en",
            "Hello {{contact.first_name}}",
            {"ar": "أهلًا {{contact.first_name}}"},
        )
        # Editing shows both versions again.
        await row.locator("[data-edit]").click()
        await expect(dialog.locator("#canned-body-ar")).to_have_value("أهلًا {{contact.first_name}}")
        await page.keyboard.press("Escape")
        await assert_clean(page, watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_from_the_contacts_page_an_sms_opens_the_console(
    live: Any, twilio_api: TwilioDouble, lang: str
) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad", language=lang)
    res = await post_webhook(live.app.client, "/channels/sms/incoming", webhook("sms_inbound"))
    assert res.status_code == 200, res.text
    async with hub.db.session() as s:
        conv = (await s.exec(select(Conversation))).one()
    await assign(hub, SYSTEM, conv.id, ana)
    async with chromium() as browser:
        page, watch = await open_page(
            browser, live, "ana@example.com", f"/contacts#contact={conv.contact_id}", viewport=PHONE
        )
        await page.locator("#outbound-start").click()
        dialog = page.locator("#outbound-dialog")
        await expect(dialog.locator("#ob-channel")).to_have_value("sms")
        await expect(dialog.locator("#ob-to")).to_have_text(CUSTOMER)
        # Only a template outside the window: the WhatsApp choice says so when picked.
        await page.select_option("#ob-channel", "whatsapp")
        await expect(dialog.locator("#ob-window")).to_be_visible()
        await page.select_option("#ob-channel", "sms")
        await expect(dialog.locator("#ob-window")).to_be_hidden()
        await expect(dialog.locator("#ob-template")).to_be_hidden()
        await no_sideways_scroll(page)
        # Empty: the hub's refusal, translated, next to the message.
        await dialog.locator("button[type=submit]").click()
        await expect(dialog.locator("#ob-body + .field-error")).to_have_text(
            "Write something first." if lang == "en" else "اكتب شيئًا أولًا."
        )
        await expect(dialog.locator("#ob-body")).to_have_attribute("aria-invalid", "true")
        await dialog.locator("#ob-body").fill("Yes: it left our warehouse this morning.")
        await dialog.locator("button[type=submit]").click()
        # Her open SMS conversation is Ana's: the message goes into it, the console opens it.
        await page.wait_for_url(f"**/console#c={conv.id}")
        await expect(page.locator("#thread")).to_contain_text("Yes: it left our warehouse this morning.")
        assert await live.app.worker.run_once() == 1
        [sent] = twilio_api.messages()
        assert (sent.one("To"), sent.one("Body")) == (CUSTOMER, "Yes: it left our warehouse this morning.")
        await assert_clean(page, watch)
