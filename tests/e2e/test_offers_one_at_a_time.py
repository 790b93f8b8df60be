"""Three customers wait when an agent goes available: the console shows one offer at a
time; while she accepts and answers it the others are not running down a timer she
cannot see; the next offer arrives with its own full timeout; and offers she never saw
never set her away (issue 16: "going available delivered three offers at once; while
the agent handled one, the other two expired and set her away").

Time is the hub's FakeClock: the test moves it past where the first offers' timeouts
would have run out and fires the routing timers itself (``routing.tick()``), so
nothing waits on the wall clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import expect
from sqlmodel import select

from hub.models import EventLog, Offer, User
from tests.browser_support import chromium
from tests.e2e.test_console_support import assert_clean, open_page
from tests.e2e.test_narrow_screens import DESKTOP, PHONE, assert_fits
from tests.helpers import inbound, team, user

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

TIMEOUT = 30  # the default offer timeout (routing.model.FALLBACK_OFFER_TIMEOUT)

# Counts the offer cards on screen at every change: the most ever shown at once.
MAX_CARDS = """() => {
  window.__maxCards = 0;
  const root = document.getElementById("offers");
  const count = () => { window.__maxCards = Math.max(window.__maxCards, root.querySelectorAll(".offer").length); };
  new MutationObserver(count).observe(root, { childList: true, subtree: true });
  count();
}"""

REPLIES = {"en": "Your order ships today.", "ar": "سيُشحن طلبك اليوم."}


@pytest.fixture
def routing_enabled() -> bool:
    return True


@pytest.fixture
def db_url(sqlite_template: Any, tmp_path: Any) -> str:
    """SQLite only: the routing is the same on both, the page reads the same API."""
    import shutil

    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


async def offers_of(hub: Any, user_id: int) -> list[Offer]:
    async with hub.db.session() as s:
        query = select(Offer).where(Offer.user_id == user_id).order_by(Offer.id)  # type: ignore[arg-type]
        return list((await s.exec(query)).all())


async def presence_of(hub: Any, user_id: int) -> tuple[str, list[str]]:
    """Her presence now, and every presence she was ever put in."""
    async with hub.db.session() as s:
        row = await s.get(User, user_id)
        events = (
            await s.exec(
                select(EventLog).where(EventLog.type == "presence.changed").order_by(EventLog.id)  # type: ignore[arg-type]
            )
        ).all()
    assert row is not None
    return str(row.presence), [e.payload["presence"] for e in events if e.payload.get("user_id") == user_id]


async def advance(live: Any, clock: Any, seconds: float) -> None:
    """Move the hub's clock and run whatever routing timers fell due."""
    clock.advance(seconds)
    await live.app.hub.routing.tick()
    await live.app.hub.routing.idle()


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_three_waiting_offers_come_one_at_a_time_and_never_set_the_agent_away(
    live: Any, clock: Any, loopback: Any, lang: str, viewport: Any
) -> None:
    hub = live.app.hub
    support = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", team_ids=(support,), name="Ana Haddad", language=lang)
    # Three customers already waiting, oldest first; Ana is offline.
    waiting = []
    for sender, name, body in (
        ("cust-1", "Layla", "Where is my order?"),
        ("cust-2", "Omar", "I was charged twice"),
        ("cust-3", "نورة", "متى يصل طلبي؟"),
    ):
        waiting.append(
            (await inbound(live.app.client, sender, body, team="Support", sender_name=name))[
                "conversation_id"
            ]
        )
        clock.advance(1)
    await hub.routing.idle()

    async with chromium() as browser:
        page, watch = await open_page(browser, live, "ana@example.com", "/console", viewport=viewport)
        await expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        await expect(page.locator(".conn")).to_have_attribute("data-state", "open")
        await page.evaluate(MAX_CARDS)
        cards = page.locator("#offers .offer")
        presence = page.locator("#presence")

        # Available: one offer, the oldest conversation; the other two stay queued.
        await presence.select_option("available")
        first = page.locator(f'#offers .offer[data-offer="{waiting[0]}"]')
        await expect(first).to_be_visible()
        await expect(first.locator(".offer-name")).to_have_text("Layla")
        await expect(first.locator(".countdown progress")).to_have_attribute("max", str(TIMEOUT))
        await hub.routing.idle()
        await expect(cards).to_have_count(1)
        offers = await offers_of(hub, ana)
        assert [(o.conversation_id, o.status) for o in offers] == [(waiting[0], "pending")]
        await assert_fits(page, "console, first offer")

        # She takes her time over it (within its timeout), accepts and answers.
        await advance(live, clock, TIMEOUT - 10)
        await expect(cards).to_have_count(1)
        await first.locator(".accept").click()
        await expect(first).to_have_count(0)
        accepted_at = hub.now()
        await expect(page.locator("#thread-title")).to_contain_text("Layla")
        await expect(page.locator("#thread .msg.inbound .body")).to_have_text(["Where is my order?"])
        box = page.locator("#composer-text")
        await box.fill(REPLIES[lang])
        await box.press("Enter")
        await expect(page.locator("#thread .msg.outbound", has_text=REPLIES[lang])).to_have_count(1)
        await expect(box).to_have_value("")
        assert await live.app.worker.run_once() == 1
        assert [m.body for m in loopback.sent] == [REPLIES[lang]]
        await assert_fits(page, "console, thread after accepting")

        # The next offer: made when she accepted, with its own full timeout.
        second = page.locator(f'#offers .offer[data-offer="{waiting[1]}"]')
        await expect(second).to_be_visible()
        await expect(second.locator(".offer-name")).to_have_text("Omar")
        await expect(second.locator(".countdown progress")).to_have_attribute("max", str(TIMEOUT))
        await expect(cards).to_have_count(1)
        offers = await offers_of(hub, ana)
        assert [(o.conversation_id, o.status) for o in offers] == [
            (waiting[0], "accepted"),
            (waiting[1], "pending"),
        ]
        assert offers[1].expires_at is not None
        assert offers[1].expires_at.replace(tzinfo=accepted_at.tzinfo) == accepted_at + timedelta(
            seconds=TIMEOUT
        )

        # Past the moment three offers made at once would all have expired: the second is
        # still hers, nothing expired, and she is still available.
        await advance(live, clock, 15)
        await expect(second).to_be_visible()
        await expect(cards).to_have_count(1)
        assert [o.status for o in await offers_of(hub, ana)] == ["accepted", "pending"]
        assert await presence_of(hub, ana) == ("available", ["available"])
        await expect(presence).to_have_value("available")

        # She accepts that one too; the third follows, again alone and with a full timeout.
        await second.locator(".accept").click()
        await expect(second).to_have_count(0)
        await expect(page.locator("#thread-title")).to_contain_text("Omar")
        third = page.locator(f'#offers .offer[data-offer="{waiting[2]}"]')
        await expect(third).to_be_visible()
        await expect(third.locator(".offer-name")).to_have_text("نورة")
        await expect(third.locator(".countdown progress")).to_have_attribute("max", str(TIMEOUT))
        await expect(cards).to_have_count(1)
        await advance(live, clock, TIMEOUT - 5)
        await expect(third).to_be_visible()
        await assert_fits(page, "console, third offer")
        await third.locator(".accept").click()
        await expect(cards).to_have_count(0)
        await expect(page.locator("#thread-title")).to_contain_text("نورة")

        # Never more than one card; no offer ever expired; never away.
        assert await page.evaluate("window.__maxCards") == 1
        offers = await offers_of(hub, ana)
        assert [(o.conversation_id, o.status) for o in offers] == [(c, "accepted") for c in waiting]
        assert await presence_of(hub, ana) == ("available", ["available"])
        await expect(presence).to_have_value("available")
        await assert_fits(page, "console, all three handled")
        await assert_clean(page, watch)
