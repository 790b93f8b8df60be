"""The console gateway's fan-out, in process: who receives an event and its frame.

    python bench/fanout_bench.py [--quick] [--sockets 1000] [--team-size 10]

Every committed event goes through ``Gateway.deliver``: the sockets that may see it
(``hub.services.visibility.may_see``) among the candidates its indexes give (the
socket's user, team, role and watched conversations), the frame serialized once, and a
push onto each recipient's queue. The baseline, in the same run and on the same events,
is the plain way: ``may_see`` asked of every open socket, and the frame built with
``model_dump`` and ``json.dumps``; a middle row is the gateway as it was until stop 34
(the event's team always among the candidates, the frame the plain way). All pick the
same sockets (checked here).

The events are the end-to-end bench's mix (bench/e2e_bench.py): a customer's message
into a conversation assigned to one of the agents, who sit in teams of ten; and, one in
twenty, a conversation event for the team. CPU time (``time.process_time``), the median
of several passes over the same events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_ui.gateway import Connection, Gateway
from hub.events import Event
from hub.services.access import Actor
from hub.services.visibility import INTERNAL, may_see

BODY = "sbb|abc|000000001|00000000000000000000 | hello, I have a question about my last order"


def build(sockets: int, team_size: int) -> tuple[Gateway, list[Connection]]:
    gw = Gateway(None, {})  # type: ignore[arg-type]  # deliver() needs no hub
    conns = []
    teams = max(1, sockets // team_size)
    for uid in range(1, sockets + 1):
        conn = Connection(None, Actor(user_id=uid, role="agent", team_ids=frozenset({uid % teams})))  # type: ignore[arg-type]
        gw.by_user[uid].add(conn)
        gw._index(conn, add=True)
        conns.append(conn)
    for uid in range(sockets + 1, sockets + 1 + max(1, teams // 10)):  # a supervisor for ten teams
        sup = Actor(user_id=uid, role="supervisor", team_ids=frozenset(range(uid % 10, teams, 10)))
        conn = Connection(None, sup)  # type: ignore[arg-type]
        gw.by_user[uid].add(conn)
        gw._index(conn, add=True)
        conns.append(conn)
    gw.teams_of_user = {c.user_id: c.actor.team_ids for c in conns}
    return gw, conns


def events(n: int, sockets: int, team_size: int) -> list[Event]:
    teams = max(1, sockets // team_size)
    out = []
    for i in range(1, n + 1):
        agent = i % sockets + 1
        conv = 2 * agent + i % 2
        if i % 20:
            payload: dict[str, Any] = {
                "conversation_id": conv,
                "message_id": i,
                "channel": "loopback",
                "direction": "inbound",
                "author_type": "contact",
                "author_id": conv,
                "kind": "text",
                "body": BODY,
                "subject": None,
                "delivery_status": "received",
                "attachments": [],
                "created_at": "2026-12-05T04:31:38.123456Z",
                "whisper": False,
            }
            kind = "message.received"
        else:
            payload = {"contact_id": conv, "status": "open", "channel": "loopback", "priority": 0}
            kind = "conversation.updated"
        out.append(
            Event(
                id=i,
                type=kind,
                conversation_id=conv,
                team_id=agent % teams,
                user_id=agent,
                payload=payload,
            )
        )
    return out


def plain_push(gw: Gateway, pool: Iterable[Connection], event: Event) -> None:
    """The sockets of ``pool`` that may see ``event`` get the frame built the plain way."""
    if event.type in INTERNAL:
        return
    targets = [c for c in pool if may_see(c.actor, event, gw.teams_of, c.watching)]
    if not targets:
        return
    frame = json.dumps({"type": "event", "event": event.model_dump(mode="json")}, ensure_ascii=False)
    for conn in targets:
        conn.push(frame, event.id)


def every_socket(gw: Gateway, conns: list[Connection], event: Event) -> None:
    """The baseline: every socket asked."""
    plain_push(gw, conns, event)


def team_candidates(gw: Gateway, event: Event) -> None:
    """As the gateway did until stop 34 (cdcf0c6): the event's team always among the
    candidates, the frame built the plain way."""
    candidates = gw.candidates(event)
    if event.team_id is not None:
        candidates |= gw.by_team.get(event.team_id, set())
    plain_push(gw, candidates, event)


def cpu_per_event(fn: Any, evs: list[Event], conns: list[Connection], passes: int) -> float:
    runs = []
    for _ in range(passes):
        t0 = time.process_time()
        for e in evs:
            fn(e)
        runs.append((time.process_time() - t0) / len(evs) * 1e6)
        for c in conns:
            c.queue.clear()
    return statistics.median(runs)


async def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer events and passes")
    ap.add_argument("--sockets", type=int, default=1000)
    ap.add_argument("--team-size", type=int, default=10)
    args = ap.parse_args(argv)
    n, passes = (2_000, 3) if args.quick else (10_000, 7)
    gw, conns = build(args.sockets, args.team_size)
    evs = events(n, args.sockets, args.team_size)
    for e in evs[:200]:  # the same recipients both ways
        assert gw.recipients(e) == {c for c in conns if may_see(c.actor, e, gw.teams_of, c.watching)}, e
    base = cpu_per_event(lambda e: every_socket(gw, conns, e), evs, conns, passes)
    team = cpu_per_event(lambda e: team_candidates(gw, e), evs, conns, passes)
    indexed = cpu_per_event(gw.deliver, evs, conns, passes)
    print("## Console fan-out (in process)\n")
    print(f"`python bench/fanout_bench.py{' --quick' if args.quick else ''}`: {len(conns):,} sockets "
          f"(agents in teams of {args.team_size}, a supervisor for ten teams), {n:,} events "
          f"(19 in 20 a message to its assignee), median of {passes} passes\n")  # fmt: skip
    print("| fan-out | µs CPU per event | ratio |")
    print("|---|---:|---:|")
    print(f"| every socket asked, frame by `json.dumps` (baseline) | {base:,.1f} | 1.00 |")
    print(
        f"| the team's sockets always candidates, frame by `json.dumps` (until stop 34) | {team:,.1f} | {team / base:.2f} |"
    )
    print(f"| the gateway's `deliver` (indexes, frame by pydantic) | {indexed:,.1f} | {indexed / base:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
