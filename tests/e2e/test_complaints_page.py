"""Complaints and surveys in the browser, in English and Arabic: the complaints board
(filters, a complaint's panel, a status change refused next to the field then saved,
the history), a complaint opened from a conversation and shown beside the thread, a
survey answer appearing live in the thread, the supervisor's escalations and low
scores, the admin's options and survey settings, and the board on a phone. Customer
text is hostile markup throughout: it must stay text."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from hub.models import Role
from hub.services import SYSTEM
from hub.services import complaints as complaint_svc
from hub.services import surveys as survey_svc
from hub.services.conversations import assign, resolve
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.e2e.test_narrow_screens import PHONE, assert_fits
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

HOSTILE = '<img src=x onerror="alert(1)">'
# Without digits: a survey answer with a second number in it is not taken as an answer.
HOSTILE_WORDS = '<b onclick="alert(document.domain)">kind</b>'
TEXT = {
    "en": {
        "required": "This is required.",
        "resolved": "Resolved",
        "acknowledged": "Acknowledged",
        "count_1": "1 complaints",
        "count_2": "2 complaints",
        "rating": "Customer's rating: 4 / 5",
        "answered": "answered by reply",
        "bad_number": "Enter a number in the range shown.",
    },
    "ar": {
        "required": "هذا الحقل مطلوب.",
        "resolved": "محلولة",
        "acknowledged": "مستلمة",
        "count_1": "1 شكوى",
        "count_2": "2 شكوى",
        "rating": "تقييم العميل: 4 / 5",
        "answered": "أُجيب بالرد",
        "bad_number": "أدخل رقمًا ضمن النطاق المبيّن.",
    },
}


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite: the API tests cover PostgreSQL; these are about the pages."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


async def staff(hub: Any, lang: str) -> dict[str, int]:
    care = await team(hub, "Care")
    return {
        "care": care,
        "sara": await user(hub, "sara@example.com", Role.agent, (care,), name="Sara", language=lang),
        "omar": await user(hub, "omar@example.com", Role.agent, (care,), name="Omar", language=lang),
        "boss": await user(hub, "boss@example.com", Role.supervisor, (care,), name="Mona", language=lang),
        "root": await user(hub, "root@example.com", Role.admin, name="Root", language=lang),
    }


async def conversation(live: Any, sender: str, body: str, name: str, assignee: int) -> int:
    conv = (await inbound(live.app.client, sender, body, team="Care", sender_name=name))["conversation_id"]
    await assign(live.app.hub, SYSTEM, conv, assignee)
    return int(conv)


async def complaint(hub: Any, conv: int, **kw: Any) -> Any:
    return await complaint_svc.open_complaint(
        hub, SYSTEM, complaint_svc.NewComplaint(conversation_id=conv, **kw), source="agent"
    )


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_board_filter_open_and_change_status(live: Any, lang: str) -> None:
    hub = live.app.hub
    people = await staff(hub, lang)
    mine = await conversation(live, "cust-1", "my parcel arrived crushed", f"Layla {HOSTILE}", people["sara"])
    other = await conversation(live, "cust-2", "charged twice", "Karim", people["omar"])
    c1 = await complaint(
        hub,
        mine,
        category="delivery",
        subcategory="damaged_item",
        severity="high",
        description=f"Parcel crushed {HOSTILE}",
        product_ref="ORD-4471",
        assignee_id=people["sara"],
    )
    await complaint(hub, other, category="billing", severity="low", description="Charged twice")
    text = TEXT[lang]
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "sara@example.com", "/complaints")
        await expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        # An agent starts with their own complaints.
        await expect(page.locator("#f-mine")).to_be_checked()
        rows = page.locator("#complaint-table tbody tr[data-complaint-id]")
        await expect(rows).to_have_count(1)
        await expect(page.locator("#complaint-count")).to_have_text(text["count_1"])
        await page.locator("#f-mine").uncheck()
        await expect(rows).to_have_count(2)
        # Filter by severity: the high one only; its badge is labelled in the page's language.
        await page.select_option("#f-severity", "high")
        await expect(rows).to_have_count(1)
        row = page.locator(f'tr[data-complaint-id="{c1.id}"]')
        await expect(row.locator(".severity-badge")).to_have_text("High" if lang == "en" else "عالية")
        await expect(row.locator("td").first).to_have_text(f"Layla {HOSTILE}")
        await page.select_option("#f-severity", "")
        await expect(rows).to_have_count(2)
        # A bad age is refused next to its input, in the page's language.
        await page.fill("#f-age", "-3")
        await expect(page.locator("#f-age + .field-error")).to_be_visible()
        await page.fill("#f-age", "")
        await expect(rows).to_have_count(2)

        # Open the complaint: the panel beside the table.
        await row.click()
        panel = page.locator("#complaint-panel")
        await expect(panel.locator("#complaint-ref")).to_have_text(c1.reference)
        await expect(panel.locator("#complaint-status")).to_have_text(text["acknowledged"])
        await expect(panel.locator("#c-description")).to_have_value(f"Parcel crushed {HOSTILE}")
        await expect(panel.locator("#c-subcategory")).to_have_value("damaged_item")
        await expect(panel.locator("#complaint-conversations a")).to_have_attribute(
            "href", f"/console#c={mine}"
        )
        await expect(panel.locator('#complaint-history li[data-kind="opened"]')).to_have_count(1)
        await expect(panel.locator('#complaint-history li[data-kind="notified"]')).to_contain_text(
            c1.reference
        )

        # Resolving without saying how: refused, and said next to the resolution field.
        await page.select_option("#c-status", "resolved")
        await page.select_option("#c-root-cause", "supplier")
        await page.click("#complaint-save")
        error = panel.locator("#c-resolution + .field-error")
        await expect(error).to_have_text(text["required"])
        await expect(panel.locator("#c-resolution")).to_have_attribute("aria-invalid", "true")
        # Then with a resolution: saved, and the history says who changed what.
        await page.fill("#c-resolution", "Replaced the parcel; courier warned.")
        await page.click("#complaint-save")
        await expect(panel.locator("#complaint-status")).to_have_text(text["resolved"])
        await expect(panel.locator("#complaint-saved")).to_be_visible()
        changed = panel.locator('#complaint-history li[data-kind="changed"]').first
        await expect(changed).to_contain_text("Sara")
        await expect(changed.locator('[data-field="status"]')).to_contain_text(text["resolved"])
        # Resolved, it leaves the board's open complaints at once; it is under Resolved.
        await expect(row).to_have_count(0)
        await page.select_option("#f-status", "resolved")
        await expect(row.locator(".cstatus")).to_have_text(text["resolved"])
        await expect(panel.locator("#complaint-ref")).to_have_text(c1.reference)

        # An internal note, while the form holds an unsaved edit: the edit stays.
        await page.fill("#c-remedy", "Voucher of 20")
        await page.fill("#c-note", f"Courier contacted {HOSTILE}")
        await page.click("#complaint-note-add")
        await expect(panel.locator("#complaint-notes li")).to_have_count(1)
        await expect(panel.locator("#complaint-notes .note-body")).to_have_text(
            f"Courier contacted {HOSTILE}"
        )
        await expect(panel.locator('#complaint-history li[data-kind="note"]')).to_have_count(1)
        await expect(page.locator("#c-remedy")).to_have_value("Voucher of 20")
        await expect(panel.locator("#complaint-stale")).to_be_hidden()
        # A file: listed as a download from the hub, and in the history.
        await page.set_input_files(
            "#c-file", files=[{"name": f"receipt{HOSTILE}.txt", "mimeType": "text/plain", "buffer": b"paid"}]
        )
        await page.click("#complaint-file-add")
        link = panel.locator("#complaint-files a.attachment")
        await expect(link).to_have_text(f"receipt{HOSTILE}.txt")
        await expect(link).to_have_attribute("href", f"/api/v1/complaints/{c1.id}/attachments/0")
        await expect(panel.locator('#complaint-history li[data-kind="attachment"]')).to_contain_text("Sara")
        await expect(page.locator("#c-remedy")).to_have_value("Voucher of 20")
        await assert_clean(page, watch)
    async with hub.db.session() as s:
        from hub.models import Complaint

        stored = await s.get(Complaint, c1.id)
    assert stored is not None and stored.status == "resolved" and stored.root_cause == "supplier"


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_open_a_complaint_from_the_thread(live: Any, lang: str) -> None:
    hub = live.app.hub
    people = await staff(hub, lang)
    conv = await conversation(live, "cust-3", f"The sofa is broken {HOSTILE}", "Huda", people["sara"])
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "sara@example.com", f"/console#c={conv}")
        await expect(page.locator("#thread .msg.inbound")).to_have_count(1)
        await expect(page.locator("#care-none")).to_be_visible()
        await page.click("#thread-open-complaint")
        dialog = page.locator("#open-complaint-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.locator("#oc-subcategory")).to_be_disabled()
        await dialog.locator("#oc-category").select_option("delivery")
        await dialog.locator("#oc-subcategory").select_option("damaged_item")
        await dialog.locator("#oc-severity").select_option("high")
        await dialog.locator("#oc-description").fill(f"Sofa leg snapped {HOSTILE}")
        await dialog.locator('button[type="submit"]').click()
        await expect(dialog).to_be_hidden()
        # The complaint's panel beside the thread, the customer card folded away.
        panel = page.locator("#care-panel #complaint-panel")
        await expect(panel.locator("#complaint-ref")).to_have_text("C-2026-000001")
        await expect(panel.locator("#complaint-status")).to_have_text(TEXT[lang]["acknowledged"])
        await expect(panel.locator("#c-assignee")).to_have_value(str(people["sara"]))
        await expect(page.locator("#contact")).to_be_hidden()
        await expect(panel.locator("#c-description")).to_have_value(f"Sofa leg snapped {HOSTILE}")
        # The acknowledgement went into the thread, marked as the hub's complaint message.
        await expect(page.locator("#thread .msg.outbound .complaint-tag")).to_contain_text("C-2026-000001")
        # Back to the customer: the complaint is listed, marked as this conversation's.
        await page.click("#care-back")
        await expect(page.locator("#contact")).to_be_visible()
        card = page.locator("#care-complaints .complaint-card")
        await expect(card).to_have_count(1)
        await expect(card).to_have_class("complaint-card here")
        await expect(card).to_be_focused()
        # Its full panel opens from the card again.
        await card.click()
        await expect(panel.locator("#complaint-ref")).to_be_focused()
        await assert_clean(page, watch)


async def test_resolving_as_a_complaint_offers_to_open_one(live: Any) -> None:
    hub = live.app.hub
    people = await staff(hub, "en")
    conv = await conversation(live, "cust-4", "Nobody called me back", "Rami", people["sara"])
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "sara@example.com", f"/console#c={conv}")
        await expect(page.locator("#thread .msg.inbound")).to_have_count(1)
        await page.click("#resolve")
        dialog = page.locator("#resolve-dialog")
        await expect(dialog.locator("#resolve-offer")).to_be_hidden()
        await dialog.locator("#resolve-category").select_option("complaint")
        await expect(dialog.locator("#resolve-offer")).to_be_visible()
        await expect(dialog.locator("#resolve-open-complaint")).not_to_be_checked()
        await dialog.locator("#resolve-open-complaint").check()
        await dialog.locator('button[type="submit"]').click()
        # Resolved, then the complaint dialog opens for the same conversation.
        opener = page.locator("#open-complaint-dialog")
        await expect(opener).to_be_visible()
        await expect(page.locator("#conv-status")).to_have_text("Resolved")
        await opener.locator("#oc-category").select_option("service")
        await opener.locator('button[type="submit"]').click()
        await expect(page.locator("#care-panel #complaint-ref")).to_have_text("C-2026-000001")
        await assert_clean(page, watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_a_survey_answer_shows_in_the_thread(live: Any, lang: str) -> None:
    hub = live.app.hub
    people = await staff(hub, lang)
    await survey_svc.save_policy(
        hub, SYSTEM, None, None, {"enabled": True, "delay_seconds": 0, "ask_comment": False}
    )
    conv = await conversation(live, "cust-5", "thanks for the help", "Noor", people["sara"])
    await resolve(hub, SYSTEM, conv)
    await hub.projections.catch_up()
    await hub.projections.run_due()
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "sara@example.com", f"/console#c={conv}")
        # The question is in the thread, marked, and the survey waits for an answer.
        survey = page.locator("#thread .survey-item")
        await expect(survey).to_have_attribute("data-status", "sent")
        await expect(page.locator("#thread .msg.outbound .survey-tag")).to_have_count(1)
        await expect(page.locator("#conv-rating")).to_have_count(0)
        # The customer answers with a score and words: live, in the thread and the header.
        await inbound(live.app.client, "cust-5", f"4 quick and {HOSTILE_WORDS}")
        await expect(survey).to_have_attribute("data-status", "answered")
        await expect(survey.locator(".score")).to_have_text("4 / 5")
        await expect(survey.locator(".survey-state")).to_have_text(TEXT[lang]["answered"])
        await expect(survey.locator(".survey-comment")).to_have_text(f"quick and {HOSTILE_WORDS}")
        await expect(page.locator("#conv-rating strong")).to_have_text(TEXT[lang]["rating"])
        await expect(page.locator("#conv-rating .rating-comment")).to_have_text(f"quick and {HOSTILE_WORDS}")
        await expect(page.locator("#thread .msg.inbound .survey-tag")).to_have_count(1)
        # The answer came after the question: the survey card sits below the answer.
        keys = await page.locator("#thread > li").evaluate_all("(els) => els.map((e) => e.dataset.key)")
        assert keys.index(keys[-1]) == len(keys) - 1 and keys[-1].startswith("sv-"), keys
        await assert_clean(page, watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_supervisor_sees_escalations_and_low_scores_live(live: Any, clock: Any, lang: str) -> None:
    hub = live.app.hub
    people = await staff(hub, lang)
    await survey_svc.save_policy(
        hub, SYSTEM, None, None, {"enabled": True, "delay_seconds": 0, "ask_comment": False}
    )
    urgent = await conversation(live, "cust-6", "nothing works", f"Fahad {HOSTILE}", people["sara"])
    c = await complaint(hub, urgent, severity="critical", description="Outage at the shop")
    rated = await conversation(live, "cust-7", "where is my refund", "Aisha", people["omar"])
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "boss@example.com", "/supervisor")
        await expect(page.locator("#care-complaints tbody td.muted")).to_be_visible()
        await expect(page.locator("#low-scores tbody td.muted")).to_be_visible()
        # The response target (1 business hour) is missed: escalated, on the floor at once.
        clock.advance(61 * 60)
        await hub.projections.run_due()
        row = page.locator(f'#care-complaints tr[data-complaint-id="{c.id}"]')
        await expect(row.locator(".care-mark.escalated")).to_be_visible()
        await expect(row.locator("a.complaint-link")).to_have_attribute(
            "href", f"/complaints#complaint={c.id}"
        )
        await expect(row.locator("td").first).to_have_text(f"Fahad {HOSTILE}")
        await expect(page.locator(".toast-warn").first).to_contain_text(c.reference)
        # A low score: listed live with the customer's words, and it opens the conversation.
        await resolve(hub, SYSTEM, rated)
        await hub.projections.catch_up()
        await hub.projections.run_due()
        await inbound(live.app.client, "cust-7", f"1 still waiting {HOSTILE_WORDS}")
        low = page.locator("#low-scores tbody tr[data-survey-id]")
        await expect(low).to_have_count(1)
        await expect(low.locator(".score-cell strong")).to_have_text("1 / 5")
        await expect(low.locator(".survey-comment")).to_have_text(f"still waiting {HOSTILE_WORDS}")
        await low.locator(f'[data-open="{rated}"]').click()
        await expect(page.locator("#viewer-thread .survey-item")).to_have_attribute("data-status", "answered")
        await expect(page.locator("#viewer-rating")).to_be_visible()
        await assert_clean(page, watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_admin_sets_complaint_options_and_surveys(live: Any, lang: str) -> None:
    hub = live.app.hub
    await staff(hub, lang)
    text = TEXT[lang]
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "root@example.com", "/admin")
        await page.goto(f"{live.base}/admin#complaints")
        await expect(page.locator("#severity-options tbody tr")).to_have_count(4)
        await expect(page.locator('#category-options tr[data-option="category:damaged_item"]')).to_have_class(
            "sub-option"
        )
        # A severity's warning point out of range: said next to the field.
        await page.click('[data-edit="severity:high"]')
        dialog = page.locator("#option-dialog")
        await dialog.locator('input[name="warn_ratio"]').fill("1.5")
        await dialog.locator('button[type="submit"]').click()
        await expect(dialog.locator('input[name="warn_ratio"] + .field-error')).to_have_text(
            text["bad_number"]
        )
        await dialog.locator('input[name="warn_ratio"]').fill("0.6")
        await dialog.locator('input[name="response_hours"]').fill("3")
        await dialog.locator('button[type="submit"]').click()
        await expect(dialog).to_be_hidden()
        await expect(page.locator('tr[data-option="severity:high"]')).to_contain_text("60%")
        # A new sub-category under Delivery; the hub checks the key.
        await page.click("#new-category")
        dialog = page.locator("#option-dialog")
        await dialog.locator('input[name="key"]').fill("lost parcel")
        await dialog.locator('input[name="label_en"]').fill("Lost parcel")
        await dialog.locator('input[name="label_ar"]').fill("طرد مفقود")
        await dialog.locator('select[name="parent"]').select_option("delivery")
        await dialog.locator('button[type="submit"]').click()
        await expect(dialog.locator('input[name="key"] + .field-error')).to_be_visible()
        await dialog.locator('input[name="key"]').fill("lost_parcel")
        await dialog.locator('button[type="submit"]').click()
        await expect(dialog).to_be_hidden()
        await expect(page.locator('tr[data-option="category:lost_parcel"]')).to_contain_text(
            "Lost parcel" if lang == "en" else "طرد مفقود"
        )

        # Surveys: a question left empty is refused next to it; the default rule is switched on.
        await page.goto(f"{live.base}/admin#surveys")
        await page.click('[data-edit="csat"]')
        dialog = page.locator("#survey-dialog")
        await dialog.locator('textarea[name="texts.ar.question"]').fill("")
        await dialog.locator('button[type="submit"]').click()
        await expect(dialog.locator('textarea[name="texts.ar.question"] + .field-error')).to_have_text(
            text["required"]
        )
        await dialog.locator('textarea[name="texts.ar.question"]').fill("كيف كانت خدمتنا؟ من 1 إلى 5")
        await dialog.locator('button[type="submit"]').click()
        await expect(dialog).to_be_hidden()
        await expect(page.locator('tr[data-survey-key="csat"] td').nth(1)).to_have_text("2")
        policy = page.locator("#survey-policies tbody tr").first
        await policy.locator("[data-edit-policy]").click()
        dialog = page.locator("#policy-dialog")
        await dialog.locator('input[name="enabled"]').check()
        await dialog.locator('input[name="delay_seconds"]').fill("")
        await dialog.locator('button[type="submit"]').click()
        await expect(dialog.locator('input[name="delay_seconds"] + .field-error')).to_have_text(
            text["bad_number"]
        )
        await dialog.locator('input[name="delay_seconds"]').fill("300")
        await dialog.locator('input[name="quiet_start"]').fill("21:00")
        await dialog.locator('input[name="quiet_end"]').fill("09:00")
        await dialog.locator('select[name="low_score_action"]').select_option("complaint")
        await dialog.locator('button[type="submit"]').click()
        await expect(dialog).to_be_hidden()
        await expect(page.locator("#survey-policies tbody tr").first).to_contain_text("21:00–09:00")
        await assert_clean(page, watch)
    async with hub.db.session() as s:
        policy_row = (await survey_svc.list_policies(s))[0]
    assert (
        policy_row.enabled and policy_row.delay_seconds == 300 and policy_row.low_score_action == "complaint"
    )


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_the_board_fits_a_phone(live: Any, lang: str) -> None:
    hub = live.app.hub
    people = await staff(hub, lang)
    long_name = "عبد الرحمن بن عبد العزيز بن محمد بن سلطان القحطاني العتيبي الشمري"
    conv = await conversation(live, "cust-8", "x" * 300, long_name, people["sara"])
    c = await complaint(
        hub,
        conv,
        category="delivery",
        severity="medium",
        description="طلبت جهاز التوجيه الأسبوع الماضي ولم يصل حتى الآن " * 8 + "y" * 200,
        product_ref="https://example.com/track?" + "&".join(f"p{i}=AB{i:04d}" for i in range(16)),
        assignee_id=people["sara"],
    )
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "sara@example.com", "/complaints", viewport=PHONE)
        row = page.locator(f'tr[data-complaint-id="{c.id}"]')
        await expect(row).to_be_visible()
        await assert_fits(page, "board, list")
        await row.locator(".complaint-link").click()
        await expect(page.locator("#complaint-ref")).to_have_text(c.reference)
        await expect(page.locator("#complaint-table")).to_be_hidden()
        await assert_fits(page, "board, complaint")
        await page.click("#back-to-complaints")
        await expect(page.locator("#complaint-table")).to_be_visible()
        await expect(row.locator(".complaint-link")).to_be_focused()
        # The same complaint beside the thread, on the phone's customer pane.
        await page.goto(f"{live.base}/console#c={conv}")
        await page.reload()
        await page.click("#show-contact")
        await page.click(f'#care-complaints [data-complaint-id="{c.id}"]')
        await expect(page.locator("#care-panel #complaint-ref")).to_have_text(c.reference)
        await assert_fits(page, "console, complaint panel")
        await assert_clean(page, watch)
