"""The campaigns page in the browser (docs/campaigns.md, "The campaigns page"): a
supervisor (an admin here) builds a campaign to a segment, the hub's field errors show next to their
field, the SMS counter follows the text (GSM-7 / UCS-2 like the hub's), the dry run
counts who would receive it and who is left out and why, with a sample per language
rendered as text (a hostile customer name stays text); a test send, start, pause and
resume; the results move live when the outbox sends (the test runs the reactor and
the worker's passes itself); the recipients filter by status; a reply carries the
campaign chip into the console; a template starts a draft. English and Arabic, at
1440 px and 390 px, never scrolling sideways."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from playwright.async_api import expect

from channels.loopback import LoopbackChannel
from hub.models import Role
from hub.services import SYSTEM, consent
from hub.services.conversations import transfer
from hub.services.uow import unit_of_work
from tests.browser_support import chromium
from tests.core.campaign_support import bulk_contacts, drain, freeze, segment
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import inbound, login, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
HOSTILE = '<img src=x onerror="alert(1)">'


class SmsStandIn(LoopbackChannel):
    """Loopback under the "sms" kind: a channel of the win-back template's fallback."""

    kind: ClassVar[str] = "sms"


@pytest.fixture
def extra_channels() -> list[Any]:
    return [SmsStandIn()]


@pytest.fixture
def settings(db_url: str, tmp_path: Any) -> Any:
    from tests.conftest import make_settings

    return make_settings(db_url, tmp_path, campaigns={"rates": {"loopback": 1000.0}})


async def no_sideways_scroll(page: Any, width: int) -> None:
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate(
        f"[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > {width + 2}"
        " || e.getBoundingClientRect().left < -2).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)"
    )
    assert scroll <= width, (scroll, wide)


async def test_build_preview_send_and_watch_results_live(live: Any) -> None:
    app, hub = live.app, live.app.hub
    loop = hub.channels.get("loopback")
    sales = await team(hub, "Sales")
    # An admin: a supervisor's segments count only the contacts of their teams' conversations.
    await user(hub, "sam@example.com", role=Role.admin, team_ids=(sales,), name="Sam", language="en")
    english = await bulk_contacts(hub, 2, prefix=HOSTILE, language="en")
    arabic = await bulk_contacts(hub, 2, prefix="ar", language="ar")
    (opted,) = await bulk_contacts(hub, 1, prefix="no", language="en")
    async with unit_of_work(hub) as uow:
        await consent.record(
            uow.session,
            contact_id=opted,
            channel="loopback",
            purpose="marketing",
            state="opted_out",
            source="api",
            now=hub.now(),
        )
    headers = await login(app.client, "sam@example.com")
    everyone = await segment(app.client, headers, "Everyone", {})

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "sam@example.com", "/campaigns", viewport=DESKTOP)
        await expect(page.locator("#topbar-nav a.active")).to_have_text("Campaigns")
        await expect(page.locator("#cp-list tbody")).to_contain_text("No campaigns yet.")
        await page.locator("#cp-new").click()

        # A draft without a message: the hub's field error shows next to the content.
        form = page.locator("#cp-form")
        await form.locator("[name=name]").fill("Winter offer")
        await form.locator("[name=team_id]").select_option(str(sales))
        seg = form.locator('[name="audience.segment_id"]')
        await seg.select_option(str(everyone))
        assert await seg.locator("option:checked").text_content() == "Everyone (5)"
        await form.locator("[name=channel]").select_option("loopback")
        await page.locator("#cp-save").click()
        await expect(form.locator('.field-error[data-field="content"]')).to_have_text(
            "Write the message in English or Arabic."
        )
        await expect(page).to_have_url(f"{live.base}/campaigns#new")  # nothing was created

        # The SMS figure follows the text as it is typed: GSM-7, then UCS-2 for Arabic.
        await form.locator("[name=channel]").select_option("preferred")
        # The fallback order of "each customer's preferred channel" moves with ↑ ↓.
        fallback = form.locator("#cp-fallback li")
        await fallback.first.get_by_role("button", name="Move WhatsApp down").click()
        order = await fallback.evaluate_all("(items) => items.map((li) => li.dataset.fallback)")
        assert order == ["sms", "whatsapp", "email", "telegram"]
        en_body = form.locator('[name="content.en.body"]')
        await en_body.fill("Hi {{contact.name}}, 20% off all week: " + "x" * 130)
        counter = form.locator('[data-counter="en"] .cp-sms-mine')
        await expect(counter).to_have_attribute("data-encoding", "GSM-7")
        await expect(counter).to_have_attribute("data-segments", "2")
        await form.locator('[name="content.ar.body"]').fill("مرحبا {{contact.name}}، خصم 20٪ طوال الأسبوع")
        await expect(form.locator('[data-counter="ar"] .cp-sms-mine')).to_have_attribute(
            "data-encoding", "UCS-2"
        )
        await en_body.fill("Hi {{contact.name}}, 20% off all week")
        await expect(counter).to_have_attribute("data-segments", "1")
        await form.locator("[name=channel]").select_option("loopback")
        await expect(form.locator('[data-counter="en"]')).to_be_hidden()
        await form.locator("#cp-quiet-on").uncheck()
        await no_sideways_scroll(page, DESKTOP["width"])

        # Preview and dry run: saved first, then counted; samples are text.
        await page.locator("#cp-preview").click()
        await expect(page.locator("#cp-eligible")).to_have_text("4")
        await expect(page.locator('#cp-excluded-reasons li[data-key="opted_out"]')).to_contain_text(
            "Opted out 1"
        )
        await expect(page.locator('#cp-by-language li[data-key="en"]')).to_contain_text("2")
        sample = page.locator('.cp-sample[data-lang="en"] .cp-sample-text')
        await expect(sample).to_contain_text(f"Hi {HOSTILE} 0, 20% off all week")
        assert await page.locator(".cp-sample img").count() == 0
        await expect(page.locator('.cp-sample[data-lang="ar"] .cp-sample-text')).to_contain_text("مرحبا ar ")
        campaign_id = int(page.url.split("#c=")[1])

        # A test send to the author, through the outbox.
        await page.locator("#cp-test").click()
        dialog = page.locator("#cp-test-dialog")
        await dialog.locator("[name=address]").fill("sam-phone")
        await dialog.locator("button[type=submit]").click()
        await expect(dialog).to_have_count(0)
        await drain(app)
        assert [(m.to, m.body) for m in loop.sent] == [("sam-phone", "Hi Sam, 20% off all week")]

        # Start (confirmed), then pause and resume from the results.
        await page.locator("#cp-start").click()
        await page.locator("#cp-start-dialog button[type=submit]").click()
        await expect(page.locator("#cp-controls #cp-pause")).to_be_visible()
        await expect(page.locator(".cp-head .cp-status")).to_have_text("Sending")
        await page.locator("#cp-pause").click()
        await expect(page.locator(".cp-head .cp-status")).to_have_text("Paused")
        await page.locator("#cp-resume").click()
        await expect(page.locator(".cp-head .cp-status")).to_have_text("Sending")

        # The hub freezes the audience and the outbox sends: the figures move live.
        await freeze(hub)
        await expect(page.locator('[data-metric="recipients"] .tile-value')).to_have_text("4")
        await drain(app)
        await freeze(hub)
        await expect(page.locator('[data-metric="sent"] .tile-value')).to_have_text("4")
        await expect(page.locator(".cp-head .cp-status")).to_have_text("Completed")
        await expect(page.locator('[data-metric="excluded"] .tile-value')).to_have_text("1")
        await expect(page.locator('#cp-excluded-reasons li[data-key="opted_out"]')).to_contain_text("1")
        assert sorted(m.to for m in list(loop.sent)[1:]) == sorted(
            f"{p}-{c}" for p, ids in ((HOSTILE, english), ("ar", arabic)) for c in ids
        )
        rows = page.locator("#cp-recipients tbody tr[data-recipient-id]")
        await expect(rows).to_have_count(6)  # the test send is listed, marked
        await expect(page.locator('#cp-recipients tr[data-test="true"]')).to_contain_text("sam-phone")
        await page.locator("#cp-rcpt-status").select_option("excluded")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("Opted out")
        csv = await page.request.get(live.base + (await page.locator("#cp-csv").get_attribute("href")))
        assert csv.status == 200 and len((await csv.text()).splitlines()) == 7
        await no_sideways_scroll(page, DESKTOP["width"])

        # A reply opens a conversation marked with the campaign: the chip in the console.
        conv = (await inbound(app.client, f"ar-{arabic[0]}", "هل العرض ما زال قائمًا؟"))["conversation_id"]
        await hub.projections.catch_up()
        await page.locator("#cp-rcpt-status").select_option("")
        await expect(page.locator('[data-metric="replied"] .tile-value')).to_have_text("1")

        # Arabic, on a phone: the results, the list and the builder fit the screen.
        await page.locator("#lang-toggle").click()
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        await expect(page.locator('[data-metric="sent"] .tile-label')).to_have_text("أُرسلت")
        await no_sideways_scroll(page, DESKTOP["width"])
        await page.set_viewport_size(PHONE)
        await expect(page.locator(".cp-head .cp-status")).to_have_text("اكتملت")
        await no_sideways_scroll(page, PHONE["width"])
        await page.locator("#cp-back").click()
        row = page.locator(f'#cp-list tr[data-campaign-id="{campaign_id}"]')
        await expect(row.locator('[data-metric="sent"]')).to_have_text("4")
        await no_sideways_scroll(page, PHONE["width"])

        # A template (win-back) makes a draft in the builder; an empty name is refused in Arabic.
        await page.locator("#cp-presets").click()
        await page.locator("#cp-presets-dialog button[type=submit]").click()
        await expect(page.locator("#cp-form")).to_be_visible()
        await no_sideways_scroll(page, PHONE["width"])
        await page.locator("#cp-form [name=name]").fill("")
        await page.locator("#cp-save").click()
        await expect(page.locator('#cp-form .field-error[data-field="name"]')).to_have_text(
            "هذا الحقل مطلوب."
        )
        await page.locator("#cp-delete").click()
        await page.locator("dialog.modal button.danger").click()
        await expect(page.locator("#cp-list")).to_be_visible()

        # English on a phone, then the console thread of the reply with its chip.
        await page.locator("#menu-toggle").click()
        await page.locator("#lang-toggle").click()
        await expect(page.locator("#cp-title")).to_have_text("Campaigns")
        await no_sideways_scroll(page, PHONE["width"])
        await page.set_viewport_size(DESKTOP)
        await page.goto(f"{live.base}/console#c={conv}")
        chip = page.locator("#thread-header .campaign-chip")
        await expect(chip).to_have_text("Campaign: Winter offer")
        await assert_clean(page, watch)


async def test_a_supervisor_sends_to_an_uploaded_list_in_arabic_on_a_phone(live: Any) -> None:
    app, hub = live.app, live.app.hub
    loop = hub.channels.get("loopback")
    sales = await team(hub, "Sales")
    await user(hub, "reem@example.com", role=Role.supervisor, team_ids=(sales,), name="ريم", language="ar")
    known = await bulk_contacts(hub, 2, prefix="vip", language="ar")
    for cid in known:  # customers of the team: a supervisor reaches whom they may see
        conv = (await inbound(app.client, f"vip-{cid}", "hello"))["conversation_id"]
        await transfer(hub, SYSTEM, conv, to_team_id=sales)
    rows = [f"vip-{known[0]}", f"vip-{known[1]}", "nobody-1", "two words"]
    listing = "address,name\n" + "".join(f"{a},x\n" for a in rows)

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "reem@example.com", "/campaigns#new", viewport=PHONE)
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        form = page.locator("#cp-form")
        await form.locator("[name=name]").fill("عرض كبار العملاء")
        await form.locator('[name="audience.type"][value="list"]').check()
        await expect(form.locator('[name="audience.segment_id"]')).to_be_hidden()
        await form.locator("[name=channel]").select_option("loopback")
        await form.locator('[name="content.ar.body"]').fill("مرحبا {{contact.name}}، لدينا عرض خاص لك")
        await form.locator("#cp-quiet-on").uncheck()
        await form.locator("#cp-list-file").set_input_files(
            {"name": "vip.csv", "mimeType": "application/vnd.ms-excel", "buffer": listing.encode()}
        )
        await page.locator("#cp-list-upload").click()  # saves the draft first
        await expect(page.locator("#cp-list-status")).to_have_text(
            "أُضيف 3، غير صالح 1، مكرر 0؛ في القائمة 3."
        )
        await no_sideways_scroll(page, PHONE["width"])

        await page.locator("#cp-preview").click()
        await expect(page.locator("#cp-eligible")).to_have_text("2")
        await expect(page.locator('.cp-sample[data-lang="ar"] .cp-sample-text')).to_have_text(
            "مرحبا vip 0، لدينا عرض خاص لك"
        )
        await no_sideways_scroll(page, PHONE["width"])
        await page.locator("#cp-start").click()
        await page.locator("#cp-start-dialog button[type=submit]").click()
        await expect(page.locator(".cp-head .cp-status")).to_have_text("قيد الإرسال")

        # The supervisor's socket carries the team's campaign events: the counts move.
        await freeze(hub)
        await drain(app)
        await freeze(hub)
        await expect(page.locator('[data-metric="sent"] .tile-value')).to_have_text("2")
        await expect(page.locator(".cp-head .cp-status")).to_have_text("اكتملت")
        assert sorted(m.to for m in loop.sent) == sorted(rows[:2])
        await expect(page.locator("#cp-recipients tbody tr[data-recipient-id]")).to_have_count(3)
        unknown = page.locator('#cp-recipients tr[data-status="excluded"]')
        await expect(unknown).to_contain_text("لا عميل بهذا العنوان")
        await no_sideways_scroll(page, PHONE["width"])
        await page.set_viewport_size(DESKTOP)
        await no_sideways_scroll(page, DESKTOP["width"])
        await assert_clean(page, watch)
