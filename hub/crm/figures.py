"""The ``contact_figures`` projection: per-contact figures and tiers.

For every contact an event touches (a conversation created, moved, resolved or rated,
an inbound message, a merge, a profile change) the figures are recomputed from that
contact's conversations with a few grouped queries over the ``contact_id`` index — no
full scan, no nightly batch — and the active tiers are re-evaluated. Windowed counts
and time rules change without any event (a conversation leaves the 30-day window, a
customer lapses after 180 days): each row carries ``due_at``, the next such moment, and
the runner recomputes due rows then (hub.projections).

A contact whose tiers differ after a recompute gets a ``contact.tier_changed`` event in
the same transaction (what automation rules trigger on, docs/workflow.md), naming the
tiers entered and left and the contact's newest open conversation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.crm.tiers import TIME_FACTS, evaluate, rule_fields
from hub.events import TierChangedPayload, validate_payload
from hub.models import (
    OPEN_COMPLAINT,
    OPEN_STATUSES,
    Complaint,
    Contact,
    ContactFigures,
    ContactTier,
    Conversation,
    EventLog,
    Tier,
)
from hub.precompiled import OneOf, PerDialect
from hub.projections import ALL, LoggedEvent, core, core_many
from hub.timeutil import ensure_utc

WINDOWS = {"conversations_30d": 30, "conversations_90d": 90, "conversations_365d": 365}
PREFERENCE_DAYS = 90  # the preferred channel: the most used in this many days
LOW_CSAT = 2  # a satisfaction answer at or below this (of 5) is "low"

_conv = Conversation.__table__  # type: ignore[attr-defined]
_figures = ContactFigures.__table__  # type: ignore[attr-defined]
_events = EventLog.__table__  # type: ignore[attr-defined]
_contact_tier = ContactTier.__table__  # type: ignore[attr-defined]

CONTACT_EVENTS = frozenset({"contact.created", "contact.updated", "contact.erased"})


def _since(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


async def contacts_of_conversations(s: AsyncSession, conversation_ids: Collection[int]) -> set[int]:
    if not conversation_ids:
        return set()
    rows = await core(s, _CONTACTS_OF, {"ids": list(conversation_ids)})
    return set(rows.scalars().all())


# Built once, with bind parameters: a statement built per call paid for its
# construction and its cache key on every round (a few ms a round at 50 contacts). The
# contact or conversation ids are a list parameter (PerDialect: one array on PostgreSQL).
_c = _conv.c
_CONTACTS_OF = PerDialect(lambda one_of: sa.select(_c.contact_id).where(one_of(_c.id, "ids")).distinct())
_ACTIVE_TIERS = (
    select(Tier.key, Tier.rule).where(Tier.active == True).order_by(col(Tier.position))  # noqa: E712
)
_TIERS_OF = PerDialect(
    lambda one_of: sa.select(_contact_tier.c.contact_id, _contact_tier.c.tier).where(
        one_of(_contact_tier.c.contact_id, "ids")
    )
)
_DELETE_TIERS = PerDialect(
    lambda one_of: sa.delete(_contact_tier).where(one_of(_contact_tier.c.contact_id, "ids"))
)
_DELETE_FIGURES = PerDialect(lambda one_of: sa.delete(_figures).where(one_of(_figures.c.contact_id, "ids")))
_INSERT_FIGURES = sa.insert(_figures)
_INSERT_TIERS = sa.insert(_contact_tier)
# What tier rules read of a contact, as plain rows: ORM objects cost ~45 µs each to
# build (SQLModel's instance set-up), about half of a round's figures at 250 contacts.
_ct = Contact.__table__.c  # type: ignore[attr-defined]
_LIVE_CONTACTS = PerDialect(
    lambda one_of: sa.select(_ct.id, _ct.vip, _ct.tags, _ct.language, _ct.attributes).where(
        one_of(_ct.id, "ids"), _ct.merged_into_id.is_(None)
    )
)


def _aggregates(one_of: OneOf) -> Any:
    columns: list[Any] = [
        _c.contact_id,
        sa.func.count().label("total"),
        sa.func.min(_c.created_at).label("first"),
        sa.func.max(sa.func.coalesce(_c.last_inbound_at, _c.created_at)).label("last"),
        sa.func.count(_c.csat_score).label("csat_count"),
        sa.func.coalesce(sa.func.sum(_c.csat_score), 0).label("csat_sum"),
        sa.func.max(sa.case((_c.csat_score <= LOW_CSAT, _c.csat_at))).label("low_csat_at"),
        sa.func.max(_c.id).label("last_id"),
    ]
    for name in WINDOWS:
        # Strictly after: a conversation leaves the window at created_at + window, and
        # that moment (the due time) is then always in the future.
        since = sa.bindparam(f"since_{name}", type_=_c.created_at.type)
        columns.append(sa.func.sum(sa.case((_c.created_at > since, 1), else_=0)).label(name))
        columns.append(sa.func.min(sa.case((_c.created_at > since, _c.created_at))).label(f"{name}_oldest"))
    return sa.select(*columns).where(one_of(_c.contact_id, "ids")).group_by(_c.contact_id)


_AGGREGATES = PerDialect(_aggregates)
_cpl = Complaint.__table__.c  # type: ignore[attr-defined]
_OPEN_COMPLAINTS = PerDialect(
    lambda one_of: (
        sa.select(_cpl.contact_id, sa.func.count().label("n"))
        .where(one_of(_cpl.contact_id, "ids"), _cpl.status.in_(OPEN_COMPLAINT))
        .group_by(_cpl.contact_id)
    )
)
_preference_since = sa.bindparam("since", type_=_c.created_at.type)
_PER_CHANNEL = PerDialect(
    lambda one_of: (
        sa.select(
            _c.contact_id,
            _c.channel,
            sa.func.sum(sa.case((_c.created_at > _preference_since, 1), else_=0)).label("recent"),
            sa.func.max(_c.created_at).label("latest"),
        )
        .where(one_of(_c.contact_id, "ids"))
        .group_by(_c.contact_id, _c.channel)
    )
)
_LAST_CONVERSATIONS = PerDialect(
    lambda one_of: sa.select(_c.contact_id, _c.id, _c.category, _c.status).where(one_of(_c.id, "ids"))
)


# A contact's refresh after a message into a conversation it had: its stored figures
# and what tier rules read of it, with the newest contact time from its conversations
# (the same expression as ``_aggregates``' "last", over the contact_id index).
_FIGURE_KEYS = (
    "contact_id",
    "conversations_30d",
    "conversations_90d",
    "conversations_365d",
    "conversations_total",
    "first_contact_at",
    "last_contact_at",
    "channels",
    "preferred_channel",
    "csat_count",
    "csat_sum",
    "last_low_csat_at",
    "open_complaints",
    "last_conversation_id",
    "last_category",
    "last_status",
)
_inner = _conv.alias("inner_conv")
_NEWEST_CONTACT = sa.type_coerce(
    sa.select(sa.func.max(sa.func.coalesce(_inner.c.last_inbound_at, _inner.c.created_at)))
    .where(_inner.c.contact_id == _figures.c.contact_id)
    .scalar_subquery(),
    _c.created_at.type,
)
# The contact's own facts (besides custom fields): its column, and the fact from it.
_CONTACT_FACTS: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "vip": (_ct.vip, lambda c: bool(c.vip)),
    "tags": (_ct.tags, lambda c: list(c.tags or [])),
    "language": (_ct.language, lambda c: c.language),
}


@functools.lru_cache(maxsize=32)
def stored_figures(reads: frozenset[str]) -> PerDialect[Any]:
    """The light refresh's read: each contact's stored tiers, due time and
    ``last_contact_at``, the newest contact time from its conversations, and the columns
    behind the facts ``reads`` (what the tiers it evaluates read). Built once for each
    set of facts (one per tier configuration); the JSON and time columns no rule asks
    for are neither read nor converted (with the default tiers: the figures' channels,
    the contact's tags and attributes)."""
    columns: dict[str, Any] = {
        key: _figures.c[key] for key in ("contact_id", "tiers", "due_at", "last_contact_at")
    }
    for name in sorted(reads):
        if name in _FIGURE_KEYS:
            columns[name] = _figures.c[name]
        elif name == "csat_average":
            columns |= {key: _figures.c[key] for key in ("csat_count", "csat_sum")}
        elif name in _CONTACT_FACTS:
            columns[name] = _CONTACT_FACTS[name][0]
        elif name.startswith("field."):
            columns["attributes"] = _ct.attributes
    selected = [*columns.values(), _NEWEST_CONTACT.label("last")]
    return PerDialect(
        lambda one_of: (
            sa.select(*selected)
            .join_from(_figures, Contact.__table__, _ct.id == _figures.c.contact_id)  # type: ignore[attr-defined]
            .where(one_of(_figures.c.contact_id, "ids"), _ct.merged_into_id.is_(None))
        )
    )


_MOVE_LAST_CONTACT = (
    sa.update(_figures)
    .where(_figures.c.contact_id == sa.bindparam("b_contact"))
    .values(
        last_contact_at=sa.bindparam("b_last"),
        due_at=sa.bindparam("b_due"),
        updated_at=sa.bindparam("b_now"),
    )
)


def _touched(events: Sequence[LoggedEvent]) -> tuple[set[int], set[int]]:
    """The contacts ``events`` change (``{ALL}``: every one), and the conversations
    that only received a message (their contacts' ``last_contact_at``)."""
    keys: set[int] = set()
    conversations: set[int] = set()
    for e in events:
        if e.type == "tiers.changed":
            return {ALL}, set()
        if e.type.startswith("conversation.") and isinstance(e.payload.get("contact_id"), int):
            keys.add(e.payload["contact_id"])
        elif e.type == "message.received" and e.conversation_id is not None:
            conversations.add(e.conversation_id)
        elif e.type == "contact.merged":
            keys |= {e.payload["source_id"], e.payload["target_id"]}
        elif e.type.startswith("complaint.") and isinstance(e.payload.get("contact_id"), int):
            keys.add(e.payload["contact_id"])
        elif e.type in CONTACT_EVENTS:
            keys.add(e.payload["contact_id"])
    return keys, conversations


class ContactFiguresProjection:
    name = "contact_figures"

    async def affected(self, s: AsyncSession, events: Sequence[LoggedEvent]) -> set[int]:
        keys, conversations = _touched(events)
        if ALL in keys:
            return keys
        return keys | await contacts_of_conversations(s, conversations)

    async def fold(self, s: AsyncSession, events: Sequence[LoggedEvent], now: datetime) -> bool:
        """A batch of the log (hub.projections' ``_fold``); True: every contact must be
        recomputed (a rebuild).

        A contact that only wrote into a conversation it already had (``message.received``
        and no conversation, complaint or contact event in the batch) changed one
        figure: ``last_contact_at``. Its row is refreshed from its stored figures (see
        :meth:`_refresh_last_contact`) instead of the grouped queries and the delete and
        insert of its rows: at 50 distinct customers a round those were about two thirds
        of the whole runner's CPU (``bench/projection_bench.py --per-round 50``).
        """
        keys, conversations = _touched(events)
        if ALL in keys:
            return True
        tiers = await _active_tiers(s)
        wrote = await contacts_of_conversations(s, conversations) - keys
        if wrote:
            keys |= await self._refresh_last_contact(s, wrote, tiers, now)
        await self._recompute(s, keys, now, tiers)
        return False

    async def keys_after(self, s: AsyncSession, after: int, limit: int) -> list[int]:
        rows = await s.exec(
            select(Contact.id).where(col(Contact.id) > after).order_by(col(Contact.id)).limit(limit)
        )
        return [r for r in rows.all() if r is not None]

    async def due(self, s: AsyncSession, now: datetime, limit: int) -> list[int]:
        rows = await s.exec(
            select(ContactFigures.contact_id)
            .where(col(ContactFigures.due_at) <= now)
            .order_by(col(ContactFigures.due_at))
            .limit(limit)
        )
        return list(rows.all())

    def next_due_columns(self, now: datetime) -> list[Any]:
        return [select(sa.func.min(ContactFigures.due_at)).scalar_subquery()]

    async def recompute(self, s: AsyncSession, keys: Collection[int], now: datetime) -> None:
        if keys:
            await self._recompute(s, keys, now, await _active_tiers(s))

    async def _refresh_last_contact(
        self, s: AsyncSession, keys: Collection[int], tiers: Sequence[TierLike], now: datetime
    ) -> set[int]:
        """Move ``last_contact_at`` of ``keys`` (contacts whose only news is a message
        into a conversation they had) and re-evaluate their tiers on the stored figures;
        returns the contacts that need the full recompute instead.

        Every other figure is what the last recompute stored: each change to one comes
        with an event that sends its contact to the full recompute. Except time: a row
        whose ``due_at`` has passed may hold a stale window count, so it goes the full
        way, as does one without a row (not yet computed, merged or erased) and one whose
        tiers differ now (its ``contact_tier`` rows and ``contact.tier_changed`` event).
        The new ``due_at`` is the stored one or a tier's new flip, whichever is earlier:
        a later contact only moves ``last_contact_at`` flips later, so the stored time
        is never after the true next change, at worst before it (an early recompute)."""
        heavy = set(keys)
        updates: list[dict[str, Any]] = []
        # Only the tiers whose rule reads last_contact_at can change with it; every other
        # tier's verdict and flip are the last recompute's (its facts are unchanged, and
        # its next flip is not before the stored due time, which has not passed). So
        # those are evaluated, on the facts they read, and the others keep their stored
        # membership: with the default tiers one rule of two conditions, not four rules
        # on every fact of the contact. A tier just switched on that does not read
        # last_contact_at is left to the rebuild its tiers.changed event starts.
        fields = {t.key: rule_fields(t.rule) for t in tiers}
        moving = [t for t in tiers if "last_contact_at" in fields[t.key]]
        moved = {t.key for t in moving}
        reads = frozenset(name for t in moving for name in fields[t.key])
        rows = (await core(s, stored_figures(reads), {"ids": sorted(keys)})).all()
        heavy -= {r.contact_id for r in rows}
        for r in rows:
            stored_due = ensure_utc(r.due_at) if r.due_at is not None else None
            if stored_due is not None and stored_due <= now:
                heavy.add(r.contact_id)
                continue
            last = ensure_utc(r.last) if r.last is not None else None
            stored = r.tiers or []
            due: list[datetime] = [] if stored_due is None else [stored_due]
            verdicts: dict[str, bool] = {}
            if moving:
                facts = {name: stored_fact(r, name, last) for name in reads}
                for tier in moving:
                    verdict = evaluate(tier.rule, facts, now)
                    verdicts[tier.key] = verdict.member
                    if verdict.changes_at is not None:
                        due.append(verdict.changes_at)
            member = [t.key for t in tiers if (verdicts[t.key] if t.key in moved else t.key in stored)]
            if member != list(stored):
                heavy.add(r.contact_id)
                continue
            new_due = min(due) if due else None
            stored_last = ensure_utc(r.last_contact_at) if r.last_contact_at is not None else None
            if last != stored_last or new_due != stored_due:
                updates.append({"b_contact": r.contact_id, "b_last": last, "b_due": new_due, "b_now": now})
        if updates:
            await core_many(s, _MOVE_LAST_CONTACT, updates)
        return heavy

    async def _recompute(
        self, s: AsyncSession, keys: Collection[int], now: datetime, tiers: Sequence[TierLike]
    ) -> None:
        keys = sorted(set(keys))
        if not keys:
            return
        rows = await compute_figures(s, keys, now)
        before: dict[int, set[str]] = {}
        for cid, key in (await core(s, _TIERS_OF, {"ids": keys})).all():
            before.setdefault(int(cid), set()).add(str(key))
        await core(s, _DELETE_TIERS, {"ids": keys})
        await core(s, _DELETE_FIGURES, {"ids": keys})
        memberships: list[dict[str, Any]] = []
        for row in rows:
            member, due = tiers_of(tiers, row.pop("_facts"), now)
            window_due = row.pop("_window_due")
            if window_due is not None:
                due.append(window_due)
            row["tiers"] = member
            row["due_at"] = min(due) if due else None
            row["updated_at"] = now
            memberships += [{"tier": t, "contact_id": row["contact_id"]} for t in member]
        if rows:
            await core_many(s, _INSERT_FIGURES, rows)
        if memberships:
            await core_many(s, _INSERT_TIERS, memberships)
        changed = {
            int(row["contact_id"]): (before.get(int(row["contact_id"]), set()), set(row["tiers"]))
            for row in rows
            if set(row["tiers"]) != before.get(int(row["contact_id"]), set())
        }
        if changed:
            await _tier_events(s, changed, now)


class ActiveTier(NamedTuple):
    """An active tier's key and rule, read once a batch: the light refresh reads both
    for every contact, and an ORM attribute's descriptor cost ~10 calls an event."""

    key: str
    rule: Any


async def _active_tiers(s: AsyncSession) -> list[ActiveTier]:
    return [ActiveTier(key, rule) for key, rule in (await s.exec(_ACTIVE_TIERS)).all()]


class TierLike(Protocol):
    """A tier as evaluated: a Tier row, or the bench loader's rule."""

    @property
    def key(self) -> str: ...

    @property
    def rule(self) -> Any: ...


def tiers_of(
    tiers: Sequence[TierLike], facts: Mapping[str, Any], now: datetime
) -> tuple[list[str], list[datetime]]:
    """The keys of the tiers ``facts`` are in (in the tiers' order), and the moments
    time alone may change one of them (also the bench's bulk loader, bench/crm_data.py)."""
    member: list[str] = []
    changes: list[datetime] = []
    for tier in tiers:
        verdict = evaluate(tier.rule, facts, now)
        if verdict.member:
            member.append(tier.key)
        if verdict.changes_at is not None:
            changes.append(verdict.changes_at)
    return member, changes


async def _tier_events(
    s: AsyncSession, changed: Mapping[int, tuple[set[str], set[str]]], now: datetime
) -> None:
    """One ``contact.tier_changed`` per contact whose tiers changed (contacts gone by a
    merge or an erasure have no row and no event)."""
    open_conv = dict(
        (
            await core(
                s,
                sa.select(_conv.c.contact_id, sa.func.max(_conv.c.id))
                .where(
                    _conv.c.contact_id.in_(list(changed)), _conv.c.status.in_([str(x) for x in OPEN_STATUSES])
                )
                .group_by(_conv.c.contact_id),
            )
        ).all()
    )
    rows = []
    for cid, (old, new) in sorted(changed.items()):
        payload = TierChangedPayload(
            contact_id=cid,
            tiers=sorted(new),
            added=sorted(new - old),
            removed=sorted(old - new),
            conversation_id=open_conv.get(cid),
        )
        rows.append(
            {
                "type": "contact.tier_changed",
                "ts": now,
                "payload": validate_payload("contact.tier_changed", payload),
            }
        )
    await core(s, sa.insert(_events), rows)


async def compute_figures(s: AsyncSession, keys: Sequence[int], now: datetime) -> list[dict[str, Any]]:
    """The figures rows of ``keys`` (live, unmerged contacts only), with the facts tier
    rules see under ``_facts`` and the next window change under ``_window_due``."""
    contacts: dict[int, Any] = {c.id: c for c in (await core(s, _LIVE_CONTACTS, {"ids": list(keys)})).all()}
    if not contacts:
        return []
    ids = {"ids": list(contacts)}
    windows = {f"since_{name}": _since(now, days) for name, days in WINDOWS.items()}
    aggregates = {r.contact_id: r._mapping for r in (await core(s, _AGGREGATES, {**ids, **windows})).all()}
    # Open complaints: the register's, not conversations' resolve-time categories.
    open_complaints = {r.contact_id: int(r.n) for r in (await core(s, _OPEN_COMPLAINTS, ids)).all()}
    per_channel: dict[int, list[tuple[str, int, datetime]]] = {}
    for r in (await core(s, _PER_CHANNEL, {**ids, "since": _since(now, PREFERENCE_DAYS)})).all():
        per_channel.setdefault(r.contact_id, []).append((r.channel, int(r.recent or 0), r.latest))
    last_ids = [a["last_id"] for a in aggregates.values()]
    last: dict[int, Mapping[str, Any]] = {}
    if last_ids:
        for r in (await core(s, _LAST_CONVERSATIONS, {"ids": last_ids})).all():
            last[r.contact_id] = r._mapping
    out = []
    for cid, contact in contacts.items():
        a = aggregates.get(cid)
        channels = per_channel.get(cid, [])
        recent = [ch for ch in channels if ch[1] > 0]
        # Most used lately; a tie goes to the one used last.
        preferred = max(recent, key=lambda ch: (ch[1], _ts(ch[2])))[0] if recent else None
        row: dict[str, Any] = {
            "contact_id": cid,
            "conversations_total": int(a["total"]) if a else 0,
            "first_contact_at": a["first"] if a else None,
            "last_contact_at": a["last"] if a else None,
            "channels": sorted(ch[0] for ch in channels),
            "preferred_channel": preferred,
            "csat_count": int(a["csat_count"]) if a else 0,
            "csat_sum": int(a["csat_sum"]) if a else 0,
            "last_low_csat_at": a["low_csat_at"] if a else None,
            "open_complaints": open_complaints.get(cid, 0),
            "last_conversation_id": last[cid]["id"] if cid in last else None,
            "last_category": last[cid]["category"] if cid in last else None,
            "last_status": last[cid]["status"] if cid in last else None,
        }
        window_due: list[datetime] = []
        for name, days in WINDOWS.items():
            row[name] = int(a[name] or 0) if a else 0
            oldest = a[f"{name}_oldest"] if a else None
            if oldest is not None:
                window_due.append(ensure_utc(oldest) + timedelta(days=days))
        for key in TIME_FACTS:
            if row[key] is not None:
                row[key] = ensure_utc(row[key])
        row["_window_due"] = min(window_due) if window_due else None
        row["_facts"] = facts_of(row, contact)
        out.append(row)
    return out


def stored_fact(row: Any, name: str, last: datetime | None) -> Any:
    """One fact of :func:`facts_of`, read off a :func:`stored_figures` row whose
    ``last_contact_at`` is now ``last``."""
    if name == "last_contact_at":
        return last
    if name in TIME_FACTS:
        value = getattr(row, name)
        return ensure_utc(value) if value is not None else None
    if name == "csat_average":
        return _csat_average(row.csat_count, row.csat_sum)
    if name in _CONTACT_FACTS:
        return _CONTACT_FACTS[name][1](row)
    if name.startswith("field."):
        return (row.attributes or {}).get(name[6:])
    return getattr(row, name) if name in _FIGURE_KEYS else None


def facts_of(figures: Mapping[str, Any], contact: Any) -> dict[str, Any]:
    """What tier rules see of one contact (hub.crm.tiers); ``contact``: anything with
    ``vip``, ``tags``, ``language`` and ``attributes`` (a Contact, or a row of them)."""
    facts: dict[str, Any] = {k: v for k, v in figures.items() if not k.startswith("_")}
    facts["csat_average"] = _csat_average(figures.get("csat_count"), figures.get("csat_sum"))
    facts.update({name: fact(contact) for name, (_, fact) in _CONTACT_FACTS.items()})
    for key, value in (contact.attributes or {}).items():
        facts[f"field.{key}"] = value
    return facts


def _csat_average(count: int | None, total: int | None) -> float | None:
    return (total or 0) / count if count else None


def _ts(value: datetime | None) -> float:
    return ensure_utc(value).timestamp() if value is not None else 0.0
