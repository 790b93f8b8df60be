"""Customer memory at scale: contact search, segment counts, profile loads and CSV import
on SQLite and PostgreSQL, each against bare SQL answering the same question in the same
run.

1. A data set is generated once and bulk-loaded into every backend (bench/crm_data.py,
   bench/crm_load.py): N contacts (Arabic names in mixed hamza / taa marbuta spellings
   and Latin ones; E.164 phones, emails, Telegram and web chat ids), ~1.5 conversations
   each and M messages over the last 400 days, and the derived rows the projections
   keep (figures, tiers, search text). A random sample of 100 contacts is recomputed by
   the hub's own projections and must come out identical.
2. The real app is started on each database (create_app, an admin signed in, httpx over
   ASGITransport; bench/crm_measure.py) and measured: the contacts search as the UI
   sends it, segment counts, profile loads and a CSV import (dry run, then the import),
   each interleaved with its bare-SQL baseline.

    python bench/crm_bench.py --quick                      # 20,000 contacts / 100,000 messages
    python bench/crm_bench.py                              # 1,000,000 / 5,000,000 (the issue's scale)
    python bench/crm_bench.py --contacts 200000 --messages 1000000 --backends postgres --json out.json

Targets (the issue): search p95 under 100 ms, a segment count under 1 s, import over
5,000 rows/s. Figures are reported whether met or not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from crm_data import Generator, generation_now  # noqa: E402
from crm_load import PostgresTarget, SqliteTarget, Target, drop_pg, verify  # noqa: E402
from crm_measure import (  # noqa: E402
    COUNT_CAP,
    PgBare,
    SqliteBare,
    healthz_floor,
    import_rows,
    measure_import,
    measure_profiles,
    measure_search,
    measure_segments,
    search_queries,
    session,
    stats,
)

# One database per run: two runs at once (two people on one host) must not drop each other's.
PG_DB = f"sb_crm_bench_{os.getpid()}"
GOAL_SEARCH_P95_MS = 100.0
GOAL_SEGMENT_S = 1.0
GOAL_IMPORT_ROWS_S = 5_000.0
TITLES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


@dataclass
class Plan:
    contacts: int
    messages: int
    queries: int
    profiles: int
    segment_reps: int
    import_rows: int
    backends: list[str]
    chunk: int
    seed: int
    verify: int
    sqlite_analyze: bool
    explain: bool
    keep: bool
    build_only: bool
    workdir: str | None
    json_path: str | None


@dataclass
class Built:
    now: Any
    generator: Generator
    python_s: float
    migrate_s: dict[str, float]
    targets: list[Target]
    verified: dict[str, list[str]] = field(default_factory=dict)


# -- building --------------------------------------------------------------------------------


def build(plan: Plan, work: Path) -> Built:
    """One generation pass written to every backend; timings per step and backend."""
    now = generation_now()
    targets: list[Target] = []
    migrate_s: dict[str, float] = {}
    tiers = []
    for name in plan.backends:
        t: Target = SqliteTarget(work / "crm.db") if name == "sqlite" else PostgresTarget(PG_DB)
        t0 = time.perf_counter()
        tiers = t.migrate(now)
        migrate_s[name] = time.perf_counter() - t0
        targets.append(t)
    gen = Generator(plan.contacts, plan.messages, now, tiers, seed=plan.seed)
    for t in targets:
        t.prepare()
    python_s = 0.0
    chunks = gen.chunks(plan.chunk)
    done = 0
    while True:
        t0 = time.perf_counter()
        chunk = next(chunks, None)
        python_s += time.perf_counter() - t0
        if chunk is None:
            break
        for t in targets:
            t.write(chunk)
        done += len(chunk.people)
        _progress(f"  {done:,} / {plan.contacts:,} contacts written")
    for t in targets:
        _progress(f"  {t.name}: messages, indexes, statistics ...")
        t.finish(analyze=t.name == "postgres" or plan.sqlite_analyze)
    print(file=sys.stderr)
    built = Built(now, gen, python_s, migrate_s, targets)
    ids = random.Random(plan.seed).sample(range(1, plan.contacts + 1), min(plan.verify, plan.contacts))
    for t in targets:
        built.verified[t.name] = verify(t.url, ids, now)
    return built


def _progress(text: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{text}\033[K", end="", file=sys.stderr, flush=True)


# -- measuring -------------------------------------------------------------------------------


async def measure(plan: Plan, built: Built, target: Target, work: Path) -> dict[str, Any]:
    if isinstance(target, SqliteTarget):
        bare: Any = SqliteBare(target.path)
        pids = None
    else:
        assert isinstance(target, PostgresTarget)
        bare = await PgBare.connect(target.url)
        pids = _pg_pids
    data_dir = work / f"data-{target.name}"
    out: dict[str, Any] = {}
    try:
        async with session(target.name, target.url, data_dir, bare, pids) as s:
            # Nothing may be rebuilding in the background while the bench measures.
            await s.hub.projections.catch_up()  # the admin's sign-up event
            status = await s.hub.projections.status()
            if any(p["rebuilding"] or p["behind"] for p in status):
                raise RuntimeError(f"projections are not caught up: {status}")
            out["healthz"] = await healthz_floor(s, 200)
            queries = search_queries(built.generator.sample, plan.queries, plan.seed)
            search = await measure_search(s, queries)
            out["search"] = _search_summary(search)
            segments, listing, seg_usage = await measure_segments(s, plan.segment_reps)
            out["segments"] = [asdict(r) for r in segments]
            out["segments_list_ms"] = listing
            out["segments_usage"] = seg_usage
            profiles = await measure_profiles(s, plan.contacts, plan.profiles, plan.seed)
            out["profile"] = {
                "hub": stats(profiles.hub_ms),
                "bare": stats(profiles.bare_ms),
                "client": stats(profiles.client_ms),
                "usage": profiles.usage,
            }
            out["plans"] = await _plans(s, search, queries, segments)
            rows = import_rows(built.generator, plan.import_rows, plan.seed)
            out["import"] = asdict(await measure_import(s, rows))
    finally:
        await bare.close()
    return out


def _pg_pids() -> list[int]:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (PG_DB,)).fetchall()
    return [int(r[0]) for r in rows]


def _search_summary(r: Any) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, values in r.by_path.items():
        by_class: dict[str, list[float]] = {}
        for kind, ms in values:
            by_class.setdefault(kind, []).append(ms)
        paths[path] = {
            "all": stats([ms for _, ms in values]),
            "by_class": {k: stats(v) for k, v in by_class.items()},
        }
    slowest = max(r.by_path["hub: list + count (the UI's request)"], key=lambda v: v[1])
    return {
        "paths": paths,
        "client": stats(r.client_ms),
        "matches": {
            k: {"median": sorted(v)[len(v) // 2], "max": max(v), "n": len(v)} for k, v in r.matches.items()
        },
        "found": {k: [sum(v), len(v)] for k, v in r.found.items()},
        "count_mismatches": r.mismatched_counts[:10],
        "usage": r.usage,
        "slowest_class": slowest[0],
    }


async def _plans(s: Any, search: Any, queries: Any, segments: Any) -> dict[str, Any]:
    """EXPLAIN of the hub's SQL for the slowest search class's slowest query and for the
    slowest segment, with the parameters the hub bound (bench/crm_measure.explain)."""
    from crm_measure import explain

    ui = search.by_path["hub: list + count (the UI's request)"]
    worst = max(range(len(ui)), key=lambda i: ui[i][1])
    # by_path keeps the order queries ran in, so index i is queries[i]
    q = queries[worst]
    seg = max(segments, key=lambda r: max(r.hub_ms))
    listed = (await s.client.get("/api/v1/segments", params={"counts": "false"})).json()
    seg_id = next(x["id"] for x in listed if x["name"] == seg.name)
    return {
        "search": {"query": q.text, "class": q.kind, "ms": ui[worst][1],
                   "statements": await explain(s, "/api/v1/contacts", q=q.text, limit=50, count="true")},
        "segment": {"name": seg.name, "ms": max(seg.hub_ms),
                    "statements": await explain(s, f"/api/v1/segments/{seg_id}")},
    }  # fmt: skip


# -- report ----------------------------------------------------------------------------------


def fmt(ms: float) -> str:
    if math.isnan(ms):
        return "—"
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.1f}"


def report_dataset(plan: Plan, built: Built, target: Target, size: int) -> dict[str, Any]:
    gen = built.generator
    steps = {
        "migrate": built.migrate_s[target.name],
        "generate (Python, shared)": built.python_s,
        **target.timings,
    }
    bad = built.verified[target.name]
    print(f"\n## {TITLES[target.name]}: {plan.contacts:,} contacts, {gen.total_messages:,} messages\n")
    print(
        f"Data set: {plan.contacts:,} contacts, {gen.identities:,} identities, "
        f"{gen.total_conversations:,} conversations, {gen.total_messages:,} messages; database "
        f"{size / 1e9:.2f} GB. Built in {sum(steps.values()):,.0f} s ("
        + ", ".join(f"{k} {v:,.1f} s" for k, v in steps.items())
        + f"). Derived rows of {min(plan.verify, plan.contacts)} random contacts recomputed by the hub's "
        f"projections: {'all identical' if not bad else f'{len(bad)} DIFFERENCES'}."
    )
    for line in bad[:5]:
        print(f"    {line}")
    return {"steps_s": steps, "size_bytes": size, "verify_differences": bad}


def report_search(r: dict[str, Any], queries: int) -> None:
    s = r["search"]
    cap = f"; counts stop at {COUNT_CAP:,}, on both sides" if COUNT_CAP else ""
    print(f"\n**Search** ({queries} queries, admin, newest first, 50 per page; through the app{cap}):\n")
    print("| path | p50 ms | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|")
    for path, v in s["paths"].items():
        a = v["all"]
        print(f"| {path} | {fmt(a['p50'])} | {fmt(a['p95'])} | {fmt(a['p99'])} | {fmt(a['max'])} |")
    ui, lst = s["paths"]["hub: list + count (the UI's request)"], s["paths"]["hub: list only"]
    bare_ui = s["paths"]["bare: newest 50 + details + count"]
    idx = s["paths"]["bare: index lookup, any 50"]
    print("\np95 ms by query class:\n")
    print(
        "| class | queries | matches median / max | hub list + count | hub list | bare page + count | bare index | target found |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, m in s["matches"].items():
        found = s["found"].get(kind)
        f_txt = f"{found[0]}/{found[1]}" if found else "—"
        print(
            f"| {kind} | {m['n']} | {m['median']:,} / {m['max']:,} | {fmt(ui['by_class'][kind]['p95'])} | "
            f"{fmt(lst['by_class'][kind]['p95'])} | {fmt(bare_ui['by_class'][kind]['p95'])} | "
            f"{fmt(idx['by_class'][kind]['p95'])} | {f_txt} |"
        )
    if s["count_mismatches"]:
        print(f"\nhub total ≠ bare count for: {s['count_mismatches']}")


def report_segments(r: dict[str, Any]) -> None:
    print("\n**Segment counts** (GET /api/v1/segments/{id} counts the members; bare: the simplest count):\n")
    print("| segment | members | hub median ms | hub max ms | bare median ms | bare max ms | bare SQL |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for seg in r["segments"]:
        hub, bare = sorted(seg["hub_ms"]), sorted(seg["bare_ms"])
        same = "" if seg["count"] == seg["bare_count"] else f" (bare: {seg['bare_count']:,})"
        print(
            f"| {seg['name']} | {seg['count']:,}{same} | {fmt(hub[len(hub) // 2])} | {fmt(hub[-1])} | "
            f"{fmt(bare[len(bare) // 2])} | {fmt(bare[-1])} | `{seg['bare_sql']}` |"
        )
    listing = sorted(r["segments_list_ms"])
    print(
        f"\nGET /api/v1/segments (the contacts page's list, all {len(r['segments'])} segments counted): "
        f"median {fmt(listing[len(listing) // 2])} ms, max {fmt(listing[-1])} ms."
    )


def report_profile(r: dict[str, Any], n: int) -> None:
    p = r["profile"]
    print(
        f"\n**Profile load** (GET /api/v1/contacts/{{id}}, {n} random contacts; bare: contact, identities, figures):\n"
    )
    print("| path | p50 ms | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|")
    for name, key in (("hub", "hub"), ("bare SQL (3 queries)", "bare")):
        a = p[key]
        print(f"| {name} | {fmt(a['p50'])} | {fmt(a['p95'])} | {fmt(a['p99'])} | {fmt(a['max'])} |")


def report_import(r: dict[str, Any]) -> None:
    im = r["import"]
    n = im["rows"]
    print(f"\n**CSV import** ({n:,} rows; expected {im['expected']}):\n")
    print(
        "| step | seconds | rows/s | created | updated | matched | skipped |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    for name, secs, job in (
        ("dry run (upload + check)", im["dry_s"], im["dry"]),
        ("import", im["real_s"], im["real"]),
    ):
        if job["status"] != "done":
            errors = "; ".join(im["hub_errors"][:1] or [e["message"] for e in job["file_errors"]])
            name = f"{name}: **{job['status']}** after {job['rows']:,} rows ({errors})"
        print(
            f"| {name} | {secs:,.1f} | {job['rows'] / secs:,.0f} | {job['created']:,} | {job['updated']:,} | "
            f"{job['matched']:,} | {job['skipped']:,} |"
        )
    print(
        f"| bare insert (contacts + identities, 500 per transaction) | {im['bare_s']:,.1f} | {n / im['bare_s']:,.0f} | | | | |"
    )
    print(
        f"\nAfter the import the projections applied {im['events']:,} events in {im['catch_up_s']:,.1f} s "
        f"(until then new contacts are not found by search); a new contact found by its phone afterwards: "
        f"{'yes' if im['searchable'] else 'NO'}."
    )


def report_load(r: dict[str, Any]) -> None:
    s, p = r["search"], r["profile"]
    u = s["usage"]
    print(
        f"\n**Load generator and machine.** Client side of each request (httpx + ASGI transport, same "
        f"event loop; request total minus time inside the app): p50 {fmt(s['client']['p50'])} ms, p95 "
        f"{fmt(s['client']['p95'])} ms in search, p50 {fmt(p['client']['p50'])} ms in profile loads. "
        f"GET /healthz (SELECT 1 through the whole stack) p50 {fmt(r['healthz']['p50'])} ms. "
        f"During search this process used {u['process_cpu_pct']:.0f}% of a core, PostgreSQL backends "
        f"{u['pg_cpu_pct']:.0f}%, the whole machine {u['machine_cpu_pct']:.0f}% of 200% (2 cores; the "
        f"rest is other jobs on the host)."
    )


def targets_table(plan: Plan, results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name, r in results.items():
        ui = r["search"]["paths"]["hub: list + count (the UI's request)"]["all"]["p95"]
        lst = r["search"]["paths"]["hub: list only"]["all"]["p95"]
        seg = max(max(s["hub_ms"]) for s in r["segments"]) / 1000
        seg_name = max(r["segments"], key=lambda s: max(s["hub_ms"]))["name"]
        im = r["import"]
        # rows processed per second; a job that failed counts as 0
        rate = min(
            im["dry"]["rows"] / im["dry_s"] if im["dry"]["status"] == "done" else 0.0,
            im["real"]["rows"] / im["real_s"] if im["real"]["status"] == "done" else 0.0,
        )
        title = TITLES[name]
        rows += [
            {"target": f"{title}: search p95 < 100 ms (UI request, list + count)", "value": f"{fmt(ui)} ms",
             "met": ui < GOAL_SEARCH_P95_MS},
            {"target": f"{title}: search p95 < 100 ms (list only)", "value": f"{fmt(lst)} ms",
             "met": lst < GOAL_SEARCH_P95_MS},
            {"target": f"{title}: segment count < 1 s (slowest: {seg_name})", "value": f"{seg:.2f} s",
             "met": seg < GOAL_SEGMENT_S},
            {"target": f"{title}: import > 5,000 rows/s (slower of dry run and import)", "value": f"{rate:,.0f} rows/s",
             "met": rate > GOAL_IMPORT_ROWS_S},
        ]  # fmt: skip
    print(f"\n## Targets ({plan.contacts:,} contacts, {plan.messages:,} messages)\n")
    print("| target | measured | met |\n|---|---:|---:|")
    for row in rows:
        print(f"| {row['target']} | {row['value']} | {'yes' if row['met'] else '**no**'} |")
    return rows


def report_plans(r: dict[str, Any]) -> None:
    plans = r.get("plans")
    if not plans:
        return
    for key in ("search", "segment"):
        p = plans[key]
        label = f"{p['class']} query {p['query']!r}" if key == "search" else f"segment {p['name']!r}"
        print(f"\nPlans of the hub's SQL for the slowest {label} ({fmt(p['ms'])} ms):\n")
        for statement, plan in p["statements"]:
            print("```sql\n" + statement.strip() + "\n```\n```\n" + plan + "\n```")


# -- main ------------------------------------------------------------------------------------


def parse(argv: list[str]) -> Plan:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 contacts, 100,000 messages, smaller samples")
    ap.add_argument("--contacts", type=int)
    ap.add_argument("--messages", type=int)
    ap.add_argument("--queries", type=int, help="search queries (at least 200 in a full run)")
    ap.add_argument("--profiles", type=int)
    ap.add_argument("--segment-reps", type=int)
    ap.add_argument("--import-rows", type=int)
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--chunk", type=int, default=20_000, help="contacts per load transaction")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--verify", type=int, default=100, help="contacts recomputed by the projections")
    ap.add_argument(
        "--sqlite-analyze", action="store_true", help="run ANALYZE on SQLite (the hub never does)"
    )
    ap.add_argument("--explain", action="store_true", help="print the plans of the slowest queries")
    ap.add_argument("--keep", action="store_true", help="keep the databases and the work directory")
    ap.add_argument(
        "--build-only", action="store_true", help="build the data set and stop (with --keep: to explore)"
    )
    ap.add_argument("--workdir", help="where the SQLite file and uploads go (default: a temp dir)")
    ap.add_argument("--json", dest="json_path", help="also write every figure to this JSON file")
    a = ap.parse_args(argv)
    quick = a.quick
    return Plan(
        contacts=a.contacts or (20_000 if quick else 1_000_000),
        messages=a.messages or (100_000 if quick else 5_000_000),
        queries=a.queries or (200 if quick else 400),
        profiles=a.profiles or (100 if quick else 300),
        segment_reps=a.segment_reps or (3 if quick else 5),
        import_rows=a.import_rows or (10_000 if quick else 100_000),
        backends=[b.strip() for b in a.backends.split(",") if b.strip()],
        chunk=a.chunk,
        seed=a.seed,
        verify=a.verify,
        sqlite_analyze=a.sqlite_analyze,
        explain=a.explain,
        keep=a.keep or a.build_only,
        build_only=a.build_only,
        workdir=a.workdir,
        json_path=a.json_path,
    )


def run(plan: Plan) -> int:
    work = Path(tempfile.mkdtemp(prefix="sb-crm-bench-", dir=plan.workdir))
    print(
        f"customer memory bench: {plan.contacts:,} contacts, {plan.messages:,} messages, backends "
        f"{', '.join(plan.backends)}; work dir {work}",
        flush=True,
    )
    try:
        t0 = time.perf_counter()
        built = build(plan, work)
        print(f"data set built and loaded in {time.perf_counter() - t0:,.0f} s", flush=True)
        if plan.build_only:
            for target in built.targets:
                report_dataset(plan, built, target, target.size_bytes())
                print(f"kept: {target.url}")
            return 0
        results: dict[str, dict[str, Any]] = {}
        datasets: dict[str, Any] = {}
        for target in built.targets:
            datasets[target.name] = report_dataset(plan, built, target, target.size_bytes())
            r = asyncio.run(measure(plan, built, target, work))
            results[target.name] = r
            report_search(r, plan.queries)
            report_segments(r)
            report_profile(r, plan.profiles)
            report_import(r)
            report_load(r)
            if plan.explain:
                report_plans(r)
            sys.stdout.flush()
        targets = targets_table(plan, results)
        if plan.json_path:
            doc = {"plan": asdict(plan), "datasets": datasets, "results": results, "targets": targets}
            Path(plan.json_path).write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
        ok = all(not built.verified[t.name] for t in built.targets)
        return 0 if ok else 1
    finally:
        if not plan.keep:
            shutil.rmtree(work, ignore_errors=True)
            if "postgres" in plan.backends:
                drop_pg(PG_DB)


def main(argv: list[str]) -> int:
    os.environ.setdefault("SWITCHBOARD_LOG_LEVEL", "WARNING")
    # A stopped run still drops its database and work directory (run's finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return run(parse(argv))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
