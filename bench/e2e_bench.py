"""End-to-end benchmark: webhook POST -> ingest -> bus -> gateway -> the agent's socket.

Three kinds of process, so that no measuring code shares an event loop with the server:

* the server under test: a real hub (``python -m hub serve``; SQLite, then PostgreSQL),
  or the bare relay (bench/e2e_relay.py: FastAPI + uvicorn, POST -> one websocket);
* the load generator (bench/e2e_loadgen.py), one process per step: raw asyncio
  HTTP/1.1 keep-alive connections, pre-built requests, open-loop constant rate with
  latency measured from each request's scheduled time;
* the receivers (bench/e2e_agents.py): N agent websockets (raw RFC 6455 clients) that
  timestamp each message against the generator's timestamp in its body
  (CLOCK_MONOTONIC is one clock for the whole host), and send the reply step's
  ``reply`` commands.

Every target gets the same generator, receivers, steps and N. Offered rates are stepped
(100, 300, 1,000, 2,000 msg/s), then a closed-loop step finds the max sustained rate.
Per step: delivered msg/s, latency percentiles (undelivered messages count as infinitely
late), errors, the server's CPU per delivered message (/proc/<pid>/stat), and the CPU
share of the generator and receivers, to show they are not what limits the figures;
memory per agent socket. The hub targets also run reply steps (agents' ``reply`` commands
-> outbox -> the loopback channel's journal; the last offers twice the 1,000/s target, so
that the rate sent shows what the hub can carry, as the messages' max step does: at
exactly 1,000/s offered, the sends still in flight at the step's end keep the rate just
under it whatever the capacity), and the generator is finally driven
against a null HTTP server to show its own ceiling. Every loop is bounded in count and
time; a saturated server only makes steps shed and time out, never run longer. Output is
Markdown: per-step table, memory, replies, hub ÷ relay, and the issue's targets.

    python bench/e2e_bench.py            # 1,000 agents; SQLite, PostgreSQL, relay (5-8 min)
    python bench/e2e_bench.py --quick    # 100 agents, 2 s steps, SQLite and relay (<60 s)

The host is shared: "other CPU %" shows load from outside the bench in each step, and a
full run waits (bounded) for other jobs to calm down before each target and step.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_common import (
    REPLY_MARK,
    cpu_seconds,
    free_port,
    machine_busy_ticks,
    parse_marked,
    percentile,
    raise_fd_limit,
    read_json,
    remove,
    rss_kib,
)
from e2e_setup import create_pg_database, drop_pg_database, hub_config, pg_backend_pids, seed

from hub.reports.schedules import ReportMailer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOKEN = "bench-loopback-token-" + "t" * 16
INF = math.inf
TITLES = {"sqlite": "hub, SQLite", "postgres": "hub, PostgreSQL", "relay": "bare relay"}

PROJECTION_DRAIN_S = 60.0  # the longest a step waits for the projections to catch up
# Consumers that never read the log (their position stays): ``timers_only`` in hub.projections.
TIMERS_ONLY = tuple(c.name for c in (ReportMailer,) if getattr(c, "timers_only", False))


def projections_behind(url: str) -> int:
    """Events between the log's end and the furthest-behind projection checkpoint."""
    sql_top = "SELECT COALESCE(MAX(id), 0) FROM event_log"
    sql_low = "SELECT MIN(position) FROM projection_checkpoint WHERE name NOT IN ({})".format(
        ", ".join(f"'{n}'" for n in TIMERS_ONLY)
    )
    if url.startswith("sqlite"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(url.split("///", 1)[1], timeout=30)) as conn:
            top = conn.execute(sql_top).fetchone()[0]
            low = conn.execute(sql_low).fetchone()[0]
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as pg:
            top = pg.execute(sql_top).fetchone()[0]  # type: ignore[index]
            low = pg.execute(sql_low).fetchone()[0]  # type: ignore[index]
    return max(0, int(top) - int(low if low is not None else top))


# Issue targets: what the figures are compared with.
GOAL_SQLITE_RATE = 2_000
GOAL_P99_MS_AT_1000 = 100
GOAL_CPU_MS = 0.5
GOAL_RELAY_SHARE = 0.5
GOAL_PG_RATE = 1_500
GOAL_REPLIES = 1_000
GOAL_KIB_PER_SOCKET = 50


@dataclass
class Plan:
    agents: int
    seconds: float
    rates: list[float]
    targets: list[str]
    connections: int
    drain: float
    grace: float
    reply_rates: list[float]
    reply_seconds: float
    null_seconds: float
    quick: bool
    wait_quiet: float
    step_quiet: float
    keep: bool


@dataclass
class Step:
    label: str
    rate: float  # 0: closed loop (the max step)
    seconds: float
    gen: dict[str, Any]
    rep: dict[str, Any]
    server_cpu: float  # seconds, from the step's start to the end of its drain
    db_cpu: float | None  # PostgreSQL backends, same span
    util: dict[str, float]  # % of one core while the generator was sending (Sampler)
    # The hub's projections (log consumers) when the deliveries had drained: events the
    # furthest-behind consumer still had to apply, and how long it took to apply them.
    # The step's CPU includes that catch-up, so work deferred to the consumers is counted.
    behind: int | None = None
    catch_up_s: float | None = None

    @property
    def offered(self) -> int:
        return int(self.gen["scheduled"])

    @property
    def delivered(self) -> int:
        return int(self.rep["delivered"])

    @property
    def delivered_rate(self) -> float:
        """Distinct messages that reached their agent's socket within the step's window."""
        return float(self.rep["in_window"]) / self.seconds

    @property
    def offered_rate(self) -> float:
        return self.rate if self.rate else self.offered / self.seconds

    def latency(self, p: float) -> float:
        """POST (scheduled) -> agent socket; a message never delivered counts as infinite."""
        lat: list[float] = self.rep["lat_ms"]
        missing = max(0, self.offered - len(lat))
        return percentile(list(lat) + [INF] * missing, p)

    @property
    def errors(self) -> int:
        return sum(self.gen["statuses"].values()) + int(self.gen["conn_errors"])

    @property
    def lost(self) -> int:
        """Accepted (2xx) but never seen on a socket before the drain ended."""
        return max(0, int(self.gen["ok"]) - self.delivered)

    @property
    def cpu_ms_per_msg(self) -> float:
        return self.server_cpu * 1000 / self.delivered if self.delivered else INF

    @property
    def db_ms_per_msg(self) -> float | None:
        if self.db_cpu is None:
            return None
        return self.db_cpu * 1000 / self.delivered if self.delivered else INF

    @property
    def gen_pct(self) -> float:
        return 100 * float(self.gen["cpu_s"]) / max(1e-9, float(self.gen["wall_s"]))

    @property
    def recv_pct(self) -> float:
        return self.util.get("recv", math.nan)

    @property
    def server_pct(self) -> float:
        return self.util.get("server", math.nan)

    @property
    def other_pct(self) -> float:
        """Machine CPU not used by the server, its database, the generator or the receivers:
        the orchestrator, the kernel, and anything else running on the host."""
        u = self.util
        if "machine" not in u:
            return math.nan
        ours = u["server"] + u["recv"] + u.get("db", 0.0) + u.get("peers", 0.0) + self.gen_pct
        return max(0.0, u["machine"] - ours)


@dataclass
class Replies:
    rate: float
    seconds: float
    out: dict[str, Any]
    journal_lat_ms: list[float]
    in_window: int
    server_cpu: float
    db_cpu: float | None
    util: dict[str, float]

    @property
    def sent_rate(self) -> float:
        return self.in_window / self.seconds

    def ack(self, p: float) -> float:
        lat: list[float] = self.out["ack_ms"]
        return percentile(lat + [INF] * max(0, int(self.out["scheduled"]) - len(lat)), p)

    def journal(self, p: float) -> float:
        lat = sorted(self.journal_lat_ms)
        return percentile(lat + [INF] * max(0, int(self.out["scheduled"]) - len(lat)), p)

    @property
    def cpu_ms(self) -> float:
        n = len(self.journal_lat_ms)
        return self.server_cpu * 1000 / n if n else INF

    @property
    def other_pct(self) -> float:
        u = self.util
        if "machine" not in u:
            return math.nan
        return max(0.0, u["machine"] - u["server"] - u["recv"] - u.get("db", 0.0) - u.get("peers", 0.0))


@dataclass
class Target:
    kind: str
    steps: list[Step] = field(default_factory=list)
    replies: list[Replies] = field(default_factory=list)
    sockets: int = 0
    connect_s: float = 0.0
    connect_failures: dict[str, int] = field(default_factory=dict)
    rss0: int = 0
    rss_n: int = 0
    closes: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    code: str = ""  # the hub's code when its process started (see code_state)

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def kib_per_socket(self) -> float:
        return (self.rss_n - self.rss0) / self.sockets if self.sockets else math.nan

    @property
    def max_rate(self) -> float:
        return max((s.delivered_rate for s in self.steps), default=0.0)

    @property
    def max_reply_rate(self) -> float:
        return max((r.sent_rate for r in self.replies), default=0.0)

    def step(self, label: str) -> Step | None:
        return next((s for s in self.steps if s.label == label), None)


# -- processes -------------------------------------------------------------------------------


class Server:
    def __init__(self, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.cmd, self.env, self.log = cmd, env, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, port: int, health: str | None) -> None:
        with self.log.open("wb") as log:  # the child keeps its own handle
            self.proc = await asyncio.create_subprocess_exec(
                *self.cmd, cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise RuntimeError(f"server exited at start:\n{self.tail()}")
            if await _probe(port, health):
                return
            await asyncio.sleep(0.1)  # readiness polling of a child process
        raise RuntimeError(f"server did not start in 90 s:\n{self.tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            async with asyncio.timeout(20):
                await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def _probe(port: int, health: str | None) -> bool:
    try:
        async with asyncio.timeout(2):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                if health is None:
                    return True
                writer.write(
                    f"GET {health} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
                )
                status = await reader.readline()
                return b" 200 " in status
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return False


class Receivers:
    """The receivers process, driven by JSON lines over its stdin/stdout."""

    def __init__(self, proc: asyncio.subprocess.Process, answers: Path) -> None:
        self.proc = proc
        self.answers = answers

    @classmethod
    async def start(cls, settings: Path, answers: Path) -> Receivers:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "e2e_agents.py"),
            str(settings),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        return cls(proc, answers)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def ask(self, cmd: dict[str, Any], wait_s: float = 30) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        remove(self.answers)
        self.proc.stdin.write((json.dumps({**cmd, "out": str(self.answers)}) + "\n").encode())
        await self.proc.stdin.drain()
        async with asyncio.timeout(wait_s):
            line = await self.proc.stdout.readline()
        if line.strip() != b"done":
            raise RuntimeError(f"receivers exited during {cmd['cmd']}")
        out: dict[str, Any] = read_json(self.answers)
        return out

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await self.ask({"cmd": "close"}, wait_s=10)
            try:
                async with asyncio.timeout(10):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def run_generator(settings: dict[str, Any], out: Path, wait_s: float) -> dict[str, Any]:
    remove(out)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "e2e_loadgen.py"),
        json.dumps({**settings, "out": str(out)}),
        cwd=ROOT,
    )
    try:
        async with asyncio.timeout(wait_s):
            await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError("the load generator overran its step") from None
    if proc.returncode != 0:
        raise RuntimeError(f"the load generator failed (exit {proc.returncode})")
    result: dict[str, Any] = read_json(out)
    return result


def code_state() -> str:
    """Which hub code a server process starts with: the commit, whether the tree differs
    from it, and a digest of the Python sources (others may be changing them meanwhile).
    Read-only: ``--no-optional-locks`` keeps ``git status`` from touching the index."""
    import hashlib
    import subprocess

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True, timeout=20
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip()

    dirs = ("hub", "channels", "agent_ui", "routing")
    digest = hashlib.sha256()
    for d in dirs:
        for path in sorted((ROOT / d).rglob("*.py")):
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    dirty = "+uncommitted" if git("status", "--porcelain", "--", *dirs) else ""
    return f"{git('rev-parse', '--short', 'HEAD') or '?'}{dirty}, sources {digest.hexdigest()[:10]}"


# -- one target ------------------------------------------------------------------------------


class Sampler:
    """CPU time of the server, receivers, PostgreSQL backends and the whole machine every
    100 ms, so utilisation can be read over a step's active window afterwards."""

    def __init__(self) -> None:
        self.pids: dict[str, list[int]] = {}
        self.samples: list[tuple[float, dict[str, float], int, int]] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        cpu = {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.pids.items()}
        busy, total = machine_busy_ticks()
        self.samples.append((time.monotonic(), cpu, busy, total))

    async def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await self._stop.wait()

    def start(self, pids: dict[str, list[int]]) -> None:
        self.pids, self.samples = pids, []
        self._stop.clear()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    def util(self, t0: float, t1: float) -> dict[str, float]:
        """% of one core per process group, and "machine" (all cores: 200 = two busy)."""
        inside = [x for x in self.samples if t0 <= x[0] <= t1]
        if len(inside) < 2:
            return {}
        (ta, ca, ba, tota), (tb, cb, bb, totb) = inside[0], inside[-1]
        out = {name: 100 * (cb[name] - ca[name]) / (tb - ta) for name in cb}
        out["machine"] = 100 * (bb - ba) / max(1, totb - tota) * (os.cpu_count() or 1)
        return out


class Run:
    """One server under test with its receivers connected."""

    def __init__(
        self,
        plan: Plan,
        target: Target,
        port: int,
        server: Server,
        pg_name: str | None,
        work: Path,
        letter: str,
        journal: Path,
    ) -> None:
        self.plan, self.target, self.port, self.server, self.pg_name = plan, target, port, server, pg_name
        self.work, self.letter, self.journal = work, letter, journal
        self.db_url: str | None = None  # the hub's database (None: the relay)
        self.recv: Receivers | None = None
        self.sampler = Sampler()
        self.peers: list[Run] = []  # the other targets' processes, idle while this one is measured

    def own_pids(self) -> list[int]:
        return [self.server.pid] + ([self.recv.pid] if self.recv is not None else [])

    def peer_pids(self) -> list[int]:
        return [pid for peer in self.peers if peer is not self for pid in peer.own_pids()]

    def db_pids(self) -> list[int]:
        return pg_backend_pids(self.pg_name) if self.pg_name is not None else []

    def begin(self) -> tuple[float, float, dict[int, float]]:
        """Start of a measured step: sampler on; server and PostgreSQL CPU so far."""
        assert self.recv is not None
        db = {pid: cpu_seconds(pid) for pid in self.db_pids()}
        self.sampler.start(
            {"server": [self.server.pid], "recv": [self.recv.pid], "db": list(db), "peers": self.peer_pids()}
        )
        return time.monotonic(), cpu_seconds(self.server.pid), db

    async def end(self, start: tuple[float, float, dict[int, float]]) -> tuple[float, float | None]:
        """Server CPU seconds and PostgreSQL backends' CPU seconds since ``begin``."""
        await self.sampler.stop()
        _, server0, db0 = start
        server = cpu_seconds(self.server.pid) - server0
        if self.pg_name is None:
            return server, None
        # Backends that came and went inside the step are missed; the pool keeps its own.
        db = sum(cpu_seconds(pid) - db0.get(pid, 0.0) for pid in self.db_pids())
        return server, db

    async def connect(self, agent_specs: list[dict[str, Any]]) -> None:
        spec = self.work / "agents.json"
        spec.write_text(json.dumps({"port": self.port, "agents": agent_specs}))
        self.recv = await Receivers.start(spec, self.work / "answer.json")
        await asyncio.sleep(1.0)  # the server settles after start-up before its RSS is read
        await self.recv.ask({"cmd": "warm"}, wait_s=60)  # first socket: lazy imports, caches
        await asyncio.sleep(0.5)
        self.target.rss0 = rss_kib(self.server.pid)
        out = await self.recv.ask({"cmd": "connect", "concurrency": 50, "timeout": 240}, wait_s=260)
        self.target.sockets = int(out["connected"])
        self.target.connect_s = float(out["seconds"])
        self.target.connect_failures = out["failures"]
        await asyncio.sleep(1.0)
        self.target.rss_n = rss_kib(self.server.pid)

    async def quiet(self) -> None:
        """Other jobs share this host: before a step, give them up to ``step_quiet`` seconds
        to leave the cores alone (the step's "other CPU %" shows what remained)."""
        assert self.recv is not None
        if self.plan.step_quiet <= 0:
            return
        t0 = time.monotonic()
        ours = [*self.own_pids(), *self.peer_pids(), *self.db_pids()]
        while True:
            other = await other_busy(0.5, ours)
            if other < QUIET_PCT or time.monotonic() - t0 >= self.plan.step_quiet:
                break
        if time.monotonic() - t0 > 1.0:
            say(
                f"    (waited {time.monotonic() - t0:.0f} s for other jobs on the host; still {other:.0f}% busy)"
            )

    async def step(self, label: str, tag: str, rate: float, seconds: float) -> Step:
        assert self.recv is not None
        plan = self.plan
        await self.quiet()
        start = self.begin()
        gen = await run_generator(
            {
                "port": self.port,
                "tag": tag,
                "agents": plan.agents,
                "rate": rate,
                "duration": seconds,
                "connections": plan.connections,
                "token": TOKEN,
                "timeout": 5.0,
                "grace": plan.grace,
            },
            self.work / "generator.json",
            wait_s=seconds + plan.grace + 60,
        )
        # Deliveries still on their way: wait until every accepted message arrived, nothing
        # arrived for a second, or the drain cap.
        expected, last, last_change = int(gen["ok"]), -1, time.monotonic()
        deadline = time.monotonic() + plan.drain
        while time.monotonic() < deadline:
            got = int((await self.recv.ask({"cmd": "count", "tag": tag}))["delivered"])
            if got >= expected:
                break
            if got != last:
                last, last_change = got, time.monotonic()
            elif time.monotonic() - last_change > 1.0:
                break
            await asyncio.sleep(0.1)  # polling the receivers' count, bounded by the drain cap
        behind, catch_up_s = await self.catch_up()
        server, db = await self.end(start)
        t0, t1 = int(gen["t0_ns"]) / 1e9, int(gen["t_end_ns"]) / 1e9
        rep = await self.recv.ask(
            {"cmd": "report", "tag": tag, "window_end_ns": int(gen["t0_ns"]) + int(seconds * 1e9)}, wait_s=60
        )
        self.target.closes = rep["closes"]
        return Step(label, rate, seconds, gen, rep, server, db, self.sampler.util(t0, t1), behind, catch_up_s)

    async def behind(self) -> int | None:
        """Events the furthest-behind projection has yet to apply (None: no hub)."""
        if self.db_url is None:
            return None
        return await asyncio.to_thread(projections_behind, self.db_url)

    async def catch_up(self) -> tuple[int | None, float | None]:
        """Wait (bounded) until the hub's projections have applied everything: what they
        had left when called and how long they took."""
        first = await self.behind()
        if not first:
            return first, None if first is None else 0.0
        t0 = time.monotonic()
        deadline = t0 + PROJECTION_DRAIN_S
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # polling the checkpoints, bounded by the cap
            if not await self.behind():
                return first, time.monotonic() - t0
        return first, math.inf

    async def reply_step(self, tag: str, rate: float, journal: Path) -> Replies:
        assert self.recv is not None
        plan = self.plan
        tail = JournalTail(journal, tag)
        stop = asyncio.Event()

        async def follow() -> None:
            while not stop.is_set():
                tail.poll()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.01):  # journal polling interval: 10 ms resolution
                        await stop.wait()

        await self.quiet()
        follower = asyncio.create_task(follow())
        start = self.begin()
        try:
            out = await self.recv.ask(
                {
                    "cmd": "replies",
                    "tag": tag,
                    "rate": rate,
                    "duration": plan.reply_seconds,
                    "max_inflight": plan.connections,
                    "grace": plan.grace,
                },
                wait_s=plan.reply_seconds + plan.grace + 60,
            )
            last, last_change = -1, time.monotonic()
            deadline = time.monotonic() + plan.drain
            while time.monotonic() < deadline and len(tail.lat_ms) < int(out["acked"]):
                if len(tail.lat_ms) != last:
                    last, last_change = len(tail.lat_ms), time.monotonic()
                elif time.monotonic() - last_change > 2.0:
                    break
                await asyncio.sleep(0.05)  # outbox drain, bounded by the drain cap
        finally:
            stop.set()
            await follower
        tail.poll()
        server, db = await self.end(start)
        t0, t1 = int(out["t0_ns"]) / 1e9, int(out["t_end_ns"]) / 1e9
        in_window = sum(1 for t in tail.seen_ns if t <= int(out["t_end_ns"]))
        return Replies(
            rate,
            plan.reply_seconds,
            out,
            tail.lat_ms,
            in_window,
            server,
            db,
            self.sampler.util(t0, t1),
        )


class JournalTail:
    """Follows the loopback journal: one JSON line per send the outbox made."""

    def __init__(self, path: Path, tag: str) -> None:
        self.path, self.tag = path, tag
        self.pos = 0
        self.partial = b""
        self.lat_ms: list[float] = []
        self.seen_ns: list[int] = []
        self._seqs: set[int] = set()

    def poll(self) -> None:
        try:
            with self.path.open("rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return
        now = time.monotonic_ns()
        self.pos += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            found = parse_marked(line, REPLY_MARK)
            if found is None or found[0] != self.tag or found[1] in self._seqs:
                continue
            self._seqs.add(found[1])
            self.lat_ms.append((now - found[2]) / 1e6)
            self.seen_ns.append(now)


def journal_path(work: Path, kind: str) -> Path:
    """The loopback journal on tmpfs when there is one: the bench measures the hub's outbox,
    not this machine's fsync latency (the loopback channel stands in for a provider)."""
    shm = Path("/dev/shm")
    return (shm if shm.is_dir() else work) / f"sb-bench-{os.getpid()}-{kind}.jsonl"


async def open_target(plan: Plan, kind: str, tmp: Path, letter: str) -> tuple[Target, Run | None]:
    """Start the server, connect the receivers, measure memory per socket, warm up."""
    target = Target(kind)
    work = tmp / kind
    work.mkdir()
    port = free_port()
    journal = journal_path(work, kind)
    pg_name: str | None = None
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    server: Server | None = None
    run: Run | None = None
    specs: list[dict[str, Any]]
    try:
        if kind == "relay":
            cmd = [sys.executable, str(HERE / "e2e_relay.py"), "relay", "--port", str(port)]
            server = Server([*cmd, "--agents", str(plan.agents)], env, work / "server.log")
            await server.start(port, None)
            specs = [{"path": f"/ws?agent={i}", "conversations": []} for i in range(plan.agents)]
        else:
            if kind == "postgres":
                pg_name = f"sb_bench_{os.getpid()}_{secrets.token_hex(3)}"
                url = create_pg_database(pg_name)
            else:
                url = f"sqlite:///{work / 'bench.db'}"
            seeded = await seed(url, plan.agents)
            cfg = hub_config(
                work / "bench.toml", database_url=url, data_dir=work, port=port, token=TOKEN, journal=journal
            )
            env["SWITCHBOARD_CONFIG"] = str(cfg)
            target.code = code_state()
            server = Server([sys.executable, "-m", "hub", "serve"], env, work / "server.log")
            await server.start(port, "/healthz")
            specs = [
                {"path": "/ws", "cookie": tok, "conversations": convs}
                for tok, convs in zip(seeded.tokens, seeded.conversations, strict=True)
            ]
        run = Run(plan, target, port, server, pg_name, work, letter, journal)
        run.db_url = None if kind == "relay" else url
        await run.connect(specs)
        say(
            f"  {target.title}: {target.sockets} agent sockets in {target.connect_s:.1f} s, "
            f"{target.kib_per_socket:.1f} KiB each"
        )
        await run.step("warm-up", f"{letter}99", 50, min(2.0, plan.seconds))  # not reported
        return target, run
    except Exception as exc:
        fail(target, exc, server)
        if run is not None:
            await close_run(run)
        else:
            await _cleanup(server, None, pg_name, journal)
        return target, None


def fail(target: Target, exc: BaseException, server: Server | None) -> None:
    target.error = f"{type(exc).__name__}: {exc}"
    say(f"  {target.title}: FAILED: {target.error}")
    if server is not None:
        say(server.tail())


async def close_run(run: Run) -> None:
    await _cleanup(run.server, run.recv, run.pg_name, run.journal)


async def _cleanup(server: Server | None, recv: Receivers | None, pg_name: str | None, journal: Path) -> None:
    if recv is not None:
        await recv.stop()
    if server is not None:
        await server.stop()
    if pg_name is not None:
        with contextlib.suppress(Exception):
            drop_pg_database(pg_name)
    remove(journal)


async def measure(plan: Plan, runs: list[Run]) -> None:
    """Each step on every target back to back, so that load from other jobs on the host
    (which comes and goes) falls on all targets alike rather than on whichever ran then."""
    active = list(runs)
    for run in active:
        run.peers = runs

    async def each(work: Any) -> None:
        for run in list(active):
            try:
                await work(run)
            except Exception as exc:
                fail(run.target, exc, run.server)
                active.remove(run)
                await close_run(run)

    for n, rate in enumerate([*plan.rates, 0.0]):
        label = f"{rate:,.0f}" if rate else "max"

        async def one_step(run: Run, n: int = n, rate: float = rate, label: str = label) -> None:
            tag = f"{run.letter}{n:02d}" if rate else f"{run.letter}90"
            st = await run.step(label, tag, rate, plan.seconds)
            run.target.steps.append(st)
            say(f"  {run.target.title} @ {label}{'/s' if rate else ''}: {_one_line(st)}")

        await each(one_step)
    for n, rate in enumerate(plan.reply_rates):

        async def one_reply_step(run: Run, n: int = n, rate: float = rate) -> None:
            if run.target.kind == "relay":
                return  # the relay has no outbox
            r = await run.reply_step(f"{run.letter}8{n}", rate, run.journal)
            run.target.replies.append(r)
            say(
                f"  {run.target.title} replies @ {r.rate:,.0f}/s: {r.sent_rate:,.0f}/s through the outbox, "
                f"acked {r.out['acked']}/{r.out['scheduled']}, {len(r.journal_lat_ms)} sent by the end of the drain"
            )

        await each(one_reply_step)


async def generator_ceiling(plan: Plan, tmp: Path) -> dict[str, Any]:
    """The generator at full speed against a null HTTP server: its own ceiling."""
    port = free_port()
    server = Server(
        [sys.executable, str(HERE / "e2e_relay.py"), "null", "--port", str(port)],
        dict(os.environ),
        tmp / "null.log",
    )
    await server.start(port, None)
    try:
        c0 = cpu_seconds(server.pid)
        gen = await run_generator(
            {
                "port": port,
                "tag": "n00",
                "agents": plan.agents,
                "rate": 0,
                "duration": plan.null_seconds,
                "connections": plan.connections,
                "token": TOKEN,
            },
            tmp / "ceiling.json",
            wait_s=plan.null_seconds + 60,
        )
        gen["server_cpu_s"] = cpu_seconds(server.pid) - c0
    finally:
        await server.stop()
    return gen


# -- report ----------------------------------------------------------------------------------


def _lag(st: Step) -> str:
    if not st.behind:
        return ""
    took = "not within the cap" if st.catch_up_s == math.inf else f"{st.catch_up_s:.1f} s"
    return f", projections {st.behind:,} events behind at drain (caught up: {took})"


def say(text: str = "") -> None:
    print(text, flush=True)


def ms(x: float) -> str:
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞"
    return f"{x:.1f}" if x < 100 else f"{x:,.0f}"


def num(x: float, digits: int = 0) -> str:
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞"
    return f"{x:,.{digits}f}"


def _one_line(st: Step) -> str:
    return (
        f"offered {st.offered_rate:,.0f}/s, delivered {st.delivered_rate:,.0f}/s, "
        f"p50 {ms(st.latency(50))} p99 {ms(st.latency(99))} ms, "
        f"server {st.cpu_ms_per_msg:.2f} ms CPU/msg ({st.server_pct:.0f}%){_lag(st)}, gen {st.gen_pct:.0f}%, "
        f"recv {st.recv_pct:.0f}%, other {st.other_pct:.0f}%"
    )


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---:" if i else "---" for i in range(len(head))) + "|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def report(plan: Plan, targets: list[Target], ceiling: dict[str, Any] | None, elapsed: float) -> None:
    by = {t.kind: t for t in targets}
    say()
    say(
        f"## End-to-end message path: webhook POST → agent socket ({plan.agents:,} agent sockets"
        f"{', quick run' if plan.quick else ''})"
    )
    say()
    say(
        f"{os.cpu_count()} cores shared by server, generator and receivers; Python {platform.python_version()}; "
        f"steps of {plan.seconds:g} s, open loop, ≤ {plan.connections} requests in flight; "
        f"max = closed loop on all {plan.connections} connections. Latency from each request's *scheduled* "
        "send time to the frame on the agent's socket; a message not delivered counts as infinitely late (∞)."
    )
    say()
    coded = [t for t in targets if t.code]
    if coded:
        say(
            "Hub code at each hub start: "
            + "; ".join(f"{t.title}: {t.code}" for t in coded)
            + (
                ". **The hub's sources differ between targets: their figures are not of the same code.**"
                if len({t.code.rsplit(" ", 1)[-1] for t in coded}) > 1
                else " (the same sources for every hub target)."
            )
        )
        say()
    rows = []
    for t in targets:
        if t.error:
            rows.append([t.title, "failed", t.error[:60], *[""] * 14])
            continue
        for st in t.steps:
            rows.append(
                [
                    t.title,
                    st.label if st.rate else "max",
                    num(st.offered_rate),
                    num(st.delivered_rate),
                    ms(st.latency(50)),
                    ms(st.latency(95)),
                    ms(st.latency(99)),
                    num(st.errors),
                    num(int(st.gen["timeouts"])),
                    num(int(st.gen["shed"])),
                    num(st.lost),
                    num(st.cpu_ms_per_msg, 3),
                    "—" if st.db_ms_per_msg is None else num(st.db_ms_per_msg, 3),
                    "—" if st.behind is None else num(st.behind),
                    "—" if st.catch_up_s is None else f"{st.catch_up_s:.1f}",
                    num(st.server_pct),
                    num(st.gen_pct),
                    num(st.recv_pct),
                    num(st.other_pct),
                ]
            )
    say(
        table(
            [
                "target",
                "step",
                "offered msg/s",
                "delivered msg/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "errors",
                "timeouts",
                "shed",
                "lost",
                "server CPU ms/msg",
                "PG CPU ms/msg",
                "projections behind at drain (events)",
                "projections caught up in s",
                "server CPU %",
                "generator CPU %",
                "receivers CPU %",
                "other CPU %",
            ],
            rows,
        )
    )
    say()
    say(
        "errors: non-2xx answers and broken connections; timeouts: no answer in 5 s or by the end of the "
        f"{plan.grace:g} s grace; shed: never sent, because all {plan.connections} connections were busy for "
        "1 s (server saturated) or the step ended; lost: answered 2xx but never on a socket. "
        "CPU ms/msg: utime+stime of the server process (all threads) from the step's start to the end of its "
        "drain ÷ messages delivered, where the drain ends when every message has reached its socket *and* the "
        "hub's projections (the log's consumers: figures, search, reports, reactors) have applied every event "
        f"(bounded by {PROJECTION_DRAIN_S:g} s), so work the hub defers to them is counted; projections behind: "
        "events the furthest-behind consumer still had when the deliveries had drained. "
        "PG: the PostgreSQL backends serving the hub. CPU %: of one core while the "
        "generator was sending; other: the rest of the machine's busy time (orchestrator, kernel, other jobs "
        "on the host; the idle servers of the other targets are not counted in it)."
    )
    hub_targets = [t for t in targets if t.kind != "relay" and not t.error]
    say()
    say("### Memory per agent socket")
    say()
    say(
        table(
            [
                "target",
                "sockets",
                "connect s",
                "server RSS, 0 sockets",
                f"with {plan.agents:,}",
                "KiB per socket",
            ],
            [
                [
                    t.title,
                    num(t.sockets),
                    num(t.connect_s, 1),
                    f"{t.rss0 / 1024:,.1f} MiB",
                    f"{t.rss_n / 1024:,.1f} MiB",
                    num(t.kib_per_socket, 1),
                ]
                for t in targets
                if not t.error
            ],
        )
    )
    if hub_targets:
        say()
        say("### Replies through the outbox")
        say()
        rrows = []
        for t in hub_targets:
            for r in t.replies:
                o = r.out
                rrows.append(
                    [
                        t.title,
                        num(r.rate),
                        f"{o['acked']:,}/{o['scheduled']:,}",
                        num(sum(o["errors"].values()) + int(o["timeouts"]) + int(o["shed"])),
                        num(r.sent_rate),
                        num(len(r.journal_lat_ms)),
                        f"{ms(r.ack(50))} / {ms(r.ack(99))}",
                        f"{ms(r.journal(50))} / {ms(r.journal(99))}",
                        num(r.cpu_ms, 3),
                        num(r.util.get("server", math.nan)),
                        num(r.other_pct),
                    ]
                )
        say(
            table(
                [
                    "target",
                    "offered replies/s",
                    "acked",
                    "failed",
                    "sent via outbox /s",
                    "sent in all",
                    "ack p50 / p99 ms",
                    "reply → sent p50 / p99 ms",
                    "server CPU ms/reply",
                    "server CPU %",
                    "other CPU %",
                ],
                rrows,
            )
        )
        say()
        say(
            f"Agents send the console's `reply` command on their sockets at a fixed rate for {plan.reply_seconds:g} s "
            f"(open loop, ≤ {plan.connections} unacknowledged); a reply counts as sent when its line appears in the "
            "loopback channel's journal (`[channels.loopback] journal`, on tmpfs, polled every 10 ms). "
            "sent via outbox /s: journal lines during the step ÷ its length; sent in all: by the end of the "
            f"drain (≤ {plan.drain:g} s after the last ack). failed = errors + timeouts + shed (not sent: "
            f"{plan.connections} replies were awaiting their ack). CPU ms/reply ÷ replies sent in all."
        )
    relay = by.get("relay")
    say()
    say("### Hub ÷ bare relay (same generator, receivers and steps)")
    say()
    if relay is None or relay.error:
        say("No relay figures in this run.")
    else:
        hrows = []
        for t in hub_targets:
            for st in t.steps:
                rs = relay.step(st.label)
                if rs is None:
                    continue
                hrows.append(
                    [
                        t.title,
                        st.label,
                        f"{st.delivered_rate / rs.delivered_rate:.2f}" if rs.delivered_rate else "—",
                        f"{st.cpu_ms_per_msg / rs.cpu_ms_per_msg:.1f}×" if rs.cpu_ms_per_msg else "—",
                    ]
                )
            if relay.max_rate:
                hrows.append(
                    [
                        t.title,
                        "**max sustained**",
                        f"**{t.max_rate / relay.max_rate:.2f}** ({t.max_rate:,.0f} vs {relay.max_rate:,.0f})",
                        "",
                    ]
                )
        say(
            table(
                ["target", "step", "delivered msg/s, hub ÷ relay", "server CPU per msg, hub ÷ relay"], hrows
            )
        )
    say()
    say("### Is the generator the bottleneck?")
    say()
    open_steps = [s for t in targets for s in t.steps if s.rate]
    worst_lag = max((float(s.gen["sched_lag_ms_p99"]) for s in open_steps), default=0.0)
    lines = []
    if relay is not None and not relay.error and relay.steps:
        top = max(relay.steps, key=lambda s: s.delivered_rate)
        lines.append(
            f"- At the relay's best step ({top.label}) the generator used {top.gen_pct:.0f}% of one core and the "
            f"receivers {top.recv_pct:.0f}%, while the relay delivered {top.delivered_rate:,.0f} msg/s"
            f" with its own process at {top.server_pct:.0f}%."
        )
        sq = by.get("sqlite")
        if sq is not None and not sq.error and sq.max_rate:
            lines.append(
                f"- The same generator and receivers carried {relay.max_rate / sq.max_rate:.1f}× the hub's (SQLite) "
                "best rate through the relay: the hub's figures are the hub's."
            )
    if ceiling is not None:
        rate = int(ceiling["ok"]) / float(plan.null_seconds)
        lines.append(
            f"- Against a null HTTP server (raw asyncio, fixed 201) the generator completed {rate:,.0f} req/s "
            f"at {100 * float(ceiling['cpu_s']) / float(ceiling['wall_s']):.0f}% of one core: its own ceiling"
            + (
                f", {rate / relay.max_rate:.1f}× the relay's best"
                if relay is not None and relay.max_rate
                else ""
            )
            + "."
        )
    lines.append(
        f"- Scheduler lateness (wake-up after a request's scheduled time) p99 ≤ {worst_lag:.1f} ms in every "
        "open-loop step; time waiting for a free connection is counted in the latency, not hidden."
    )
    for line in lines:
        say(line)
    say()
    say("### Targets (issue)")
    say()
    sq, pg = by.get("sqlite"), by.get("postgres")
    goals: list[list[str]] = []

    def goal(what: str, value: float | None, shown: str, ok: bool | None) -> None:
        goals.append(
            [what, shown if value is not None else "not measured", _met(ok if value is not None else None)]
        )

    if sq is not None and not sq.error:
        goal(
            f"SQLite ≥ {GOAL_SQLITE_RATE:,} msg/s sustained",
            sq.max_rate,
            f"{sq.max_rate:,.0f} msg/s",
            sq.max_rate >= GOAL_SQLITE_RATE,
        )
        s1000 = sq.step("1,000")
        goal(
            f"SQLite p99 < {GOAL_P99_MS_AT_1000} ms at 1,000 msg/s",
            None if s1000 is None else s1000.latency(99),
            "" if s1000 is None else f"{ms(s1000.latency(99))} ms",
            s1000 is not None and s1000.latency(99) < GOAL_P99_MS_AT_1000,
        )
        smax = sq.step("max")
        goal(
            f"SQLite ≤ {GOAL_CPU_MS} ms server CPU per message (max step)",
            None if smax is None else smax.cpu_ms_per_msg,
            "" if smax is None else f"{smax.cpu_ms_per_msg:.2f} ms",
            smax is not None and smax.cpu_ms_per_msg <= GOAL_CPU_MS,
        )
        share = sq.max_rate / relay.max_rate if relay is not None and relay.max_rate else None
        goal(
            "SQLite ≥ half the relay's rate",
            share,
            f"{share:.2f} of the relay" if share is not None else "",
            share is not None and share >= GOAL_RELAY_SHARE,
        )
    if pg is not None and not pg.error:
        goal(
            f"PostgreSQL ≥ {GOAL_PG_RATE:,} msg/s sustained",
            pg.max_rate,
            f"{pg.max_rate:,.0f} msg/s",
            pg.max_rate >= GOAL_PG_RATE,
        )
    for t in hub_targets:
        if t.replies:
            goal(
                f"{t.title}: replies ≥ {GOAL_REPLIES:,}/s through the outbox",
                t.max_reply_rate,
                f"{t.max_reply_rate:,.0f}/s",
                t.max_reply_rate >= GOAL_REPLIES,
            )
    for t in hub_targets:
        goal(
            f"{t.title}: ≤ {GOAL_KIB_PER_SOCKET} KiB per agent socket",
            t.kib_per_socket,
            f"{t.kib_per_socket:.1f} KiB",
            t.kib_per_socket <= GOAL_KIB_PER_SOCKET,
        )
    say(table(["target", "measured", "met"], goals))
    if plan.quick:
        say()
        say("(quick run: 100 agents and short steps; indicative only)")
    closes = {t.title: t.closes for t in targets if t.closes}
    if closes:
        say()
        say(f"Sockets closed by the server during the run: {closes}")
    say()
    say(f"Run took {elapsed:.0f} s.")


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


QUIET_PCT = 40.0  # host CPU busy (% of one core) under which a target starts at once


async def host_busy(seconds: float) -> float:
    """% of one core the whole host kept busy over ``seconds`` (200 = two cores)."""
    b0, t0 = machine_busy_ticks()
    await asyncio.sleep(seconds)
    b1, t1 = machine_busy_ticks()
    return 100 * (b1 - b0) / max(1, t1 - t0) * (os.cpu_count() or 1)


async def other_busy(seconds: float, ours: list[int]) -> float:
    """% of one core the host kept busy over ``seconds``, not counting processes ``ours``."""
    b0, t0 = machine_busy_ticks()
    c0 = sum(cpu_seconds(p) for p in ours)
    w0 = time.monotonic()
    await asyncio.sleep(seconds)
    b1, t1 = machine_busy_ticks()
    c1 = sum(cpu_seconds(p) for p in ours)
    machine = 100 * (b1 - b0) / max(1, t1 - t0) * (os.cpu_count() or 1)
    return max(0.0, machine - 100 * (c1 - c0) / (time.monotonic() - w0))


async def wait_quiet(limit: float) -> float:
    """Other jobs share this host: give them up to ``limit`` seconds to calm down."""
    deadline = time.monotonic() + limit
    busy = await host_busy(1.0)
    while busy > QUIET_PCT and time.monotonic() < deadline:
        busy = await host_busy(1.0)
    return busy


# -- main ------------------------------------------------------------------------------------


async def amain(plan: Plan) -> int:
    t0 = time.monotonic()
    raise_fd_limit()
    tmp = Path(tempfile.mkdtemp(prefix="sb-e2e-bench-"))
    targets: list[Target] = []
    ceiling = None
    try:
        say(f"e2e bench: {plan.agents:,} agents, targets {', '.join(plan.targets)}, steps {plan.seconds:g} s")
        busy = await host_busy(1.0)
        if busy > QUIET_PCT and plan.wait_quiet > 0:
            busy = await wait_quiet(plan.wait_quiet)
        say(f"  host CPU busy before the run: {busy:.0f}% of {100 * (os.cpu_count() or 1)}%")
        runs: list[Run] = []
        try:
            for i, kind in enumerate(plan.targets):
                target, run = await open_target(plan, kind, tmp, "abc"[i])
                targets.append(target)
                if run is not None:
                    runs.append(run)
            await measure(plan, runs)
        finally:
            for run in runs:
                if run.target.error is None:
                    await close_run(run)
        if plan.null_seconds > 0:
            try:
                ceiling = await generator_ceiling(plan, tmp)
                say(f"  generator ceiling (null server): {int(ceiling['ok']) / plan.null_seconds:,.0f} req/s")
            except RuntimeError as exc:
                say(f"  generator ceiling: FAILED: {exc}")
    finally:
        if plan.keep:
            say(f"  work directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report(plan, targets, ceiling, time.monotonic() - t0)
    return 1 if any(t.error for t in targets) else 0


def parse(argv: list[str]) -> Plan:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 agents, 2 s steps, SQLite and the relay only")
    ap.add_argument("--agents", type=int)
    ap.add_argument("--seconds", type=float, help="length of each step")
    ap.add_argument("--rates", help="offered rates, comma-separated (default 100,300,1000,2000)")
    ap.add_argument("--targets", help="comma-separated from sqlite,postgres,relay")
    ap.add_argument("--connections", type=int, default=100, help="generator connections (= max in flight)")
    ap.add_argument(
        "--reply-rates",
        help="replies per second, one reply step each (default 100,1000,2000; quick 1000,2000)",
    )
    ap.add_argument(
        "--wait-quiet",
        type=float,
        help="before each target, wait up to this many seconds for other jobs on the host to calm down "
        "(default 30, quick 0; before each step up to 10 s, quick 0)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, configs)")
    args = ap.parse_args(argv)
    quick = args.quick
    seconds = args.seconds or (2.0 if quick else 8.0)
    targets = (args.targets or ("sqlite,relay" if quick else "sqlite,postgres,relay")).split(",")
    for t in targets:
        if t not in TITLES:
            ap.error(f"unknown target {t!r}")
    return Plan(
        agents=args.agents or (100 if quick else 1000),
        seconds=seconds,
        rates=[float(r) for r in (args.rates or "100,300,1000,2000").split(",")],
        targets=targets,
        connections=args.connections,
        drain=2.0 if quick else 5.0,
        grace=2.0 if quick else 5.0,
        reply_rates=[
            float(r)
            for r in (args.reply_rates or ("1000,2000" if quick else "100,1000,2000")).split(",")
            if float(r) > 0
        ],
        reply_seconds=seconds,
        null_seconds=1.5 if quick else 3.0,
        quick=quick,
        wait_quiet=args.wait_quiet if args.wait_quiet is not None else (0.0 if quick else 30.0),
        step_quiet=0.0 if quick else 10.0,
        keep=args.keep,
    )


def main(argv: list[str]) -> int:
    return asyncio.run(amain(parse(argv)))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
