"""Screenshots of the staff UI for the docs, from a live hub with realistic data.

    .venv/bin/python -m tests.e2e.screenshots            # writes docs/screenshots/*.png
    .venv/bin/python -m tests.e2e.screenshots --out DIR  # writes DIR/*.png instead
    .venv/bin/python -m tests.e2e.screenshots --serve    # seed, then keep serving (look around)

Seeds teams, agents, English and Arabic customers on several channels and canned
responses, labels, complaints and survey answers into a fresh SQLite hub, serves it with
uvicorn and drives headless Chromium (Debian's, via Playwright) as an agent, a
supervisor and an admin in both languages. The systematic set (``PAGES``) is named
``<page>-<lang>[-phone].png``: console, notifications, outbound, canned-preview,
supervisor, supervisor-whisper, profile, audit, rules, chat, tasks, campaigns (the list, the builder after
a dry run, the results), each at 1440 px and 390 px in English and Arabic; first-run
comes from a second, empty hub. Images are the viewport (the supervisor's desktop floor
is made as tall as its content, down to the open conversations).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import uvicorn
from playwright.async_api import expect

from channels.base import SendError
from channels.loopback import LoopbackChannel
from channels.registry import ChannelRegistry
from hub.app import create_app
from hub.config import load_settings
from hub.db import migrate
from hub.domain import InboundMessage
from hub.models import Role
from hub.services import SYSTEM, Actor
from hub.services import canned as canned_svc
from hub.services import labels as label_svc
from hub.services.contacts import update_contact
from hub.services.conversations import add_note, assign, reply, resolve
from hub.services.ingest import ingest
from hub.services.users import set_presence, update_user
from tests.browser_support import chromium
from tests.e2e.test_console_support import open_page
from tests.helpers import team, user

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
# Every page of the systematic set is shot at both sizes: <page>-<lang>.png, <page>-<lang>-phone.png.
SIZES = (("", VIEWPORT), ("-phone", PHONE))
LABELS = (
    ("delivery", "Delivery", "التوصيل", "#1d4ed8"),
    ("refund", "Refund requested", "طلب استرداد", "#b91c1c"),
    ("vip", "VIP", "عميل مميز", "#a16207"),
    ("missing", "Missing part", "قطعة ناقصة", "#7c3aed"),
    ("address", "Address change", "تغيير العنوان", "#047857"),
)


class ShiftedClock:
    """The hub's clock: real time, shifted while seeding things that happened earlier
    (a complaint opened two hours ago, escalated now)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def _channel(kind_: str, address: str) -> LoopbackChannel:
    """A stand-in adapter for a channel kind: sends into memory, like loopback."""

    class Stand(LoopbackChannel):
        kind: ClassVar[str] = kind_
        address_kind: ClassVar[str] = address

    return Stand()


class Seeder:
    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.n = 0

    async def inbound(self, channel: str, kind: str, sender: str, body: str, **kw: Any) -> int:
        self.n += 1
        msg = InboundMessage(
            channel=channel,
            provider_message_id=f"seed-{self.n}",
            address_kind=kind,
            sender=sender,
            body=body,
            **kw,
        )
        return (await ingest(self.hub, msg)).conversation_id

    async def settle(self) -> None:
        await self.hub.routing.idle()


async def seed(hub: Any, worker: Any, loopback: LoopbackChannel, clock: ShiftedClock) -> dict[str, Any]:
    s = Seeder(hub)
    support = await team(
        hub,
        "Support",
        description="Orders, deliveries and returns",
        routing={"strategy": "longest_idle", "sla_seconds": {"whatsapp": 300, "email": 14400, "sms": 600}},
    )
    billing = await team(
        hub,
        "Billing",
        description="Invoices and refunds",
        business_hours={
            "timezone": "Asia/Riyadh",
            "days": {d: [["00:00", "23:59"]] for d in ("sun", "mon", "tue", "wed", "thu", "fri", "sat")},
        },
    )
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad", skills={"orders": 8})
    khalid = await user(hub, "khalid@example.com", team_ids=(support,), name="خالد العتيبي", language="ar")
    sara = await user(hub, "sara@example.com", team_ids=(support, billing), name="Sara Nasser")
    await user(
        hub, "mona@example.com", role=Role.supervisor, team_ids=(support, billing), name="Mona Al-Harbi"
    )
    root = await user(hub, "root@example.com", role=Role.admin, name="Admin")
    # Arabic-first supervisor and admin, for the Arabic shots of their pages.
    await user(
        hub, "reem@example.com", role=Role.supervisor, team_ids=(support, billing), name="ريم الدوسري",
        language="ar",
    )  # fmt: skip
    await user(hub, "nadia@example.com", role=Role.admin, name="نادية الزهراني", language="ar")

    for shortcut, title, body, lang in [
        ("ship", "Shipping times", "Orders ship within 24 hours; you will get a tracking link by SMS.", "en"),
        ("refund", "Refund policy", "Refunds reach your card within 5 to 7 working days.", "en"),
        ("thanks", "Thanks", "Thank you for contacting us! Is there anything else I can help with?", "en"),
        ("ship", "مدة الشحن", "نشحن الطلبات خلال 24 ساعة، وستصلك رسالة برابط التتبع.", "ar"),
        ("thanks", "شكر", "شكرًا لتواصلك معنا! هل هناك شيء آخر يمكنني مساعدتك به؟", "ar"),
    ]:
        await canned_svc.create(
            hub, SYSTEM, {"shortcut": shortcut, "title": title, "body": body, "language": lang}
        )

    await canned_svc.create(
        hub,
        SYSTEM,
        {
            "shortcut": "hello",
            "title": "Greeting",
            "language": "en",
            "body": 'Hi {{contact.first_name | "there"}}, this is {{agent.name}} from {{team.name}}. '
            "I am looking into it now and will update you within the hour.",
            "variants": {
                "ar": 'مرحبًا {{contact.first_name | "عزيزي العميل"}}، معك {{agent.name}} من فريق {{team.name}}. '
                "أتابع طلبك الآن وسأعود إليك خلال ساعة."
            },
        },
    )
    # Labels (admin-managed, coloured), created by the admin: they show in the audit log.
    root_actor = Actor(user_id=root, role="admin", team_ids=frozenset(), name="Admin")
    for key, en, ar, color in LABELS:
        await label_svc.create(hub, root_actor, {"key": key, "name_en": en, "name_ar": ar, "color": color})
    await update_user(hub, root_actor, sara, {"skills": {"billing": 7, "orders": 5}})
    await update_user(hub, root_actor, khalid, {"languages": ["ar", "en"]})

    # History first: John's older email and Fatima's WhatsApp chat (her phone number is
    # one identity for SMS and WhatsApp), both resolved.
    older = await s.inbound(
        "email",
        "email",
        "john.carter@example.com",
        "Could you send me the invoice for order #4102?",
        sender_name="John Carter",
        subject="Invoice for #4102",
        team="Support",
    )
    await assign(hub, SYSTEM, older, sara)
    await resolve(hub, SYSTEM, older, category="order")
    # Chats handled earlier today (a few minutes each): routing's handle time, so the
    # supervisor sees an estimated wait per queue.
    for i, (team_name, minutes) in enumerate((("Support", 4), ("Billing", 6), ("Support", 5))):
        clock.offset = timedelta(minutes=-minutes - 30)
        done = await s.inbound(
            "loopback", "loopback", f"cust-h{i}", "Hello?", sender_name=f"Guest {i + 1}", team=team_name
        )
        await assign(hub, SYSTEM, done, sara)
        await s.settle()  # routing reads the clock when it handles the event: settle first
        clock.offset = timedelta(minutes=-30)
        await resolve(hub, SYSTEM, done, category="inquiry")
        await s.settle()
    clock.offset = timedelta(0)
    chat = await s.inbound(
        "whatsapp",
        "phone",
        "+12025550143",
        "Is the blue sofa back in stock?",
        sender_name="Fatima Zahra",
        team="Support",
    )
    await assign(hub, SYSTEM, chat, sara)
    await resolve(hub, SYSTEM, chat, category="inquiry")

    # Ana's open work: an email, a WhatsApp chat and an SMS.
    email = await s.inbound(
        "email",
        "email",
        "john.carter@example.com",
        "Hi,\n\nI ordered a standing desk (order #4471) last week and the tracking page has not moved "
        "since Monday. Could you check where it is?\n\nThanks,\nJohn",
        sender_name="John Carter",
        subject="Where is order #4471?",
        team="Support",
    )
    wa = await s.inbound(
        "whatsapp",
        "phone",
        "+966501234567",
        "السلام عليكم، طلبي رقم 5512 وصل ناقص قطعة",
        sender_name="ليلى الشمري",
        team="Support",
        language="ar",
    )
    sms = await s.inbound(
        "sms",
        "phone",
        "+12025550143",
        "Can I change my delivery address?",
        sender_name="Fatima Zahra",
        team="Support",
    )
    ana_actor = Actor(user_id=ana, role="agent", team_ids=frozenset({support}), name="Ana Haddad")
    for conv in (email, sms):
        await assign(hub, SYSTEM, conv, ana)
    await reply(
        hub,
        ana_actor,
        email,
        "Hi John,\n\nThanks for the order number. I am checking with the warehouse now.",
        subject="Re: Where is order #4471?",
    )
    await add_note(
        hub, ana_actor, email, "@sara the carrier shows a customs hold, can you confirm with logistics?"
    )
    await s.inbound(
        "email",
        "email",
        "john.carter@example.com",
        "Thank you! Let me know what they say.",
        sender_name="John Carter",
        subject="Re: Where is order #4471?",
    )
    loopback_sms = hub.channels.get("sms")
    loopback_sms.script_failures(
        SendError("the number is not reachable (carrier error 30003)", retryable=False)
    )
    await reply(hub, ana_actor, sms, "Yes — please send me the new address and I will update the order.")
    await update_contact(
        hub,
        SYSTEM,
        (await _conv(hub, email)).contact_id,
        {"tags": ["furniture", "repeat buyer"], "vip": True},
    )

    await label_svc.add_to_conversation(hub, ana_actor, email, "delivery")
    await label_svc.add_to_conversation(hub, ana_actor, email, "vip")
    await label_svc.add_to_conversation(hub, ana_actor, sms, "address")

    # Khalid (Arabic) takes the WhatsApp chat.
    khalid_actor = Actor(user_id=khalid, role="agent", team_ids=frozenset({support}), name="خالد العتيبي")
    await assign(hub, SYSTEM, wa, khalid)
    await reply(hub, khalid_actor, wa, "وعليكم السلام ليلى، نعتذر عن ذلك. هل يمكنك إرسال صورة للطلب؟")
    await s.inbound(
        "whatsapp",
        "phone",
        "+966501234567",
        "أكيد، القطعة الناقصة هي الرف العلوي (top shelf)",
        sender_name="ليلى الشمري",
    )
    await add_note(hub, khalid_actor, wa, "@ana هل لدينا الرف العلوي في المخزون؟")
    await label_svc.add_to_conversation(hub, khalid_actor, wa, "missing")
    await label_svc.add_to_conversation(hub, khalid_actor, wa, "delivery")
    await update_contact(hub, SYSTEM, (await _conv(hub, wa)).contact_id, {"tags": ["طلب ناقص"], "vip": False})
    khalid_email = await s.inbound(
        "email",
        "email",
        "nora@example.sa",
        "أرغب في إلغاء الاشتراك الشهري",
        sender_name="نورة القحطاني",
        subject="إلغاء الاشتراك",
        team="Support",
    )
    await assign(hub, SYSTEM, khalid_email, khalid)
    await label_svc.add_to_conversation(hub, khalid_actor, khalid_email, "refund")

    await worker.run_once()
    # Agents online (their consoles connect in the browser); the queue builds up.
    for uid in (sara, ana):
        await set_presence(hub, SYSTEM, uid, "busy")
    await s.settle()
    for i, (name, body) in enumerate(
        [
            ("Hassan Ali", "My invoice shows the wrong VAT number"),
            ("Grace Kim", "Refund for order 5120?"),
            ("يوسف", "متى يصل طلبي؟"),
        ]
    ):
        await s.inbound(
            "loopback",
            "loopback",
            f"cust-q{i}",
            body,
            sender_name=name,
            team="Billing" if i < 2 else "Support",
        )
    await s.settle()
    # Customer memory: fields, a frequent customer, an organisation.
    from hub.services.contact_fields import create_field
    from hub.services.organizations import create_organization

    await create_field(
        hub,
        SYSTEM,
        {
            "key": "plan",
            "label_en": "Plan",
            "label_ar": "الباقة",
            "type": "choice",
            "options": ["Basic", "Business", "Enterprise"],
        },
    )
    await create_field(
        hub, SYSTEM, {"key": "seats", "label_en": "Seats", "label_ar": "المقاعد", "type": "number"}
    )
    org = await create_organization(
        hub, SYSTEM, {"name": "Gulf Office Supplies", "domains": ["gulfoffice.example"]}
    )
    wa_conv = await _conv(hub, wa)
    await update_contact(
        hub, SYSTEM, wa_conv.contact_id,
        {"tags": ["طلب ناقص", "wholesale"], "attributes": {"plan": "Business", "seats": 40},
         "organization_id": org.id, "consent": {"whatsapp": True, "sms": True}},
    )  # fmt: skip
    await hub.projections.catch_up()
    care = await seed_care(
        hub, worker, s, clock, {"ana": ana, "khalid": khalid, "sara": sara, "wa": wa, "support": support}
    )
    return {
        **care,
        "contact": wa_conv.contact_id,
        "support": support,
        "billing": billing,
        "ana": ana,
        "khalid": khalid,
        "khalid_email": khalid_email,
        "root": root,
        "email": email,
        "wa": wa,
        "sms": sms,
    }


async def seed_care(
    hub: Any, worker: Any, s: Seeder, clock: ShiftedClock, ids: dict[str, int]
) -> dict[str, Any]:
    """Complaints in several states (one escalated and overdue, one opened by a
    customer's keyword) and survey answers, one of them low."""
    from hub.services import complaints, surveys

    support = frozenset({ids["support"]})
    ana_actor = Actor(user_id=ids["ana"], role="agent", team_ids=support, name="Ana Haddad")
    # Two hours ago: a critical complaint nobody answered in time.
    clock.offset = timedelta(hours=-2)
    omar = await s.inbound(
        "telegram", "telegram", "48213377", "The card terminal you installed is down again, the shop cannot sell.",
        sender_name="Omar Farouk", team="Support",
    )  # fmt: skip
    await assign(hub, SYSTEM, omar, ids["sara"])
    late = await complaints.open_complaint(
        hub, SYSTEM,
        complaints.NewComplaint(
            conversation_id=omar, category="product", severity="critical", product_ref="POS-7731",
            description="Card terminal down for the third time this month; the shop cannot take payments.",
        ),
    )  # fmt: skip
    assert late.id is not None
    await complaints.add_note(hub, SYSTEM, late.id, "Vendor ticket 55120 opened, waiting for their engineer.")
    clock.offset = timedelta(0)
    await hub.projections.run_due()

    # Ana's complaint about a late delivery, being investigated, with a note.
    peter = await s.inbound(
        "sms", "phone", "+12025550177",
        "My replacement desk was due last Friday and still has not arrived. Third time I write!",
        sender_name="Peter Novak", team="Support",
    )  # fmt: skip
    await assign(hub, SYSTEM, peter, ids["ana"])
    delivery = await complaints.open_complaint(
        hub, ana_actor,
        complaints.NewComplaint(
            conversation_id=peter, category="delivery", subcategory="late_delivery", severity="high",
            product_ref="ORD-4471", description="Replacement desk promised for Friday, not delivered; customer wrote 3 times.",
            assignee_id=ids["ana"],
        ),
    )  # fmt: skip
    assert delivery.id is not None
    await complaints.update_complaint(
        hub, ana_actor, delivery.id, {"status": "investigating", "root_cause": "supplier"}
    )
    await complaints.add_note(
        hub, ana_actor, delivery.id, "Carrier confirms the parcel is at the Dammam hub; ETA Tuesday."
    )
    await reply(
        hub,
        ana_actor,
        peter,
        "I am sorry Peter. The carrier has it at their hub; it arrives Tuesday. I will follow it.",
    )

    # Khalid's complaint in Arabic on Leila's WhatsApp chat.
    khalid_actor = Actor(user_id=ids["khalid"], role="agent", team_ids=support, name="خالد العتيبي")
    leila = await complaints.open_complaint(
        hub, khalid_actor,
        complaints.NewComplaint(
            conversation_id=ids["wa"], category="delivery", subcategory="damaged_item", severity="medium",
            product_ref="5512", description="وصل الطلب ناقصًا الرف العلوي، والعميلة تطلب إرسال القطعة خلال أسبوع.",
            assignee_id=ids["khalid"],
        ),
    )  # fmt: skip
    # A customer's own words open one.
    await s.inbound("loopback", "loopback", "cust-k1", "I want to file a complaint: the courier was rude at my door.",
                    sender_name="Grace Kim", team="Support")  # fmt: skip
    await hub.projections.catch_up()

    # Surveys after resolution: Lina's SMS answered well, Dana's WhatsApp answered low.
    await surveys.save_policy(
        hub,
        SYSTEM,
        None,
        None,
        # No quiet hours: the shots are taken at any hour (the default's evening hours
        # held both surveys back, and the answers became plain messages).
        {
            "enabled": True,
            "delay_seconds": 0,
            "ask_comment": False,
            "low_score_threshold": 2,
            "quiet_start": None,
            "quiet_end": None,
        },
    )
    lina = await s.inbound(
        "sms",
        "phone",
        "+12025550188",
        "Can you resend my invoice for order 4520?",
        sender_name="Lina Park",
        team="Support",
    )
    await assign(hub, SYSTEM, lina, ids["ana"])
    await reply(hub, ana_actor, lina, "Done, Lina: the invoice is on its way to your email.")
    await resolve(hub, SYSTEM, lina, category="order")
    dana = await s.inbound(
        "whatsapp", "phone", "+966555010203", "Is my refund done?", sender_name="Dana Saleh", team="Support"
    )
    await assign(hub, SYSTEM, dana, ids["sara"])
    await resolve(hub, SYSTEM, dana, category="inquiry")
    await hub.projections.catch_up()
    await hub.projections.run_due()
    await worker.run_once()
    await s.inbound("sms", "phone", "+12025550188", "5 quick and friendly", sender_name="Lina Park")
    await s.inbound("whatsapp", "phone", "+966555010203", "2 took far too long", sender_name="Dana Saleh")
    await hub.projections.catch_up()
    await worker.run_once()
    return {
        "late": late.id,
        "delivery": delivery.id,
        "peter": peter,
        "omar": omar,
        "lina": lina,
        "leila": leila.id,
    }


async def _conv(hub: Any, conversation_id: int) -> Any:
    from hub.models import Conversation

    async with hub.db.session() as s:
        return await s.get(Conversation, conversation_id)


class LiveServer:
    def __init__(self, application: Any) -> None:
        self.application = application
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(application, lifespan="off", log_level="warning", ws="websockets-sansio")
        config.load()
        self.server = uvicorn.Server(config)
        self.server.lifespan = config.lifespan_class(config)

    async def __aenter__(self) -> LiveServer:
        await self.server.startup(sockets=[self.sock])
        self.task = asyncio.create_task(self.server.main_loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 10)
        await self.server.shutdown(sockets=[self.sock])
        self.sock.close()


async def shoot(live: LiveServer, ids: dict[str, Any], out: Path = OUT) -> list[Path]:
    """Take the screenshots into ``out``: the docs' folder by default; a test passes its
    own tmp_path, so parallel runs (xdist workers) never write the same files."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    shots = []
    async with chromium() as browser:
        shots += await shoot_pages(browser, live, ids, out)
        # Contacts workspace: the admin in English, Khalid in Arabic, a profile open.
        for email, name in (
            ("root@example.com", "contacts-en.png"),
            ("khalid@example.com", "contacts-ar.png"),
        ):
            page, _ = await open_page(browser, live, email, "/contacts", viewport=VIEWPORT)
            await page.wait_for_selector("tr[data-contact-id]")
            await page.goto(f"{live.base}/contacts#contact={ids['contact']}")
            await page.wait_for_selector("#profile-name")
            shots.append(await _save(page, out, name))
        shots += await shoot_care(browser, live, ids, out)
        shots += await shoot_search(browser, live, out)
    return shots


# Who is signed in for each language: an English-first and an Arabic-first person.
AGENT = {"en": "ana@example.com", "ar": "khalid@example.com"}
SUPERVISOR = {"en": "mona@example.com", "ar": "reem@example.com"}
ADMIN = {"en": "root@example.com", "ar": "nadia@example.com"}
WHISPER = {
    "en": "Ask for a photo of the box label, then offer the replacement shelf.",
    "ar": "اطلب صورة ملصق الصندوق، ثم اعرض إرسال الرف البديل.",
}


async def _console(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    """The list with the search bar, labels, avatars and the bell's count; on a desktop
    the thread open beside it, with the filter bar unfolded."""
    await page.wait_for_selector("#conv-list [data-conversation-id] .label-chip")
    await page.wait_for_selector("#nt-bell .nt-badge:not([hidden])")
    if not phone:
        await page.locator("#search-filters-toggle").click()
        conv = ids["email"] if lang == "en" else ids["wa"]
        await page.locator(f'#conv-list [data-conversation-id="{conv}"]').click()
        await page.wait_for_selector("#thread-labels .label-chip")
        await page.wait_for_selector("#thread .msg.note")


async def _notifications(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    await page.wait_for_selector("#nt-bell .nt-badge:not([hidden])")
    await page.locator("#nt-bell").click()
    await page.wait_for_selector("#nt-panel .nt-item")


async def _tasks(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    """A task added from a thread (issue 18), then the Tasks panel (console/tasks.js)."""
    await _open_thread(page, ids["sms"] if lang == "en" else ids["wa"], phone)
    await page.locator("#thread-add-task").click()
    await page.locator("#tk-title").fill("Send the refund form" if lang == "en" else "إرسال نموذج الاسترداد")
    await page.locator("#tk-due").fill("2026-01-06T09:30")
    await page.locator("#tk-dialog button[type=submit]").click()
    await page.wait_for_selector("#tk-dialog", state="detached")
    await page.locator("#tk-button").click()
    await page.wait_for_selector("#tk-panel .tk-item")


async def _open_thread(page: Any, conv: int, phone: bool) -> None:
    await page.locator(f'#conv-list [data-conversation-id="{conv}"]').click()
    await page.wait_for_selector("#thread .msg.inbound")


async def _outbound(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    """From the customer panel: start a conversation on another channel."""
    await _open_thread(page, ids["sms"] if lang == "en" else ids["wa"], phone)
    if phone:
        await page.locator("#show-contact").click()
    await page.locator("#outbound-start").click()
    await page.wait_for_selector("#outbound-dialog[open]")
    await page.locator("#ob-body").fill(
        "Hi Fatima, your new delivery address is saved."
        if lang == "en"
        else "مرحبًا ليلى، الرف العلوي في الطريق إليك."
    )


async def _canned(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    """A canned answer previewed with its variables filled, before it is inserted."""
    await _open_thread(page, ids["email"] if lang == "en" else ids["wa"], phone)
    text = page.locator("#composer-text")
    await text.fill("/hello")
    await page.wait_for_selector("#composer-suggestions li[role=option]")
    await text.press("Enter")
    await page.wait_for_selector("#canned-preview .canned-text")


async def _supervisor(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    """The floor: the estimated wait per queue, the agents, and the open conversations
    with their waiting column (how long each customer has waited for our reply)."""
    await page.wait_for_selector('#queues td[data-col="estimated"]')
    await page.wait_for_selector('#open-convs td[data-col="waiting"]')
    if not phone:
        # The floor scrolls inside the page: make the window tall enough to show it down
        # to the open conversations and their waiting column, in one image.
        bottom = await page.evaluate(
            'document.querySelector("#open-convs").closest("section, .card, div").getBoundingClientRect().bottom'
        )
        await page.set_viewport_size({"width": VIEWPORT["width"], "height": min(int(bottom) + 24, 1600)})
    if phone:  # the queue table scrolls in its frame: bring the estimated wait into view
        await page.evaluate(
            """document.querySelector('#queues td[data-col="estimated"]')
                 .scrollIntoView({ block: "nearest", inline: "end" }); window.scrollTo(0, 0)"""
        )


async def _supervisor_whisper(
    page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool
) -> None:
    """The watch view of a conversation with a whisper to its agent being typed."""
    await page.wait_for_selector("#queues tr[data-team-id]")
    await page.locator(f'#open-convs [data-open="{ids["wa"]}"]').click()
    await page.wait_for_selector("#viewer-thread .msg")
    await page.locator("#whisper-body").fill(WHISPER[lang])
    if phone:
        await page.locator("#whisper-body").scroll_into_view_if_needed()
    else:
        await page.locator("#floor").evaluate("(el) => { el.scrollTop = 0; }")


async def _profile(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    await page.goto(f"{live.base}/profile")  # (signed in from the console: the sign-in page goes back there)
    await page.wait_for_selector("#profile-avatar .avatar")
    await expect(page.locator("#pf-name")).not_to_have_value("")


async def _audit(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    """The admin's own changes (labels, users), with what changed from what."""
    await page.wait_for_selector("#audit-table tbody tr[data-entry-id]")
    await page.select_option("#audit-actor_id", str(ids["root"]))
    await page.locator("#audit-apply").click()
    await page.wait_for_selector("#audit-table tbody tr[data-entry-id] dd .after")
    if not phone:
        await page.locator("#audit-table").scroll_into_view_if_needed()


async def _chat(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    """The team room (issue 18): a colleague's message with a conversation card."""
    if "chat_room" not in ids:
        from sqlmodel import select

        from hub.models import User
        from hub.services import chat

        hub = live.application.state.hub
        async with hub.db.session() as s:
            sara_id = (await s.exec(select(User.id).where(User.email == "sara@example.com"))).one()
        sara = Actor(user_id=sara_id, role="agent", team_ids=frozenset({ids["support"]}), name="Sara Nasser")
        room = next(
            r for r in await chat.list_rooms(hub, sara) if r.kind == "team" and r.team_id == ids["support"]
        )
        await chat.send(
            hub, sara, room.id, f"Can someone take #{ids['wa']}? The customer is waiting for the shelf."
        )
        await chat.send(hub, sara, room.id, "من يستطيع متابعة طلب الاسترداد؟ العميل ينتظر منذ الصباح.")
        ids["chat_room"] = room.id
    await page.locator("#ch-toggle").click()
    await page.locator(f'#ch-room-list [data-room-id="{ids["chat_room"]}"]').click()
    await page.wait_for_selector("#ch-messages li >> nth=1")


async def _rules(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    """Admin → Rules (issue 18): the ordered list."""
    if "rules" not in ids:
        from hub.services import rules

        hub = live.application.state.hub
        admin = Actor(user_id=ids["root"], role="admin", team_ids=frozenset(), name="Admin")
        for body in (
            {
                "name": "Refund words → Billing, priority 50",
                "trigger": "message_received",
                "conditions": [{"field": "text", "op": "contains_any", "values": ["refund", "استرداد"]}],
                "actions": [
                    {"type": "set_priority", "priority": 50},
                    {"type": "add_labels", "labels": ["refund"]},
                ],
            },
            {
                "name": "Waiting 30 minutes → notify the team",
                "trigger": "waiting",
                "trigger_params": {"minutes": 30},
                "actions": [{"type": "add_labels", "labels": ["delivery"]}],
            },
        ):
            await rules.create_rule(hub, admin, body)
        ids["rules"] = True
        await page.reload()
    await page.wait_for_selector("#rules-table tbody tr >> nth=1")


CAMPAIGN_TEXT = {
    "en": {"body": 'Hi {{contact.first_name | "there"}}, our winter sale starts today: 20% off every shelf.',
           "subject": "Winter sale: 20% off", "html": "<p>Hi {{contact.first_name}}, <b>20% off</b> every shelf.</p>"},
    "ar": {"body": "مرحبًا {{contact.first_name}}، تبدأ تخفيضات الشتاء اليوم: خصم 20٪ على كل الرفوف.",
           "subject": "تخفيضات الشتاء: خصم 20٪", "html": ""},
}  # fmt: skip


async def _campaigns_seeded(live: LiveServer, ids: dict[str, Any]) -> dict[str, int]:
    """Once: a shared segment, a campaign sent to it (the outbox drained) and a draft."""
    if "campaign_sent" in ids:
        return ids
    from hub.campaigns import service as campaigns
    from hub.services import segments

    hub = live.application.state.hub
    worker = live.application.state.outbox_worker
    root = Actor(user_id=ids["root"], role="admin", team_ids=frozenset(), name="Admin")
    seg = await segments.create_segment(hub, root, {"name": "Everyone", "filter": {}, "shared": True})
    values = {
        "team_id": ids["support"], "kind": "message", "audience": {"type": "segment", "segment_id": seg.id},
        "channel": "preferred", "fallback": None, "content": CAMPAIGN_TEXT, "sender_name": "Acme Home",
        "survey_key": None, "schedule": {"start_at": None, "local_time": False, "quiet_start": None, "quiet_end": None},
    }  # fmt: skip
    sent = await campaigns.create(hub, root, {**values, "name": "Winter sale", "channel": "sms"})
    await campaigns.start(hub, root, sent.id, None)  # type: ignore[arg-type]
    for _ in range(50):  # freeze the audience, send, record: until nothing moves
        moved = await hub.projections.run_due()
        moved += await worker.run_once()
        if not moved:
            break
    draft = await campaigns.create(hub, root, {**values, "name": "Spring offer"})
    ids.update(campaign_sent=sent.id, campaign_draft=draft.id)
    return ids


async def _campaigns(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    """The campaigns of the supervisor's teams with their headline counts."""
    await _campaigns_seeded(live, ids)
    await page.reload()
    await page.wait_for_selector("#cp-list tr[data-campaign-id]")


async def _campaign_builder(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    """A draft in the builder after its dry run: counts, exclusions, a sample per language."""
    await _campaigns_seeded(live, ids)
    await page.goto(f"{live.base}/campaigns#c={ids['campaign_draft']}")
    await page.wait_for_selector("#cp-form")
    await page.locator("#cp-preview").click()
    await page.wait_for_selector("#cp-eligible")
    if phone:
        await page.locator("#cp-preview-panel").scroll_into_view_if_needed()


async def _campaign_results(page: Any, live: LiveServer, ids: dict[str, Any], lang: str, phone: bool) -> None:
    """A sent campaign: its results and the recipients."""
    await _campaigns_seeded(live, ids)
    await page.goto(f"{live.base}/campaigns#c={ids['campaign_sent']}")
    await page.wait_for_selector("#cp-recipients tbody tr[data-recipient-id]")


# (file name, who, path, steps, sizes)
PAGES: tuple[tuple[str, dict[str, str], str, Any, tuple[tuple[str, Any], ...]], ...] = (
    ("console", AGENT, "/console", _console, SIZES),
    ("notifications", AGENT, "/console", _notifications, SIZES),
    ("tasks", AGENT, "/console", _tasks, SIZES),
    ("outbound", AGENT, "/console", _outbound, SIZES),
    ("canned-preview", AGENT, "/console", _canned, SIZES),
    ("supervisor", SUPERVISOR, "/supervisor", _supervisor, SIZES),
    ("supervisor-whisper", SUPERVISOR, "/supervisor", _supervisor_whisper, SIZES),
    ("profile", AGENT, "/console", _profile, SIZES),
    ("audit", ADMIN, "/admin#audit", _audit, SIZES),
    ("rules", ADMIN, "/admin#rules", _rules, SIZES),
    ("chat", AGENT, "/console", _chat, SIZES),
    ("campaigns", SUPERVISOR, "/campaigns", _campaigns, SIZES),
    ("campaigns-builder", SUPERVISOR, "/campaigns", _campaign_builder, SIZES),
    ("campaigns-results", SUPERVISOR, "/campaigns", _campaign_results, SIZES),
)


async def shoot_pages(browser: Any, live: LiveServer, ids: dict[str, Any], out: Path = OUT) -> list[Path]:
    """The systematic set: each page in English and Arabic, on a desktop and a phone,
    named <page>-<lang>[-phone].png. Ana's first console stays open (signed in and busy,
    she counts as staff for the supervisor's estimated wait)."""
    shots = []
    keep = None
    for name, who, path, steps, sizes in PAGES:
        for lang in ("en", "ar"):
            for suffix, viewport in sizes:
                page, _ = await open_page(browser, live, who[lang], path, viewport=viewport)
                await page.wait_for_selector(f"html[lang='{lang}']", state="attached")
                await steps(page, live, ids, lang, viewport is PHONE)
                shots.append(await _save(page, out, f"{name}-{lang}{suffix}.png"))
                if keep is None and who is AGENT:
                    keep = page
                else:
                    await page.context.close()
    return shots


async def shoot_first_run(browser: Any, live: LiveServer, out: Path = OUT) -> list[Path]:
    """The admin's first-run checklist on an empty hub (a hub of its own)."""
    shots = []
    for lang in ("en", "ar"):
        for suffix, viewport in SIZES:
            page, _ = await open_page(browser, live, ADMIN[lang], "/admin", viewport=viewport)
            await page.wait_for_selector("#first-run [data-step]")
            await page.wait_for_selector(f"html[lang='{lang}']", state="attached")
            shots.append(await _save(page, out, f"first-run-{lang}{suffix}.png"))
            await page.context.close()
    return shots


async def shoot_care(browser: Any, live: LiveServer, ids: dict[str, Any], out: Path = OUT) -> list[Path]:
    """The complaints board with a complaint open, and a complaint beside the thread."""
    shots = []
    page, _ = await open_page(browser, live, "mona@example.com", "/complaints", viewport=VIEWPORT)
    await page.wait_for_selector("#complaint-table tr[data-complaint-id]")
    if (
        await page.evaluate("document.documentElement.dir") == "rtl"
    ):  # the supervisor shots left her in Arabic
        await page.locator("#lang-toggle").click()
        await page.wait_for_function("document.documentElement.dir === 'ltr'")
    await page.goto(f"{live.base}/complaints#complaint={ids['late']}")
    await page.wait_for_selector('#complaint-history li[data-kind="escalated"]')
    shots.append(await _save(page, out, "complaints-en.png"))
    page, _ = await open_page(browser, live, "khalid@example.com", "/complaints", viewport=VIEWPORT)
    await page.wait_for_selector("#complaint-table tr[data-complaint-id]")
    await page.locator("#f-mine").uncheck()
    await page.wait_for_selector(f'#complaint-table tr[data-complaint-id="{ids["late"]}"]')
    await page.locator(f'#complaint-table tr[data-complaint-id="{ids["leila"]}"] .complaint-link').click()
    await page.wait_for_selector("#complaint-panel #complaint-history li")
    shots.append(await _save(page, out, "complaints-ar.png"))

    # The console: Ana's thread with the complaint's panel open beside it.
    page, _ = await open_page(
        browser, live, "ana@example.com", f"/console#c={ids['peter']}", viewport=VIEWPORT
    )
    await page.wait_for_selector("#thread .msg.outbound")
    await page.locator(f'#care-complaints [data-complaint-id="{ids["delivery"]}"]').click()
    await page.wait_for_selector("#care-panel #complaint-history li")
    shots.append(await _save(page, out, "console-complaint-en.png"))
    # Khalid in Arabic, on Leila's chat, with its complaint; a rated conversation of Ana's.
    page, _ = await open_page(
        browser, live, "khalid@example.com", f"/console#c={ids['wa']}", viewport=VIEWPORT
    )
    await page.wait_for_selector("#care-complaints .complaint-card")
    await page.locator("#care-complaints .complaint-card").first.click()
    await page.wait_for_selector("#care-panel #complaint-history li")
    shots.append(await _save(page, out, "console-complaint-ar.png"))
    page, _ = await open_page(
        browser, live, "ana@example.com", f"/console#c={ids['lina']}", viewport=VIEWPORT
    )
    await page.wait_for_selector('#thread .survey-item[data-status="answered"]')
    await page.wait_for_selector("#conv-rating")
    shots.append(await _save(page, out, "console-survey-en.png"))
    return shots


async def shoot_search(browser: Any, live: LiveServer, out: Path = OUT) -> list[Path]:
    """The conversation search: Ana's words and filters saved as a view (desktop), and
    Khalid's Arabic search on a phone, a word typed without its hamza."""
    page, _ = await open_page(browser, live, "ana@example.com", "/console", viewport=VIEWPORT)
    await page.wait_for_selector("#view-list li")
    await page.locator("#search-q").fill("order")
    await page.locator("#search-filters-toggle").click()
    await page.select_option("#search-status", "open")
    await page.wait_for_selector("#conv-list .search-match mark")
    await page.locator("#search-save").click()
    await page.locator("#view-dialog [name=name]").fill("Open orders")
    await page.locator("#view-dialog button[type=submit]").click()
    await page.wait_for_selector("#view-list .view.current .view-count:not(:empty)")
    shots = [await _save(page, out, "console-search-en.png")]
    page, _ = await open_page(
        browser, live, "khalid@example.com", "/console", viewport={"width": 390, "height": 844}
    )
    await page.wait_for_selector("#view-list li")
    await page.locator("#search-q").fill("ارغب الاشتراك")
    await page.wait_for_selector("#conv-list .search-match mark")
    shots.append(await _save(page, out, "console-search-ar-phone.png"))
    return shots


async def _save(page: Any, out: Path, name: str) -> Path:
    await page.wait_for_timeout(400)  # let the last live refresh paint (docs only, not a test)
    await page.evaluate("document.querySelectorAll('.toast').forEach((el) => el.remove())")
    path = out / name
    await page.screenshot(path=str(path))
    return path


@asynccontextmanager
async def served_hub(tmp: str, clock: ShiftedClock) -> AsyncIterator[tuple[Any, LiveServer]]:
    """A fresh SQLite hub in ``tmp`` with stand-in channels, served by uvicorn."""
    db = Path(tmp) / "hub.db"
    migrate(f"sqlite:///{db}")
    settings = load_settings(
        None, database_url=f"sqlite:///{db}", data_dir=str(Path(tmp) / "var"), channels={"loopback": {}}
    )
    registry = ChannelRegistry()
    registry.register(LoopbackChannel())
    for kind, address in (
        ("whatsapp", "phone"),
        ("sms", "phone"),
        ("email", "email"),
        ("telegram", "telegram"),
    ):
        registry.register(_channel(kind, address))
    application = create_app(
        settings, clock=clock, channels=registry, run_outbox_worker=False, run_routing=True
    )
    async with application.router.lifespan_context(application), LiveServer(application) as server:
        yield application, server


async def main(serve: bool, out: Path = OUT) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = ShiftedClock()
        async with served_hub(tmp, clock) as (application, server):
            worker = application.state.outbox_worker
            loopback = application.state.hub.channels.get("loopback")
            ids = await seed(application.state.hub, worker, loopback, clock)
            if serve:
                print(
                    f"serving {server.base} — sign in as ana@example.com, khalid@, mona@, root@ (password: see tests/helpers.py)"
                )
                await asyncio.Event().wait()
            for path in await shoot(server, ids, out):
                print(path)
    # The first-run checklist: a hub with nothing in it but its two admins.
    with tempfile.TemporaryDirectory() as tmp:
        async with served_hub(tmp, ShiftedClock()) as (application, server):
            await user(application.state.hub, ADMIN["en"], role=Role.admin, name="Admin")
            await user(
                application.state.hub, ADMIN["ar"], role=Role.admin, name="نادية الزهراني", language="ar"
            )
            async with chromium() as browser:
                for path in await shoot_first_run(browser, server, out):
                    print(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--serve", action="store_true", help="seed and keep serving instead of taking screenshots"
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the PNG files (default: {OUT})")
    args = parser.parse_args()
    asyncio.run(main(args.serve, args.out))
