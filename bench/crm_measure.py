"""Measurements of bench/crm_bench.py on a loaded database, each against bare SQL run in
the same process on the same database right after (or before: the order rotates per
request, so neither side always gets the other's warm cache).

The hub side goes through the real app: ``create_app`` with the bench's settings, its
lifespan entered, an admin signed in, requests sent by an httpx client over
``ASGITransport`` (no sockets). A thin ASGI wrapper times each request inside the app, so
the client's own share (building and parsing the request in the same event loop) is
reported separately. Bare SQL runs on a plain driver connection of the kind the hub
uses underneath: ``sqlite3`` (which aiosqlite wraps in a thread) or ``asyncpg``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import math
import random
import resource
import sqlite3
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import httpx
import sqlalchemy as sa
from crm_data import ARABIC_FIRST, TAGS, Generator, Person, phone_number
from e2e_common import cpu_seconds, machine_busy_ticks, percentile

from hub.api import routes_contacts
from hub.app import create_app
from hub.config import load_settings
from hub.crm.search import terms
from hub.models import Role
from hub.services import SYSTEM
from hub.services.users import create_user
from hub.textnorm import phone_forms

# The contacts list's count stops there ("10,000+"); the bare count answers the same.
COUNT_CAP: int | None = getattr(routes_contacts, "COUNT_CAP", None)
REGION = "SA"  # national numbers ("050 ...") are Saudi, as for a hub serving Saudi Arabia
ADMIN = "bench-admin@example.com"
PASSWORD = "correct horse battery staple"
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SEGMENTS: list[tuple[str, dict[str, Any]]] = [
    ("all contacts", {}),
    ("tier frequent", {"tier": "frequent"}),
    ("tier at_risk", {"tier": "at_risk"}),
    ("tag wholesale", {"tag": "wholesale"}),
    ("prefers whatsapp", {"preferred_channel": "whatsapp"}),
    ("≥ 2 conversations in 90 days", {"min_conversations_90d": 2}),
    ("used email", {"channel": "email"}),
    ("VIP, Arabic", {"vip": True, "language": "ar"}),
]


# -- timing helpers --------------------------------------------------------------------------


def stats(ms: Sequence[float]) -> dict[str, float]:
    values = sorted(ms)
    if not values:
        return {"n": 0, "p50": math.nan, "p95": math.nan, "p99": math.nan, "max": math.nan}
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": values[-1],
    }


class Usage:
    """CPU of this process and of the PostgreSQL backends, and the whole machine's busy
    share, over a span: shows what the measured figures were limited by."""

    def __init__(self, pg_pids: Callable[[], list[int]] | None) -> None:
        self.pg_pids = pg_pids
        self.result: dict[str, float] = {}

    def __enter__(self) -> Usage:
        self.t0 = time.perf_counter()
        r = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu0 = r.ru_utime + r.ru_stime
        self.pids = self.pg_pids() if self.pg_pids else []
        self.pg0 = sum(cpu_seconds(p) for p in self.pids)
        self.busy0 = machine_busy_ticks()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.t0
        r = resource.getrusage(resource.RUSAGE_SELF)
        busy1 = machine_busy_ticks()
        cores = _cores()
        machine = (busy1[0] - self.busy0[0]) / max(1, busy1[1] - self.busy0[1]) * 100 * cores
        self.result = {
            "wall_s": wall,
            "process_cpu_pct": (r.ru_utime + r.ru_stime - self.cpu0) / wall * 100,
            "pg_cpu_pct": (sum(cpu_seconds(p) for p in self.pids) - self.pg0) / wall * 100,
            "machine_cpu_pct": machine,  # of one core, like the others (2 cores: up to 200)
        }


def _cores() -> int:
    import os

    return os.cpu_count() or 1


class TimedASGI:
    """Wraps the app: how long each HTTP request spent inside it (the server's time)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_ms = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        await self.app(scope, receive, send)
        self.last_ms = (time.perf_counter() - t0) * 1000


# -- bare SQL --------------------------------------------------------------------------------


class Bare(Protocol):
    kind: str

    async def rows(self, sql: str, *args: Any) -> list[Any]: ...
    async def close(self) -> None: ...


class SqliteBare:
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA busy_timeout=30000")

    async def rows(self, sql: str, *args: Any) -> list[Any]:
        return self.db.execute(sql, args).fetchall()

    async def close(self) -> None:
        self.db.close()


class PgBare:
    kind = "postgres"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, url: str) -> PgBare:
        return cls(await asyncpg.connect(url))

    async def rows(self, sql: str, *args: Any) -> list[Any]:
        return list(await self.conn.fetch(sql, *args))

    async def close(self) -> None:
        await self.conn.close()


def _ph(kind: str, n: int) -> str:
    return "?" if kind == "sqlite" else f"${n}"


def search_sql(kind: str, n_terms: int, what: str, cap: int | None = None) -> str:
    """Bare SQL for a search of ``n_terms`` LIKE patterns: ``index`` (any 50 matching ids:
    the index lookup alone), ``page`` (the newest 50 matching contacts, as the list
    shows them) or ``count`` (stopping after ``cap + 1`` matches, like the hub's)."""
    if kind == "sqlite":
        table, key = "contact_search_fts", "rowid"
    else:
        table, key = "contact_search", "contact_id"
    where = " AND ".join(f"text LIKE {_ph(kind, i + 1)}" for i in range(n_terms))
    if what == "index":
        return f"SELECT {key} FROM {table} WHERE {where} LIMIT 50"
    if what == "count" and cap is not None:
        return f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {where} LIMIT {cap + 1}) AS m"
    if what == "count":
        return f"SELECT count(*) FROM {table} WHERE {where}"
    return f"SELECT * FROM contact WHERE id IN (SELECT {key} FROM {table} WHERE {where}) ORDER BY id DESC LIMIT 51"


def segment_sql(kind: str, f: dict[str, Any]) -> tuple[str, list[Any]]:
    """The simplest count for each segment filter the bench uses."""
    p1, p2 = _ph(kind, 1), _ph(kind, 2)
    if not f:
        return "SELECT count(*) FROM contact", []
    if "tier" in f:
        return f"SELECT count(*) FROM contact_tier WHERE tier = {p1}", [f["tier"]]
    if "tag" in f:
        if kind == "sqlite":
            return "SELECT count(*) FROM contact, json_each(contact.tags) WHERE json_each.value = ?", [
                f["tag"]
            ]
        return "SELECT count(*) FROM contact WHERE tags::jsonb ? $1", [f["tag"]]
    if "preferred_channel" in f:
        return f"SELECT count(*) FROM contact_figures WHERE preferred_channel = {p1}", [
            f["preferred_channel"]
        ]
    if "min_conversations_90d" in f:
        return f"SELECT count(*) FROM contact_figures WHERE conversations_90d >= {p1}", [
            f["min_conversations_90d"]
        ]
    if "channel" in f:
        if kind == "sqlite":
            return (
                "SELECT count(*) FROM contact_figures, json_each(contact_figures.channels) WHERE json_each.value = ?",
                [f["channel"]],
            )
        return "SELECT count(*) FROM contact_figures WHERE channels::jsonb ? $1", [f["channel"]]
    if "vip" in f:
        return f"SELECT count(*) FROM contact WHERE vip = {p1} AND language = {p2}", [f["vip"], f["language"]]
    raise ValueError(f"no bare SQL for {f}")


# -- the app ---------------------------------------------------------------------------------


@dataclass
class Session:
    backend: str
    app: Any
    hub: Any
    timed: TimedASGI
    client: httpx.AsyncClient
    headers: dict[str, str]
    bare: Bare
    pg_pids: Callable[[], list[int]] | None
    captured: list[tuple[str, Any]] = field(default_factory=list)
    capturing: bool = False

    async def get(self, path: str, **params: Any) -> tuple[float, float, Any]:
        """(total ms, server ms, JSON body) of one GET."""
        t0 = time.perf_counter()
        r = await self.client.get(path, params=params or None)
        total = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"GET {path} {params}: {r.status_code} {r.text[:300]}")
        return total, self.timed.last_ms, r.json()

    async def bare_ms(self, sql: str, *args: Any) -> tuple[float, list[Any]]:
        t0 = time.perf_counter()
        rows = await self.bare.rows(sql, *args)
        return (time.perf_counter() - t0) * 1000, rows


@contextlib.asynccontextmanager
async def session(
    backend: str, url: str, data_dir: Path, bare: Bare, pg_pids: Callable[[], list[int]] | None
) -> AsyncIterator[Session]:
    settings = load_settings(
        None,
        database_url=url,
        data_dir=str(data_dir),
        default_phone_region=REGION,
        log_level="WARNING",
        channels={},
    )
    app = create_app(settings, run_outbox_worker=False, run_routing=False)
    async with app.router.lifespan_context(app):
        hub = app.state.hub
        await create_user(hub, SYSTEM, email=ADMIN, name="Bench admin", role=Role.admin, password=PASSWORD)
        timed = TimedASGI(app)
        transport = httpx.ASGITransport(app=timed)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
            r = await client.post("/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD})
            r.raise_for_status()
            s = Session(
                backend, app, hub, timed, client, {"x-csrf-token": r.json()["csrf_token"]}, bare, pg_pids
            )
            _listen(s)
            yield s


def _listen(s: Session) -> None:
    """Keep the SQL the hub runs while ``s.capturing`` (for EXPLAIN)."""

    def before(_conn: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if s.capturing:
            s.captured.append((statement, params))

    sa.event.listen(s.hub.db.engine.sync_engine, "before_cursor_execute", before)


async def rotate(i: int, steps: Sequence[Callable[[], Awaitable[None]]]) -> None:
    """Run ``steps`` starting from a different one each time: no path always goes first."""
    for k in range(len(steps)):
        await steps[(i + k) % len(steps)]()


# -- search ----------------------------------------------------------------------------------


@dataclass
class Query:
    kind: str  # the query class
    text: str
    target: int | None  # a contact this query must find (None: many match)


def other_form(word: str) -> str:
    """The same Arabic word as another writer would type it: hamza forms, taa marbuta
    and alef maqsura swapped (what hub.textnorm folds)."""
    for a in "أإآ":
        if a in word:
            return word.replace(a, "ا")
    if word.startswith("ا"):
        return "أ" + word[1:]
    if word.startswith("ال") and len(word) > 2 and word[2] == "ا":
        return "الأ" + word[3:]
    for a, b in (("ة", "ه"), ("ه", "ة"), ("ى", "ي"), ("ي", "ى")):
        if word.endswith(a):
            return word[: -len(a)] + b
    return word


def _arabic_query(rng: random.Random, p: Person) -> Query:
    words = p.name.split(" ")
    if rng.random() < 0.5 or len(words) < 2:
        # a first name alone, in another spelling than one it is stored in
        forms = next(f for t, f in ARABIC_FIRST if t == p.first)
        if len(forms) == 1:
            forms = rng.choice([f for _, f in ARABIC_FIRST if len(f) > 1])
        return Query("arabic name", other_form(rng.choice(forms)), None)
    return Query("arabic name", " ".join(other_form(w) for w in (words[0], words[-1])), p.id)


def _phone_query(rng: random.Random, p: Person) -> Query:
    phone = next(i.address for i in p.identities if i.kind == "phone")
    national = phone_forms(phone)[-1]
    shape = rng.random()
    if shape < 0.4:
        text = national[:7]  # typed from the start, stopped early
    elif shape < 0.7:
        text = national[-7:]  # the last digits the customer reads out
    elif phone.startswith("+966"):
        text = f"{national[:3]} {national[3:6]} {national[6:]}"  # a whole Saudi number
    else:
        # A whole foreign number is typed internationally: in national form the hub
        # reads it as a Saudi one (default_phone_region), as a Saudi agent would.
        text = f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    if rng.random() < 0.7:
        text = text.translate(ARABIC_INDIC)
    return Query("phone (national, partial)", text, p.id)


def _email_query(rng: random.Random, p: Person) -> Query:
    email = next(i.address for i in p.identities if i.kind == "email")
    local, domain = email.split("@")
    shape = rng.random()
    if shape < 0.4:
        return Query("email fragment", local.rstrip("0123456789"), None)  # name part
    if (
        shape < 0.7
        and "." in domain
        and not domain.startswith(("gmail", "hotmail", "outlook", "yahoo", "icloud"))
    ):
        return Query("email fragment", domain.split(".")[0], None)  # a company's domain
    return Query("email fragment", local, p.id)


def _latin_query(rng: random.Random, p: Person) -> Query:
    first, _, family = p.name.partition(" ")
    if rng.random() < 0.5:
        return Query("latin name", f"{first.lower()} {family[:3].lower()}", None)
    return Query("latin name", p.name, None)


def search_queries(sample: Sequence[Person], n: int, seed: int) -> list[Query]:
    """``n`` queries, as many of each class, from the people kept while generating."""
    rng = random.Random(seed)
    pools: dict[str, tuple[Callable[[random.Random, Person], Query], list[Person]]] = {
        "arabic": (_arabic_query, [p for p in sample if p.arabic and p.name]),
        "phone": (_phone_query, [p for p in sample if any(i.kind == "phone" for i in p.identities)]),
        "email": (_email_query, [p for p in sample if any(i.kind == "email" for i in p.identities)]),
        "latin": (_latin_query, [p for p in sample if not p.arabic and p.name]),
    }
    out: list[Query] = []
    per = n // 5
    for make, people in pools.values():
        out += [make(rng, rng.choice(people)) for _ in range(per)]
    tags = list(TAGS)
    out += [Query("tag", rng.choice(tags), None) for _ in range(n - len(out))]
    rng.shuffle(out)
    return out


@dataclass
class SearchResult:
    by_path: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # path -> (class, ms)
    client_ms: list[float] = field(default_factory=list)
    matches: dict[str, list[int]] = field(default_factory=dict)
    found: dict[str, list[bool]] = field(default_factory=dict)
    mismatched_counts: list[str] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)
    exact: dict[tuple[str, ...], int] = field(default_factory=dict)  # patterns -> matches

    def add(self, path: str, kind: str, ms: float) -> None:
        self.by_path.setdefault(path, []).append((kind, ms))


async def measure_search(s: Session, queries: Sequence[Query]) -> SearchResult:
    out = SearchResult()
    for q in queries[:10]:  # warm-up: connections, statement caches
        await s.get("/api/v1/contacts", q=q.text, limit=50, count="true")
    with Usage(s.pg_pids) as usage:
        for i, q in enumerate(queries):
            await _one_search(s, q, i, out)
    out.usage = usage.result
    return out


async def _one_search(s: Session, q: Query, i: int, out: SearchResult) -> None:
    found = terms(q.text, REGION)
    patterns = [f"%{t}%" for t in found]
    kind = s.bare.kind
    got: dict[str, Any] = {}

    async def ui() -> None:  # what the contacts page sends for a new search
        total, server, body = await s.get("/api/v1/contacts", q=q.text, limit=50, count="true")
        out.add("hub: list + count (the UI's request)", q.kind, total)
        out.client_ms.append(total - server)
        got["ui"] = body

    async def listing() -> None:
        total, server, _ = await s.get("/api/v1/contacts", q=q.text, limit=50)
        out.add("hub: list only", q.kind, total)
        out.client_ms.append(total - server)

    async def bare_index() -> None:
        ms, _ = await s.bare_ms(search_sql(kind, len(patterns), "index"), *patterns)
        out.add("bare: index lookup, any 50", q.kind, ms)

    async def bare_page() -> None:
        ms, rows = await s.bare_ms(search_sql(kind, len(patterns), "page"), *patterns)
        ids = [r[0] for r in rows[:50]]
        ms2 = await _bare_details(s, ids)
        got["page_ms"] = ms + ms2
        out.add("bare: newest 50 + identities + figures", q.kind, ms + ms2)

    async def bare_count() -> None:
        ms, rows = await s.bare_ms(search_sql(kind, len(patterns), "count", COUNT_CAP), *patterns)
        got["count"] = rows[0][0]
        got["count_ms"] = ms

    await rotate(i, [ui, listing, bare_index, bare_page, bare_count])
    out.add("bare: newest 50 + details + count", q.kind, got["page_ms"] + got["count_ms"])
    _check_count(q, got, out)
    total = got["ui"]["total"]
    key = tuple(patterns)
    if key not in out.exact:  # every match, counted once per distinct query, not timed
        out.exact[key] = (await s.bare.rows(search_sql(kind, len(patterns), "count"), *patterns))[0][0]
    out.matches.setdefault(q.kind, []).append(out.exact[key])
    if q.target is not None and total <= 50:
        out.found.setdefault(q.kind, []).append(q.target in {c["id"] for c in got["ui"]["items"]})


def _check_count(q: Query, got: dict[str, Any], out: SearchResult) -> None:
    """The hub's total (at most COUNT_CAP, with total_capped above it) against bare SQL."""
    hub, bare = got["ui"]["total"], got["count"]
    capped = bool(got["ui"].get("total_capped"))
    want = bare if COUNT_CAP is None else min(bare, COUNT_CAP)
    if hub != want or capped != (COUNT_CAP is not None and bare > COUNT_CAP):
        out.mismatched_counts.append(f"{q.text!r}: hub {hub} (capped {capped}), bare {bare}")


async def _bare_details(s: Session, ids: list[int]) -> float:
    """Identities and figures of a page's contacts, as the list shows them."""
    if not ids:
        return 0.0
    if s.bare.kind == "sqlite":
        marks = ",".join("?" * len(ids))
        a, _ = await s.bare_ms(f"SELECT * FROM identity WHERE contact_id IN ({marks})", *ids)
        b, _ = await s.bare_ms(f"SELECT * FROM contact_figures WHERE contact_id IN ({marks})", *ids)
    else:
        a, _ = await s.bare_ms("SELECT * FROM identity WHERE contact_id = ANY($1::int[])", ids)
        b, _ = await s.bare_ms("SELECT * FROM contact_figures WHERE contact_id = ANY($1::int[])", ids)
    return a + b


# -- segments --------------------------------------------------------------------------------


@dataclass
class SegmentResult:
    name: str
    filter: dict[str, Any]
    count: int
    bare_count: int
    hub_ms: list[float]
    bare_ms: list[float]
    bare_sql: str


async def measure_segments(
    s: Session, reps: int
) -> tuple[list[SegmentResult], list[float], dict[str, float]]:
    """Each segment's GET (it counts the members) ``reps`` times against its bare count;
    then GET /segments, which counts every segment (the contacts page loads it)."""
    ids = []
    for name, f in SEGMENTS:
        r = await s.client.post("/api/v1/segments", json={"name": name, "filter": f}, headers=s.headers)
        if r.status_code != 201:
            raise RuntimeError(f"segment {name}: {r.status_code} {r.text[:300]}")
        ids.append(r.json()["id"])
    out: list[SegmentResult] = []
    with Usage(s.pg_pids) as usage:
        for (name, f), seg_id in zip(SEGMENTS, ids, strict=True):
            out.append(await _one_segment(s, name, f, seg_id, reps))
        listing = [(await s.get("/api/v1/segments"))[0] for _ in range(reps)]
    return out, listing, usage.result


async def _one_segment(s: Session, name: str, f: dict[str, Any], seg_id: int, reps: int) -> SegmentResult:
    sql, args = segment_sql(s.bare.kind, f)
    res = SegmentResult(name, f, -1, -2, [], [], sql)

    async def hub() -> None:
        total, _, body = await s.get(f"/api/v1/segments/{seg_id}")
        res.hub_ms.append(total)
        res.count = body["count"]

    async def bare() -> None:
        ms, rows = await s.bare_ms(sql, *args)
        res.bare_ms.append(ms)
        res.bare_count = rows[0][0]

    for i in range(reps):
        await rotate(i, [hub, bare])
    return res


# -- profiles --------------------------------------------------------------------------------


@dataclass
class ProfileResult:
    hub_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    bare_ms: list[float] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)


async def measure_profiles(s: Session, contacts: int, n: int, seed: int) -> ProfileResult:
    rng = random.Random(seed)
    ids = [rng.randrange(1, contacts + 1) for _ in range(n)]
    out = ProfileResult()
    p = [_ph(s.bare.kind, 1)] * 3
    bare_sql = [
        f"SELECT * FROM contact WHERE id = {p[0]}",
        f"SELECT * FROM identity WHERE contact_id = {p[1]} ORDER BY id",
        f"SELECT * FROM contact_figures WHERE contact_id = {p[2]}",
    ]
    with Usage(s.pg_pids) as usage:
        for i, cid in enumerate(ids):

            async def hub(cid: int = cid) -> None:
                total, server, _ = await s.get(f"/api/v1/contacts/{cid}")
                out.hub_ms.append(total)
                out.client_ms.append(total - server)

            async def bare(cid: int = cid) -> None:
                out.bare_ms.append(sum([(await s.bare_ms(sql, cid))[0] for sql in bare_sql]))

            await rotate(i, [hub, bare])
    out.usage = usage.result
    return out


async def healthz_floor(s: Session, n: int) -> dict[str, float]:
    """GET /healthz (one SELECT 1 through the hub's stack): the floor of any request."""
    ms = [(await s.get("/healthz"))[0] for _ in range(n)]
    return stats(ms)


# -- CSV import ------------------------------------------------------------------------------


@dataclass
class ImportRow:
    cells: dict[str, str]
    phone: str | None  # E.164, what the hub stores (for the bare insert)
    email: str | None
    expect: str  # created, updated, matched, skipped


def import_rows(gen: Generator, rows: int, seed: int) -> list[ImportRow]:
    """A file as a CRM export would give it: 60% new people, 25% known ones (by phone, in
    any writing) with a new tag, 10% known by email with nothing new, 4% known by phone
    with the same name, 1% with an impossible phone number."""
    rng = random.Random(seed)
    people = list(gen.sample)
    rng.shuffle(people)
    # Known people by phone come from the front, by email from the back: no one twice.
    half = len(people) * 3 // 4
    by_phone = [p for p in people[:half] if any(i.kind == "phone" for i in p.identities)]
    by_email = [p for p in people[half:] if any(i.kind == "email" for i in p.identities)]
    out: list[ImportRow] = []
    for j in range(rows):
        r = rng.random()
        if r < 0.85 and r >= 0.60 and by_phone:
            out.append(_known_row(by_phone.pop(), rng, "updated", tags="import-2026"))
        elif 0.85 <= r < 0.95 and by_email:
            p = by_email.pop()
            email = next(i.address for i in p.identities if i.kind == "email")
            out.append(ImportRow({"email": email.upper()}, None, email, "matched"))
        elif 0.95 <= r < 0.99 and by_phone:
            out.append(_known_row(by_phone.pop(), rng, "matched", name=True))
        elif r >= 0.99:
            out.append(ImportRow({"name": "Bad Number", "phone": "12345"}, None, None, "skipped"))
        else:  # new, and whatever the pools of known people ran out of
            out.append(_new_row(gen, gen.n + 1 + j, rng))
    return out


def _written(phone: str, rng: random.Random) -> str:
    """A stored E.164 number as people type it: national with spaces for Saudi ones,
    international with spaces otherwise, sometimes in Arabic-Indic digits."""
    national = phone_forms(phone)[-1]
    if phone.startswith("+966"):
        text = f"{national[:3]} {national[3:6]} {national[6:]}"
    else:
        text = f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    return text.translate(ARABIC_INDIC) if rng.random() < 0.2 else text


def _new_row(gen: Generator, cid: int, rng: random.Random) -> ImportRow:
    p = gen.person(cid)
    phone = phone_number(cid)
    email = next((i.address for i in p.identities if i.kind == "email"), None)
    cells = {
        "name": p.name,
        "phone": _written(phone, rng),
        "email": email or "",
        "tags": "|".join(p.tags),
        "language": p.language or "",
        "vip": "yes" if p.vip else "",
        "plan": str(p.attributes.get("plan", "")),
    }
    return ImportRow(cells, phone, email, "created")


def _known_row(
    p: Person, rng: random.Random, expect: str, *, tags: str = "", name: bool = False
) -> ImportRow:
    phone = next(i.address for i in p.identities if i.kind == "phone")
    cells = {"phone": _written(phone, rng), "tags": tags}
    if name:
        cells["name"] = p.name
    return ImportRow(cells, phone, None, expect)


def csv_text(rows: Sequence[ImportRow]) -> str:
    buf = io.StringIO()
    cols = ["name", "phone", "email", "tags", "language", "vip", "plan"]
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.cells.get(c, "") for c in cols})
    return buf.getvalue()


@dataclass
class ImportResult:
    rows: int
    expected: dict[str, int]
    dry: dict[str, Any]
    real: dict[str, Any]
    dry_s: float
    real_s: float
    catch_up_s: float
    events: int
    searchable: bool
    bare_s: float
    usage_dry: dict[str, float]
    usage_real: dict[str, float]
    hub_errors: list[str]  # what the importer logged when a job failed


class ImporterLog(logging.Handler):
    """Keeps the importer's error (the first line of its exception) for the report,
    instead of the hub's log printing every bound parameter of a failed statement."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        first = str(exc).splitlines()[0] if exc is not None else record.getMessage()
        self.errors.append(f"{type(exc).__name__ if exc else 'error'}: {first[:300]}")


async def measure_import(s: Session, rows: list[ImportRow]) -> ImportResult:
    body = csv_text(rows).encode()
    expected: dict[str, int] = {}
    for r in rows:
        expected[r.expect] = expected.get(r.expect, 0) + 1
    logger = logging.getLogger("hub.crm.importer")
    captured = ImporterLog()
    logger.addHandler(captured)
    logger.propagate = False
    try:
        return await _import_steps(s, rows, body, expected, captured)
    finally:
        logger.removeHandler(captured)
        logger.propagate = True


async def _import_steps(
    s: Session, rows: list[ImportRow], body: bytes, expected: dict[str, int], log: ImporterLog
) -> ImportResult:
    with Usage(s.pg_pids) as u_dry:
        t0 = time.perf_counter()
        dry = await _import_job(s, "/api/v1/contacts/imports", content=body)
        dry_s = time.perf_counter() - t0
    with Usage(s.pg_pids) as u_real:
        t0 = time.perf_counter()
        real = dry  # a failed dry run cannot be run for real
        if dry["status"] == "done":
            real = await _import_job(s, f"/api/v1/contacts/imports/{dry['id']}/run")
        real_s = time.perf_counter() - t0
    # Imported contacts are found by search once the projections have applied the
    # import's events (the runner is woken when the import ends).
    t0 = time.perf_counter()
    events = await s.hub.projections.catch_up()
    catch_up_s = time.perf_counter() - t0
    searchable = await _new_contact_found(s, rows)
    bare_s = await bare_insert(s, rows)
    return ImportResult(
        len(rows), expected, dry, real, dry_s, real_s, catch_up_s, events, searchable, bare_s,
        u_dry.result, u_real.result, log.errors,
    )  # fmt: skip


async def _import_job(s: Session, path: str, content: bytes | None = None) -> dict[str, Any]:
    headers = dict(s.headers)
    if content is not None:
        headers["content-type"] = "text/csv"
    r = await s.client.post(path, content=content, params={"filename": "bench.csv"}, headers=headers)
    if r.status_code != 202:
        raise RuntimeError(f"POST {path}: {r.status_code} {r.text[:300]}")
    job_id = r.json()["id"]
    await s.hub.imports.wait(job_id)
    body: dict[str, Any] = (await s.get(f"/api/v1/contacts/imports/{job_id}"))[2]
    # A failed job is a result too: its rows and file-level error are reported.
    body["file_errors"] = [e for e in body["errors"] if e.get("field") == "file"]
    return body


async def _new_contact_found(s: Session, rows: Sequence[ImportRow]) -> bool:
    """The first new contact of the file is found by its phone number."""
    new = next(r for r in rows if r.expect == "created")
    assert new.phone is not None
    _, _, body = await s.get("/api/v1/contacts", q=phone_forms(new.phone)[-1], limit=5)
    return len(body["items"]) == 1


async def bare_insert(s: Session, rows: Sequence[ImportRow]) -> float:
    """The floor: the same rows inserted as new contacts with their identities, 500 per
    transaction like the importer's batches, no matching. Other identity kinds keep
    them clear of the unique (kind, address) the import just filled."""
    good = [r for r in rows if r.phone or r.email]
    batches = [good[i : i + 500] for i in range(0, len(good), 500)]
    if s.bare.kind == "sqlite":
        assert isinstance(s.bare, SqliteBare)
        return _bare_insert_sqlite(s.bare.db, batches)
    assert isinstance(s.bare, PgBare)
    return await _bare_insert_pg(s.bare.conn, batches)


def _contact_values(r: ImportRow) -> tuple[Any, ...]:
    c = r.cells
    return (c.get("name", ""), c.get("language") or None, c.get("vip") == "yes", "[]", "{}", "")


def _bare_insert_sqlite(db: sqlite3.Connection, batches: list[list[ImportRow]]) -> float:
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # the hub's durability
    now = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())
    t0 = time.perf_counter()
    next_id = db.execute("SELECT max(id) FROM contact").fetchone()[0] + 1
    for batch in batches:
        ids = range(next_id, next_id + len(batch))
        next_id += len(batch)
        db.executemany(
            "INSERT INTO contact (id, name, language, vip, tags, attributes, notes, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(cid, *_contact_values(r), now, now) for cid, r in zip(ids, batch, strict=True)],
        )
        db.executemany(
            "INSERT INTO identity (contact_id, kind, address, created_at) VALUES (?, ?, ?, ?)",
            _identity_values(ids, batch, now),
        )
        db.commit()
    return time.perf_counter() - t0


async def _bare_insert_pg(conn: asyncpg.Connection, batches: list[list[ImportRow]]) -> float:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    t0 = time.perf_counter()
    next_id = (await conn.fetchval("SELECT max(id) FROM contact")) + 1
    for batch in batches:
        ids = range(next_id, next_id + len(batch))
        next_id += len(batch)
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO contact (id, name, language, vip, tags, attributes, notes, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                [(cid, *_contact_values(r), now, now) for cid, r in zip(ids, batch, strict=True)],
            )
            await conn.executemany(
                "INSERT INTO identity (contact_id, kind, address, created_at) VALUES ($1, $2, $3, $4)",
                _identity_values(ids, batch, now),
            )
    elapsed = time.perf_counter() - t0
    await conn.execute(
        "SELECT setval(pg_get_serial_sequence('contact', 'id'), (SELECT max(id) FROM contact))"
    )
    return elapsed


def _identity_values(ids: range, batch: Sequence[ImportRow], now: Any) -> list[tuple[Any, ...]]:
    out = []
    for cid, r in zip(ids, batch, strict=True):
        if r.phone:
            out.append((cid, "bare-phone", r.phone, now))
        if r.email:
            out.append((cid, "bare-email", r.email, now))
    return out


# -- plans -----------------------------------------------------------------------------------


async def explain(s: Session, path: str, **params: Any) -> list[tuple[str, str]]:
    """(SQL, plan) of each statement the hub ran for one request, explained with the
    same parameters on the bare connection."""
    s.captured.clear()
    s.capturing = True
    try:
        await s.get(path, **params)
    finally:
        s.capturing = False
    out = []
    for statement, args in s.captured:
        # the list and count queries (the page's identities and figures are key lookups)
        if "FROM contact " not in statement or not ("LIMIT" in statement or "count(" in statement):
            continue
        if s.bare.kind == "sqlite":
            rows = await s.bare.rows(f"EXPLAIN QUERY PLAN {statement}", *(args or ()))
            plan = "\n".join(f"{'  ' * _depth(rows, r)}{r[3]}" for r in rows)
        else:
            rows = await s.bare.rows(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *(args or ()))
            plan = "\n".join(r[0] for r in rows)
        out.append((statement, plan))
    return out


def _depth(rows: list[Any], row: Any) -> int:
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan
