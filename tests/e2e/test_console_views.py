"""The console's views in headless Chromium: Arabic right-to-left, hostile customer
text rendered as text, the channel-aware composer (canned responses, mentions, SMS
segments, email subject and quoting), actions and shortcuts, the customer panel, and
the admin pages' CRUD with errors shown next to the form."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from playwright.async_api import expect

from channels.loopback import LoopbackChannel
from hub.domain import Attachment, InboundMessage
from hub.models import Role
from hub.services import SYSTEM
from hub.services import canned as canned_svc
from hub.services import labels as label_svc
from hub.services.conversations import assign
from hub.services.ingest import ingest
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.helpers import PASSWORD, inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class SmsStandIn(LoopbackChannel):
    """Loopback under the "sms" kind: its conversations are SMS conversations."""

    kind: ClassVar[str] = "sms"


class EmailStandIn(LoopbackChannel):
    kind: ClassVar[str] = "email"


@pytest.fixture
def extra_channels() -> list[Any]:
    return [SmsStandIn(), EmailStandIn()]


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite only: these tests are about the browser side; test_console_flow.py runs
    the acceptance flow on both databases."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


async def post(live: Any, kind: str, sender: str, body: str, **kw: Any) -> int:
    async with httpx.AsyncClient(base_url=live.base) as c:
        r = await c.post(f"/channels/{kind}/messages", json={"sender": sender, "body": body, **kw})
    assert r.status_code in (200, 201), r.text
    return int(r.json()["conversation_id"])


async def test_arabic_console_is_rtl_and_customer_text_stays_text(live: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    khalid = await user(hub, "khalid@example.com", team_ids=(support,), name="خالد العتيبي", language="ar")
    hostile = "<img src=x onerror=alert(1)>"
    hostile_name = "<b onmouseover=alert(2)>ليلى</b>"
    conv = (await inbound(live.app.client, "cust-x", hostile, team="Support", sender_name=hostile_name))[
        "conversation_id"
    ]
    mixed = "مرحبا، my order #123 is late — see https://example.com/track?id=1. Not javascript:alert(3)"
    await inbound(live.app.client, "cust-x", mixed)
    # Attachments: a stored image (shown from the hub) and a provider-hosted HTML file
    # (a download link to the hub, never the provider's URL).
    folder = Path(hub.settings.data_dir) / "attachments"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "photo.png").write_bytes(PNG)
    await ingest(
        hub,
        InboundMessage(
            channel="loopback",
            provider_message_id="with-files",
            address_kind="loopback",
            sender="cust-x",
            body="two files",
            attachments=(
                Attachment(filename="photo.png", content_type="image/png", path=str(folder / "photo.png")),
                Attachment(
                    filename="<i>invoice</i>.html",
                    content_type="text/html",
                    url="https://evil.example/x.html",
                ),
            ),
        ),
    )
    await assign(hub, SYSTEM, conv, khalid)

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "khalid@example.com", "/console")
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        await expect(page.locator("html")).to_have_attribute("lang", "ar")
        await expect(page.locator("#tab-mine")).to_contain_text("محادثاتي")
        await expect(page.locator("#logout")).to_have_text("خروج")

        await page.locator(f'#conv-list [data-conversation-id="{conv}"]').click()
        bodies = page.locator("#thread .msg.inbound .body")
        await expect(bodies).to_have_count(3)
        await expect(bodies.first).to_have_text(hostile)
        await expect(page.locator("#thread-title")).to_contain_text(hostile_name)
        await expect(page.locator("#contact-name")).to_contain_text(hostile_name)
        files = page.locator("#thread .msg", has_text="two files")
        # Images only ever from the hub's attachment URL (the preview drops itself if
        # the hub cannot serve the file).
        srcs = await page.locator("#thread img").evaluate_all(
            "(imgs) => imgs.map((i) => i.getAttribute('src'))"
        )
        assert all(re.fullmatch(r"/api/v1/messages/\d+/attachments/0", src or "") for src in srcs), srcs
        links = files.locator("a.attachment")
        await expect(links).to_have_text(["photo.png", "<i>invoice</i>.html"])
        assert re.fullmatch(
            r"/api/v1/messages/\d+/attachments/1", await links.nth(1).get_attribute("href") or ""
        )
        assert "evil.example" not in await page.content()
        assert (
            await page.locator(
                "#thread img:not(.thumb), #thread i, #thread-title b, #conv-list b, #contact b"
            ).count()
            == 0
        )
        await page.locator("#thread-title").hover()

        # Mixed Arabic/English bodies pick their own direction; links are safe anchors.
        assert await bodies.nth(1).get_attribute("dir") == "auto"
        links = bodies.nth(1).locator("a")
        await expect(links).to_have_count(1)
        assert await links.get_attribute("href") == "https://example.com/track?id=1"
        assert await links.get_attribute("rel") == "noopener noreferrer"
        assert await links.get_attribute("target") == "_blank"
        await expect(bodies.nth(1)).to_have_text(mixed)

        # Mirrored layout: the conversation list is on the right of the thread.
        list_box = await page.locator(".list-pane").bounding_box()
        thread_box = await page.locator(".thread-pane").bounding_box()
        assert list_box is not None and thread_box is not None
        assert list_box["x"] > thread_box["x"]

        # The language switch goes back to English (and is saved on the user).
        async with page.expect_response(lambda r: r.request.method == "PATCH" and "/api/v1/users/" in r.url):
            await page.locator("#lang-toggle").click()
        await expect(page.locator("html")).to_have_attribute("dir", "ltr")
        await expect(page.locator("#tab-mine")).to_contain_text("Mine")
        async with httpx.AsyncClient(base_url=live.base) as c:
            await c.post("/api/v1/auth/login", json={"email": "khalid@example.com", "password": PASSWORD})
            assert (await c.get("/api/v1/auth/me")).json()["user"]["language"] == "en"
        await assert_clean(page, watch)


async def test_composer_knows_the_channel_and_the_actions_work(live: Any, loopback: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    await team(hub, "Billing")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad")
    await user(hub, "sara@example.com", team_ids=(support,), name="Sara Nasser")
    await canned_svc.create(
        hub,
        SYSTEM,
        {"shortcut": "ship", "title": "Shipping", "body": "Orders ship within 24 hours.", "language": "en"},
    )
    sms = await post(
        live, "sms", "+12025550143", "Can I change my address?", sender_name="Fatima", team="Support"
    )
    mail = await post(
        live,
        "email",
        "john@example.com",
        "Where is my desk?\nOrder 4471.",
        sender_name="John",
        team="Support",
    )
    for conv in (sms, mail):
        await assign(hub, SYSTEM, conv, ana)

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "ana@example.com", f"/console#c={sms}")
        await expect(page.locator("#thread .msg.inbound .body")).to_have_text(["Can I change my address?"])
        # Live redraws replace only what changed: a colleague's label redraws the
        # header's labels and this conversation's row, not the header's buttons nor the
        # other row. A button swapped between a click's mousedown and its mouseup loses
        # the click (CI lost the Reopen click below to a refetch's redraw).
        resolve_button = await page.locator("#resolve").element_handle()
        mail_row = await page.locator(f'#conv-list [data-conversation-id="{mail}"]').element_handle()
        sms_row = await page.locator(f'#conv-list [data-conversation-id="{sms}"]').element_handle()
        await label_svc.add_to_conversation(hub, SYSTEM, sms, "callback")
        await expect(page.locator('#thread-labels .label-chip[data-label="callback"]')).to_be_visible()
        await expect(
            page.locator(f'#conv-list [data-conversation-id="{sms}"] .label-chip[data-label="callback"]')
        ).to_be_visible()
        connected = "node => node.isConnected"
        assert await resolve_button.evaluate(connected) and await mail_row.evaluate(connected)
        assert not await sms_row.evaluate(connected)  # the row that changed was redrawn
        box = page.locator("#composer-text")
        counter = page.locator("#composer-counter")

        # "/" searches canned responses; Enter previews the body (variables filled),
        # Enter again inserts it.
        await box.click()
        await box.type("/sh")
        suggestion = page.locator("#composer-suggestions [role=option]", has_text="/ship")
        await expect(suggestion).to_be_visible()
        await box.press("Enter")
        await expect(page.locator("#canned-preview .canned-text")).to_have_text(
            "Orders ship within 24 hours."
        )
        await page.keyboard.press("Enter")
        await expect(box).to_have_value("Orders ship within 24 hours.")
        await expect(counter).to_have_text("28 characters · 1 SMS (GSM-7)")
        await box.fill("ا" * 71)  # Arabic: UCS-2, 70 per single SMS, 67 per part
        await expect(counter).to_have_text("71 characters · 2 SMS (UCS-2)")

        # Alt+N: a private note with an @mention picked from colleagues.
        await box.fill("")
        await box.press("Alt+N")
        await expect(page.locator("#composer")).to_have_attribute("data-mode", "note")
        await box.type("@sa")
        await expect(
            page.locator("#composer-suggestions [role=option]", has_text="Sara Nasser")
        ).to_be_visible()
        await box.press("Enter")
        await expect(box).to_have_value("@sara ")
        await box.type("please check the address")
        await box.press("Enter")
        note = page.locator("#thread .msg.note")
        await expect(note.locator(".body")).to_have_text("@sara please check the address")
        await expect(note.locator("mark.mention")).to_have_text("@sara")

        # Alt+R: resolve with a category; it moves to the Closed tab; then reopen.
        await box.press("Alt+N")
        await page.locator("#thread-pane").focus()
        await page.keyboard.press("Alt+R")
        dialog = page.locator("#resolve-dialog")
        await expect(dialog).to_be_visible()
        await dialog.locator("select").select_option("complaint")
        await dialog.get_by_role("button", name="Resolve").click()
        await expect(page.locator("#conv-status")).to_have_text("Resolved")
        await expect(page.locator("#thread [data-event-type='conversation.resolved']")).to_contain_text(
            "Complaint"
        )
        await expect(page.locator(f'#conv-list [data-conversation-id="{sms}"]')).to_have_count(0)
        await page.locator("#tab-closed").click()
        await expect(page.locator(f'#conv-list [data-conversation-id="{sms}"]')).to_be_visible()
        await page.locator("#reopen").click()
        await expect(page.locator("#conv-status")).to_have_text("Open")
        await page.keyboard.press("Alt+S")
        await page.locator("#snooze-choice").select_option(label="1 hour")
        await page.locator("#snooze-dialog").get_by_role("button", name="Snooze").click()
        await expect(page.locator("#conv-status")).to_have_text("Snoozed")

        # Customer panel: tags and VIP, saved on the contact.
        tag_input = page.locator("#tag-input")
        await tag_input.click()
        await tag_input.press_sequentially("moving")
        await expect(tag_input).to_have_value("moving")
        await tag_input.press("Enter")
        await expect(page.locator("#contact .chip")).to_have_text(["moving×"])
        await page.locator("#vip-toggle").click()
        await expect(page.locator("#vip-toggle")).to_have_attribute("aria-pressed", "true")

        # Email: a subject field, and quoting the customer's last message.
        await page.locator("#tab-mine").click()
        await page.locator(f'#conv-list [data-conversation-id="{mail}"]').click()
        await expect(page.locator("#subject-row")).to_be_visible()
        # Quoting needs the thread: wait for the customer's message to be on screen.
        await expect(page.locator("#thread .msg.inbound .body").last).to_contain_text("Order 4471")
        await page.locator("#subject").fill("Your desk")
        await box.fill("It left the warehouse today.")
        await page.locator("#quote").click()
        await expect(box).to_have_value(
            re.compile(
                r"^It left the warehouse today\.\n\nOn .+, John wrote:\n> Where is my desk\?\n> Order 4471\.\n$"
            )
        )
        await box.focus()
        await box.press("Enter")
        await expect(page.locator("#thread .msg.outbound .subject")).to_have_text("Your desk")
        assert await live.app.worker.run_once() == 1

        # "?" lists the shortcuts; Escape closes the list.
        await page.locator("#thread-pane").focus()
        await page.keyboard.press("?")
        await expect(page.locator("#shortcuts-dialog")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(page.locator("#shortcuts-dialog")).to_have_count(0)

        # Transfer to a team Ana is not in: the conversation leaves her view.
        await page.keyboard.press("Alt+T")
        dialog = page.locator("#transfer-dialog")
        await dialog.locator("#tr-team-select").select_option(label="Billing")
        await dialog.get_by_role("button", name="Transfer").click()
        await expect(page.locator(f'#conv-list [data-conversation-id="{mail}"]')).to_have_count(0)
        await assert_clean(page, watch)

    async with httpx.AsyncClient(base_url=live.base) as c:
        await c.post("/api/v1/auth/login", json={"email": "ana@example.com", "password": PASSWORD})
        notes = [
            m
            for m in (await c.get(f"/api/v1/conversations/{sms}/messages")).json()["items"]
            if m["kind"] == "note"
        ]
        assert notes[0]["meta"]["mentions"] != []
        contact = (await c.get(f"/api/v1/conversations/{sms}")).json()["contact_id"]
        profile = (await c.get(f"/api/v1/contacts/{contact}")).json()
        assert profile["tags"] == ["moving"] and profile["vip"] is True
    sent = [m for m in live.app.hub.channels.get("email").sent]
    assert [(m.subject, m.body.startswith("It left the warehouse today.")) for m in sent] == [
        ("Your desk", True)
    ]


async def test_admin_pages_create_edit_and_show_errors(live: Any) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    await user(hub, "root@example.com", role=Role.admin, name="Root")

    async with chromium() as browser:
        # (#users: a hub without agents or a channel opens on the first-run checklist.)
        page, watch = await open_page(browser, live, "root@example.com", "/admin#users")

        # A new user: the generated password is shown once, and works.
        await page.locator("#new-user").click()
        dialog = page.locator("#user-dialog")
        await dialog.locator("[name=email]").fill("nadia@example.com")
        await dialog.locator("[name=name]").fill("Nadia Saleh")
        await dialog.locator("[name=language]").select_option("ar")
        await dialog.get_by_label("Support").check()
        await dialog.get_by_role("button", name="Create").click()
        secret = page.locator("#generated-password")
        await expect(secret).to_be_visible()
        password = await secret.inner_text()
        await page.locator("#password-dialog").get_by_role("button", name="Done").click()
        await expect(page.locator("#users-table")).to_contain_text("Nadia Saleh")
        async with httpx.AsyncClient(base_url=live.base) as c:
            r = await c.post("/api/v1/auth/login", json={"email": "nadia@example.com", "password": password})
            assert r.status_code == 200 and r.json()["user"]["team_ids"] == [support]

        # The same email again: the hub's error, next to the email field.
        await page.locator("#new-user").click()
        await dialog.locator("[name=email]").fill("nadia@example.com")
        await dialog.locator("[name=name]").fill("Nadia Again")
        await dialog.get_by_role("button", name="Create").click()
        await expect(dialog.locator("[name=email]")).to_have_attribute("aria-invalid", "true")
        await expect(dialog.locator(".field-error")).to_contain_text("A user with this email exists.")
        await dialog.get_by_role("button", name="Cancel").click()

        # Edit: a skill with its level and a capacity.
        row = page.locator("#users-table tr", has_text="Nadia Saleh")
        await row.get_by_role("button", name="Edit").click()
        await dialog.get_by_role("button", name="Add skill").click()
        await dialog.locator(".skill-name").fill("billing")
        await dialog.locator(".skill-level").fill("7")
        await dialog.locator("[name='capacity.sms']").fill("2")
        await dialog.get_by_role("button", name="Save").click()
        await expect(row).to_contain_text("billing 7")

        # A team with a routing policy and business hours.
        await page.locator("a[href='#teams']").click()
        await page.locator("#new-team").click()
        dialog = page.locator("#team-dialog")
        await dialog.locator("[name=name]").fill("VIP Desk")
        await dialog.locator("[name=strategy]").select_option("round_robin")
        await dialog.locator("[name=allow_pick]").uncheck()
        await dialog.locator("[name='routing.sla_seconds.email']").fill("7200")
        await dialog.locator("[name=overflow_team]").select_option(label="Support")
        await dialog.locator("[name=overflow_after]").fill("45")
        await dialog.locator("[name=always_open]").uncheck()
        await dialog.locator("[name=timezone]").fill("Asia/Riyadh")
        await dialog.locator("[data-day=sun]").get_by_role("button", name="Add hours").click()
        await dialog.locator("[name=after_hours_ar]").fill("نحن مغلقون الآن")
        await dialog.get_by_role("button", name="Create").click()
        await expect(page.locator("#teams-table")).to_contain_text("VIP Desk")

        # Canned responses: create, edit, delete.
        await page.locator("a[href='#canned']").click()
        await page.locator("#new-canned").click()
        dialog = page.locator("#canned-dialog")
        await dialog.locator("[name=shortcut]").fill("/hello")
        await dialog.locator("[name=title]").fill("Greeting")
        await dialog.locator("[name=language]").select_option("ar")
        await dialog.locator("[name=body_ar]").fill("أهلًا وسهلًا! كيف أساعدك؟")
        await dialog.get_by_role("button", name="Create").click()
        canned_row = page.locator("#canned-table tr", has_text="/hello")
        await expect(canned_row).to_contain_text("Greeting")
        await canned_row.get_by_role("button", name="Edit").click()
        await dialog.locator("[name=title]").fill("Welcome")
        await dialog.get_by_role("button", name="Save").click()
        await expect(canned_row).to_contain_text("Welcome")
        await canned_row.get_by_role("button", name="Delete").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(canned_row).to_have_count(0)
        await assert_clean(page, watch)

    async with httpx.AsyncClient(base_url=live.base) as c:
        await c.post("/api/v1/auth/login", json={"email": "root@example.com", "password": PASSWORD})
        users = {u["email"]: u for u in (await c.get("/api/v1/users")).json()["items"]}
        assert users["nadia@example.com"]["skills"] == {"billing": 7}
        assert users["nadia@example.com"]["capacity"]["sms"] == 2
        assert users["nadia@example.com"]["language"] == "ar"
        teams = {t["name"]: t for t in (await c.get("/api/v1/teams")).json()["items"]}
        vip = teams["VIP Desk"]
        assert vip["routing"] == {
            "strategy": "round_robin",
            "allow_pick": False,
            "sla_seconds": {"email": 7200},
            "overflow_team_id": support,
            "overflow_after": 45,
        }
        assert vip["business_hours"] == {
            "timezone": "Asia/Riyadh",
            "days": {"sun": [["09:00", "17:00"]]},
            "after_hours_message": {"ar": "نحن مغلقون الآن"},
        }


async def test_ui_modules_in_the_browser(live: Any) -> None:
    """format.js and dom.js where they run; and the login page refuses foreign redirects."""
    await user(live.app.hub, "ana@example.com")
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(f"{live.base}/login?next=//evil.example/x")
        await page.fill("#email", "ana@example.com")
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await page.wait_for_url(f"{live.base}/console")
        result = await page.evaluate(
            """async () => {
            const f = await import("/static/format.js");
            const d = await import("/static/dom.js");
            const sms = (s) => { const i = f.smsInfo(s); return [i.encoding, i.units, i.segments]; };
            const link = d.linkify("go to https://a.example/b). now");
            let refused = null;
            try { d.h("div", { onclick: "alert(1)" }); } catch (e) { refused = e.message; }
            // patch(): equal children are kept (by key, else by position), changed ones
            // replaced, moved ones moved, missing ones removed.
            const root = d.h("ul");
            const item = (id, text) => d.h("li", { id }, text);
            d.mount(root, item("a", "1"), item("b", "2"), item("c", "3"), "tail");
            const [a, b, c] = root.children;
            d.patch(root, [item("c", "3"), item("a", "1*"), item("b", "2"), "tail"]);
            const after = [...root.children];
            const patched = {
              order: after.map((n) => n.id + ":" + n.textContent),
              kept: [after[0] === c, after[1] === a, after[2] === b],
              text: root.lastChild.nodeValue,
            };
            d.patch(root, [item("b", "2")]);
            patched.shrunk = [root.childNodes.length, root.firstChild === b];
            return {
              patched,
              gsm: [sms(""), sms("a".repeat(160)), sms("a".repeat(161)), sms("a".repeat(306)), sms("a".repeat(307))],
              extended: sms("{€}"),
              ucs2: [sms("ب".repeat(70)), sms("ب".repeat(71)), sms("ب".repeat(134)), sms("ب".repeat(135)), sms("😀")],
              jsHref: d.h("a", { href: "javascript:alert(1)" }, "x").getAttribute("href"),
              dataSrc: d.h("img", { src: "https://evil.example/x.png" }).getAttribute("src"),
              link: [link[0], link[1].getAttribute("href"), link[1].getAttribute("rel"), link[2]],
              refused,
              clock: [f.clock(75), f.clock(3725), f.clock(-5)],
            };
        }"""
        )
    assert result["gsm"] == [
        ["GSM-7", 0, 0],
        ["GSM-7", 160, 1],
        ["GSM-7", 161, 2],
        ["GSM-7", 306, 2],
        ["GSM-7", 307, 3],
    ]
    assert result["extended"] == ["GSM-7", 6, 1]
    assert result["ucs2"] == [
        ["UCS-2", 70, 1],
        ["UCS-2", 71, 2],
        ["UCS-2", 134, 2],
        ["UCS-2", 135, 3],
        ["UCS-2", 2, 1],
    ]
    assert result["patched"] == {
        "order": ["c:3", "a:1*", "b:2"],
        "kept": [True, False, True],
        "text": "tail",
        "shrunk": [1, True],
    }
    assert result["jsHref"] is None and result["dataSrc"] is None
    assert result["link"] == ["go to ", "https://a.example/b", "noopener noreferrer", "). now"]
    assert result["refused"] == "dom.h: attribute onclick is not allowed"
    assert result["clock"] == ["1:15", "1:02:05", "\u2066-0:05\u2069"]  # overdue: isolated LTR


async def test_supervisor_opens_any_conversation_read_only_and_acts(live: Any) -> None:
    hub = live.app.hub
    support, billing = await team(hub, "Support"), await team(hub, "Billing")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad")
    sam = await user(
        hub, "sam@example.com", role=Role.supervisor, team_ids=(support, billing), name="Sam Lead"
    )
    conv = (await inbound(live.app.client, "cust-1", "hello", team="Support", sender_name="Layla"))[
        "conversation_id"
    ]
    await assign(hub, SYSTEM, conv, ana)

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "sam@example.com", "/supervisor")
        await page.locator(f'#agents tr[data-agent-id="{ana}"] [data-open="{conv}"]').click()
        viewer = page.locator("#viewer")
        bodies = viewer.locator(".msg.inbound .body")
        await expect(bodies).to_have_text(["hello"])
        await expect(viewer.locator("#viewer-banner")).to_have_text("Read-only view.")
        assert await viewer.locator("textarea:not(#whisper-body)").count() == 0  # only the whisper box

        # Watched: the customer's next message streams into the read-only view.
        await inbound(live.app.client, "cust-1", "are you there?")
        await expect(bodies).to_have_text(["hello", "are you there?"])

        await page.locator("#priority").click()
        await page.locator("#priority-input").fill("5")
        await page.locator("#priority-dialog").get_by_role("button", name="Save").click()
        await expect(page.locator("#priority")).to_have_text("Priority 5")
        await expect(viewer.locator("[data-event-type='conversation.updated']")).to_contain_text(
            "Priority set to 5"
        )

        await page.locator("#take-over").click()
        await expect(viewer.locator("#viewer-header")).to_contain_text("Assigned to Sam Lead")
        await expect(page.locator(f'#agents tr[data-agent-id="{sam}"] .load-total')).to_have_text("1")
        await expect(page.locator(f'#agents tr[data-agent-id="{ana}"] .load-total')).to_have_text("0")

        await page.locator("#assign").click()
        await page.locator("#assign-agent").select_option(str(ana))
        await page.locator("#assign-dialog").get_by_role("button", name="Assign").click()
        await expect(viewer.locator("#viewer-header")).to_contain_text("Assigned to Ana Haddad")

        await page.locator("#sv-transfer").click()
        await page.locator("#tr-team-select").select_option(str(billing))
        await page.locator("#transfer-dialog").get_by_role("button", name="Transfer").click()
        await expect(page.locator(f'#queues tr[data-team-id="{billing}"] [data-col="waiting"]')).to_have_text(
            "1"
        )
        await expect(viewer.locator("[data-event-type='conversation.transferred']")).to_contain_text(
            "Billing"
        )
        await assert_clean(page, watch)


async def test_a_resync_reloads_the_console_over_rest_without_a_page_reload(live: Any) -> None:
    from hub.events import Event
    from hub.models import Conversation

    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,))
    first = (await inbound(live.app.client, "cust-1", "one", team="Support"))["conversation_id"]
    await assign(hub, SYSTEM, first, ana)
    unseen = (await inbound(live.app.client, "cust-2", "two", team="Support"))["conversation_id"]

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "ana@example.com", "/console")
        await expect(page.locator(f'#conv-list [data-conversation-id="{first}"]')).to_be_visible()
        await expect(page.locator(".conn")).to_have_attribute("data-state", "open")
        await page.evaluate("window.__same_page = true")
        # A change no event announces (only a REST reload can show it)...
        async with hub.db.transaction() as s:
            row = await s.get(Conversation, unseen)
            row.assignee_id, row.status = ana, "assigned"
        # ...then the console falls too far behind: the hub drops its backlog and asks
        # it to resync.
        gateway = live.app.app.state.gateway
        for i in range(1, 1_100):
            gateway.deliver(
                Event(
                    id=900_000 + i,
                    type="presence.changed",
                    user_id=ana,
                    payload={"user_id": ana, "presence": "away", "previous": "away"},
                )
            )
        await expect(page.locator(f'#conv-list [data-conversation-id="{unseen}"]')).to_be_visible()
        await expect(page.locator(".conn")).to_have_attribute("data-state", "open")
        assert await page.evaluate("window.__same_page") is True
        assert await page.evaluate("window.__sockets.length") == 2
        await assert_clean(page, watch)
