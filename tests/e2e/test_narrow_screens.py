"""Console, supervisor and admin on a phone, a tablet and a desktop, in English and
Arabic: nothing scrolls sideways, with realistic content (a conversation open, long
names, long Arabic text, an admin dialog open); on a phone the console shows one pane
at a time and the agent goes list -> thread -> customer -> back with buttons that
keyboard and screen-reader users can use; the desktop keeps its three panes."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import httpx
import pytest
from playwright.async_api import expect

from channels.loopback import LoopbackChannel
from hub.models import Role
from hub.services import SYSTEM
from hub.services import complaints as complaint_svc
from hub.services.conversations import add_note, assign
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 800, "height": 1100}
DESKTOP = {"width": 1440, "height": 900}

LONG_EN_NAME = "Maximilian-Alexander Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh"
LONG_AR_NAME = "عبد الرحمن بن عبد العزيز بن محمد بن سلطان القحطاني العتيبي الشمري"
LONG_AR_TEXT = (
    "السلام عليكم، طلبت جهاز التوجيه الأسبوع الماضي ولم يصل حتى الآن، وقد اتصلت بخدمة العملاء "
    "ثلاث مرات دون أي رد واضح. رقم الطلب ٤٤٧١٢٣٩٩٨٧٦٥٤٣٢١ والعنوان هو حي الملقا، شارع الأمير "
    "محمد بن سعد بن عبد العزيز، الرياض. أرجو إفادتي بموعد التسليم المتوقع أو إلغاء الطلب "
    "واسترجاع المبلغ كاملًا إلى البطاقة الائتمانية المستخدمة في الشراء."
)
LONG_URL = "https://example.com/track?" + "&".join(f"parcel{i}=AB{i:04d}CDEFGHIJ" for i in range(12))
UNBROKEN = "x" * 180

# Every scrolling box that must not scroll sideways (tables scroll inside .table-wrap,
# which is what that frame is for).
FIT = """() => {
  const doc = document.documentElement;
  const boxes = [...document.querySelectorAll(
    ".thread, .conv-list, .contact-pane, .floor, .admin-main, .topbar, .thread-header, .composer, dialog[open] form, " +
    ".complaints-list-pane, .complaint-pane, .care")]
    .filter((el) => el.getClientRects().length > 0)
    .filter((el) => el.scrollWidth > el.clientWidth + 1)
    .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}: ${el.scrollWidth} > ${el.clientWidth}`);
  return { scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, boxes };
}"""

# For the failure message: the first elements past the edges of the screen.
STICKING_OUT = """() => [...document.querySelectorAll("body *")]
  .filter((el) => { const r = el.getBoundingClientRect(); return r.width && (r.right > innerWidth + 1 || r.left < -1); })
  .slice(0, 8)
  .map((el) => { const r = el.getBoundingClientRect();
    return `${el.tagName.toLowerCase()}#${el.id}.${el.className.baseVal ?? el.className} [${Math.round(r.left)}, ${Math.round(r.right)}]`; })"""


class EmailStandIn(LoopbackChannel):
    """Loopback under the "email" kind: the contact gets a (long) email identity."""

    kind: ClassVar[str] = "email"


@pytest.fixture
def extra_channels() -> list[Any]:
    return [EmailStandIn()]


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite only: these tests are about layout."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


async def post(live: Any, kind: str, sender: str, body: str, **kw: Any) -> int:
    async with httpx.AsyncClient(base_url=live.base) as c:
        r = await c.post(f"/channels/{kind}/messages", json={"sender": sender, "body": body, **kw})
    assert r.status_code in (200, 201), r.text
    return int(r.json()["conversation_id"])


async def seed(live: Any) -> dict[str, Any]:
    """Two admins (one per language, long names: they see all three pages and the
    widest top bar), each with an open conversation full of long text."""
    hub = live.app.hub
    support = await team(hub, "Customer Success and Retention — Gulf Region Enterprise Accounts")
    billing = await team(hub, "الفوترة والمدفوعات والاشتراكات الشهرية")
    people = {
        "en": await user(
            hub,
            "root-en@example.com",
            role=Role.admin,
            team_ids=(support, billing),
            name="Alexandra Konstantinopoulou-Papadopoulou",
            language="en",
        ),
        "ar": await user(
            hub,
            "root-ar@example.com",
            role=Role.admin,
            team_ids=(support, billing),
            name=LONG_AR_NAME,
            language="ar",
        ),
    }
    await user(hub, "agent@example.com", team_ids=(support,), name=LONG_EN_NAME, skills={"routers": 7})
    convs: dict[str, int] = {}
    team_names = {"en": "Customer Success and Retention — Gulf Region Enterprise Accounts", "ar": None}
    for lang, uid in people.items():
        team_name = team_names[lang] or "الفوترة والمدفوعات والاشتراكات الشهرية"
        conv = await post(
            live,
            "email",
            f"very.long.customer.address.{lang}@subdomain.example-enterprise-customer.com",
            f"{LONG_AR_TEXT}\n{LONG_URL}\n{UNBROKEN}",
            sender_name=LONG_AR_NAME if lang == "ar" else LONG_EN_NAME,
            team=team_name,
        )
        await post(
            live,
            "email",
            f"very.long.customer.address.{lang}@subdomain.example-enterprise-customer.com",
            "Also: the invoice INV-2026-000000004471 shows the wrong VAT number.",
        )
        await assign(hub, SYSTEM, conv, uid)
        await add_note(hub, SYSTEM, conv, f"@agent please call back — {LONG_AR_TEXT[:120]}")
        # A complaint about it, long everywhere: beside the thread and on the board.
        await complaint_svc.open_complaint(
            hub,
            SYSTEM,
            complaint_svc.NewComplaint(
                conversation_id=conv,
                category="delivery",
                subcategory="late_delivery",
                severity="critical",
                description=f"{LONG_AR_TEXT}\n{UNBROKEN}",
                product_ref=LONG_URL[:200],
                assignee_id=uid,
            ),
        )
        convs[lang] = conv
        # A second, short one, so the list has more than the open conversation.
        other = await post(live, "loopback", f"short-{lang}", "مرحبا", sender_name="ليلى", team=team_name)
        await assign(hub, SYSTEM, other, uid)
    return convs


async def assert_fits(page: Any, where: str) -> None:
    fit = await page.evaluate(FIT)
    if fit["scrollWidth"] > fit["innerWidth"]:
        fit["sticking_out"] = await page.evaluate(STICKING_OUT)
    assert fit["scrollWidth"] <= fit["innerWidth"], f"{where}: page scrolls sideways: {fit}"
    if fit["boxes"]:
        fit["sticking_out"] = await page.evaluate(STICKING_OUT)
    assert fit["boxes"] == [], f"{where}: boxes scroll sideways: {fit}"


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("viewport", [PHONE, TABLET, DESKTOP], ids=["phone", "tablet", "desktop"])
async def test_console_supervisor_and_admin_fit_the_screen(live: Any, lang: str, viewport: Any) -> None:
    convs = await seed(live)
    conv = convs[lang]
    phone = viewport is PHONE
    async with chromium() as browser:
        page, watch = await open_page(
            browser, live, f"root-{lang}@example.com", "/console", viewport=viewport
        )
        await expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")

        # Console: the list, then the open conversation with its customer.
        item = page.locator(f'#conv-list [data-conversation-id="{conv}"]')
        await expect(item).to_be_visible()
        await expect(page.locator("#conv-list [data-conversation-id]")).to_have_count(2)
        await assert_fits(page, "console, list")
        await item.click()
        await expect(page.locator("#thread .msg.inbound .body")).to_have_count(2)
        await expect(page.locator("#thread .msg.note")).to_have_count(1)
        await expect(page.locator("#thread-title")).to_contain_text(
            LONG_AR_NAME if lang == "ar" else LONG_EN_NAME
        )
        await expect(page.locator("#contact .identities li")).to_have_count(1)
        await assert_fits(page, "console, thread")
        if viewport is DESKTOP:
            # The desktop is unchanged: three panes side by side, no pane bars, no menu.
            for pane in (".list-pane", ".thread-pane", ".contact-pane"):
                await expect(page.locator(pane)).to_be_visible()
            await expect(page.locator("#back-to-list")).to_be_hidden()
            await expect(page.locator("#show-contact")).to_be_hidden()
            await expect(page.locator("#menu-toggle")).to_be_hidden()
            await expect(page.locator("#logout")).to_be_visible()
            await expect(page.locator('#topbar nav a[href="/admin"]')).to_be_visible()
        else:
            await page.locator("#show-contact").click()
            await expect(page.locator("#contact-pane")).to_be_visible()
            await expect(page.locator("#thread-pane")).to_be_hidden()
            await assert_fits(page, "console, customer")
            await page.locator("#back-to-thread").click()
            await expect(page.locator("#thread-pane")).to_be_visible()
            # The menu opens the account links (and, on a phone, the page links).
            await expect(page.locator("#logout")).to_be_hidden()
            await page.locator("#menu-toggle").click()
            await expect(page.locator("#logout")).to_be_visible()
            await expect(page.locator("#topbar nav a").first).to_be_visible()
            await assert_fits(page, "console, menu open")
            await page.locator("#menu-toggle").click()
            await expect(page.locator("#logout")).to_be_hidden()
            if phone:
                await expect(page.locator(".list-pane")).to_be_hidden()

        # Supervisor: the floor, then a conversation open read-only.
        await page.goto(f"{live.base}/supervisor")
        await expect(page.locator("#queues tr[data-team-id]")).to_have_count(2)
        await expect(page.locator("#agents tr[data-agent-id]")).to_have_count(3)
        opener = page.locator(f'#open-convs [data-open="{conv}"]')
        await expect(opener).to_be_visible()
        await assert_fits(page, "supervisor, floor")
        await opener.click()
        await expect(page.locator("#viewer-thread .msg.inbound")).to_have_count(2)
        await expect(page.locator("#viewer-title")).to_be_focused()
        await assert_fits(page, "supervisor, viewer")
        if viewport is DESKTOP:
            await expect(page.locator("#floor")).to_be_visible()
        else:
            # One pane at a time: the viewer replaces the floor; × goes back to it.
            await expect(page.locator("#floor")).to_be_hidden()
            await page.locator("#viewer-close").click()
            await expect(page.locator("#floor")).to_be_visible()
            await expect(page.locator(f'#open-convs [data-open="{conv}"]')).to_be_focused()
            await assert_fits(page, "supervisor, back on the floor")

        # Admin: users, teams, and the team dialog with its business hours.
        await page.goto(f"{live.base}/admin#users")
        await expect(page.locator("#users-table tbody tr")).to_have_count(3)
        await assert_fits(page, "admin, users")
        await page.goto(f"{live.base}/admin#teams")
        await expect(page.locator("#teams-table tbody tr")).to_have_count(2)
        await assert_fits(page, "admin, teams")
        await page.locator("#teams-table tbody tr").first.get_by_role("button").first.click()
        dialog = page.locator("#team-dialog")
        await expect(dialog).to_be_visible()
        await dialog.get_by_role("checkbox", name="Always open" if lang == "en" else "مفتوح دائمًا").uncheck()
        await dialog.locator('.day-row[data-day="sun"] button.small').last.click()
        await expect(dialog.locator('.day-row[data-day="sun"] .span-edit')).to_have_count(1)
        await assert_fits(page, "admin, team dialog")
        await dialog.get_by_role("button", name="Cancel" if lang == "en" else "إلغاء").click()
        await expect(dialog).to_be_hidden()
        await page.goto(f"{live.base}/admin#complaints")
        await expect(page.locator("#severity-options tbody tr")).to_have_count(4)
        await assert_fits(page, "admin, complaint options")
        await page.goto(f"{live.base}/admin#surveys")
        await expect(page.locator("#survey-policies tbody tr")).to_have_count(1)
        await assert_fits(page, "admin, surveys")

        # Complaints: the board, then one complaint (on a phone or tablet, alone).
        await page.goto(f"{live.base}/complaints")
        rows = page.locator("#complaint-table tbody tr[data-complaint-id]")
        await expect(rows).to_have_count(2)
        await assert_fits(page, "complaints, board")
        await rows.first.locator(".complaint-link").click()
        await expect(page.locator("#complaint-panel #c-description")).to_have_value(re.compile("السلام"))
        await assert_fits(page, "complaints, one complaint")
        if viewport is DESKTOP:
            await expect(page.locator("#complaint-table")).to_be_visible()
        else:
            await expect(page.locator("#complaint-table")).to_be_hidden()
            await page.locator("#back-to-complaints").click()
            await expect(page.locator("#complaint-table")).to_be_visible()
        await assert_clean(page, watch)


@pytest.mark.parametrize(
    ("lang", "labels"),
    [
        (
            "en",
            {"back": "Conversations", "customer": "Customer", "back_to_thread": "Back to the conversation"},
        ),
        ("ar", {"back": "المحادثات", "customer": "العميل", "back_to_thread": "العودة إلى المحادثة"}),
    ],
)
async def test_on_a_phone_the_agent_goes_list_thread_customer_and_back(
    live: Any, lang: str, labels: dict[str, str]
) -> None:
    convs = await seed(live)
    conv = convs[lang]
    async with chromium() as browser:
        page, watch = await open_page(browser, live, f"root-{lang}@example.com", "/console", viewport=PHONE)
        console = page.locator("#console")
        item = page.locator(f'#conv-list [data-conversation-id="{conv}"]')

        # The list alone.
        await expect(item).to_be_visible()
        await expect(page.locator(".thread-pane")).to_be_hidden()
        await expect(page.locator(".contact-pane")).to_be_hidden()

        # Keyboard: Enter on a conversation opens the thread, alone, with focus in it.
        await item.focus()
        await page.keyboard.press("Enter")
        await expect(console).to_have_attribute("data-view", "thread")
        await expect(page.locator(".thread-pane")).to_be_visible()
        await expect(page.locator(".list-pane")).to_be_hidden()
        await expect(page.locator("#thread-pane")).to_be_focused()
        await expect(page.locator("#thread-pane")).to_have_attribute("aria-labelledby", "thread-title")
        await expect(page.locator("#thread .msg.inbound .body").first).to_contain_text(LONG_AR_TEXT[:40])

        # The visible back control: a translated button, reachable with the keyboard.
        back = page.get_by_role("button", name=labels["back"], exact=True)
        await expect(back).to_be_visible()
        await expect(back).to_have_id("back-to-list")
        customer = page.get_by_role("button", name=labels["customer"], exact=True)
        await expect(customer).to_be_visible()

        # Thread -> customer -> back to the thread.
        await customer.click()
        await expect(page.locator(".contact-pane")).to_be_visible()
        await expect(page.locator(".thread-pane")).to_be_hidden()
        await expect(page.locator("#contact-pane")).to_be_focused()
        await expect(page.locator("#contact .identities")).to_contain_text("very.long.customer.address")
        back_to_thread = page.get_by_role("button", name=labels["back_to_thread"], exact=True)
        await back_to_thread.focus()
        await page.keyboard.press("Enter")
        await expect(page.locator(".thread-pane")).to_be_visible()
        await expect(page.locator(".contact-pane")).to_be_hidden()
        await expect(customer).to_be_focused()

        # Thread -> back to the list, focus on the conversation the agent came from.
        await back.focus()
        await page.keyboard.press("Space")
        await expect(console).to_have_attribute("data-view", "list")
        await expect(page.locator(".list-pane")).to_be_visible()
        await expect(page.locator(".thread-pane")).to_be_hidden()
        await expect(item).to_be_focused()
        await expect(item).to_have_class("conv-item current")

        # A tap on another conversation opens it; back again.
        other = page.locator("#conv-list [data-conversation-id]").filter(has_not=page.locator(".current"))
        await other.first.click()
        await expect(page.locator("#thread-title")).to_contain_text("ليلى")
        await expect(page.locator(".list-pane")).to_be_hidden()
        await back.click()
        await expect(page.locator(".list-pane")).to_be_visible()

        # The menu button: labelled, says whether it is open, Esc closes it.
        menu = page.locator("#menu-toggle")
        await expect(menu).to_have_accessible_name("Menu" if lang == "en" else "القائمة")
        await expect(menu).to_have_attribute("aria-expanded", "false")
        await menu.click()
        await expect(menu).to_have_attribute("aria-expanded", "true")
        await expect(page.locator("#change-password")).to_be_visible()
        await page.locator("#change-password").focus()
        await page.keyboard.press("Escape")
        await expect(menu).to_have_attribute("aria-expanded", "false")
        await expect(page.locator("#change-password")).to_be_hidden()
        await expect(menu).to_be_focused()

        # A reload on a conversation's address opens the thread, not the list.
        await page.goto(f"{live.base}/console#c={conv}")
        await page.reload()
        await expect(page.locator("#thread .msg.inbound .body")).to_have_count(2)
        await expect(page.locator(".list-pane")).to_be_hidden()
        await expect(page.locator("#back-to-list")).to_be_visible()
        await assert_clean(page, watch)
