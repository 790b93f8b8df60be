"""Screenshots of the reports page and the wallboard for the docs, from a live hub with
four weeks of realistic traffic (arrivals through business hours on five channels,
answers, replies, transfers, resolutions, survey answers in English and Arabic,
complaints) and a queue building up now.

    .venv/bin/python -m tests.e2e.test_reports_page_shots            # docs/screenshots/{reports,wallboard}-{en,ar}.png
    .venv/bin/python -m tests.e2e.test_reports_page_shots --out DIR  # elsewhere
    .venv/bin/python -m tests.e2e.test_reports_page_shots --serve    # seed, then keep serving

The test below takes them into a temporary folder, so the script cannot rot unnoticed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from channels.loopback import LoopbackChannel
from channels.registry import ChannelRegistry
from hub.app import create_app
from hub.config import load_settings
from hub.db import migrate
from hub.models import Role
from hub.services import SYSTEM, Actor
from hub.services import complaints as complaint_svc
from hub.services.conversations import assign, reply, resolve, transfer
from hub.services.surveys import save_policy
from hub.services.users import set_presence
from tests.browser_support import chromium
from tests.e2e.screenshots import LiveServer, Seeder, ShiftedClock, _channel
from tests.e2e.test_console_support import open_page
from tests.helpers import team, user

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1440, "height": 900}
RIYADH = {
    "timezone": "Asia/Riyadh",
    "days": {d: [["08:00", "20:00"]] for d in ("sun", "mon", "tue", "wed", "thu")},
}
CHANNELS = [
    ("whatsapp", "phone", 5),
    ("email", "email", 3),
    ("sms", "phone", 2),
    ("telegram", "telegram", 1),
    ("loopback", "loopback", 1),
]
NAMES = ["Layla Haddad", "John Carter", "فاطمة الزهراء", "Omar Farouk", "Grace Kim", "يوسف العتيبي", "Peter Novak",
         "نورة القحطاني", "Hassan Ali", "Dana Saleh", "Lina Park", "خالد الشمري", "Karim Mansour", "Huda Nasser"]  # fmt: skip
ASKS = ["Where is my order?", "I was charged twice for the same invoice", "Can I change my delivery address?",
        "متى يصل طلبي؟", "The app will not let me log in", "أرغب في استرجاع المبلغ", "Is the blue sofa back in stock?"]  # fmt: skip
COMMENTS = {
    5: ["Quick and friendly, thank you!", "خدمة ممتازة وسريعة", "Sorted in minutes"],
    4: ["Good, a bit slow at first", "شكرًا على المساعدة"],
    3: ["It took a while", ""],
    2: ["I had to explain twice", "انتظرت طويلًا"],
    1: ["Nobody answered my question"],
}


def _phone(i: int, channel: str) -> str:
    return f"+9665{i:08d}" if channel in ("whatsapp", "sms") else str(40_000_000 + i)


async def seed(hub: Any, worker: Any, clock: ShiftedClock, days: int = 28) -> dict[str, Any]:
    """Traffic of the last `days` days through the real services, oldest first."""
    rnd = random.Random(14)
    s = Seeder(hub)
    support = await team(
        hub,
        "Support",
        business_hours=RIYADH,
        routing={"sla_seconds": {"whatsapp": 300, "sms": 600, "email": 14400}},
    )
    billing = await team(hub, "Billing", business_hours=RIYADH, routing={"sla_seconds": {"whatsapp": 300}})
    agents = {
        "ana": await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad"),
        "khalid": await user(
            hub, "khalid@example.com", team_ids=(support,), name="خالد العتيبي", language="ar"
        ),
        "sara": await user(hub, "sara@example.com", team_ids=(support, billing), name="Sara Nasser"),
        "omar": await user(hub, "omar@example.com", team_ids=(billing,), name="Omar Said"),
    }
    await user(
        hub, "mona@example.com", role=Role.supervisor, team_ids=(support, billing), name="Mona Al-Harbi"
    )
    await user(
        hub,
        "rania@example.com",
        role=Role.supervisor,
        team_ids=(support, billing),
        name="رانيا الحربي",
        language="ar",
    )
    await user(hub, "root@example.com", role=Role.admin, name="Admin")
    await save_policy(hub, SYSTEM, None, None, {"enabled": True, "delay_seconds": 0, "ask_comment": False})
    actors = {
        key: Actor(user_id=uid, role="agent", team_ids=frozenset({support, billing}), name=key)
        for key, uid in agents.items()
    }
    members = {"Support": ["ana", "khalid", "sara"], "Billing": ["sara", "omar"]}
    now = datetime.now(UTC)
    actions: list[tuple[datetime, int, Callable[[], Awaitable[None]]]] = []
    seq = 0

    def at(when: datetime, fn: Callable[[], Awaitable[None]]) -> None:
        nonlocal seq
        seq += 1
        actions.append((when, seq, fn))

    async def send_surveys() -> None:
        """The survey questions due go out (the outbox worker is not running)."""
        await hub.projections.catch_up()
        await hub.projections.run_due()
        for _ in range(3):
            if not await worker.run_once():
                break

    n = 0
    for ago in range(days, -1, -1):
        day = (now - timedelta(days=ago)).replace(hour=0, minute=0, second=0, microsecond=0)
        weekday = day.weekday()  # Friday and Saturday are the weekend in Riyadh
        count = {4: 3, 5: 5}.get(weekday, 9 + rnd.randint(0, 5))
        for _ in range(count):
            arrive = day + timedelta(
                hours=rnd.choice([5, 6, 6, 7, 7, 8, 8, 9, 10, 11, 12, 13, 15]), minutes=rnd.randint(0, 59)
            )
            if arrive > now - timedelta(minutes=30):
                continue
            n += 1
            channel, kind, _ = rnd.choices(CHANNELS, weights=[c[2] for c in CHANNELS])[0]
            team_name = "Billing" if rnd.random() < 0.3 else "Support"
            agent = rnd.choice(members[team_name])
            name = rnd.choice(NAMES)
            sender = _phone(n, channel) if kind != "email" else f"customer{n}@example.com"
            sender = sender if kind != "loopback" else f"web-{n}"
            state: dict[str, Any] = {}
            wait = timedelta(seconds=rnd.choice([20, 45, 90, 120, 200, 400, 900]))
            first_reply = wait + timedelta(seconds=rnd.randint(40, 400))
            resolved_after = first_reply + timedelta(minutes=rnd.randint(4, 160))
            transferred = rnd.random() < 0.12

            async def arrive_fn(c: str = channel, k: str = kind, snd: str = sender, nm: str = name,
                                tm: str = team_name, st: dict[str, Any] = state) -> None:  # fmt: skip
                st["conv"] = await s.inbound(c, k, snd, rnd.choice(ASKS), sender_name=nm, team=tm)

            async def assign_fn(st: dict[str, Any] = state, a: str = agent) -> None:
                await assign(hub, SYSTEM, st["conv"], agents[a])

            async def reply_fn(st: dict[str, Any] = state, a: str = agent) -> None:
                await reply(hub, actors[a], st["conv"], "Thanks for writing — let me check that for you.")

            async def transfer_fn(st: dict[str, Any] = state) -> None:
                await transfer(hub, SYSTEM, st["conv"], to_team_id=billing, to_user_id=agents["sara"])

            async def resolve_fn(st: dict[str, Any] = state) -> None:
                await resolve(hub, SYSTEM, st["conv"])

            score = rnd.choices([5, 4, 3, 2, 1], weights=[8, 5, 2, 1, 1])[0]
            comment = rnd.choice(COMMENTS[score])

            async def answer_fn(
                c: str = channel, k: str = kind, snd: str = sender, text: str = f"{score} {comment}".strip()
            ) -> None:
                await send_surveys()
                await s.inbound(c, k, snd, text)

            at(arrive, arrive_fn)
            at(arrive + wait, assign_fn)
            at(arrive + first_reply, reply_fn)
            if transferred:
                at(arrive + first_reply + timedelta(minutes=3), transfer_fn)
            if arrive + resolved_after < now - timedelta(minutes=5):
                at(arrive + resolved_after, resolve_fn)
                if rnd.random() < 0.45 and arrive + resolved_after + timedelta(minutes=10) < now:
                    at(arrive + resolved_after + timedelta(minutes=10), answer_fn)
            if rnd.random() < 0.02:

                async def complaint_fn(st: dict[str, Any] = state) -> None:
                    await complaint_svc.open_complaint(
                        hub, SYSTEM,
                        complaint_svc.NewComplaint(
                            conversation_id=st["conv"], category=rnd.choice(["delivery", "billing", "product"]),
                            severity=rnd.choice(["low", "medium", "high"]), description="Raised from the conversation.",
                        ),
                    )  # fmt: skip

                at(arrive + first_reply + timedelta(minutes=1), complaint_fn)
    for when, _, fn in sorted(actions, key=lambda a: (a[0], a[1])):
        clock.offset = when - datetime.now(UTC)
        await fn()
    clock.offset = timedelta(0)
    # Now: a queue building up, agents at work.
    for uid, p in zip(agents.values(), ("available", "busy", "busy", "away"), strict=True):
        await set_presence(hub, SYSTEM, uid, p)
    for i, (name, body, tm) in enumerate(
        [("Hassan Ali", "My invoice shows the wrong VAT number", "Billing"), ("Grace Kim", "Refund for order 5120?", "Billing"),
         ("يوسف", "متى يصل طلبي؟", "Support"), ("Lina Park", "Is there a store in Jeddah?", "Support")]
    ):  # fmt: skip
        clock.offset = timedelta(minutes=-(6 - i))
        await s.inbound("whatsapp", "phone", f"+96650000{i:04d}", body, sender_name=name, team=tm)
    clock.offset = timedelta(0)
    await hub.projections.catch_up()
    await hub.projections.run_due()
    return {"support": support, "billing": billing, "conversations": n}


async def _save(page: Any, out: Path, name: str) -> Path:
    await page.evaluate("document.querySelectorAll('.toast').forEach((el) => el.remove())")
    path = out / name
    await page.screenshot(path=str(path))
    return path


async def shoot(live: Any, out: Path = OUT) -> list[Path]:
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    shots = []
    async with chromium() as browser:
        for email, lang in (("mona@example.com", "en"), ("rania@example.com", "ar")):
            page, _ = await open_page(browser, live, email, "/reports", viewport=VIEWPORT)
            await page.emulate_media(reduced_motion="reduce")  # charts drawn at once
            await page.goto(f"{live.base}/reports#range=last7&tz=Asia%2FRiyadh")
            await expect(page.locator("#reports-main")).to_have_attribute(
                "data-state", "ready", timeout=60_000
            )
            await expect(page.locator("html")).to_have_attribute("lang", lang)
            await page.wait_for_function("Boolean(Chart.getChart('volume-canvas'))")
            await page.locator("#reports-main").evaluate("(el) => { el.scrollTop = 0; }")
            shots.append(await _save(page, out, f"reports-{lang}.png"))
            await page.locator("#time-section").scroll_into_view_if_needed()
            await page.locator("#time-section").evaluate("(el) => el.scrollIntoView({block: 'start'})")
            shots.append(await _save(page, out, f"reports-charts-{lang}.png"))
            page, _ = await open_page(browser, live, email, "/wallboard", viewport=VIEWPORT)
            await expect(page.locator(".wall-team")).to_have_count(3, timeout=60_000)
            await expect(page.locator(".conn")).to_have_attribute("data-state", "open", timeout=60_000)
            await page.click("#wall-full")
            shots.append(await _save(page, out, f"wallboard-{lang}.png"))
    return shots


async def main(serve: bool, out: Path = OUT, days: int = 28) -> list[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "hub.db"
        await asyncio.to_thread(migrate, f"sqlite:///{db}")
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
        clock = ShiftedClock()
        application = create_app(
            settings, clock=clock, channels=registry, run_outbox_worker=False, run_routing=False
        )
        async with application.router.lifespan_context(application), LiveServer(application) as server:
            await seed(application.state.hub, application.state.outbox_worker, clock, days)
            if serve:
                print(
                    f"serving {server.base} — mona@example.com (en), rania@example.com (ar); password: tests/helpers.py"
                )
                await asyncio.Event().wait()
            return await shoot(server, out)


@pytest.mark.browser
async def test_the_screenshots_are_taken(tmp_path: Path) -> None:
    """Two days of traffic are enough to know the script still works."""
    shots = await main(False, tmp_path, days=2)
    assert sorted(p.name for p in shots) == sorted(
        f"{kind}-{lang}.png" for kind in ("reports", "reports-charts", "wallboard") for lang in ("en", "ar")
    )
    for p in shots:
        assert (await asyncio.to_thread(p.read_bytes))[:8] == b"\x89PNG\r\n\x1a\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--serve", action="store_true", help="seed and keep serving instead of taking screenshots"
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the PNG files (default: {OUT})")
    args = parser.parse_args()
    for path in asyncio.run(main(args.serve, args.out)):
        print(path)
