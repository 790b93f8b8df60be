"""The indexed core makes exactly the decisions of the naive full-scan router.

In the simple case both support (auto-accept, longest-idle, no overflow,
sticky routing or offers), every Assign — which conversation, which agent, in
which order — must match. This checks the heap-key trick (aging, VIP, SLA
urgency, channel priority, FIFO ties) against a plain argmax at every step.
Times are integers and the aging rate is dyadic, so float ties are exact.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.core import RoutingCore
from routing.model import Assign, TeamPolicy, WorkItem
from routing.naive import NaiveRouter

SKILLS: tuple[dict[str, int], ...] = ({}, {"billing": 1}, {"billing": 2}, {"tech": 1})


def policies(aging: float, boost: int) -> list[TeamPolicy]:
    return [
        TeamPolicy(
            team,
            auto_accept=True,
            aging_per_second=aging,
            sla_urgency_boost=boost,
            sla_seconds={"voice": 20.0, "chat": 40.0, "email": 120.0},
        )
        for team in ("t1", "t2")
    ]


agent_st = st.fixed_dictionaries(
    {
        "teams": st.sets(st.sampled_from(["t1", "t2"]), min_size=1),
        "skills": st.sampled_from([{}, {"billing": 1}, {"billing": 2, "tech": 1}]),
        "languages": st.sets(st.sampled_from(["en", "es"])),
        "capacity": st.fixed_dictionaries(
            {"voice": st.integers(0, 1), "chat": st.integers(1, 3), "email": st.integers(0, 2)}
        ),
    }
)

enqueue_st = st.tuples(
    st.just("enqueue"),
    st.sampled_from(["t1", "t2"]),
    st.sampled_from(["voice", "chat", "email"]),
    st.integers(0, 3),
    st.sampled_from([None, None, "en", "es"]),
    st.booleans(),
    st.sampled_from([0, 0, -20, 5, 20]),
)
# Weighted towards arrivals and completions so backlogs (and thus choices) form.
op_st = st.one_of(
    enqueue_st,
    enqueue_st,
    st.tuples(st.just("complete"), st.integers(0, 100)),
    st.tuples(st.just("complete"), st.integers(0, 100)),
    st.tuples(st.just("agent"), agent_st),
    st.tuples(st.just("wait"), st.integers(1, 40)),
)


@settings(max_examples=150, deadline=None, database=None)
@given(
    aging=st.sampled_from([0.0, 0.5, 2.0]),
    boost=st.sampled_from([0, 10, 40]),
    agents=st.lists(agent_st, min_size=1, max_size=4),
    ops=st.lists(op_st, min_size=30, max_size=150),
)
def test_core_and_naive_agree(aging: float, boost: int, agents: list[dict], ops: list[tuple]) -> None:  # type: ignore[type-arg]
    core = RoutingCore(policies(aging, boost))
    naive = NaiveRouter(policies(aging, boost))
    now = 0
    held: list[str] = []
    n = 0

    def both(name: str, *args: object, **kw: object) -> None:
        assert core.tick(float(now)) == []  # urgency re-keys never hand out work by themselves
        got = [d for d in getattr(core, name)(*args, **kw) if isinstance(d, Assign)]
        want = getattr(naive, name)(*args, **kw)
        assert got == want, (name, args)
        held.extend(d.conversation_id for d in got)

    for i, spec in enumerate(agents):
        both("upsert_agent", f"a{i}", 0.0, presence="available", **spec)
    for op in ops:
        if op[0] == "enqueue":
            n += 1
            now += 1
            _, team, channel, skill_i, lang, vip, prio = op
            both(
                "enqueue",
                WorkItem(
                    f"c{n}",
                    team,
                    channel,
                    float(now),
                    priority=prio,
                    vip=vip,
                    skills=SKILLS[skill_i],
                    language=lang,
                ),
                float(now),
            )
        elif op[0] == "complete" and held:
            cid = held.pop(op[1] % len(held))
            both("complete", cid, float(now))
        elif op[0] == "agent":
            both("upsert_agent", f"a{len(agents) + n}", float(now), presence="available", **op[1])
            n += 1
        elif op[0] == "wait":
            now += op[1]
