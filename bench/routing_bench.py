"""Routing benchmark: indexed RoutingCore against the naive full-scan router.

Builds 1,000 agents (5 teams, skills, languages, voice/chat/email capacity)
and 100,000 waiting conversations, then measures the two decision-making
calls of a busy contact centre:

* complete: a conversation ends, the freed agent gets the best waiting work;
* enqueue:  a new conversation arrives while every eligible agent is busy.

Both routers start from the same state. The naive router scans all waiting
work (or all agents) per call, so it is measured on far fewer calls and
reported per call. Run: python bench/routing_bench.py [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from routing.core import RoutingCore
from routing.model import Assign, Decision, TeamPolicy, WorkItem
from routing.naive import NaiveRouter

TEAMS = ("sales", "support", "billing", "tech", "retention")
SKILLS: tuple[dict[str, int], ...] = (
    {},
    {"billing": 1},
    {"billing": 2},
    {"tech": 1},
    {"tech": 3},
    {"sales": 2},
)
LANGUAGES = (None, None, "en", "es", "fr")
CHANNELS = (("voice", 0.3), ("chat", 0.5), ("email", 0.2))


def make_agents(rng: random.Random, n: int) -> list[dict[str, Any]]:
    agents = []
    for i in range(n):
        teams = {TEAMS[i % len(TEAMS)]} | ({rng.choice(TEAMS)} if rng.random() < 0.3 else set())
        agents.append(
            {
                "agent_id": f"a{i}",
                "teams": teams,
                "skills": {
                    "billing": rng.randint(0, 3),
                    "tech": rng.randint(0, 3),
                    "sales": rng.randint(0, 3),
                },
                "languages": {"en"} | ({rng.choice(["es", "fr"])} if rng.random() < 0.5 else set()),
                "capacity": {"voice": 1, "chat": 3, "email": 5},
            }
        )
    return agents


def make_item(rng: random.Random, i: int, now: float) -> WorkItem:
    channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
    return WorkItem(
        f"c{i}",
        rng.choice(TEAMS),
        channel,
        now,
        priority=rng.choice((0, 0, 0, 5, -5)),
        vip=rng.random() < 0.05,
        skills=rng.choice(SKILLS),
        language=rng.choice(LANGUAGES),
    )


def timed(fn: Callable[[], Sequence[Decision]], samples: list[float]) -> Sequence[Decision]:
    start = time.perf_counter_ns()
    out = fn()
    samples.append((time.perf_counter_ns() - start) / 1e3)  # microseconds
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(n_agents: int, n_waiting: int, core_ops: int, naive_ops: int, seed: int) -> None:
    rng = random.Random(seed)
    policies = [TeamPolicy(t, auto_accept=True) for t in TEAMS]
    agents = make_agents(rng, n_agents)
    core = RoutingCore(policies)
    t0 = time.perf_counter()
    for spec in agents:
        core.upsert_agent(
            str(spec["agent_id"]),
            0.0,
            presence="available",
            teams=spec["teams"],
            skills=spec["skills"],
            languages=spec["languages"],
            capacity=spec["capacity"],
        )
    items: dict[str, WorkItem] = {}
    held: dict[str, str] = {}
    now = 0.0
    i = 0
    while len(items) - len(held) < n_waiting:  # fill every agent, then build the backlog
        now += 0.001
        item = make_item(rng, i, now)
        i += 1
        items[item.conversation_id] = item
        for d in core.enqueue(item, now):
            if isinstance(d, Assign):
                held[d.conversation_id] = d.agent_id
    setup = time.perf_counter() - t0
    waiting = [it for cid, it in items.items() if cid not in held]
    print(
        f"setup: {n_agents} agents, {len(held)} in progress, {len(waiting)} waiting "
        f"({setup:.1f}s to route them through the core)"
    )

    naive = NaiveRouter(policies)
    for spec in agents:
        naive.upsert_agent(
            str(spec["agent_id"]),
            0.0,
            teams=spec["teams"],
            skills=spec["skills"],
            languages=spec["languages"],
            capacity=spec["capacity"],
        )
    naive.bulk_load(waiting, [(items[cid], aid) for cid, aid in held.items()])

    def measure(router: RoutingCore | NaiveRouter, ops: int, label: str) -> dict[str, Any]:
        local = random.Random(seed + 1)
        in_progress = list(held)
        complete_us: list[float] = []
        enqueue_us: list[float] = []
        decisions = 0
        t = now
        for k in range(ops):
            t += 0.01
            pos = local.randrange(len(in_progress))
            cid = in_progress[pos]
            in_progress[pos] = in_progress[-1]
            in_progress.pop()
            out = timed(lambda: router.complete(cid, t), complete_us)  # noqa: B023
            new = [d.conversation_id for d in out if isinstance(d, Assign)]
            decisions += len(new)
            in_progress.extend(new)
            item = make_item(local, 10_000_000 + k, t)
            out = timed(lambda: router.enqueue(item, t), enqueue_us)  # noqa: B023
            new = [d.conversation_id for d in out if isinstance(d, Assign)]
            decisions += len(new)
            in_progress.extend(new)
        total_s = (sum(complete_us) + sum(enqueue_us)) / 1e6
        calls = len(complete_us) + len(enqueue_us)
        return {
            "label": label,
            "calls": calls,
            "decisions": decisions,
            "calls_per_s": calls / total_s,
            "decisions_per_s": decisions / total_s,
            "complete_p50": statistics.median(complete_us),
            "complete_p99": percentile(complete_us, 0.99),
            "enqueue_p50": statistics.median(enqueue_us),
            "enqueue_p99": percentile(enqueue_us, 0.99),
        }

    rows = [measure(core, core_ops, "RoutingCore"), measure(naive, naive_ops, "naive full scan")]
    header = (
        f"{'router':<16}{'calls':>8}{'assigns':>9}{'calls/s':>12}{'assigns/s':>12}"
        f"{'complete p50':>14}{'p99':>12}{'enqueue p50':>13}{'p99':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['label']:<16}{r['calls']:>8}{r['decisions']:>9}{r['calls_per_s']:>12,.0f}"
            f"{r['decisions_per_s']:>12,.0f}{r['complete_p50']:>12.1f}us{r['complete_p99']:>10.1f}us"
            f"{r['enqueue_p50']:>11.1f}us{r['enqueue_p99']:>8.1f}us"
        )
    fast, slow = rows
    print(
        f"\nspeed-up (calls/s): {fast['calls_per_s'] / slow['calls_per_s']:,.0f}x; "
        f"complete p50: {slow['complete_p50'] / fast['complete_p50']:,.0f}x"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (100 agents, 5,000 waiting)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.quick:
        run(n_agents=100, n_waiting=5_000, core_ops=2_000, naive_ops=200, seed=args.seed)
    else:
        run(n_agents=1_000, n_waiting=100_000, core_ops=20_000, naive_ops=60, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
