"""Conversation search and saved-view counts at scale, on SQLite and PostgreSQL.

1. A synthetic hub is generated and bulk-loaded: N conversations over a year (5 teams,
   most resolved), ~M messages each in English and Arabic (hamza forms mixed as people
   type them), one unique order reference per conversation, and the rows the search
   projections keep (``message_search`` with hub.services.search_index.message_text,
   ``contact_search``), with every projection's checkpoint caught up.
2. The projection's own throughput is measured: re-indexing 20,000 messages in its
   500-message batches, as after an upgrade.
3. The real app answers (create_app, httpx over ASGITransport) as an agent of one team
   and as an admin: searches of a rare reference, a common Arabic word typed without
   its hamza, two words, a customer's name, a very common word, words with filters,
   filters alone, a second page, and ``GET /views`` with five views' counts.

    python bench/search_bench.py --quick          # 20,000 conversations, ~200,000 messages
    python bench/search_bench.py                  # 200,000 conversations, ~2,000,000 messages
    python bench/search_bench.py --backends sqlite --conversations 500000

Figures are printed as a Markdown table (p50 / p95 / max in ms over the repeats).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.app import build_projections, create_app
from hub.auth import hash_password
from hub.config import load_settings
from hub.db import migrate
from hub.models import Contact, Conversation, Message
from hub.services.batch_rows import column_defaults
from hub.services.search_index import MessageSearchProjection, message_text
from hub.textnorm import normalize

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "correct horse battery staple"
TEAMS = 5
AGENTS = {t: [2 if (t, k) == (1, 0) else 10 + (t - 1) * 8 + k for k in range(8)] for t in range(1, TEAMS + 1)}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OPEN = ("queued", "assigned", "waiting_on_customer", "snoozed")
FIRST = [
    "Layla",
    "Omar",
    "Sara",
    "John",
    "Maria",
    "Ahmed",
    "ليلى",
    "أحمد",
    "إبراهيم",
    "فاطمة",
    "نورة",
    "خالد",
]
FAMILY = ["Haddad", "Smith", "Nasser", "Carter", "العتيبي", "الشمري", "القحطاني", "الحربي"]
EN = (
    "hello thanks please order parcel delivery refund invoice payment account password reset late broken "
    "address tracking courier store warranty replace cancel subscription the and my is it was not yet"
).split()
AR = (
    "أريد اريد إلغاء الغاء الطلب طلبي استرداد المبلغ الفاتورة الفاتوره التوصيل شكرا مرحبا السلام عليكم "
    "متى يصل المندوب العنوان الدفع بطاقة مشكلة ضمان استبدال"
).split()


# --- the data set -------------------------------------------------------------------------


def _sentence(rng: random.Random, arabic: bool) -> str:
    words = AR if arabic else EN
    return " ".join(rng.choice(words) for _ in range(rng.randint(6, 18)))


def generate(conversations: int, per: int, seed: int = 7) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) in insertion order; ids are explicit."""
    rng = random.Random(seed)
    contacts = max(1, conversations // 2)
    for cid in range(1, contacts + 1):
        name = f"{rng.choice(FIRST)} {rng.choice(FAMILY)}"
        yield "contact", {"id": cid, "name": name, "created_at": NOW - timedelta(days=400)}
        yield "contact_search", {"contact_id": cid, "text": normalize(name)}
    mid = 0
    for conv in range(1, conversations + 1):
        created = NOW - timedelta(seconds=rng.randint(0, 365 * 86400))
        n = max(1, int(rng.expovariate(1 / per)) + 1)
        last = created + timedelta(seconds=180 * (n - 1))
        status = rng.choice(OPEN) if rng.random() < 0.15 else "resolved"
        team = 1 + conv % TEAMS
        # Eight agents per team; the measured agent (id 2) is one of team 1's.
        assignee = None if status == "queued" else rng.choice(AGENTS[team])
        yield "conversation", {
            "id": conv, "contact_id": 1 + conv % contacts, "channel": rng.choice(["whatsapp", "email", "sms"]),
            "thread_key": f"t{conv}", "status": status, "team_id": team, "assignee_id": assignee, "created_at": created,
            "updated_at": last, "last_message_at": last, "priority": rng.choice([0, 0, 0, 5]),
            "resolved_at": last if status == "resolved" else None,
        }  # fmt: skip
        arabic = rng.random() < 0.5
        for k in range(n):
            mid += 1
            body = _sentence(rng, arabic)
            if k == 0:
                body += f" ORD-{conv:07d}"  # each conversation's own reference
            inbound = k % 2 == 0
            yield "message", {
                "id": mid, "conversation_id": conv, "channel": "whatsapp",
                "direction": "inbound" if inbound else "outbound", "author_type": "contact" if inbound else "agent",
                "body": body, "provider_message_id": f"b{mid}", "delivery_status": "received" if inbound else "sent",
                "created_at": created + timedelta(seconds=180 * k),
            }  # fmt: skip
            yield (
                "message_search",
                {"message_id": mid, "conversation_id": conv, "text": message_text("", body)},
            )


DEFAULTS = {"contact": column_defaults(Contact), "conversation": column_defaults(Conversation),
            "message": column_defaults(Message)}  # fmt: skip


def full_row(table: str, row: dict[str, Any]) -> dict[str, Any]:
    return {**DEFAULTS.get(table, {}), **row}


def encode(value: Any, sqlite: bool) -> Any:
    if isinstance(value, datetime):
        return (
            value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            if sqlite
            else value
        )
    if isinstance(value, dict | list):
        return json.dumps(value)
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def insert(conn: Any, table: str, rows: list[dict[str, Any]], sqlite: bool) -> None:
    cols = list(rows[0])
    values = [[encode(r[c], sqlite) for c in cols] for r in rows]
    names = ", ".join(f'"{c}"' for c in cols)
    if sqlite:
        conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({",".join("?" * len(cols))})', values)
        return
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for v in values:
            copy.write_row(v)


def seed_people(conn: Any, sqlite: bool) -> None:
    """Teams, an admin, an agent and a supervisor of team 1, another agent, and every
    projection's checkpoint caught up (nothing to rebuild while measuring)."""
    from types import SimpleNamespace

    from hub.models import ProjectionCheckpoint, Team, TeamMember, User

    hashed = hash_password(PASSWORD)
    team, user = column_defaults(Team), column_defaults(User)
    insert(conn, "team", [{**team, "id": i, "name": f"team-{i}"} for i in range(1, TEAMS + 1)], sqlite)
    people = [(1, "admin@bench.test", "admin"), (2, "agent@bench.test", "agent"),
              (3, "lead@bench.test", "supervisor")]  # fmt: skip
    people += [
        (uid, f"agent{uid}@bench.test", "agent") for team in AGENTS.values() for uid in team if uid != 2
    ]
    insert(conn, "user", [{**user, "id": uid, "email": email, "name": email.split("@")[0], "role": role,
                           "password_hash": hashed} for uid, email, role in people], sqlite)  # fmt: skip
    members = [{"team_id": t, "user_id": u} for t, team in AGENTS.items() for u in team] + [
        {"team_id": 1, "user_id": 3}
    ]
    insert(conn, TeamMember.__tablename__, members, sqlite)  # type: ignore[arg-type]
    names = build_projections(SimpleNamespace(db=SimpleNamespace(is_sqlite=sqlite))).projections  # type: ignore[arg-type]
    insert(conn, ProjectionCheckpoint.__tablename__,  # type: ignore[arg-type]
           [{"name": n, "position": 0, "gaps": {}, "rebuild_cursor": None, "updated_at": NOW} for n in names], sqlite)  # fmt: skip


def load_sqlite(path: Path, conversations: int, per: int) -> dict[str, float]:
    migrate(f"sqlite:///{path}")
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-524288", "temp_store=MEMORY"):
        db.execute(f"PRAGMA {pragma}")
    # The FTS5 indexes are built in one pass at the end (their insert triggers come back).
    triggers = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='trigger' AND name IN ('message_search_ai','contact_search_ai')"
    ).fetchall()
    for name, _ in triggers:
        db.execute(f"DROP TRIGGER {name}")
    t0 = time.perf_counter()
    db.execute("BEGIN")
    seed_people(db, True)
    count = _write(db, conversations, per, True)
    db.execute("COMMIT")
    rows_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    db.execute("INSERT INTO message_search_fts(message_search_fts) VALUES ('rebuild')")
    db.execute("INSERT INTO contact_search_fts(contact_search_fts) VALUES ('rebuild')")
    for _, sql in triggers:
        db.execute(sql)
    db.execute("ANALYZE")
    fts_s = time.perf_counter() - t0
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    return {"messages": count, "load rows s": rows_s, "FTS + ANALYZE s": fts_s}


def _write(conn: Any, conversations: int, per: int, sqlite: bool) -> int:
    batch: dict[str, list[dict[str, Any]]] = {}
    messages = 0
    order = ["contact", "contact_search", "conversation", "message", "message_search"]

    def flush() -> None:
        for table in order:
            rows = batch.pop(table, [])
            if rows:
                insert(conn, table, rows, sqlite)

    n = 0
    for table, row in generate(conversations, per):
        batch.setdefault(table, []).append(full_row(table, row))
        messages += table == "message"
        n += 1
        if n % 50_000 == 0:
            flush()
    flush()
    return messages


def load_postgres(dbname: str, conversations: int, per: int) -> dict[str, float]:
    drop_pg(dbname)
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')  # type: ignore[arg-type]
    url = f"postgresql://postgres@127.0.0.1:5432/{dbname}"
    migrate(url.replace("postgresql://", "postgresql+psycopg://"))
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '1GB'")
        seed_people(conn, False)
        count = _write(conn, conversations, per, False)
        for table in ("contact", "conversation", "message", "team", "user"):
            conn.execute(
                f"""SELECT setval(pg_get_serial_sequence('"{table}"', 'id'), (SELECT max(id) FROM "{table}"))"""  # type: ignore[arg-type]
            )
        conn.commit()
    rows_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"messages": count, "load rows s": rows_s, "VACUUM ANALYZE s": time.perf_counter() - t0}


def drop_pg(dbname: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')  # type: ignore[arg-type]


# --- measuring ------------------------------------------------------------------------------


def queries(conversations: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(who, what, query parameters) — who: agent (team 1 of 5) or admin (everything)."""
    rare = f"ORD-{conversations // 15 * 5:07d}"  # a conversation of team 1 (the agent's)
    return [
        ("agent", "rare reference", {"q": rare}),
        ("admin", "rare reference", {"q": rare}),
        ("agent", "Arabic word, hamza left out (اريد)", {"q": "اريد"}),
        ("admin", "Arabic word, hamza left out (اريد)", {"q": "اريد"}),
        ("agent", "two words (refund parcel)", {"q": "refund parcel"}),
        ("admin", "two Arabic words (الغاء الفاتورة)", {"q": "الغاء الفاتورة"}),
        ("agent", "customer name (القحطاني)", {"q": "القحطاني"}),
        ("admin", "very common word (the)", {"q": "the"}),
        ("agent", "words + open + me", {"q": "refund", "status": list(OPEN), "assignee": "me"}),
        ("admin", "words + channel + last activity 30 d", {"q": "invoice", "channel": "email",
                                                          "active_after": (NOW - timedelta(days=30)).isoformat()}),
        ("agent", "filters only: open, team", {"status": list(OPEN), "team_id": 1}),
        ("admin", "filters only: all resolved", {"status": "resolved"}),
        ("admin", "no filter, count=true", {"count": "true"}),
    ]  # fmt: skip


VIEWS = [
    {"name": "My open", "filters": {"assignee": "me", "status": list(OPEN)}},
    {"name": "Queue", "filters": {"assignee": "unassigned", "status": ["queued"]}},
    {"name": "Refunds", "filters": {"q": "refund"}},
    {"name": "Arabic cancellations", "filters": {"q": "الغاء", "status": list(OPEN)}},
    {"name": "Resolved this month", "filters": {"status": ["resolved"],
                                                "active_after": (NOW - timedelta(days=30)).isoformat()}},
]  # fmt: skip


def stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.1f} | {p95:.1f} | {ordered[-1]:.1f}"


async def measure(url: str, conversations: int, repeats: int, tmp: Path) -> list[str]:
    settings = load_settings(None, database_url=url, data_dir=str(tmp / "var"), channels={"loopback": {}})
    app = create_app(settings, clock=lambda: NOW, run_outbox_worker=False, run_routing=False)
    lines = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        clients: dict[str, tuple[httpx.AsyncClient, dict[str, str]]] = {}
        for who, email in (("agent", "agent@bench.test"), ("admin", "admin@bench.test")):
            c = httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120)
            r = await c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            r.raise_for_status()
            clients[who] = (c, {"x-csrf-token": r.json()["csrf_token"]})
        for who, what, params in queries(conversations):
            c, _ = clients[who]
            samples, found = [], 0
            for i in range(repeats + 2):
                t0 = time.perf_counter()
                r = await c.get("/api/v1/search/conversations", params=params)
                elapsed = (time.perf_counter() - t0) * 1000
                r.raise_for_status()
                if i >= 2:  # two warm-up runs
                    samples.append(elapsed)
                found = len(r.json()["items"])
            lines.append(f"| {who} | {what} | {found} | {stats(samples)} |")
        # The second page of a common word (keyset: as cheap as the first).
        c, _ = clients["admin"]
        first = (await c.get("/api/v1/search/conversations", params={"q": "refund"})).json()
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            r = await c.get(
                "/api/v1/search/conversations", params={"q": "refund", "cursor": first["next_cursor"]}
            )
            samples.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
        lines.append(f"| admin | second page (refund) | {len(r.json()['items'])} | {stats(samples)} |")
        # Five views' counts, as the console asks after events.
        for who in ("agent", "admin"):
            c, headers = clients[who]
            for view in VIEWS:
                (await c.post("/api/v1/views", json=view, headers=headers)).raise_for_status()
            samples = []
            for i in range(repeats + 2):
                t0 = time.perf_counter()
                r = await c.get("/api/v1/views")
                if i >= 2:
                    samples.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
            counts = ", ".join(f"{v['count']}{'+' if v['count_capped'] else ''}" for v in r.json()["items"])
            lines.append(f"| {who} | GET /views: 5 counts ({counts}) | 5 | {stats(samples)} |")
        # The projection's throughput: 20,000 messages re-indexed in its own batches.
        hub = app.state.hub
        projection = MessageSearchProjection()
        t0 = time.perf_counter()
        done = 0
        for start in range(0, 20_000, 500):
            async with hub.db.transaction() as s:
                await projection.recompute(s, range(start + 1, start + 501), NOW)
            done += 500
        rate = done / (time.perf_counter() - t0)
        lines.append(
            f"| — | projection: re-index 20,000 messages in batches of 500 | — | {rate:,.0f} messages/s | | |"
        )
        for c, _ in clients.values():
            await c.aclose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 conversations")
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    n = 20_000 if args.quick else args.conversations
    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="search-bench-"))
    try:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                path = tmp / "bench.db"
                info = load_sqlite(path, n, args.messages_per_conversation)
                url = f"sqlite:///{path}"
                size = sum(p.stat().st_size for p in tmp.glob("bench.db*")) / 2**20
            else:
                dbname = f"sb_search_bench_{os.getpid()}"
                info = load_postgres(dbname, n, args.messages_per_conversation)
                url = f"postgresql://postgres@127.0.0.1:5432/{dbname}"
                size = 0.0
            print(f"\n### {backend}: {n:,} conversations, {info['messages']:,} messages"
                  + (f", {size:,.0f} MiB" if size else ""))  # fmt: skip
            print(", ".join(f"{k} {v:.1f}" for k, v in info.items() if k != "messages"))
            print("\n| who | search | rows | p50 ms | p95 ms | max ms |\n|---|---|---:|---:|---:|---:|")
            for line in asyncio.run(measure(url, n, args.repeats, tmp)):
                print(line)
            if backend == "postgres":
                drop_pg(dbname)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
