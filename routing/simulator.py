"""Discrete-event simulator driving the real RoutingCore with synthetic traffic.

The engine (`simulate`) is pure: a seeded RNG, a heap of events and the core,
fed exactly like the hub's driver feeds it (timers fired at `next_deadline()`).
Only `run_from_args` / `main` touch files and stdout, so the hub CLI can wrap
them (`switchboard simulate`).

Measurement: conversations arriving in [warmup, duration) are counted;
arrivals stop at `duration` and the run continues until they are all answered
or abandoned. Occupancy is busy capacity-time over staffed capacity-time in
the same window.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from heapq import heappop, heappush
from itertools import pairwise
from pathlib import Path
from typing import Any

from routing import erlang
from routing.core import RoutingCore
from routing.model import Assign, Decision, Offer, WorkItem
from routing.scenario import (
    Arrival,
    Scenario,
    TrafficStream,
    parse_arrivals_csv,
    parse_scenario,
    single_queue,
)

_ARRIVE, _FINISH, _ABANDON, _STAFF = 0, 1, 2, 3
_WAIT_EPSILON = 1e-9  # an answer at the arrival instant counts as "no wait"


@dataclass(slots=True)
class _Conv:
    arrived: float
    team: str
    handle: float
    measured: bool
    answered_at: float | None = None
    agent: str | None = None
    boosted: bool = False


@dataclass(slots=True)
class _Tally:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    waited: int = 0
    within_target: int = 0
    wait_sum: float = 0.0
    busy_time: float = 0.0
    staffed_time: float = 0.0
    waits: list[float] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        offered = self.offered
        waits = sorted(self.waits)
        return {
            "offered": offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "asa_seconds": self.wait_sum / self.answered if self.answered else 0.0,
            "service_level": self.within_target / offered if offered else 1.0,
            "p_wait": self.waited / offered if offered else 0.0,
            "occupancy": self.busy_time / self.staffed_time if self.staffed_time else 0.0,
            "p90_wait_seconds": waits[int(0.9 * (len(waits) - 1))] if waits else 0.0,
        }


class Simulation:
    def __init__(
        self,
        scenario: Scenario,
        arrivals: Sequence[Arrival] | None = None,
        schedule: Sequence[tuple[float, int]] | None = None,
    ) -> None:
        """``schedule``: (from second, agents) steps: from then on the first N agents
        (in the scenario's order) are available and the others away; before the first
        step everyone is available. A busy agent sent away finishes the work in hand."""
        self.sc = scenario
        self.schedule = sorted(schedule) if schedule else []
        self.agent_order: list[str] = []
        self.rng = random.Random(scenario.seed)
        self.core = RoutingCore(scenario.policies)
        self.arrivals = arrivals
        self.events: list[tuple[float, int, int, Any]] = []
        self.seq = 0
        self.convs: dict[str, _Conv] = {}
        self.tally: dict[str, _Tally] = {}
        self.total = _Tally()
        self.boosted = _Tally()  # arrivals with a tier boost (TrafficStream.boost_fraction)
        self.agent_teams: dict[str, tuple[str, ...]] = {}
        self.events_processed = 0

    @property
    def waits(self) -> list[float]:
        """Waits of measured answered conversations, in answer order (for batch means)."""
        return self.total.waits

    # -- setup ------------------------------------------------------------------------

    def _push(self, when: float, kind: int, data: Any) -> None:
        self.seq += 1
        heappush(self.events, (when, self.seq, kind, data))

    def _tallies(self, conv: _Conv) -> list[_Tally]:
        out = [self.total, self._team(conv.team)]
        if conv.boosted:
            out.append(self.boosted)
        return out

    def _team(self, team: str) -> _Tally:
        t = self.tally.get(team)
        if t is None:
            t = self.tally[team] = _Tally()
        return t

    def _setup(self) -> None:
        sc = self.sc
        window = max(0.0, sc.duration - sc.warmup)
        channels = {t.channel for t in sc.traffic} | {a.channel for a in self.arrivals or ()}
        for group in sc.agents:
            units = sum(group.capacity.get(ch, 0) for ch in channels)
            for i in range(group.count):
                aid = f"{group.name}-{i}"
                self.agent_teams[aid] = group.teams
                self.core.upsert_agent(
                    aid,
                    0.0,
                    presence="available",
                    teams=group.teams,
                    skills=group.skills,
                    languages=group.languages,
                    capacity=group.capacity,
                )
                self.agent_order.append(aid)
                staffed = units * self._available_time(len(self.agent_order) - 1, window)
                self.total.staffed_time += staffed
                for team in group.teams:
                    self._team(team).staffed_time += staffed
        for t in sc.traffic:
            self._team(t.team)
        for when, count in self.schedule:
            self._push(when, _STAFF, count)
        if self.arrivals is not None:
            for i, arrival in enumerate(self.arrivals):
                if arrival.time < sc.duration:
                    self._push(arrival.time, _ARRIVE, i)
        else:
            for stream in sc.traffic:
                if stream.arrival_rate > 0:
                    self._push(self.rng.expovariate(stream.arrival_rate), _ARRIVE, stream)

    def _available_time(self, index: int, window: float) -> float:
        """Seconds of the measured window the ``index``-th agent is on the schedule."""
        if not self.schedule:
            return window
        sc = self.sc
        total = 0.0
        steps = [(0.0, index + 1), *self.schedule, (math.inf, 0)]
        for (start, count), (end, _) in pairwise(steps):
            if index < count:
                total += max(0.0, min(end, sc.duration) - max(start, sc.warmup))
        return total

    def _staff(self, now: float, count: int) -> None:
        for i, aid in enumerate(self.agent_order):
            self._apply(self.core.set_presence(aid, "available" if i < count else "away", now), now)

    # -- run --------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self._setup()
        core = self.core
        events = self.events
        while events:
            when = events[0][0]
            deadline = core.next_deadline()
            if deadline is not None and deadline <= when:
                self._apply(core.tick(deadline), deadline)
                continue
            _, _, kind, data = heappop(events)
            self.events_processed += 1
            if kind == _ARRIVE:
                self._arrive(when, data)
            elif kind == _FINISH:
                self._finish(when, data)
            elif kind == _STAFF:
                self._staff(when, data)
            else:
                self._abandon(when, data)
        return self._report()

    def _arrive(self, now: float, data: Any) -> None:
        sc = self.sc
        self.seq += 1
        cid = f"s{self.seq}"
        if isinstance(data, TrafficStream):
            stream = data
            handle = self.rng.expovariate(1.0 / stream.aht)
            patience = self.rng.expovariate(1.0 / stream.patience) if stream.patience else None
            vip = stream.vip_fraction > 0 and self.rng.random() < stream.vip_fraction
            boosted = stream.boost_fraction > 0 and self.rng.random() < stream.boost_fraction
            item = WorkItem(
                cid,
                stream.team,
                stream.channel,
                now,
                vip=vip,
                skills=stream.skills,
                language=stream.language,
                boost=stream.boost if boosted else 0,
            )
            nxt = now + self.rng.expovariate(stream.arrival_rate)
            if nxt < sc.duration:
                self._push(nxt, _ARRIVE, stream)
        else:
            rec = self.arrivals[data] if self.arrivals is not None else None
            assert rec is not None
            handle, patience = rec.handle_time, rec.patience
            item = WorkItem(cid, rec.team, rec.channel, now)
        measured = sc.warmup <= now < sc.duration
        self.convs[cid] = _Conv(now, item.team_id, handle, measured, boosted=item.boost != 0)
        if measured:
            for t in self._tallies(self.convs[cid]):
                t.offered += 1
        if patience is not None:
            self._push(now + patience, _ABANDON, cid)
        self._apply(self.core.enqueue(item, now), now)

    def _apply(self, decisions: list[Decision], now: float) -> None:
        for d in decisions:
            if isinstance(d, Offer):  # a simulated agent accepts at once
                self._apply(self.core.accept(d.conversation_id, d.agent_id, now), now)
            elif isinstance(d, Assign):
                self._answer(d.conversation_id, d.agent_id, now)

    def _answer(self, cid: str, agent: str, now: float) -> None:
        conv = self.convs[cid]
        if conv.answered_at is not None:
            return
        conv.answered_at = now
        conv.agent = agent
        if conv.measured:
            wait = now - conv.arrived
            for t in self._tallies(conv):
                t.answered += 1
                t.wait_sum += wait
                t.waits.append(wait)
                if wait > _WAIT_EPSILON:
                    t.waited += 1
                if wait <= self.sc.target_seconds:
                    t.within_target += 1
        self._push(now + conv.handle, _FINISH, cid)

    def _finish(self, now: float, cid: str) -> None:
        conv = self.convs.pop(cid)
        start = conv.answered_at if conv.answered_at is not None else now
        busy = max(0.0, min(now, self.sc.duration) - max(start, self.sc.warmup))
        if busy > 0 and conv.agent is not None:
            self.total.busy_time += busy
            for team in self.agent_teams[conv.agent]:
                self._team(team).busy_time += busy
        self._apply(self.core.complete(cid, now), now)

    def _abandon(self, now: float, cid: str) -> None:
        conv = self.convs.get(cid)
        if conv is None or conv.answered_at is not None:
            return
        del self.convs[cid]
        if conv.measured:
            for t in self._tallies(conv):
                t.abandoned += 1
                t.waited += 1
        self._apply(self.core.remove(cid, now), now)

    def _report(self) -> dict[str, Any]:
        sc = self.sc
        result: dict[str, Any] = {
            **self.total.report(),
            "duration": sc.duration,
            "warmup": sc.warmup,
            "seed": sc.seed,
            "target_seconds": sc.target_seconds,
            "events": self.events_processed,
            "teams": {name: t.report() for name, t in sorted(self.tally.items())},
        }
        if self.boosted.offered:
            result["boosted"] = self.boosted.report()
        if self.arrivals is None and sc.single_queue:
            stream = sc.traffic[0]
            n = sc.agents[0].count
            result["erlang_c"] = erlang_prediction(n, stream.arrival_rate, stream.aht, sc.target_seconds)
        return result


def erlang_prediction(agents: int, arrival_rate: float, aht: float, target_seconds: float) -> dict[str, Any]:
    traffic = arrival_rate * aht
    stable = traffic < agents
    advice = None
    if traffic > 0:
        advice = erlang.agents_for_service_level(arrival_rate, aht, target_seconds, 0.8)
    return {
        "traffic_erlangs": traffic,
        "p_wait": erlang.erlang_c(agents, traffic),
        "asa_seconds": erlang.asa(agents, arrival_rate, aht) if stable else math.inf,
        "service_level": erlang.service_level(agents, arrival_rate, aht, target_seconds),
        "occupancy": erlang.occupancy(agents, arrival_rate, aht),
        "agents_for_80_percent": advice,
    }


def simulate(
    scenario: Scenario,
    arrivals: Sequence[Arrival] | None = None,
    schedule: Sequence[tuple[float, int]] | None = None,
) -> dict[str, Any]:
    """Run one scenario (or replay recorded arrivals, optionally with a staffing
    schedule) and return the report."""
    return Simulation(scenario, arrivals, schedule).run()


# -- command line ---------------------------------------------------------------------------


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agents", type=int, default=10, help="agents in the single queue")
    parser.add_argument("--arrival-rate", type=float, default=0.05, help="arrivals per second")
    parser.add_argument("--aht", type=float, default=180.0, help="mean handle time, seconds")
    parser.add_argument("--duration", type=float, default=8 * 3600.0, help="simulated seconds")
    parser.add_argument("--warmup", type=float, default=None, help="seconds not measured (default 10%%)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target-seconds", type=float, default=20.0, help="service-level target")
    parser.add_argument("--patience", type=float, default=None, help="mean patience (abandonment), seconds")
    parser.add_argument(
        "--strategy", default="longest_idle", choices=["longest_idle", "least_occupied", "round_robin"]
    )
    parser.add_argument(
        "--arrivals-csv",
        type=Path,
        default=None,
        help="replay arrivals: time,handle_time[,team,channel,patience]",
    )
    parser.add_argument("--scenario", type=Path, default=None, help="TOML or JSON scenario file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run_from_args(args: argparse.Namespace) -> dict[str, Any]:
    if args.scenario is not None:
        fmt = "json" if args.scenario.suffix.lower() == ".json" else "toml"
        scenario = parse_scenario(args.scenario.read_text(encoding="utf-8"), fmt=fmt)
    else:
        scenario = single_queue(
            agents=args.agents,
            arrival_rate=args.arrival_rate,
            aht=args.aht,
            duration=args.duration,
            seed=args.seed,
            target_seconds=args.target_seconds,
            warmup=args.warmup,
            patience=args.patience,
            strategy=args.strategy,
        )
    arrivals = None
    if args.arrivals_csv is not None:
        arrivals = parse_arrivals_csv(args.arrivals_csv.read_text(encoding="utf-8"))
    return simulate(scenario, arrivals)


def format_table(result: dict[str, Any]) -> str:
    cols = ["offered", "answered", "abandoned", "asa_seconds", "service_level", "p_wait", "occupancy"]
    rows = [("overall", result)] + [(f"team {k}", v) for k, v in result["teams"].items()]
    if "erlang_c" in result:
        rows.append(("erlang C", {**result["erlang_c"], "offered": "", "answered": "", "abandoned": ""}))
    lines = ["".join(f"{c:>15}" for c in ["", *cols])]
    for name, r in rows:
        cells = [f"{r[c]:>15.4f}" if isinstance(r[c], float) else f"{r[c]!s:>15}" for c in cols]
        lines.append(f"{name:>15}" + "".join(cells))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchboard simulate", description=__doc__.splitlines()[0])
    build_parser(parser)
    args = parser.parse_args(argv)
    result = run_from_args(args)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True, default=str))
    else:
        print(format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
