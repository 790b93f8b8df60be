"""Screenshots of the staff UI for the docs, from a live hub with realistic data.

    .venv/bin/python -m tests.e2e.screenshots            # writes docs/screenshots/*.png
    .venv/bin/python -m tests.e2e.screenshots --serve    # seed, then keep serving (look around)

Seeds teams, agents, English and Arabic customers on several channels and canned
responses into a fresh SQLite hub, serves it with uvicorn and drives headless
Chromium (Debian's, via Playwright) as an agent and a supervisor in both languages.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import uvicorn

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
from hub.services.contacts import update_contact
from hub.services.conversations import add_note, assign, reply, resolve
from hub.services.ingest import ingest
from hub.services.users import set_presence
from tests.browser_support import chromium
from tests.e2e.test_console_support import open_page
from tests.helpers import team, user

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1440, "height": 900}


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


async def seed(hub: Any, worker: Any, loopback: LoopbackChannel) -> dict[str, Any]:
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
    await user(hub, "root@example.com", role=Role.admin, name="Admin")

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

    await worker.run_once()
    # Agents online (their consoles connect in the browser); the queue builds up.
    for uid in (sara,):
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
    return {
        "contact": wa_conv.contact_id,
        "support": support,
        "billing": billing,
        "ana": ana,
        "khalid": khalid,
        "email": email,
        "wa": wa,
        "sms": sms,
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


async def shoot(live: LiveServer, ids: dict[str, Any]) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    shots = []
    async with chromium() as browser:
        # English console: Ana, with the email thread open and an offer arriving.
        page, _ = await open_page(
            browser, live, "ana@example.com", f"/console#c={ids['email']}", viewport=VIEWPORT
        )
        await page.wait_for_selector("#thread .msg.note")
        await page.select_option("#presence", "available")
        await page.wait_for_selector(".offer .offer-name:not(:empty)")
        await page.wait_for_selector(".offer-preview")
        await page.locator("#composer-text").fill("Good news John: customs released the desk this morning.")
        await page.locator("body").click(position={"x": 700, "y": 300})
        shots.append(await _save(page, "console-en.png"))

        # Arabic console: Khalid, with the WhatsApp chat and the canned-response search open.
        page, _ = await open_page(
            browser, live, "khalid@example.com", f"/console#c={ids['wa']}", viewport=VIEWPORT
        )
        await page.wait_for_selector("#thread .msg.note")
        await page.select_option("#presence", "available")
        await page.locator("#composer-text").fill("/")
        await page.wait_for_selector("#composer-suggestions li[role=option]")
        shots.append(await _save(page, "console-ar.png"))

        # Supervisor, English then Arabic, with a conversation open read-only.
        page, _ = await open_page(browser, live, "mona@example.com", "/supervisor", viewport=VIEWPORT)
        await page.wait_for_selector("#queues tr[data-team-id]")
        await page.locator(f'#open-convs [data-open="{ids["wa"]}"]').click()
        await page.wait_for_selector("#viewer-thread .msg")
        shots.append(await _save(page, "supervisor-en.png"))
        await page.locator("#lang-toggle").click()
        await page.wait_for_function("document.documentElement.dir === 'rtl'")
        await page.wait_for_selector("#viewer-thread .msg")
        shots.append(await _save(page, "supervisor-ar.png"))

        # Contacts workspace: the admin in English, Khalid in Arabic, a profile open.
        for email, name in (
            ("root@example.com", "contacts-en.png"),
            ("khalid@example.com", "contacts-ar.png"),
        ):
            page, _ = await open_page(browser, live, email, "/contacts", viewport=VIEWPORT)
            await page.wait_for_selector("tr[data-contact-id]")
            await page.goto(f"{live.base}/contacts#contact={ids['contact']}")
            await page.wait_for_selector("#profile-name")
            shots.append(await _save(page, name))
    return shots


async def _save(page: Any, name: str) -> Path:
    await page.wait_for_timeout(400)  # let the last live refresh paint (docs only, not a test)
    path = OUT / name
    await page.screenshot(path=str(path))
    return path


async def main(serve: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "hub.db"
        migrate(f"sqlite:///{db}")
        settings = load_settings(
            None, database_url=f"sqlite:///{db}", data_dir=str(Path(tmp) / "var"), channels={"loopback": {}}
        )
        registry = ChannelRegistry()
        loopback = LoopbackChannel()
        registry.register(loopback)
        for kind, address in (
            ("whatsapp", "phone"),
            ("sms", "phone"),
            ("email", "email"),
            ("telegram", "telegram"),
        ):
            registry.register(_channel(kind, address))
        application = create_app(settings, channels=registry, run_outbox_worker=False, run_routing=True)
        async with application.router.lifespan_context(application), LiveServer(application) as server:
            worker = application.state.outbox_worker
            ids = await seed(application.state.hub, worker, loopback)
            if serve:
                print(
                    f"serving {server.base} — sign in as ana@example.com, khalid@, mona@, root@ (password: see tests/helpers.py)"
                )
                await asyncio.Event().wait()
            for path in await shoot(server, ids):
                print(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--serve", action="store_true", help="seed and keep serving instead of taking screenshots"
    )
    asyncio.run(main(parser.parse_args().serve))
