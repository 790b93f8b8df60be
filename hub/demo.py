"""Demo mode: ``switchboard serve --demo``.

Seeds teams, agents with skills, and canned responses in English and Arabic, then feeds
a steady stream of realistic customer messages through the real loopback webhook (over
HTTP, exactly as a provider would), so a newcomer signing in sees the product working.
Two bot agents accept offers, answer and resolve, so queues and boards move even
before a human takes work. Everything here is for demonstration only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlmodel import select

from hub.context import Hub
from hub.events import Event
from hub.models import CannedResponse, Contact, Role, Team, User
from hub.services import SYSTEM, Actor, ServiceError
from hub.services import canned as canned_svc
from hub.services import conversations as conv_svc
from hub.services import offers as offer_svc
from hub.services import users as user_svc
from hub.services.access import actor_for

log = logging.getLogger(__name__)

DEMO_DOMAIN = "demo.switchboard.test"

TEAMS: list[dict[str, Any]] = [
    {"name": "Billing", "description": "Invoices, refunds, payments", "routing": {"wrap_up_seconds": 5}},
    {
        "name": "Technical Support",
        "description": "Devices, internet, apps",
        "routing": {"strategy": "least_occupied"},
    },
    {"name": "Sales", "description": "New orders and upgrades", "routing": {"strategy": "round_robin"}},
]

# (local part, name, role, teams, skills, languages, bot?)
PEOPLE: list[tuple[str, str, Role, list[str], dict[str, int], list[str], bool]] = [
    (
        "supervisor",
        "Layla Haddad",
        Role.supervisor,
        ["Billing", "Technical Support", "Sales"],
        {},
        ["en", "ar"],
        False,
    ),
    (
        "amal",
        "Amal Saleh",
        Role.agent,
        ["Billing", "Technical Support"],
        {"arabic": 5, "billing": 4},
        ["ar", "en"],
        False,
    ),
    # The README's first sign-in: an English-first agent (amal's console opens in Arabic).
    ("james", "James Carter", Role.agent, ["Technical Support", "Sales"], {"networking": 4}, ["en"], False),
    ("omar.bot", "Omar (demo bot)", Role.agent, ["Billing", "Sales"], {"arabic": 4}, ["ar", "en"], True),
    ("sara.bot", "Sara (demo bot)", Role.agent, ["Technical Support"], {"networking": 3}, ["en", "ar"], True),
]

CANNED: list[tuple[str, str, str, str]] = [
    ("hello", "Greeting", "Hello! Thanks for reaching out. How can I help you today?", "en"),
    ("hello", "تحية", "أهلًا وسهلًا! شكرًا لتواصلك معنا. كيف يمكنني مساعدتك اليوم؟", "ar"),
    ("refund", "Refund timeline", "Refunds reach your card within 5 to 7 business days.", "en"),
    ("refund", "مدة الاسترداد", "يصل المبلغ المسترد إلى بطاقتك خلال ٥ إلى ٧ أيام عمل.", "ar"),
    ("restart", "Restart the router", "Please unplug the router for 30 seconds, then plug it back in.", "en"),
    ("restart", "إعادة تشغيل الراوتر", "يرجى فصل الراوتر لمدة ٣٠ ثانية ثم إعادة توصيله.", "ar"),
    ("thanks", "Closing", "Glad I could help. Have a great day!", "en"),
    ("thanks", "ختام", "سعدت بمساعدتك. يومك سعيد!", "ar"),
]

# (sender, name, language, team, messages)
CUSTOMERS: list[tuple[str, str, str, str, list[str]]] = [
    (
        "+966501110001",
        "نورة العتيبي",
        "ar",
        "Billing",
        ["مرحبا، تم خصم المبلغ مرتين من بطاقتي", "هل يمكن استرداد المبلغ؟"],
    ),
    (
        "+966501110002",
        "خالد الشمري",
        "ar",
        "Technical Support",
        ["الإنترنت مقطوع عندي منذ الصباح", "جربت إعادة التشغيل ولم ينفع"],
    ),
    (
        "+971501110003",
        "Fatima Al Mansoori",
        "en",
        "Sales",
        ["Hi, I'd like to upgrade to the family plan", "Is there a discount for 12 months?"],
    ),
    (
        "+447700900004",
        "Oliver Brown",
        "en",
        "Technical Support",
        ["My router keeps dropping the connection every hour", "Model is HX-200"],
    ),
    (
        "+12025550105",
        "Maria Garcia",
        "en",
        "Billing",
        ["I was charged a late fee but I paid on time", "Can you check invoice 44871?"],
    ),
    (
        "+201001110006",
        "أحمد حسن",
        "ar",
        "Sales",
        ["أريد الاشتراك في الباقة الجديدة", "ما هي الأسعار؟ thanks"],
    ),
    (
        "+966501110007",
        "Sultan Al Qahtani",
        "ar",
        "Billing",
        ["لدي استفسار عن الفاتورة الأخيرة", "لماذا زادت عن الشهر الماضي؟"],
    ),
    (
        "+12025550108",
        "Chen Wei",
        "en",
        "Technical Support",
        ["The app crashes when I open settings", "iPhone 15, latest update"],
    ),
]

BOT_REPLIES = {
    "en": [
        "Thanks for the details, let me check that for you.",
        "I have updated your account. Anything else?",
    ],
    "ar": ["شكرًا على التفاصيل، دعني أتحقق من ذلك.", "تم تحديث حسابك. هل هناك شيء آخر؟"],
}


@dataclass
class DemoAccounts:
    password: str  # the password of the accounts created by this run
    emails: list[str]  # every demo account, created now or before
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)  # kept their password

    def banner(self, base_url: str) -> str:
        """What to print at start: only passwords that are true."""
        lines = ["", "  Demo mode: customers write in every few seconds; two bot agents answer."]
        lines.append(f"    Sign in at {base_url}/login with")
        if self.created:
            lines.append(f"    these new accounts (password: {self.password}):")
            lines += [f"      {email}" for email in self.created]
        if self.existing:
            lines.append(
                "    these accounts from an earlier start (password unchanged: the one printed"
                " when they were created; start on an empty database for new ones):"
            )
            lines += [f"      {email}" for email in self.existing]
        arabic = [f"{p[0]}@{DEMO_DOMAIN}" for p in PEOPLE if p[5][0] == "ar" and not p[6]]
        if arabic:
            lines.append(
                f"    {', '.join(arabic)} opens in Arabic (right to left); the others in English."
                " The language link in the top bar switches."
            )
        return "\n".join(lines) + "\n"


async def seed(hub: Hub, password: str | None = None) -> DemoAccounts:
    """Idempotent: existing teams, users and canned responses are left as they are
    (an existing account keeps its password; the result says which ones are new)."""
    password = password or secrets.token_urlsafe(9)
    async with hub.db.session() as s:
        teams = {t.name: t.id for t in (await s.exec(select(Team))).all()}
        existing = {u.email for u in (await s.exec(select(User))).all()}
        have_canned = {(c.shortcut, c.language) for c in (await s.exec(select(CannedResponse))).all()}
    for spec in TEAMS:
        if spec["name"] not in teams:
            team = await user_svc.create_team(hub, SYSTEM, **spec)
            teams[team.name] = team.id
    emails, created, kept = [], [], []
    for local, name, role, team_names, skills, languages, bot in PEOPLE:
        email = f"{local}@{DEMO_DOMAIN}"
        emails.append(email)
        if email in existing:
            kept.append(email)
            continue
        created.append(email)
        user, _ = await user_svc.create_user(
            hub,
            SYSTEM,
            email=email,
            name=name,
            role=role,
            password=password,
            language=languages[0],
            team_ids=[int(teams[t] or 0) for t in team_names],
            skills=skills,
            languages=languages,
        )
        if bot:
            await user_svc.set_presence(hub, SYSTEM, user.id, "available", reason="demo")  # type: ignore[arg-type]
    for shortcut, title, body, language in CANNED:
        if (shortcut, language) not in have_canned:
            await canned_svc.create(
                hub, SYSTEM, {"shortcut": shortcut, "title": title, "body": body, "language": language}
            )
    return DemoAccounts(password=password, emails=emails, created=created, existing=kept)


class DemoTraffic:
    """Customers writing in through the loopback webhook, and bot agents answering."""

    def __init__(
        self, hub: Hub, base_url: str, *, interval: float = 8.0, pace: float = 1.0, seed: int | None = None
    ) -> None:
        self.hub = hub
        self.base_url = base_url
        self.interval = interval
        self.pace = pace  # scales the bots' pauses (tests use a tiny pace)
        self.rng = random.Random(seed)
        self._tasks: list[asyncio.Task[None]] = []
        self._bots: dict[int, Actor] = {}

    async def start(self) -> None:
        async with self.hub.db.session() as s:
            bots = (await s.exec(select(User).where(User.email.like(f"%.bot@{DEMO_DOMAIN}")))).all()  # type: ignore[attr-defined]
            for bot in bots:
                self._bots[bot.id] = await actor_for(s, bot)  # type: ignore[index]
        # Bots have no console socket; announce them as connected the way the
        # gateway announces a console, or routing's disconnect grace takes them offline.
        await self.hub.bus.publish(
            [Event(id=0, type="agent.connected", user_id=uid, payload={"user_id": uid}) for uid in self._bots]
        )
        self._tasks = [
            asyncio.create_task(self._customers(), name="demo-customers"),
            asyncio.create_task(self._bot_agents(), name="demo-bots"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def _customers(self) -> None:
        progress: dict[str, int] = {}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            while True:
                # Demo pacing, not synchronization: a customer writes every few seconds.
                await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.interval)
                sender, name, language, team, lines = self.rng.choice(CUSTOMERS)
                step = progress.get(sender, 0)
                progress[sender] = step + 1
                body = lines[step % len(lines)]
                try:
                    r = await client.post(
                        "/channels/loopback/messages",
                        json={
                            "sender": sender,
                            "sender_name": name,
                            "body": body,
                            "team": team,
                            "language": language,
                        },
                    )
                    if r.status_code == 201 and sender.endswith("0001"):
                        await self._make_vip(r.json()["contact_id"])
                except httpx.HTTPError as exc:
                    log.info("demo customer could not reach the hub yet: %s", exc)

    async def _make_vip(self, contact_id: int) -> None:
        async with self.hub.db.transaction() as s:
            contact = await s.get(Contact, contact_id)
            if contact is not None and not contact.vip:
                contact.vip = True
                contact.tags = sorted({*contact.tags, "vip"})

    async def _bot_agents(self) -> None:
        sub = self.hub.bus.subscribe()
        try:
            async for event in sub:
                if event.type == "offer.created" and event.payload.get("user_id") in self._bots:
                    actor = self._bots[event.payload["user_id"]]
                    task = asyncio.create_task(self._handle(actor, event.payload["conversation_id"]))
                    self._tasks.append(task)
                    task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)
        finally:
            sub.close()

    async def _handle(self, actor: Actor, conversation_id: int) -> None:
        with contextlib.suppress(ServiceError):
            await asyncio.sleep(self.pace * self.rng.uniform(2, 5))  # a human-looking pause before accepting
            await offer_svc.accept_offer(self.hub, actor, conversation_id)
            async with self.hub.db.session() as s:
                conv = await conv_svc.load_conversation(s, conversation_id)
            language = "ar" if (conv.language or "").startswith("ar") else "en"
            for text in BOT_REPLIES[language]:
                await asyncio.sleep(self.pace * self.rng.uniform(4, 9))
                await conv_svc.reply(self.hub, actor, conversation_id, text)
            await asyncio.sleep(self.pace * self.rng.uniform(5, 10))
            await conv_svc.resolve(
                self.hub, actor, conversation_id, category=self.rng.choice(["inquiry", "order", "complaint"])
            )
