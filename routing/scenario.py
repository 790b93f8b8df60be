"""Simulation scenarios: teams, agents and traffic, from TOML/JSON or CLI flags.

Parsing only turns already-read text or mappings into dataclasses; the
simulator's CLI does the file reading, so this module stays pure.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from routing.model import TeamPolicy

DEFAULT_TEAM = "default"


@dataclass(frozen=True, slots=True)
class AgentGroup:
    """`count` identical agents named `<name>-<i>`."""

    name: str
    count: int
    teams: tuple[str, ...]
    capacity: dict[str, int]
    skills: dict[str, int] = field(default_factory=dict)
    languages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TrafficStream:
    """Poisson arrivals (per second) with exponential handle time and patience."""

    team: str
    channel: str
    arrival_rate: float
    aht: float
    patience: float | None = None
    skills: dict[str, int] = field(default_factory=dict)
    language: str | None = None
    vip_fraction: float = 0.0
    # Recognised customers (a tier with a routing boost): this share of arrivals gets
    # ``boost`` extra priority; the report shows their waits apart ("boosted").
    boost_fraction: float = 0.0
    boost: int = 0


@dataclass(frozen=True, slots=True)
class Arrival:
    """One recorded arrival (CSV replay): when, how long it will take, whose."""

    time: float
    handle_time: float
    team: str = DEFAULT_TEAM
    channel: str = "voice"
    patience: float | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    policies: tuple[TeamPolicy, ...]
    agents: tuple[AgentGroup, ...]
    traffic: tuple[TrafficStream, ...]
    duration: float
    warmup: float = 0.0
    seed: int = 0
    target_seconds: float = 20.0

    @property
    def single_queue(self) -> bool:
        """One team, one channel, one agent group with capacity 1: Erlang C applies."""
        return (
            len(self.traffic) == 1
            and len(self.agents) == 1
            and self.agents[0].capacity.get(self.traffic[0].channel, 0) == 1
            and self.traffic[0].patience is None
        )


_POLICY_FIELDS = {f.name for f in fields(TeamPolicy)}


def policy_from_mapping(data: Mapping[str, Any]) -> TeamPolicy:
    data = dict(data)
    if "id" in data:
        data["team_id"] = data.pop("id")
    unknown = set(data) - _POLICY_FIELDS
    if unknown:
        raise ValueError(f"unknown team policy keys {sorted(unknown)}")
    return TeamPolicy(**data)


def scenario_from_mapping(data: Mapping[str, Any]) -> Scenario:
    """Build a scenario from a parsed TOML/JSON document (see docs/routing.md)."""
    known = {"teams", "agents", "traffic", "duration", "warmup", "seed", "target_seconds"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown scenario keys {sorted(unknown)}")
    policies = tuple(policy_from_mapping(t) for t in data.get("teams", ()))
    agents = []
    for i, group in enumerate(data.get("agents", ())):
        teams = tuple(group.get("teams", (DEFAULT_TEAM,)))
        agents.append(
            AgentGroup(
                name=str(group.get("name", f"{teams[0]}-{i}")),
                count=int(group.get("count", 1)),
                teams=teams,
                capacity={str(k): int(v) for k, v in group.get("capacity", {"voice": 1}).items()},
                skills={str(k): int(v) for k, v in group.get("skills", {}).items()},
                languages=tuple(group.get("languages", ())),
            )
        )
    traffic = [
        TrafficStream(
            team=str(t.get("team", DEFAULT_TEAM)),
            channel=str(t.get("channel", "voice")),
            arrival_rate=float(t["arrival_rate"]),
            aht=float(t["aht"]),
            patience=float(t["patience"]) if t.get("patience") is not None else None,
            skills={str(k): int(v) for k, v in t.get("skills", {}).items()},
            language=t.get("language"),
            vip_fraction=float(t.get("vip_fraction", 0.0)),
            boost_fraction=float(t.get("boost_fraction", 0.0)),
            boost=int(t.get("boost", 0)),
        )
        for t in data.get("traffic", ())
    ]
    duration = float(data.get("duration", 3600.0))
    return Scenario(
        policies=policies,
        agents=tuple(agents),
        traffic=tuple(traffic),
        duration=duration,
        warmup=float(data.get("warmup", duration * 0.1)),
        seed=int(data.get("seed", 0)),
        target_seconds=float(data.get("target_seconds", 20.0)),
    )


def parse_scenario(text: str, *, fmt: str) -> Scenario:
    """`fmt` is "toml" or "json"."""
    if fmt == "toml":
        return scenario_from_mapping(tomllib.loads(text))
    if fmt == "json":
        return scenario_from_mapping(json.loads(text))
    raise ValueError(f"unknown scenario format {fmt!r}")


def single_queue(
    *,
    agents: int,
    arrival_rate: float,
    aht: float,
    duration: float,
    seed: int = 0,
    target_seconds: float = 20.0,
    warmup: float | None = None,
    patience: float | None = None,
    strategy: str = "longest_idle",
    channel: str = "voice",
) -> Scenario:
    """The M/M/N(+M) case the CLI flags describe."""
    policy = TeamPolicy(DEFAULT_TEAM, strategy=strategy, auto_accept=True)
    return Scenario(
        policies=(policy,),
        agents=(AgentGroup("agent", agents, (DEFAULT_TEAM,), {channel: 1}),),
        traffic=(TrafficStream(DEFAULT_TEAM, channel, arrival_rate, aht, patience),),
        duration=duration,
        warmup=duration * 0.1 if warmup is None else warmup,
        seed=seed,
        target_seconds=target_seconds,
    )


def parse_arrivals_csv(
    text: str, *, default_team: str = DEFAULT_TEAM, default_channel: str = "voice"
) -> list[Arrival]:
    """Rows of `time,handle_time[,team,channel,patience]`; a header row naming
    those columns is optional. Returned sorted by time."""
    rows = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].lstrip().startswith("#")]
    columns = ["time", "handle_time", "team", "channel", "patience"]
    if rows and not _is_number(rows[0][0]):
        columns = [c.strip() for c in rows[0]]
        rows = rows[1:]
    arrivals = []
    for row in rows:
        rec = {columns[i]: v.strip() for i, v in enumerate(row) if i < len(columns)}
        patience = rec.get("patience") or None
        arrivals.append(
            Arrival(
                time=float(rec["time"]),
                handle_time=float(rec["handle_time"]),
                team=rec.get("team") or default_team,
                channel=rec.get("channel") or default_channel,
                patience=float(patience) if patience is not None else None,
            )
        )
    arrivals.sort(key=lambda a: a.time)
    return arrivals


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
