"""The widget's complaint form in headless Chromium, English and Arabic.

A visitor on a third-party page opens "Make a complaint" under the chat, is told next
to the field what is missing (caught by the widget, or refused by the hub and shown in
the widget's language), sends it, and reads the reference in the chat. The hub then
holds one complaint from the widget. The form is alone on screen: a rating request
that arrives while it is open waits underneath until it closes.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from channels.webchat import WebchatChannel
from hub.models import Complaint, Conversation, Message
from hub.services import SYSTEM
from hub.services.conversations import resolve
from tests.browser_support import chromium
from tests.channels.webchat_support import free_port, host_site, make_channel, mount_page

pytestmark = pytest.mark.browser

FRAME = "iframe[data-switchboard-widget]"
PHONE = {"width": 390, "height": 844}

# Every element of the complaint form inside the frame's width (no horizontal scroll).
FITS = """() => {
    const width = document.documentElement.clientWidth;
    const sheet = document.getElementById('sheet');
    const out = [...sheet.querySelectorAll('*')].filter((n) => {
        const r = n.getBoundingClientRect();
        return r.width > 0 && (r.left < -0.5 || r.right > width + 0.5);
    }).map((n) => n.id || n.className || n.tagName);
    return {width, out, scroll: sheet.scrollWidth - sheet.clientWidth};
}"""


@pytest.fixture
def host_socket() -> Iterator[tuple[socket.socket, int]]:
    sock, port = free_port()
    yield sock, port
    sock.close()


@pytest.fixture
def channel(host_socket: tuple[socket.socket, int]) -> WebchatChannel:
    origin = f"http://localhost:{host_socket[1]}"
    return make_channel(
        acme={
            "allowed_origins": [origin],
            "prechat": {"name": "required", "email": "optional"},
            "topics": {},
        },
        extra_sites={
            "acme-ar": {
                "name": "أكمي",
                "allowed_origins": [origin],
                "team": "Support",
                "language": "ar",
                "prechat": {"email": "required"},
            }
        },
    )


@pytest.fixture
def extra_channels(channel: WebchatChannel) -> list[Any]:
    return [channel]


def widget_frame(page: Any) -> Any:
    return page.frame(url=re.compile(r"/widget/frame"))


async def complaints(hub: Any) -> list[Complaint]:
    async with hub.db.session() as s:
        return list((await s.exec(select(Complaint))).all())


async def test_complaint_form_in_english_on_a_phone(
    live: Any, channel: WebchatChannel, host_socket: tuple[socket.socket, int]
) -> None:
    from playwright.async_api import expect

    hub = live.app.hub
    mount_page(live.app, channel)
    async with host_site(host_socket[0], live.base) as site, chromium() as browser:
        ctx = await browser.new_context(viewport=PHONE)
        page = await ctx.new_page()
        await page.goto(f"{site}/?site=acme")
        w = page.frame_locator(FRAME)
        await w.locator("#launcher").click()
        await expect(w.locator("#prechat")).to_be_visible()
        entry = w.locator("#complaint-open")
        await expect(entry).to_have_text("Make a complaint")

        # -- the form opens alone, focus inside, with the pre-chat details (no chat yet)
        await entry.click()
        form = w.locator("#complaint")
        await expect(form).to_be_visible()
        await expect(w.locator("#c-description")).to_be_focused()
        await expect(w.locator("#prechat")).to_be_hidden()
        await expect(w.locator("#composer")).to_be_hidden()
        await expect(entry).to_be_hidden()
        await expect(w.locator(".card:visible")).to_have_count(1)
        await expect(form.locator("label")).to_have_text(
            ["What happened?", "Order or product reference (optional)", "Name", "Email (optional)"]
        )
        fits = await widget_frame(page).evaluate(FITS)
        assert fits["width"] == PHONE["width"] and fits["out"] == [] and fits["scroll"] <= 0, fits
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")

        # -- empty: the widget says so next to the description; nothing is sent
        await form.locator("button[type=submit]").click()
        description_error = form.locator("[data-field=description] .field-error")
        await expect(description_error).to_have_text("please tell us what happened")
        await expect(w.locator("#c-description")).to_have_attribute("aria-invalid", "true")
        await expect(w.locator("#c-description")).to_be_focused()

        # -- the hub refuses the missing name: shown under the name field
        await w.locator("#c-description").fill("The parcel came <b>broken</b>.")
        await w.locator("#c-order_ref").fill("ORD-77")
        await form.locator("button[type=submit]").click()
        await expect(form.locator("[data-field=name] .field-error")).to_have_text("please enter your name")
        await expect(description_error).to_be_hidden()
        await expect(w.locator("#c-name")).to_be_focused()
        assert await complaints(hub) == []

        # -- sent: the confirmation with the reference, as text; the chat takes over
        await w.locator("#c-name").fill("Sam")
        await form.locator("button[type=submit]").click()
        saved = w.locator(".msg.note.complaint-saved")
        await expect(saved).to_have_text("Your complaint is registered: C-2026-000001")
        await expect(form).to_have_count(0)
        await expect(entry).to_be_focused()
        await expect(w.locator("#composer")).to_be_visible()
        await expect(w.locator("#prechat")).to_have_count(0)
        await expect(w.locator(".msg.you .body")).to_have_text(["The parcel came <b>broken</b>."])
        assert await w.locator(".msg b").count() == 0
        (complaint,) = await complaints(hub)
        assert (complaint.source, complaint.reference, complaint.product_ref) == (
            "widget",
            "C-2026-000001",
            "ORD-77",
        )
        async with hub.db.session() as s:
            (conv,) = (await s.exec(select(Conversation))).all()
            thread = select(Message).where(Message.conversation_id == conv.id).order_by(Message.id)  # type: ignore[arg-type]
            first = (await s.exec(thread)).first()
        assert complaint.conversation_id == conv.id and conv.channel == "webchat"
        assert first is not None and first.meta["prechat"] == {"name": "Sam"}

        # -- the hub's acknowledgement (reference and expected date) follows in the chat
        await expect(w.locator(".msg:not(.you):not(.note) .body")).to_contain_text(["C-2026-000001"])

        # -- one form at a time: a rating request waits under the open form
        await entry.click()
        await expect(w.locator("#c-description")).to_be_focused()
        await expect(w.locator("#complaint [data-field=name]")).to_have_count(0)  # has a chat now
        await resolve(hub, SYSTEM, conv.id)  # type: ignore[arg-type]
        await expect(w.locator("#survey")).to_have_count(1)
        await expect(w.locator("#survey")).to_be_hidden()
        await expect(w.locator(".card:visible")).to_have_count(1)
        await page.keyboard.press("Escape")
        await expect(w.locator("#complaint")).to_have_count(0)
        await expect(w.locator("#survey")).to_be_visible()
        await expect(entry).to_be_focused()
        assert len(await complaints(hub)) == 1
        await ctx.close()


async def test_complaint_form_in_arabic_over_long_polling(
    live: Any, channel: WebchatChannel, host_socket: tuple[socket.socket, int]
) -> None:
    from playwright.async_api import expect

    hub = live.app.hub
    mount_page(live.app, channel)
    async with host_site(host_socket[0], live.base) as site, chromium() as browser:
        ctx = await browser.new_context()
        page = await ctx.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        await page.goto(f"{site}/?site=acme-ar&transport=poll")
        w = page.frame_locator(FRAME)
        await expect(w.locator("html")).to_have_attribute("dir", "rtl")
        await w.locator("#launcher").click()
        entry = w.locator("#complaint-open")
        await expect(entry).to_have_text("تقديم شكوى")
        await expect(entry).to_be_visible()  # once the hub has welcomed the visitor

        # -- the keyboard way in and out
        await entry.focus()
        await page.keyboard.press("Enter")
        form = w.locator("#complaint")
        await expect(form.locator("h2")).to_have_text("تقديم شكوى")
        await expect(w.locator("#c-description")).to_be_focused()
        await page.keyboard.press("Escape")
        await expect(form).to_have_count(0)
        await expect(entry).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(w.locator("#c-description")).to_be_focused()
        await expect(w.locator(".card:visible")).to_have_count(1)

        # -- empty, then an address the hub refuses: in Arabic, next to each field
        await form.locator("button[type=submit]").click()
        await expect(form.locator("[data-field=description] .field-error")).to_have_text(
            "يرجى إخبارنا بما حدث."
        )
        await w.locator("#c-description").fill("وصل الطلب متأخرًا وتالفًا")
        await w.locator("#c-email").fill("sara-at-example")
        await form.locator("button[type=submit]").click()
        await expect(form.locator("[data-field=email] .field-error")).to_have_text(
            "لا يبدو هذا عنوان بريد إلكتروني صحيحًا (مثل name@example.com)."
        )
        await expect(form.locator("[data-field=description] .field-error")).to_be_hidden()
        assert await complaints(hub) == []

        # -- sent over REST: the reference in the chat
        await w.locator("#c-email").fill("sara@example.com")
        await form.locator("button[type=submit]").click()
        await expect(w.locator(".msg.note.complaint-saved")).to_have_text("تم تسجيل شكواك: C-2026-000001")
        await expect(w.locator(".complaint-saved bdi")).to_have_attribute("dir", "ltr")
        await expect(form).to_have_count(0)
        await expect(w.locator(".msg.you .body")).to_have_text(["وصل الطلب متأخرًا وتالفًا"])
        (complaint,) = await complaints(hub)
        assert (complaint.source, complaint.reference) == ("widget", "C-2026-000001")
        assert complaint.description == "وصل الطلب متأخرًا وتالفًا"
        assert sockets == []
        await ctx.close()
