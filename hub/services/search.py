"""Conversation search: one filter (text and fields) for the search box, saved views
and their counts.

The text is matched word by word, as substrings of normalised text (hub.textnorm:
``اريد`` finds ``أريد``): a conversation matches when *every* word of three characters
or more is in one of its messages (subject or body, notes included: the
``message_search`` index, hub.services.search_index) or in its customer's details
(name, phone in any form, email, organisation, tags, fields: the ``contact_search``
index, hub.crm.search). Each word is one indexed lookup, never a scan of the messages;
shorter words are ignored beside a longer one, and on their own they look in the
customer's details only. Results are what the viewer may see
(hub.services.access.visible_clause), newest activity first, keyset-paged.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import annotated_types as at
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, field_validator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.crm.contact_query import json_list_has
from hub.crm.search import matching_ids, terms
from hub.models import (
    Category,
    ContactSearch,
    Conversation,
    ConversationStatus,
    Message,
    MessageSearch,
    ProjectionCheckpoint,
)
from hub.services.access import Actor, visible_clause
from hub.services.contact_fields import invalid_fields
from hub.textnorm import normalize
from hub.timeutil import ensure_utc

MIN_TERM = 3  # the trigram indexes answer substrings of three characters or more
# A word in at least this many messages and customers (or 1% of the conversations,
# whichever is more) is checked per conversation rather than listed (text_clauses).
COMMON_FROM = 2000
COMMON_SHARE = 100
MAX_PRIORITY = 1000
StrictId = Annotated[int, Strict(), at.Interval(ge=1, le=2**31 - 1)]
ChannelKind = Annotated[str, at.MaxLen(20), Field(pattern=r"^[a-z][a-z0-9_]*$")]
_conv = Conversation.__table__  # type: ignore[attr-defined]
_ms = MessageSearch.__table__  # type: ignore[attr-defined]
_cs = ContactSearch.__table__  # type: ignore[attr-defined]
_checkpoint = ProjectionCheckpoint.__table__  # type: ignore[attr-defined]
# The projections that keep the text indexes (hub.crm.search, hub.services.search_index).
INDEXES = ("message_search", "contact_search")
_INDEXED_THROUGH = sa.select(sa.func.min(_checkpoint.c.position)).where(_checkpoint.c.name.in_(INDEXES))


async def indexed_through(s: AsyncSession) -> int:
    """The event-log position both text indexes have applied: a text search or count
    read after this (in the same session, or later) sees every message and customer
    detail of the events up to it. A console that reacted to a later event asks again
    (docs/console.md, "Search and views"): the indexes are projections, written a few
    hundred milliseconds after the message under load."""
    conn = await s.connection()
    return int((await conn.execute(_INDEXED_THROUGH)).scalar() or 0)


class ConversationFilter(BaseModel):
    """What a search or a saved view selects; every field narrows (AND). Saved views
    store it as JSON (``exclude_defaults``): unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", max_length=200)
    status: list[ConversationStatus] = Field(default_factory=list, max_length=len(ConversationStatus))
    channel: list[ChannelKind] = Field(default_factory=list, max_length=20)
    team_id: list[StrictId] = Field(default_factory=list, max_length=50)
    # "me": the viewer (so a shared view shows each person their own), "unassigned",
    # or a user id.
    assignee: Literal["me", "unassigned"] | StrictId | None = None
    label: str | None = Field(default=None, min_length=1, max_length=100)
    category: list[Category] = Field(default_factory=list, max_length=len(Category))
    priority_min: Annotated[int, Strict()] | None = Field(default=None, ge=-MAX_PRIORITY, le=MAX_PRIORITY)
    priority_max: Annotated[int, Strict()] | None = Field(default=None, ge=-MAX_PRIORITY, le=MAX_PRIORITY)
    created_after: datetime | None = None
    created_before: datetime | None = None
    # Last activity: the last message in or out (Conversation.last_message_at).
    active_after: datetime | None = None
    active_before: datetime | None = None

    @field_validator("q")
    @classmethod
    def _q(cls, v: str) -> str:
        return " ".join(v.split())

    @field_validator("created_after", "created_before", "active_after", "active_before")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else ensure_utc(v)  # a zone-less time is UTC

    @field_validator("status", "channel", "team_id", "category")
    @classmethod
    def _unique(cls, v: list[Any]) -> list[Any]:
        return list(dict.fromkeys(v))

    def is_empty(self) -> bool:
        return self == ConversationFilter()


_RANGES = (
    ("priority_min", "priority_max"),
    ("created_after", "created_before"),
    ("active_after", "active_before"),
)


def parse_filter(raw: Any, *, prefix: str = "") -> ConversationFilter:
    """A filter from JSON (a saved view) or query parameters; 422 naming each field."""
    try:
        f = ConversationFilter.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        problems = [
            (prefix + ".".join(str(p) for p in e["loc"]), "invalid_filter", e["msg"]) for e in exc.errors()
        ]
        raise invalid_fields(problems) from None
    backwards = [
        (prefix + high, "bad_range", f"{high} is before {low}")
        for low, high in _RANGES
        if getattr(f, low) is not None and getattr(f, high) is not None and getattr(f, low) > getattr(f, high)
    ]
    if backwards:
        raise invalid_fields(backwards)
    return f


def stored(f: ConversationFilter) -> dict[str, Any]:
    """The JSON a saved view keeps: only what differs from "everything"."""
    return f.model_dump(mode="json", exclude_defaults=True)


# --- the text ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Words:
    indexed: list[str]  # looked up in messages and customers' details
    short: list[str]  # only when there is nothing longer: customers' details


def words(q: str, region: str | None) -> Words:
    found = terms(q, region)  # the contacts' rule: one phone number, or up to six words
    long = [w for w in found if len(w) >= MIN_TERM]
    return Words(long, [] if long else found)


def _fts(is_sqlite: bool, table: str, pattern: str) -> Any:
    """The rows of ``table`` (message_search or contact_search) whose text has ``pattern``,
    as an index lookup: its FTS5 trigram table's rowids on SQLite, the GIN index on
    PostgreSQL (the planner's choice there)."""
    if is_sqlite:
        fts = sa.table(f"{table}_fts", sa.column("rowid"), sa.column("text"))
        return sa.select(fts.c.rowid).where(fts.c.text.like(pattern))
    t = _ms if table == "message_search" else _cs
    return sa.select(t.c.message_id if table == "message_search" else t.c.contact_id).where(
        t.c.text.like(pattern)
    )


def _listed(term: str, is_sqlite: bool, region: str | None) -> Any:
    """``id IN (…)``: the conversations of the messages with ``term``, and of the
    customers with it, collected from the indexes (a rare word: a few rows)."""
    pattern = f"%{term}%"
    if is_sqlite:
        rowids = _fts(True, "message_search", pattern)
        msgs = sa.select(_ms.c.conversation_id).where(_ms.c.message_id.in_(rowids))
    else:
        msgs = sa.select(_ms.c.conversation_id).where(_ms.c.text.like(pattern))
    contacts = sa.select(_conv.c.id).where(
        _conv.c.contact_id.in_(matching_ids(term, is_sqlite=is_sqlite, default_region=region))
    )
    return _conv.c.id.in_(sa.union_all(msgs, contacts))


def _checked(term: str, is_sqlite: bool) -> Any:
    """``EXISTS``: checked per conversation, through its own messages and its customer (a
    common word: the conversations are read newest first and the first ones match).
    On PostgreSQL ``OFFSET 0`` keeps each check a per-row index probe: the planner would
    otherwise turn it into a hash of every matching message, the very thing avoided."""
    pattern = f"%{term}%"
    checks = []
    for table, key, outer in ((_ms, "conversation_id", _conv.c.id), (_cs, "contact_id", _conv.c.contact_id)):
        probe = sa.select(sa.literal(1)).where(table.c[key] == outer, table.c.text.like(pattern))
        checks.append((probe if is_sqlite else probe.offset(0)).exists())
    return sa.or_(*checks)


async def text_clauses(s: AsyncSession, q: str, *, is_sqlite: bool, region: str | None) -> list[Any]:
    """One condition per word. A word is *listed* from the trigram indexes when it is
    rare — in fewer messages and customers than ``common_from`` — else *checked* per
    conversation: collecting a word that is in every third message would read a third
    of the index before the first result, while checking the newest conversations finds
    a page at once. Counting up to the threshold is itself one bounded index read."""
    w = words(q, region)
    if not w.indexed:
        if not w.short:
            return []
        # One- and two-letter words: no trigram to look up; the customers' details only.
        return [_conv.c.id.in_(_of_contacts(" ".join(w.short), is_sqlite, region))]
    conn = await s.connection()
    top = (await conn.execute(sa.select(sa.func.max(_conv.c.id)))).scalar() or 0
    threshold = max(COMMON_FROM, top // COMMON_SHARE)
    out = []
    for term in w.indexed:
        pattern = f"%{term}%"
        found = 0
        for table in ("message_search", "contact_search"):
            bounded = _fts(is_sqlite, table, pattern).limit(threshold - found).subquery()
            found += (await conn.execute(sa.select(sa.func.count()).select_from(bounded))).scalar_one()
            if found >= threshold:
                break
        out.append(_checked(term, is_sqlite) if found >= threshold else _listed(term, is_sqlite, region))
    return out


def _of_contacts(query: str, is_sqlite: bool, region: str | None) -> Any:
    return sa.select(_conv.c.id).where(
        _conv.c.contact_id.in_(matching_ids(query, is_sqlite=is_sqlite, default_region=region))
    )


# --- the query --------------------------------------------------------------------------


def where_clauses(f: ConversationFilter, actor: Actor, text: Sequence[Any], *, is_sqlite: bool) -> list[Any]:
    """The filter's conditions; ``text``: :func:`text_clauses` of its words."""
    c = _conv.c
    out: list[Any] = [visible_clause(actor)]
    if f.status:
        out.append(c.status.in_([s.value for s in f.status]))
    if f.channel:
        out.append(c.channel.in_(f.channel))
    if f.team_id:
        out.append(c.team_id.in_(f.team_id))
    if f.assignee == "me":
        out.append(c.assignee_id == actor.user_id if actor.user_id is not None else sa.false())
    elif f.assignee == "unassigned":
        out.append(c.assignee_id.is_(None))
    elif f.assignee is not None:
        out.append(c.assignee_id == f.assignee)
    if f.label:
        out.append(json_list_has(c.tags, f.label, is_sqlite))
    if f.category:
        out.append(c.category.in_([x.value for x in f.category]))
    if f.priority_min is not None:
        out.append(c.priority >= f.priority_min)
    if f.priority_max is not None:
        out.append(c.priority <= f.priority_max)
    if f.created_after is not None:
        out.append(c.created_at >= f.created_after)
    if f.created_before is not None:
        out.append(c.created_at < f.created_before)
    if f.active_after is not None:
        out.append(c.last_message_at >= f.active_after)
    if f.active_before is not None:
        out.append(c.last_message_at < f.active_before)
    out.extend(text)
    return out


class BadCursor(ValueError):
    pass


def encode_cursor(conv: Conversation) -> str:
    at = conv.last_message_at.isoformat() if conv.last_message_at is not None else None
    raw = json.dumps([at, conv.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | None, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, conv_id = json.loads(raw)
        if not isinstance(conv_id, int) or isinstance(conv_id, bool) or not 0 < conv_id < 2**31:
            raise ValueError
        return (ensure_utc(datetime.fromisoformat(at)) if at is not None else None), conv_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise BadCursor("the cursor does not belong to this list") from exc


async def page(
    s: AsyncSession,
    f: ConversationFilter,
    actor: Actor,
    *,
    limit: int,
    cursor: str | None,
    is_sqlite: bool,
    region: str | None,
) -> tuple[list[Conversation], str | None]:
    """One page, newest last activity first (ties: newest id), then the conversations
    without any message yet (newest first). Two index-ordered reads, not a sort of
    every match: ``last_message_at`` is indexed, and on SQLite its index ends with the id."""
    text = await text_clauses(s, f.q, is_sqlite=is_sqlite, region=region)
    where = where_clauses(f, actor, text, is_sqlite=is_sqlite)
    at, after_id = decode_cursor(cursor) if cursor else (None, None)
    activity = col(Conversation.last_message_at)
    rows: list[Conversation] = []
    if after_id is None or at is not None:
        stmt = select(Conversation).where(*where, activity.is_not(None))
        if at is not None and after_id is not None:
            stmt = stmt.where(activity <= at, sa.or_(activity < at, col(Conversation.id) < after_id))
        stmt = stmt.order_by(activity.desc(), col(Conversation.id).desc()).limit(limit + 1)
        rows = list((await s.exec(stmt)).all())
        after_id = None  # the second part starts from its top
    if len(rows) <= limit:
        stmt = select(Conversation).where(*where, activity.is_(None))
        if after_id is not None:
            stmt = stmt.where(col(Conversation.id) < after_id)
        stmt = stmt.order_by(col(Conversation.id).desc()).limit(limit + 1 - len(rows))
        rows += list((await s.exec(stmt)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


async def count(
    s: AsyncSession, f: ConversationFilter, actor: Actor, *, cap: int, is_sqlite: bool, region: str | None
) -> int:
    """How many match, counting at most ``cap + 1`` (the sidebar says "999+" rather
    than count a hundred thousand resolved conversations on every change)."""
    text = await text_clauses(s, f.q, is_sqlite=is_sqlite, region=region)
    base = sa.select(_conv.c.id).where(*where_clauses(f, actor, text, is_sqlite=is_sqlite)).limit(cap + 1)
    conn = await s.connection()
    return int((await conn.execute(sa.select(sa.func.count()).select_from(base.subquery()))).scalar_one())


# --- where the words are: a snippet of the best message ------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    message_id: int
    kind: str
    direction: str
    created_at: datetime
    text: str  # an excerpt of the message (subject, then body), whitespace collapsed
    marks: list[tuple[int, int]]  # [start, end) of each word found in ``text``


async def matches(
    s: AsyncSession, conversation_ids: Sequence[int], q: str, region: str | None
) -> dict[int, Match]:
    """For each conversation, the message with the most of the words (the newest on a
    tie), as an excerpt around the first word found: what the result row shows."""
    found = words(q, region).indexed
    if not conversation_ids or not found:
        return {}
    hits = sum((sa.case((_ms.c.text.like(f"%{t}%"), 1), else_=0) for t in found), sa.literal(0)).label("hits")
    scored = (
        sa.select(_ms.c.conversation_id, _ms.c.message_id, hits)
        .where(_ms.c.conversation_id.in_(list(conversation_ids)))
        .subquery()
    )
    conn = await s.connection()
    rows = (
        await conn.execute(
            sa.select(scored.c.conversation_id, scored.c.message_id, scored.c.hits)
            .where(scored.c.hits > 0)
            .order_by(scored.c.hits.desc(), scored.c.message_id.desc())
            .limit(5_000)
        )
    ).all()
    best: dict[int, int] = {}
    for conv_id, message_id, _ in rows:
        best.setdefault(conv_id, message_id)
    if not best:
        return {}
    messages = (await s.exec(select(Message).where(col(Message.id).in_(list(best.values()))))).all()
    out: dict[int, Match] = {}
    for m in messages:
        text = " ".join(f"{m.subject} {m.body}".split())
        excerpt, marks = snippet(text, found)
        out[m.conversation_id] = Match(
            message_id=m.id or 0,
            kind=str(m.kind),
            direction=str(m.direction),
            created_at=m.created_at,
            text=excerpt,
            marks=marks,
        )
    return out


@functools.lru_cache(maxsize=4096)
def _fold(ch: str) -> str:
    return " " if ch.isspace() else normalize(ch)


_WORD_EDGE = re.compile(r"\s")


def snippet(text: str, found: Sequence[str], width: int = 160) -> tuple[str, list[tuple[int, int]]]:
    """An excerpt of ``text`` (at most about ``width`` characters) around the first of
    the normalised words ``found``, and where each word is in it. Positions are in the
    original characters: each is folded alone (hub.textnorm), so a diacritic or a
    tatweel inside a word still lines up."""
    text = text[: 20 * width * 4]
    folded: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for part in _fold(ch):
            folded.append(part)
            origin.append(i)
    flat = "".join(folded)
    spans: list[tuple[int, int]] = []
    for word in found:
        at = flat.find(word)
        while at >= 0:
            spans.append((origin[at], origin[at + len(word) - 1] + 1))
            at = flat.find(word, at + len(word))
    if not spans:
        return text[:width], []
    first, first_end = min(spans)
    start = max(0, first - width // 3)
    if start > 0:  # begin at a word
        edge = _WORD_EDGE.search(text, start, first)
        start = edge.end() if edge else start
    end = min(len(text), max(start + width, first_end))
    if end < len(text):  # end at a word
        cut = text.rfind(" ", first_end, end)
        end = cut if cut >= first_end else end
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    shift = len(prefix) - start
    marks = sorted({(a + shift, b + shift) for a, b in spans if a >= start and b <= end})
    return prefix + text[start:end] + suffix, _disjoint(marks)


def _disjoint(marks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in marks:
        if out and a < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
