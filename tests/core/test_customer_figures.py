"""The contact_figures projection: after any sequence of ingests, resolutions,
reopenings, satisfaction answers, complaints opened and closed, merges and passing time, every contact's figures and
tiers equal an independent recomputation from the rows. On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import hypothesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from sqlmodel import select

from channels.webchat import record_csat
from channels.webchat.errors import WebchatError
from hub.crm import figures as figures_module
from hub.crm.figures import ContactFiguresProjection
from hub.domain import InboundMessage
from hub.models import (
    OPEN_COMPLAINT,
    Complaint,
    Contact,
    ContactFigures,
    ContactTier,
    Conversation,
    ProjectionCheckpoint,
)
from hub.services import SYSTEM
from hub.services.complaints import NewComplaint, open_complaint, update_complaint
from hub.services.contacts import merge_contacts, update_contact
from hub.services.conversations import reopen, resolve
from hub.services.errors import ServiceError
from hub.services.ingest import ingest
from hub.timeutil import ensure_utc

CHANNELS = ("sms", "email", "webchat")


def message(person: int, channel: str, pid: str, thread: int = 0) -> InboundMessage:
    if channel == "sms":
        return InboundMessage(
            channel="sms",
            provider_message_id=pid,
            address_kind="phone",
            sender=f"+1555000{person:04d}",
            body="hi",
        )
    if channel == "email":
        return InboundMessage(
            channel="email",
            provider_message_id=pid,
            address_kind="email",
            sender=f"p{person}@example.com",
            thread_key=f"t{thread}",
            body="hi",
        )
    visitor = f"v_{person:08d}"
    return InboundMessage(
        channel="webchat",
        provider_message_id=pid,
        address_kind="webchat",
        sender=visitor,
        thread_key=visitor,
        body="hi",
    )


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("msg"), st.integers(0, 2), st.sampled_from(CHANNELS), st.integers(0, 5)),
        st.tuples(st.just("msg"), st.integers(0, 2), st.just("email"), st.integers(0, 5)),
        st.tuples(st.just("resolve"), st.integers(0, 2), st.sampled_from(["inquiry", "complaint", None])),
        st.tuples(st.just("reopen"), st.integers(0, 2)),
        st.tuples(st.just("complain"), st.integers(0, 2)),
        st.tuples(st.just("close_complaint"), st.integers(0, 2)),
        st.tuples(st.just("csat"), st.integers(0, 2), st.integers(1, 5)),
        st.tuples(st.just("advance"), st.sampled_from([1, 10, 29, 31, 60, 100, 200])),
        st.tuples(st.just("project")),
        st.tuples(st.just("vip"), st.integers(0, 2), st.booleans()),
        st.tuples(st.just("merge"), st.integers(0, 2), st.integers(0, 2)),
    ),
    min_size=10,
    max_size=60,
)


def _cases(n: int) -> list[list[tuple[Any, ...]]]:
    found: list[list[tuple[Any, ...]]] = []

    @hypothesis.settings(
        max_examples=n,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.generate],
    )
    @given(ops=OPS)
    def collect(ops: list[tuple[Any, ...]]) -> None:
        found.append(ops)

    collect()
    return found


@dataclass
class Expected:
    c30: int
    c90: int
    c365: int
    total: int
    first: datetime | None
    last: datetime | None
    channels: list[str]
    preferred: str | None
    csat_count: int
    csat_sum: int
    low_at: datetime | None
    open_complaints: int
    tiers: set[str]


def oracle(contact: Contact, convs: list[Conversation], now: datetime, open_complaints: int = 0) -> Expected:
    """Figures and default tiers computed in plain Python from the rows."""

    def within(c: Conversation, days: int) -> bool:
        return c.created_at > now - timedelta(days=days)

    recent: dict[str, list[datetime]] = {}
    for c in convs:
        if within(c, 90):
            recent.setdefault(c.channel, []).append(c.created_at)
    preferred = max(recent, key=lambda ch: (len(recent[ch]), max(recent[ch]))) if recent else None
    rated = [c for c in convs if c.csat_score is not None]
    lows = [c.csat_at for c in rated if c.csat_score is not None and c.csat_score <= 2 and c.csat_at]
    last = max((c.last_inbound_at or c.created_at for c in convs), default=None)
    exp = Expected(
        c30=sum(within(c, 30) for c in convs),
        c90=sum(within(c, 90) for c in convs),
        c365=sum(within(c, 365) for c in convs),
        total=len(convs),
        first=min((c.created_at for c in convs), default=None),
        last=last,
        channels=sorted({c.channel for c in convs}),
        preferred=preferred,
        csat_count=len(rated),
        csat_sum=sum(c.csat_score or 0 for c in rated),
        low_at=max(lows, default=None),
        open_complaints=open_complaints,  # the complaints register's open ones
        tiers=set(),
    )
    if contact.vip:
        exp.tiers.add("vip")
    if (exp.low_at and now - exp.low_at < timedelta(days=30)) or exp.open_complaints >= 1:
        exp.tiers.add("at_risk")
    if exp.c90 >= 3:
        exp.tiers.add("frequent")
    if exp.total >= 3 and last is not None and now - last >= timedelta(days=180):
        exp.tiers.add("lapsed")
    return exp


SEEN: dict[str, int] = {}


async def check_all(hub: Any) -> int:
    now = hub.now()
    async with hub.db.session() as s:
        contacts = (await s.exec(select(Contact).where(Contact.merged_into_id == None))).all()  # noqa: E711
        convs = (await s.exec(select(Conversation))).all()
        figures = {f.contact_id: f for f in (await s.exec(select(ContactFigures))).all()}
        memberships = (await s.exec(select(ContactTier))).all()
        complaints = (await s.exec(select(Complaint))).all()
    open_by_contact: dict[int, int] = {}
    for cpl in complaints:
        if cpl.status in OPEN_COMPLAINT:
            open_by_contact[cpl.contact_id] = open_by_contact.get(cpl.contact_id, 0) + 1
    by_contact: dict[int, list[Conversation]] = {}
    for c in convs:
        by_contact.setdefault(c.contact_id, []).append(c)
    tiers: dict[int, set[str]] = {}
    for m in memberships:
        tiers.setdefault(m.contact_id, set()).add(m.tier)
    assert set(figures) == {c.id for c in contacts}, "one figures row per live contact"
    for contact in contacts:
        assert contact.id is not None
        exp = oracle(contact, by_contact.get(contact.id, []), now, open_by_contact.get(contact.id, 0))
        got = figures[contact.id]
        actual = Expected(
            c30=got.conversations_30d,
            c90=got.conversations_90d,
            c365=got.conversations_365d,
            total=got.conversations_total,
            first=got.first_contact_at,
            last=got.last_contact_at,
            channels=got.channels,
            preferred=got.preferred_channel,
            csat_count=got.csat_count,
            csat_sum=got.csat_sum,
            low_at=got.last_low_csat_at,
            open_complaints=got.open_complaints,
            tiers=set(got.tiers),
        )
        assert actual == exp, f"contact {contact.id} at {now}"
        assert tiers.get(contact.id, set()) == exp.tiers
        for t in exp.tiers:
            SEEN[t] = SEEN.get(t, 0) + 1
        SEEN["rated"] = SEEN.get("rated", 0) + (exp.csat_count > 0)
        SEEN["windowed"] = SEEN.get("windowed", 0) + (0 < exp.c30 < exp.c365)
    return len(contacts)


async def run_ops(hub: Any, clock: Any, ops: list[tuple[Any, ...]], tag: str) -> None:
    contact_of: dict[int, int] = {}
    for n, op in enumerate(ops):
        kind = op[0]
        if kind == "msg":
            result = await ingest(hub, message(op[1] + 10 * int(tag), op[2], f"{tag}-{n}", op[3]))
            contact_of.setdefault(op[1], result.contact_id)
        elif kind in ("resolve", "reopen", "csat") and op[1] in contact_of:
            async with hub.db.session() as s:
                contact = await s.get(Contact, contact_of[op[1]])
                assert contact is not None
                cid = contact.merged_into_id or contact.id
                convs = (await s.exec(select(Conversation).where(Conversation.contact_id == cid))).all()
            for conv in convs:
                try:
                    if kind == "resolve" and conv.status != "resolved":
                        await resolve(hub, SYSTEM, conv.id or 0, category=op[2])
                        break
                    if kind == "reopen" and conv.status == "resolved":
                        await reopen(hub, SYSTEM, conv.id or 0)
                        break
                    if kind == "csat" and conv.channel == "webchat" and conv.status == "resolved":
                        await record_csat(hub, conv.id or 0, conv.thread_key, op[2])
                        break
                except (ServiceError, WebchatError):
                    continue
        elif kind in ("complain", "close_complaint") and op[1] in contact_of:
            async with hub.db.session() as s:
                contact = await s.get(Contact, contact_of[op[1]])
                assert contact is not None
                cid = contact.merged_into_id or contact.id
                conv_id = (
                    await s.exec(select(Conversation.id).where(Conversation.contact_id == cid))
                ).first()
                listed = (await s.exec(select(Complaint).where(Complaint.contact_id == cid))).all()
            if kind == "complain" and conv_id is not None:
                await open_complaint(hub, SYSTEM, NewComplaint(conversation_id=conv_id, acknowledge=False))
            for cpl in listed:
                if kind == "close_complaint" and cpl.status in OPEN_COMPLAINT:
                    await update_complaint(hub, SYSTEM, cpl.id or 0, {"status": "closed"})
                    break
        elif kind == "advance":
            clock.advance(op[1] * 86400)
        elif kind == "project":
            await hub.projections.catch_up()
        elif kind == "check":  # (no timer has come due since the last run_due)
            await check_all(hub)
        elif kind == "vip" and op[1] in contact_of:
            try:
                await update_contact(hub, SYSTEM, contact_of[op[1]], {"vip": op[2]})
            except ServiceError:
                pass
        elif kind == "merge" and op[1] in contact_of and op[2] in contact_of:
            try:
                await merge_contacts(hub, SYSTEM, contact_of[op[1]], contact_of[op[2]])
            except ServiceError:
                pass


def count_refreshes(monkeypatch: Any) -> dict[str, int]:
    """Counts the contacts the light refresh kept (no full recompute) and those it sent
    on to the full recompute."""
    counts = {"kept": 0, "sent_on": 0}
    original = ContactFiguresProjection._refresh_last_contact

    async def spy(self: Any, s: Any, keys: Any, tiers: Any, now: Any) -> set[int]:
        heavy = await original(self, s, keys, tiers, now)
        counts["kept"] += len(set(keys) - heavy)
        counts["sent_on"] += len(heavy)
        return heavy

    monkeypatch.setattr(ContactFiguresProjection, "_refresh_last_contact", spy)
    return counts


async def test_figures_equal_a_recomputation_after_any_history(
    hub: Any, clock: Any, monkeypatch: Any
) -> None:
    SEEN.clear()
    refreshes = count_refreshes(monkeypatch)
    # Only the test applies the log and the timers: which way a contact goes (a full
    # recompute, or the light refresh kept or sent on) does not depend on the loop.
    await hub.projections.stop()
    # A written history that reaches every tier and a rating, then generated ones.
    written: list[tuple[Any, ...]] = [
        # Messages into conversations the figures already count: the light refresh,
        # kept (a plain message) and sent on (its row's due time has passed).
        ("msg", 3, "sms", 0),
        ("msg", 4, "email", 5),
        ("project",),
        ("advance", 1),
        ("msg", 3, "sms", 0),
        ("project",),
        ("check",),
        ("advance", 30),
        ("msg", 4, "email", 5),
        ("project",),
        ("msg", 0, "webchat", 0),
        ("resolve", 0, None),
        ("csat", 0, 1),
        ("project",),
        ("advance", 10),
        ("msg", 1, "email", 1),
        ("resolve", 1, "complaint"),
        ("complain", 1),
        ("reopen", 1),
        ("msg", 1, "email", 2),
        ("msg", 1, "email", 3),
        ("vip", 2, True),
        ("msg", 2, "sms", 0),
        ("vip", 2, True),
        ("advance", 31),
    ]
    for i, ops in enumerate([written, *_cases(25)]):
        await run_ops(hub, clock, ops, str(i + 1))
        await hub.projections.catch_up()
        await hub.projections.run_due()
        await check_all(hub)
    # And once more after a long quiet spell: only due rows are touched.
    clock.advance(400 * 86400)
    await hub.projections.run_due()
    assert await check_all(hub) > 0
    # The histories reached the interesting states (the check is not vacuous), and
    # messages into open conversations went both ways of the light refresh.
    print(SEEN, refreshes)
    assert all(SEEN.get(k, 0) > 0 for k in ("frequent", "at_risk", "lapsed", "vip", "rated", "windowed")), (
        SEEN
    )
    assert refreshes["kept"] > 0 and refreshes["sent_on"] > 0, refreshes


async def test_windows_and_tiers_change_with_time_alone(hub: Any, clock: Any) -> None:
    for n in range(3):
        mail = message(1, "email", f"w-{n}").model_copy(update={"thread_key": f"thread-{n}"})
        r = await ingest(hub, mail)
        await resolve(hub, SYSTEM, r.conversation_id)
    await hub.projections.catch_up()
    async with hub.db.session() as s:
        fig = await s.get(ContactFigures, r.contact_id)
    assert fig is not None and fig.conversations_90d == 3 and fig.tiers == ["frequent"]
    assert fig.due_at == clock.now + timedelta(days=30)  # the first window drop
    clock.advance(91 * 86400)
    await hub.projections.run_due()  # (or the background loop already did: the state is what counts)
    async with hub.db.session() as s:
        fig = await s.get(ContactFigures, r.contact_id)
    assert fig is not None and fig.conversations_90d == 0 and fig.tiers == []
    clock.advance(90 * 86400)  # 181 days after the last contact: lapsed
    await hub.projections.run_due()
    async with hub.db.session() as s:
        fig = await s.get(ContactFigures, r.contact_id)
    assert fig is not None and fig.tiers == ["lapsed"] and fig.conversations_365d == 3


async def test_a_new_projection_rebuilds_from_rows(hub: Any) -> None:
    for n in range(4):
        await ingest(hub, message(n, "sms", f"r-{n}"))
    await hub.projections.catch_up()
    async with hub.db.transaction() as s:
        # Forget everything: the next pass rebuilds from the conversations.
        for row in (await s.exec(select(ContactFigures))).all():
            await s.delete(row)
        cp = await s.get(ProjectionCheckpoint, "contact_figures")
        assert cp is not None
        await s.delete(cp)
    hub.projections._known.clear()
    await hub.projections.catch_up()
    assert await check_all(hub) == 4


async def test_a_message_into_an_open_conversation_moves_last_contact_and_tiers(hub: Any, clock: Any) -> None:
    """A lapsed customer who writes into their open conversation (only a
    ``message.received``, no conversation event) leaves the tier at once, with its
    event, and every figure still equals the recomputation from rows, then and after
    time passes."""
    from hub.models import EventLog

    for n in range(3):  # three conversations, the third left open
        r = await ingest(hub, message(7, "email", f"open-{n}", n))
        if n < 2:
            await resolve(hub, SYSTEM, r.conversation_id)
    await hub.projections.catch_up()
    created = clock.now
    clock.advance(181 * 86400)
    await hub.projections.run_due()
    async with hub.db.session() as s:
        fig = await s.get(ContactFigures, r.contact_id)
    assert fig is not None and fig.tiers == ["lapsed"]
    await check_all(hub)
    async with hub.db.session() as s:
        top = (await s.exec(select(EventLog.id).order_by(EventLog.id.desc()).limit(1))).first() or 0  # type: ignore[union-attr]
    again = await ingest(hub, message(7, "email", "open-again", 2))
    assert again.conversation_id == r.conversation_id  # into the open one: only message.received
    await hub.projections.catch_up()
    async with hub.db.session() as s:
        fig = await s.get(ContactFigures, r.contact_id)
        events = (
            await s.exec(select(EventLog).where(EventLog.id > top, EventLog.type == "contact.tier_changed"))
        ).all()
    assert fig is not None and fig.tiers == [] and fig.last_contact_at == clock.now
    assert [(e.payload["contact_id"], e.payload["removed"]) for e in events] == [(r.contact_id, ["lapsed"])]
    # Never later than the next true change: the conversations leave the 365-day window.
    assert fig.due_at is not None and fig.due_at <= created + timedelta(days=365)
    await check_all(hub)
    clock.advance(200 * 86400)
    await hub.projections.run_due()
    async with hub.db.session() as s:
        fig = await s.get(ContactFigures, r.contact_id)
    assert fig is not None and fig.conversations_365d == 0 and fig.conversations_total == 3
    await check_all(hub)


async def test_a_message_into_an_open_conversation_refreshes_without_the_grouped_queries(
    hub: Any, clock: Any, monkeypatch: Any
) -> None:
    """The usual message, a known customer writing into their open conversation, moves
    ``last_contact_at`` and the next due time from the stored figures: no grouped
    recomputation, no delete and insert of the row, and the row still equals the
    recomputation from rows."""
    await hub.projections.stop()  # only the test applies the log and the timers
    first = await ingest(hub, message(3, "email", "light-0"))
    other = await ingest(hub, message(4, "sms", "light-other"))
    await hub.projections.catch_up()
    async with hub.db.session() as s:
        before = await s.get(ContactFigures, first.contact_id)
    assert before is not None and before.due_at is not None
    computed: list[list[int]] = []
    original = figures_module.compute_figures

    async def spy(s: Any, keys: Any, now: Any) -> Any:
        computed.append(sorted(keys))
        return await original(s, keys, now)

    monkeypatch.setattr(figures_module, "compute_figures", spy)
    refreshes = count_refreshes(monkeypatch)
    clock.advance(3600)
    again = await ingest(hub, message(3, "email", "light-1"))
    assert again.conversation_id == first.conversation_id
    await hub.projections.catch_up()
    assert computed == [] and refreshes == {"kept": 1, "sent_on": 0}
    async with hub.db.session() as s:
        after = await s.get(ContactFigures, first.contact_id)
        untouched = await s.get(ContactFigures, other.contact_id)
    assert after is not None and untouched is not None
    assert after.last_contact_at == clock.now != before.last_contact_at
    assert after.due_at == before.due_at  # the 30-day window's drop, still the first change
    assert untouched.last_contact_at == other_last(untouched)
    await check_all(hub)
    # A row whose due time has passed (a window count may be stale) goes the full way.
    clock.advance(31 * 86400)
    await ingest(hub, message(3, "email", "light-2"))
    await hub.projections.catch_up()
    assert computed == [[first.contact_id]] and refreshes == {"kept": 1, "sent_on": 1}
    await hub.projections.run_due()  # the other contact's window drop
    await check_all(hub)


def other_last(row: ContactFigures) -> Any:
    return row.first_contact_at  # one conversation and one message: first == last


async def test_a_fact_read_off_the_stored_row_is_the_fact_tier_rules_see(hub: Any, clock: Any) -> None:
    """The light refresh evaluates the tiers that read ``last_contact_at`` on facts read
    one by one off the stored row (``stored_fact``); each equals what ``facts_of``
    builds from the same row, the recompute's and the rules' view of a contact."""
    from hub.crm.tiers import BOOL_FACTS, LIST_FACTS, NUMBER_FACTS, TEXT_FACTS, TIME_FACTS
    from hub.projections import core

    rated = await ingest(hub, message(5, "webchat", "facts-1"))
    await resolve(hub, SYSTEM, rated.conversation_id)
    await record_csat(hub, rated.conversation_id, "v_00000005", 2)
    plain = await ingest(hub, message(6, "sms", "facts-2"))
    async with hub.db.session() as s:
        contact = await s.get(Contact, rated.contact_id)
        assert contact is not None
        contact.vip, contact.tags, contact.language = True, ["gold", "b2b"], "ar"
        contact.attributes = {"plan": "gold", "seats": 3, "renews": "2027-01-01"}
        s.add(contact)
        await s.commit()
    await hub.projections.catch_up()
    clock.advance(3600)
    facts = NUMBER_FACTS | TIME_FACTS | TEXT_FACTS | LIST_FACTS | BOOL_FACTS
    extra = ["field.plan", "field.seats", "field.renews", "field.unset", "contact_id", "channels", "unknown"]
    names = [*sorted(facts), *extra]
    async with hub.db.session() as s:
        ids = {"ids": [rated.contact_id, plain.contact_id]}
        every = frozenset(names) | set(figures_module._FIGURE_KEYS)  # facts_of reads them all
        rows = (await core(s, figures_module.stored_figures(every), ids)).all()
    assert len(rows) == 2
    for row in rows:
        figures = {key: getattr(row, key) for key in figures_module._FIGURE_KEYS}
        for key in ("first_contact_at", "last_low_csat_at"):
            if figures[key] is not None:
                figures[key] = ensure_utc(figures[key])
        figures["last_contact_at"] = clock.now
        expected = figures_module.facts_of(figures, row)
        got = {name: figures_module.stored_fact(row, name, clock.now) for name in names}
        assert got == {name: expected.get(name) for name in names}
    rich = {row.contact_id: row for row in rows}[rated.contact_id]
    assert figures_module.stored_fact(rich, "csat_average", None) == 2.0
    assert figures_module.stored_fact(rich, "tags", None) == ["gold", "b2b"]
    assert figures_module.stored_fact(rich, "field.seats", None) == 3
