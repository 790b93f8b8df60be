"""End-to-end benchmark: webhook in -> ingest -> bus -> gateway -> the agent's socket.

A real hub process (``switchboard serve``, SQLite, in-process bus) has N agents
connected over websockets, each assigned two customer conversations. A load
generator posts customer messages to the loopback webhook (the real ingest path:
validation, dedupe, identity, threading, commit, event log, bus, fan-out) and each
agent socket records how long after the POST the message arrived.

The baseline, measured in the same run with the same generator and the same N
sockets, is a bare FastAPI app that relays a POSTed body to one websocket — no
storage, no auth, no routing. The ratio is the figure that matters.

    python bench/e2e_bench.py            # 1,000 agents, 10 s phases
    python bench/e2e_bench.py --quick    # 100 agents, 3 s phases

Setup writes users, sessions and assigned conversations straight into the
database (hashing 1,000 passwords and signing in 1,000 times would measure argon2,
not the hub); everything measured goes through the public HTTP and websocket paths.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RELAY_APP = """
import asyncio
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
app = FastAPI()
sockets = {}
@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    agent = websocket.query_params["agent"]
    sockets[agent] = websocket
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        sockets.pop(agent, None)
@app.post("/messages")
async def messages(request: Request):
    data = await request.json()
    ws = sockets.get(data["agent"])
    if ws is not None:
        await ws.send_text('{"type":"event","event":{"type":"message.received","payload":{"body":' + __import__("json").dumps(data["body"]) + '}}}')
    return {"ok": True}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


async def seed(db_path: Path, agents: int) -> tuple[list[str], list[str]]:
    """Returns (session tokens per agent, customer sender per conversation)."""
    from hub.db import Database, migrate
    from hub.models import (
        AuthSession,
        Contact,
        Conversation,
        ConversationStatus,
        Identity,
        Presence,
        Role,
        Team,
        TeamMember,
        User,
    )
    from hub.timeutil import utcnow

    migrate(f"sqlite:///{db_path}")
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    tokens, senders = [], []
    now = utcnow()
    async with db.transaction() as s:
        teams = [Team(name=f"team-{i}") for i in range(max(1, agents // 10))]
        s.add_all(teams)
        await s.flush()
        users = [
            User(email=f"agent{i}@bench.test", name=f"Agent {i}", role=Role.agent, presence=Presence.busy)
            for i in range(agents)
        ]
        s.add_all(users)
        await s.flush()
        for i, u in enumerate(users):
            s.add(TeamMember(team_id=teams[i % len(teams)].id, user_id=u.id))  # type: ignore[arg-type]
            token = secrets.token_urlsafe(24)
            tokens.append(token)
            s.add(
                AuthSession(
                    token_hash=hashlib.sha256(token.encode()).hexdigest(),
                    user_id=u.id,  # type: ignore[arg-type]
                    csrf_token="x",
                    expires_at=now.replace(year=now.year + 1),
                )
            )
        for i, u in enumerate(users):
            for k in range(2):
                sender = f"bench-cust-{i}-{k}"
                senders.append(sender)
                contact = Contact(name=sender)
                s.add(contact)
                await s.flush()
                s.add(Identity(contact_id=contact.id, kind="loopback", address=sender))  # type: ignore[arg-type]
                s.add(
                    Conversation(
                        contact_id=contact.id,  # type: ignore[arg-type]
                        channel="loopback",
                        contact_address=sender,
                        status=ConversationStatus.assigned,
                        team_id=teams[i % len(teams)].id,
                        assignee_id=u.id,
                        queued_at=now,
                    )
                )
    await db.dispose()
    return tokens, senders


def start(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # readiness probe of a child process
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server exited") from None
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@dataclass
class Results:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    fixed_rate: float = 0.0
    fixed_sent: int = 0
    fixed_delivered: int = 0
    max_rate_acked: float = 0.0
    max_rate_delivered: float = 0.0
    rss_mib: float = 0.0


class Clients:
    def __init__(self) -> None:
        self.received = 0
        self.latencies: list[float] = []
        self.recording = False
        self.sockets: list[websockets.ClientConnection] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def connect(self, urls: list[str], headers: list[dict[str, str]]) -> None:
        sem = asyncio.Semaphore(100)

        async def one(url: str, hdrs: dict[str, str]) -> None:
            async with sem:
                ws = await websockets.connect(url, additional_headers=hdrs, max_queue=None, open_timeout=30)
                self.sockets.append(ws)
                self.tasks.append(asyncio.create_task(self.reader(ws)))

        await asyncio.gather(*(one(u, h) for u, h in zip(urls, headers, strict=True)))

    async def reader(self, ws: websockets.ClientConnection) -> None:
        try:
            async for raw in ws:
                if '"message.received"' not in raw:
                    continue
                now = time.time_ns()
                body = json.loads(raw)["event"]["payload"]["body"]
                if body.startswith("t="):
                    self.received += 1
                    if self.recording:
                        self.latencies.append((now - int(body[2:].split()[0])) / 1e6)
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        for ws in self.sockets:
            await ws.close()
        for t in self.tasks:
            t.cancel()


async def drive(
    base: str, payload_for: object, senders: list[str], rate: float, seconds: float, concurrency: int
) -> tuple[int, int]:
    """Post messages at `rate`/s (0 = as fast as `concurrency` allows). Returns (sent, acked)."""
    sent = acked = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        sem = asyncio.Semaphore(concurrency)
        pending: set[asyncio.Task[None]] = set()
        start = time.monotonic()
        i = 0

        async def post(n: int) -> None:
            nonlocal acked
            try:
                body = payload_for(
                    senders[n % len(senders)], f"t={time.time_ns()} hello from a customer #{n}"
                )  # type: ignore[operator]
                r = await client.post(body["path"], json=body["json"])
                if r.status_code < 300:
                    acked += 1
            finally:
                sem.release()

        while (elapsed := time.monotonic() - start) < seconds:
            if rate > 0:
                due = int(elapsed * rate)
                if i >= due:
                    await asyncio.sleep(min(0.002, (i + 1) / rate - elapsed))  # pacing the generator
                    continue
            await sem.acquire()
            task = asyncio.create_task(post(i))
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
            sent += 1
        if pending:
            await asyncio.wait(pending, timeout=30)
    return sent, acked


async def measure(
    name: str,
    base: str,
    ws_urls: list[str],
    ws_headers: list[dict[str, str]],
    payload_for: object,
    senders: list[str],
    pid: int,
    rate: float,
    seconds: float,
) -> Results:
    res = Results(name)
    clients = Clients()
    rss_before = rss_kib(pid)
    await clients.connect(ws_urls, ws_headers)
    res.rss_mib = (rss_kib(pid) - rss_before) / 1024
    await drive(base, payload_for, senders, 50, 1.0, 16)  # warm-up
    await asyncio.sleep(1.0)  # let warm-up deliveries land before counting
    clients.latencies.clear()
    clients.recording = True
    before = clients.received
    sent, _ = await drive(base, payload_for, senders, rate, seconds, 64)
    await asyncio.sleep(2.0)  # deliveries in flight
    res.fixed_rate, res.fixed_sent = rate, sent
    res.fixed_delivered = clients.received - before
    res.latencies_ms = list(clients.latencies)
    clients.recording = False
    before = clients.received
    t0 = time.monotonic()
    sent, acked = await drive(base, payload_for, senders, 0, seconds, 64)
    took = time.monotonic() - t0
    await asyncio.sleep(2.0)
    res.max_rate_acked = acked / took
    res.max_rate_delivered = (clients.received - before) / took
    await clients.close()
    return res


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def report(rows: list[Results], agents: int) -> None:
    print(f"\n{agents} agent sockets; latency = webhook POST -> frame on the agent's socket")
    print(
        f"{'system':<22}{'rate':>7}{'sent':>7}{'deliv':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'max acked/s':>13}{'max deliv/s':>13}{'ws MiB':>8}"
    )
    for r in rows:
        print(
            f"{r.name:<22}{r.fixed_rate:>7.0f}{r.fixed_sent:>7}{r.fixed_delivered:>7}"
            f"{pct(r.latencies_ms, 50):>9.1f}{pct(r.latencies_ms, 95):>9.1f}{pct(r.latencies_ms, 99):>9.1f}"
            f"{r.max_rate_acked:>13.0f}{r.max_rate_delivered:>13.0f}{r.rss_mib:>8.1f}"
        )
    hub, relay = rows
    if relay.max_rate_delivered:
        print(
            f"\nhub / bare relay, sustained delivered msgs/s: {hub.max_rate_delivered / relay.max_rate_delivered:.2f}"
        )
    if hub.latencies_ms:
        print(
            f"hub p99 at {hub.fixed_rate:.0f} msg/s: {pct(hub.latencies_ms, 99):.1f} ms "
            f"(mean {statistics.fmean(hub.latencies_ms):.1f} ms)"
        )


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--agents", type=int, default=None)
    ap.add_argument("--rate", type=float, default=None, help="fixed-rate phase, messages per second")
    ap.add_argument("--seconds", type=float, default=None)
    args = ap.parse_args()
    agents = args.agents or (100 if args.quick else 1000)
    rate = args.rate or (200 if args.quick else 1000)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    raise_fd_limit()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        tokens, senders = await seed(db, agents)
        cfg = Path(tmp) / "bench.toml"
        cfg.write_text('log_level = "WARNING"\n[channels.loopback]\nkeep = 1000\n')
        port = free_port()
        env = {
            **os.environ,
            "SWITCHBOARD_DATABASE_URL": f"sqlite:///{db}",
            "SWITCHBOARD_PORT": str(port),
            "SWITCHBOARD_CONFIG": str(cfg),
        }
        hub = start([sys.executable, "-m", "hub", "serve"], env, port)
        try:
            rows.append(
                await measure(
                    "switchboard hub",
                    f"http://127.0.0.1:{port}",
                    [f"ws://127.0.0.1:{port}/ws"] * agents,
                    [{"Cookie": f"sb_session={t}"} for t in tokens],
                    lambda sender, body: {
                        "path": "/channels/loopback/messages",
                        "json": {"sender": sender, "body": body},
                    },
                    senders,
                    hub.pid,
                    rate,
                    seconds,
                )
            )
        finally:
            hub.terminate()
            hub.wait(20)
        relay_file = Path(tmp) / "relay_app.py"
        relay_file.write_text(RELAY_APP)
        port = free_port()
        relay = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "relay_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--ws",
                "websockets-sansio",
                "--app-dir",
                tmp,
            ],
            dict(os.environ),
            port,
        )
        try:
            owner = {s: str(i // 2) for i, s in enumerate(senders)}
            rows.append(
                await measure(
                    "bare FastAPI relay",
                    f"http://127.0.0.1:{port}",
                    [f"ws://127.0.0.1:{port}/ws?agent={i}" for i in range(agents)],
                    [{} for _ in range(agents)],
                    lambda sender, body: {
                        "path": "/messages",
                        "json": {"agent": owner[sender], "body": body},
                    },
                    senders,
                    relay.pid,
                    rate,
                    seconds,
                )
            )
        finally:
            relay.terminate()
            relay.wait(20)
    report(rows, agents)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
