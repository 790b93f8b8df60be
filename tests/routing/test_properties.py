"""Property tests: random event sequences against the routing invariants.

A harness plays the role of the hub's driver: it calls the core, mirrors
every decision into its own view of who holds what, fires timers exactly at
`next_deadline()`, and after every call checks that

* no agent is over capacity on any channel, nor handed other work while a
  blocking voice call is held;
* no conversation is held by two agents, and the decisions alone explain
  the core's state (the mirror equals the core's snapshots);
* no eligible, available agent with room sits idle while work it could take
  is waiting (work conservation);
* overflow and sticky states follow the clock;
* at the end, with agents present, every conversation gets offered.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.core import RoutingCore
from routing.model import (
    Assign,
    Decision,
    Offer,
    Requeued,
    RoutingError,
    TeamPolicy,
    Withdrawn,
    WorkItem,
)

TEAMS = ("t1", "t2")
CHANNELS = ("voice", "chat", "email")
SKILL_SETS: tuple[dict[str, int], ...] = ({}, {"billing": 1}, {"billing": 2}, {"tech": 1})
LANGS = (None, "en", "es")


class Harness:
    def __init__(self, core: RoutingCore, policies: dict[str, TeamPolicy]) -> None:
        self.core = core
        self.policies = policies
        self.now = 0.0
        self.holder: dict[str, tuple[str, str]] = {}  # conversation -> (agent, "offered"/"assigned")
        self.channel: dict[str, str] = {}
        self.team: dict[str, str] = {}
        self.blocks: dict[str, bool] = {}
        self.n = 0

    # -- the driver side -------------------------------------------------------------------

    def call(self, fn_name: str, *args: object, **kwargs: object) -> list[Decision]:
        fn = getattr(self.core, fn_name)
        out: list[Decision] = fn(*args, **kwargs)
        self.apply(out)
        self.check()
        return out

    def advance(self, dt: float) -> None:
        target = self.now + dt
        while (deadline := self.core.next_deadline()) is not None and deadline <= target:
            assert deadline >= self.now - 1e-9, "a deadline in the past was left unfired"
            self.now = max(self.now, deadline)
            self.call("tick", self.now)
        self.now = target
        self.check()

    def apply(self, decisions: list[Decision]) -> None:
        for d in decisions:
            if isinstance(d, (Offer, Assign)):
                cid, aid = d.conversation_id, d.agent_id
                held = self.holder.get(cid)
                if isinstance(d, Assign) and held == (aid, "offered"):
                    self.holder[cid] = (aid, "assigned")
                    continue
                assert held is None, f"{cid} handed to {aid} while held by {held}"
                self.blocks[cid] = self.channel[cid] == "voice" and (
                    self.policies[self.team[cid]].voice_blocks_other_channels
                )
                self.check_room(aid, cid)
                self.holder[cid] = (aid, "offered" if isinstance(d, Offer) else "assigned")
                if isinstance(d, Offer):
                    assert d.expires_at > self.now
            elif isinstance(d, (Requeued, Withdrawn)):
                held = self.holder.pop(d.conversation_id, None)
                if isinstance(d, Withdrawn):
                    assert held is not None and held[0] == d.agent_id
                elif d.agent_id is not None:
                    assert held is not None and held[0] == d.agent_id, (d, held)

    def check_room(self, agent_id: str, cid: str) -> None:
        state = self.core.agent(agent_id)
        assert state is not None
        channel = self.channel[cid]
        mine = [c for c, (a, _) in self.holder.items() if a == agent_id]
        same = sum(1 for c in mine if self.channel[c] == channel)
        assert same < state.capacity.get(channel, 0), f"{agent_id} over capacity on {channel}"
        if channel != "voice":
            assert not any(self.blocks[c] for c in mine if self.channel[c] == "voice"), "voice blocks"

    # -- invariants --------------------------------------------------------------------------

    def check(self) -> None:
        core = self.core
        held_by_core: dict[str, tuple[str, str]] = {}
        waiting = []
        for cid in core.conversation_ids():
            conv = core.conversation(cid)
            assert conv is not None
            if conv.state in ("offered", "assigned"):
                assert conv.agent_id is not None
                held_by_core[cid] = (conv.agent_id, conv.state)
            else:
                assert conv.agent_id is None
                waiting.append(conv)
        assert held_by_core == self.holder, "decisions do not explain the core's state"
        agents = {aid: core.agent(aid) for aid in core.agent_ids()}
        for aid, a in agents.items():
            assert a is not None
            assert len(a.offered) <= 1, f"{aid} has several offers at once"
            for channel, n in a.load.items():
                assert n <= a.capacity.get(channel, 0), f"{aid} over capacity"
                assert n == sum(
                    1 for c, (h, _) in self.holder.items() if h == aid and self.channel[c] == channel
                )
        for conv in waiting:
            pol = self.policies[conv.team_id]
            if conv.state == "waiting" and pol.overflow_team and pol.overflow_after is not None:
                assert conv.overflowed == (self.now >= conv.enqueued_at + pol.overflow_after)
            if conv.state == "sticky":
                sticky = agents[conv.sticky_agent_id or ""]
                assert sticky is not None
                assert self.now < conv.enqueued_at + pol.sticky_wait
                assert sticky.presence in ("available", "busy", "wrap_up")  # (disconnected = in grace)
                assert (
                    sticky.presence != "available"
                    or bool(sticky.offered)
                    or not self.has_room(sticky, conv.channel)
                )
                continue
            for aid, a in agents.items():
                assert a is not None
                if conv.excluded.get(aid, -1.0) > self.now:
                    continue
                teams = {conv.team_id}
                if conv.overflowed and pol.overflow_team:
                    teams.add(pol.overflow_team)
                if not (a.teams & teams) or not a.connected or a.presence != "available":
                    continue
                if not self.satisfies(a.skills, a.languages, conv.conversation_id):
                    continue
                if a.offered:  # answering an offer: offers come one at a time
                    continue
                assert not self.has_room(a, conv.channel), f"{aid} idle while {conv.conversation_id} waits"

    def has_room(self, a: object, channel: str) -> bool:
        from routing.model import AgentState

        assert isinstance(a, AgentState)
        if a.load.get(channel, 0) >= a.capacity.get(channel, 0):
            return False
        if channel == "voice":
            return True
        return not any(
            self.blocks[c]
            for c, (h, _) in self.holder.items()
            if h == a.agent_id and self.channel[c] == "voice"
        )

    def satisfies(self, skills: dict[str, int], langs: frozenset[str], cid: str) -> bool:
        req = self.requirements[cid]
        if req[1] is not None and req[1] not in langs:
            return False
        return all(skills.get(k, 0) >= v for k, v in req[0].items())

    requirements: dict[str, tuple[dict[str, int], str | None]]
    n_agents = 1

    def agent_name(self, i: object) -> str:
        assert isinstance(i, int)
        return f"a{i % self.n_agents}"

    # -- helpers for the event generator ----------------------------------------------------

    def enqueue(
        self, team: str, channel: str, skills: dict[str, int], lang: str | None, **kw: object
    ) -> None:
        self.n += 1
        cid = f"c{self.n}"
        self.channel[cid] = channel
        self.team[cid] = team
        self.requirements[cid] = (skills, lang)
        self.blocks[cid] = channel == "voice" and self.policies[team].voice_blocks_other_channels
        item = WorkItem(cid, team, channel, self.now, skills=skills, language=lang, **kw)  # type: ignore[arg-type]
        self.call("enqueue", item, self.now)


policy_st: st.SearchStrategy[dict[str, Any]] = st.builds(
    dict,
    strategy=st.sampled_from(["longest_idle", "least_occupied", "round_robin"]),
    auto_accept=st.booleans(),
    on_offer_timeout=st.sampled_from(["away", "stay"]),
    max_missed_offers=st.integers(1, 2),
    reoffer_cooldown=st.sampled_from([0.0, 15.0]),
    offline_requeue_after=st.sampled_from([None, 40.0]),
    wrap_up_seconds=st.sampled_from([0.0, 10.0]),
    voice_blocks_other_channels=st.booleans(),
    sticky_wait=st.sampled_from([0.0, 25.0]),
    aging_per_second=st.sampled_from([0.0, 0.5]),
    sla_urgency_window=st.sampled_from([0.0, 10.0]),
    disconnect_grace=st.sampled_from([0.0, 20.0]),
    offer_timeout=st.just({"voice": 15.0, "chat": 30.0, "email": 60.0}),
    sla_seconds=st.just({"voice": 20.0, "chat": 40.0, "email": 300.0}),
)

agent_st = st.fixed_dictionaries(
    {
        "teams": st.sets(st.sampled_from(TEAMS), min_size=1),
        "skills": st.sampled_from([{}, {"billing": 1}, {"billing": 2, "tech": 1}, {"tech": 2}]),
        "languages": st.sets(st.sampled_from(["en", "es"])),
        "capacity": st.fixed_dictionaries(
            {"voice": st.integers(0, 1), "chat": st.integers(0, 3), "email": st.integers(0, 2)}
        ),
    }
)

op_st = st.one_of(
    st.tuples(
        st.just("enqueue"),
        st.sampled_from(TEAMS),
        st.sampled_from(CHANNELS),
        st.integers(0, len(SKILL_SETS) - 1),
        st.sampled_from(LANGS),
        st.booleans(),
        st.integers(-5, 5),
        st.integers(-1, 3),
    ),
    st.tuples(st.sampled_from(["accept", "reject", "complete", "remove"]), st.integers(0, 50)),
    st.tuples(
        st.just("presence"), st.integers(0, 3), st.sampled_from(["available", "away", "busy", "offline"])
    ),
    st.tuples(st.sampled_from(["disconnect", "connect"]), st.integers(0, 3)),
    st.tuples(st.just("advance"), st.sampled_from([1.0, 5.0, 12.0, 30.0, 61.0])),
    st.tuples(st.just("set_priority"), st.integers(0, 50), st.integers(-10, 10)),
    st.tuples(st.just("transfer"), st.integers(0, 50), st.sampled_from(TEAMS), st.integers(-1, 3)),
    st.tuples(st.just("assign"), st.integers(0, 50), st.integers(0, 3), st.booleans()),
)


def pick(cids: list[str], i: int) -> str | None:
    return cids[i % len(cids)] if cids else None


def run_ops(harness: Harness, ops: list[tuple[object, ...]]) -> None:
    core = harness.core
    for op in ops:
        kind = op[0]
        live = sorted(core.conversation_ids(), key=lambda c: int(c[1:]))
        if kind == "enqueue":
            _, team, channel, skill_i, lang, vip, prio, last = op
            assert isinstance(skill_i, int) and isinstance(last, int)
            harness.enqueue(
                str(team),
                str(channel),
                SKILL_SETS[skill_i],
                lang if isinstance(lang, str) else None,
                vip=vip,
                priority=prio,
                last_agent_id=harness.agent_name(last) if last >= 0 else None,
            )
        elif kind in ("accept", "reject"):
            offered = [c for c in live if harness.holder.get(c, ("", ""))[1] == "offered"]
            cid = pick(offered, int(op[1]))  # type: ignore[call-overload]
            if cid is not None:
                harness.call(str(kind), cid, harness.holder[cid][0], harness.now)
        elif kind in ("complete", "remove"):
            cid = pick(live, int(op[1]))  # type: ignore[call-overload]
            if cid is not None:
                if kind == "complete":
                    harness.holder.pop(cid, None)  # the caller knows it ended
                harness.call(str(kind), cid, harness.now)
        elif kind == "presence":
            harness.call("set_presence", harness.agent_name(op[1]), op[2], harness.now)
        elif kind == "disconnect":
            harness.call("agent_disconnected", harness.agent_name(op[1]), harness.now)
        elif kind == "connect":
            harness.call("agent_connected", harness.agent_name(op[1]), harness.now)
        elif kind == "advance":
            harness.advance(float(op[1]))  # type: ignore[arg-type]
        elif kind == "set_priority":
            cid = pick(live, int(op[1]))  # type: ignore[call-overload]
            if cid is not None:
                harness.call("set_priority", cid, op[2], harness.now)
        elif kind == "transfer":
            cid = pick(live, int(op[1]))  # type: ignore[call-overload]
            if cid is not None:
                to_agent = harness.agent_name(op[3]) if int(op[3]) >= 0 else None  # type: ignore[call-overload]
                before = harness.team[cid]
                harness.team[cid] = str(op[2])
                try:
                    harness.call("transfer", cid, harness.now, to_team=op[2], to_agent=to_agent)
                except RoutingError:
                    harness.team[cid] = before
                    harness.check()
        elif kind == "assign":
            cid = pick(live, int(op[1]))  # type: ignore[call-overload]
            if cid is not None:
                try:
                    harness.call("assign", cid, harness.agent_name(op[2]), harness.now, by_agent=op[3])
                except RoutingError:
                    harness.check()


def build(policy_kwargs: list[dict[str, object]], agents: list[dict[str, object]], overflow: bool) -> Harness:
    policies = {team: TeamPolicy(team, **kw) for team, kw in zip(TEAMS, policy_kwargs, strict=True)}  # type: ignore[arg-type]
    if overflow:
        policies["t1"] = replace(policies["t1"], overflow_team="t2", overflow_after=45.0)
    core = RoutingCore(policies.values())
    harness = Harness(core, policies)
    harness.requirements = {}
    harness.n_agents = len(agents)
    for i, spec in enumerate(agents):
        harness.call("upsert_agent", f"a{i}", 0.0, presence="available", **spec)
    return harness


def drain_everything(harness: Harness) -> None:
    """Liveness: with a capable agent present and offers accepted, nothing waits forever."""
    core = harness.core
    for aid in core.agent_ids():
        harness.call("agent_connected", aid, harness.now)
        harness.call("set_presence", aid, "available", harness.now)
    harness.call(
        "upsert_agent",
        "super",
        harness.now,
        presence="available",
        teams=TEAMS,
        skills={"billing": 9, "tech": 9},
        languages={"en", "es"},
        capacity={"voice": 500, "chat": 500, "email": 500},
    )
    for _ in range(200):
        # Whatever got an agent is done; finishing it frees room (voice blocking).
        for cid in list(harness.holder):
            if harness.holder.pop(cid, None) is not None:
                harness.call("complete", cid, harness.now)
        waiting = [c for c in core.conversation_ids() if c not in harness.holder]
        if not waiting:
            return
        harness.advance(10.0)
    raise AssertionError(f"still waiting: {waiting}")


# ROUTING_PROPERTY_EXAMPLES lets a soak run go much further than CI does.
EXAMPLES = int(os.environ.get("ROUTING_PROPERTY_EXAMPLES", "300"))


@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy_kwargs=st.lists(policy_st, min_size=2, max_size=2),
    agents=st.lists(agent_st, min_size=1, max_size=4),
    overflow=st.booleans(),
    ops=st.lists(op_st, min_size=1, max_size=80),
)
def test_invariants_hold_over_random_event_sequences(
    policy_kwargs: list[dict[str, object]],
    agents: list[dict[str, object]],
    overflow: bool,
    ops: list[tuple[object, ...]],
) -> None:
    harness = build(policy_kwargs, agents, overflow)
    run_ops(harness, ops)
    drain_everything(harness)
