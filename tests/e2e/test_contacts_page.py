"""The customer memory in the browser, in English and Arabic: search (Arabic letter
forms) and open a contact, edit a custom field with errors shown next to the field in
the page's language, tier badges on an offer and in the queue, a segment built from
filters with its count, a CSV import with one bad row, and no sideways scroll on a
phone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from hub.domain import InboundMessage
from hub.models import Role
from hub.services import SYSTEM
from hub.services.contact_fields import create_field
from hub.services.contacts import update_contact
from hub.services.conversations import resolve
from hub.services.ingest import ingest
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.e2e.test_narrow_screens import FIT, PHONE, STICKING_OUT
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite: the API tests cover PostgreSQL; these are about the pages."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def sms(sender: str, pid: str, name: str) -> InboundMessage:
    return InboundMessage(
        channel="sms",
        provider_message_id=pid,
        address_kind="phone",
        sender=sender,
        sender_name=name,
        body="hi",
    )


async def seed(hub: Any) -> dict[str, int]:
    await create_field(
        hub,
        SYSTEM,
        {
            "key": "plan",
            "label_en": "Plan",
            "label_ar": "الباقة",
            "type": "choice",
            "options": ["free", "gold"],
        },
    )
    await create_field(
        hub,
        SYSTEM,
        {"key": "seats", "label_en": "Seats", "label_ar": "المقاعد", "type": "number", "required": True},
    )
    ids = {
        "ahmad": (await ingest(hub, sms("+966501234567", "a", "أحمد السيد"))).contact_id,
        "noor": (await ingest(hub, sms("+966507654321", "n", "Noor <b>Ali</b>"))).contact_id,
    }
    await update_contact(hub, SYSTEM, ids["ahmad"], {"tags": ["gold"], "attributes": {"seats": 3}})
    await update_contact(hub, SYSTEM, ids["noor"], {"tags": ["gold"], "vip": True})
    await hub.projections.catch_up()
    return ids


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_search_open_and_edit_a_contact(live: Any, lang: str) -> None:
    hub = live.app.hub
    ids = await seed(hub)
    await user(hub, "root@example.com", Role.admin, language=lang)
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "root@example.com", "/contacts")
        await expect(page.locator("#contact-count")).to_have_text("2 contacts" if lang == "en" else "2 عميل")
        await page.fill("#q", "إحمد")  # another hamza form than the stored name
        row = page.locator(f'tr[data-contact-id="{ids["ahmad"]}"]')
        await expect(row).to_be_visible()
        await expect(page.locator("tr[data-contact-id]")).to_have_count(1)
        # Leaving the field with the same words does not search again: a click on a
        # result blurs the field first, and a redraw between its mousedown and its
        # mouseup would lose the click (this test's own click, once, on a slow host).
        searches: list[str] = []
        page.on("request", lambda r: searches.append(r.url) if "/api/v1/contacts?" in r.url else None)
        await page.locator("#q").blur()
        async with page.expect_response(lambda r: "/api/v1/contacts?" in r.url):
            await page.select_option("#f-sort", "name")
        assert len(searches) == 1 and "sort=name" in searches[0], searches
        await row.locator(".contact-link").click()
        profile = page.locator("#profile")
        await expect(profile.locator("#profile-name")).to_have_text("أحمد السيد")
        await expect(profile).to_contain_text("Seats" if lang == "en" else "المقاعد")
        await page.select_option("#f-plan", "gold")
        await page.click("#profile-save")
        await expect(profile.locator(".saved")).to_be_visible()
        contact = (
            await live.app.client.get(f"/api/v1/contacts/{ids['ahmad']}", headers=await _admin(live))
        ).json()
        assert contact["attributes"] == {"plan": "gold", "seats": 3}
        # The change is on the timeline with who made it.
        changed = profile.locator('#timeline li[data-kind="updated"]').first
        await expect(changed).to_contain_text("plan")
        await expect(changed).to_contain_text("Root")
        await expect(profile.locator("#privacy-export")).to_be_visible()
        # Clearing a required field: refused, and said next to the field, in the page's language.
        await page.fill("#f-seats", "")
        await page.click("#profile-save")
        error = profile.locator("#f-seats + .field-error")
        await expect(error).to_have_text("This field is required." if lang == "en" else "هذا الحقل إلزامي.")
        await expect(page.locator("#f-seats")).to_have_attribute("aria-invalid", "true")
        # Customer text stays text.
        await page.fill("#q", "noor")
        await expect(page.locator(f'tr[data-contact-id="{ids["noor"]}"] .contact-link')).to_have_text(
            "Noor <b>Ali</b>"
        )
        await expect(
            page.locator(f'tr[data-contact-id="{ids["noor"]}"] .tier-badge[data-tier="vip"]')
        ).to_be_visible()
        await assert_clean(page, watch)


async def _admin(live: Any) -> dict[str, str]:
    r = await live.app.client.post(
        "/api/v1/auth/login", json={"email": "root@example.com", "password": "correct horse battery"}
    )
    return {"x-csrf-token": r.json()["csrf_token"]}


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_contacts_page_fits_a_phone(live: Any, lang: str) -> None:
    hub = live.app.hub
    ids = await seed(hub)
    await user(hub, "root@example.com", Role.admin, language=lang)
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "root@example.com", "/contacts", viewport=PHONE)
        await expect(page.locator("tr[data-contact-id]")).to_have_count(2)
        for view in ("list", "profile"):
            if view == "profile":
                await page.locator(f'tr[data-contact-id="{ids["ahmad"]}"] .contact-link').click()
                await expect(page.locator("#profile-name")).to_be_visible()
                await expect(page.locator("#contact-table")).to_be_hidden()
            fit = await page.evaluate(FIT)
            assert fit["scrollWidth"] <= fit["innerWidth"], (view, await page.evaluate(STICKING_OUT))
        await page.click("#back-to-contacts")
        await expect(page.locator("#contact-table")).to_be_visible()
        await assert_clean(page, watch)


@pytest.fixture
def routing_enabled() -> bool:
    return True


async def test_tier_badges_on_the_offer_and_in_the_queue(live: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    await user(hub, "ana@example.com", team_ids=(support,), name="Ana")
    for n in range(3):  # three conversations in 90 days: "Frequent"
        r = await ingest(
            hub,
            InboundMessage(
                channel="loopback",
                provider_message_id=f"past-{n}",
                address_kind="loopback",
                sender="regular",
                thread_key=f"t{n}",
                body="hi",
                team="Support",
            ),
        )
        await resolve(hub, SYSTEM, r.conversation_id)
    await hub.projections.catch_up()
    async with chromium() as browser:
        agent, watch = await open_page(browser, live, "ana@example.com", "/console")
        await expect(agent.locator(".conn")).to_have_attribute("data-state", "open")
        conv = (await inbound(live.app.client, "regular", "Me again", team="Support", sender_name="Rami"))[
            "conversation_id"
        ]
        await agent.click("#tab-queue")
        item = agent.locator(f'#conv-list [data-conversation-id="{conv}"]')
        await expect(item.locator('.tier-badge[data-tier="frequent"]')).to_have_text("Frequent")
        await agent.select_option("#presence", "available")
        offer = agent.locator(f'[data-offer="{conv}"]')
        await expect(offer.locator('.tier-badge[data-tier="frequent"]')).to_be_visible()
        await expect(offer.locator(".greeting-hint")).to_contain_text("4th conversation this month")
        await offer.get_by_role("button", name="Accept").click()
        await expect(agent.locator('#thread-header .tier-badge[data-tier="frequent"]')).to_be_visible()
        # The customer panel's timeline: this conversation and the three before it.
        await expect(agent.locator('#panel-timeline li[data-kind="conversation"]')).to_have_count(4)
        # In Arabic the same badges read in Arabic, in the queue and the thread header.
        await agent.click("#lang-toggle")
        await expect(agent.locator('#thread-header .tier-badge[data-tier="frequent"]')).to_have_text(
            "عميل دائم"
        )
        await expect(agent.locator(".greeting-hint")).to_contain_text("المحادثة رقم 4 هذا الشهر")
        await assert_clean(agent, watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_build_a_segment_and_see_its_count(live: Any, lang: str) -> None:
    hub = live.app.hub
    await seed(hub)
    await user(hub, "sup@example.com", Role.supervisor, language=lang)
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "sup@example.com", "/contacts")
        await expect(page.locator("#segments-bar")).to_be_visible()
        await page.fill("#f-tag", "gold")
        await page.click("#save-segment")
        dialog = page.locator("#segment-dialog")
        await dialog.locator('input[name="name"]').fill("Gold customers")
        await dialog.locator('button[type="submit"]').click()
        # Supervisors see the contacts of unrouted conversations and their teams'.
        await expect(page.locator("#segment option:checked")).to_have_text("Gold customers (2)")
        await page.select_option("#segment", "")
        await page.fill("#f-tag", "")
        await expect(page.locator("tr[data-contact-id]")).to_have_count(2)
        await page.select_option("#segment", label="Gold customers (2)")
        await expect(page.locator("#f-tag")).to_have_value("gold")
        # Which channel does each segment prefer: both members wrote by SMS.
        await page.click("#channel-prefs")
        prefs = page.locator("#prefs-table tbody tr")
        await expect(prefs).to_have_count(1)
        await expect(prefs).to_contain_text("2 (100%)")
        await assert_clean(page, watch)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_import_a_csv_with_one_bad_row(live: Any, lang: str) -> None:
    hub = live.app.hub
    await user(hub, "root@example.com", Role.admin, language=lang)
    csv_text = "name,phone,email,tags\nLayla,+966501110000,layla@example.com,new\nBroken,123,,\nOmar,,omar@example.com,\n"
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "root@example.com", "/admin")
        await expect(page.locator('#admin-tabs a[aria-current="page"]')).to_be_attached()
        # A section still loading when another is chosen finishes off the page, not over
        # the one chosen after it (this test's link to #import once lost that race): the
        # users tab's first request is held until the import tab is up.
        intercepted, release = asyncio.Event(), asyncio.Event()

        async def hold(route: Any) -> None:
            if not intercepted.is_set():
                intercepted.set()
                await release.wait()
            await route.continue_()

        await page.route("**/api/v1/teams", hold)
        await page.evaluate("location.hash = '#users'")
        await intercepted.wait()
        await page.evaluate("location.hash = '#import'")
        await expect(page.locator("#import-file")).to_be_attached()
        # The held tab mounts its table before it asks for the users: once they are
        # answered, it has finished.
        async with page.expect_response(lambda r: "/api/v1/users?" in r.url):
            release.set()
        await expect(page.locator("#users-table")).to_have_count(0)
        await expect(page.locator("#import-file")).to_be_attached()
        await page.unroute("**/api/v1/teams")
        await page.set_input_files(
            "#import-file",
            files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}],
        )
        await page.click("#import-check")
        report = page.locator("#import-report")
        await expect(report.locator('[data-count="imp_rows"]')).to_have_text("3")
        await expect(report.locator('[data-count="imp_created"]')).to_have_text("2")
        await expect(report.locator('[data-count="imp_skipped"]')).to_have_text("1")
        await expect(report.locator("#import-errors tbody tr")).to_have_count(1)
        await expect(report.locator("#import-errors tbody tr")).to_contain_text(
            "Not a valid phone number." if lang == "en" else "رقم هاتف غير صحيح."
        )
        await page.click("#import-run")
        await expect(page.locator("#import-status")).to_have_text(
            "Imported." if lang == "en" else "تم الاستيراد."
        )
        await expect(page.locator("#import-progress")).to_have_attribute("value", "1")
        await hub.projections.catch_up()
        await page.goto(f"{live.base}/contacts")
        await expect(page.locator("tr[data-contact-id]")).to_have_count(2)
        await assert_clean(page, watch)


async def test_organisation_and_identities(live: Any) -> None:
    hub = live.app.hub
    await user(hub, "sup@example.com", Role.supervisor, language="ar", name="Sara")
    rana = await ingest(
        hub,
        InboundMessage(
            channel="email", provider_message_id="m1", address_kind="email", sender="rana@acme.com", body="hi"
        ),
    )
    await hub.projections.catch_up()
    async with chromium() as browser:
        page, watch = await open_page(browser, live, "sup@example.com", "/contacts")
        await page.click("#new-org")
        dialog = page.locator("#org-dialog")
        await dialog.locator('input[name="name"]').fill("أكمي للتجارة")
        await dialog.locator('input[name="domains"]').fill("acme.com")
        await dialog.locator('button[type="submit"]').click()
        await expect(page.locator("#org-name")).to_have_text("أكمي للتجارة")
        # The domain brings Rana in, off the request path.
        await hub.projections.catch_up()
        await page.reload()
        await expect(page.locator("#org-members li")).to_have_count(1)
        await page.locator("#org-members a").click()
        await expect(page.locator("#profile-org")).to_have_text("أكمي للتجارة")
        # A phone in a wrong format: refused next to the field, in Arabic.
        await page.select_option("#id-kind", "phone")
        await page.fill("#id-address", "12")
        await page.click("#identity-add button[type=submit]")
        await expect(page.locator("#id-address + .field-error")).to_have_text("رقم هاتف غير صحيح.")
        await page.fill("#id-address", "+966 50 111 2233")
        await page.click("#identity-add button[type=submit]")
        await expect(page.locator("#identities li")).to_have_count(2)
        await expect(page.locator("#identities")).to_contain_text("+966501112233")
        # Consent: its own section, saved on change (agent_ui/static/crm/consent.js).
        await page.select_option("#cs-sms-marketing", "opted_in")
        await expect(page.locator("#cs-sms-marketing-meta")).to_contain_text("الموظفون")
        await assert_clean(page, watch)
    async with hub.db.session() as s:
        from hub.services.consent import state_of

        stored = await state_of(s, rana.contact_id, "sms")
    assert stored == {"marketing": "opted_in"}
