"""Web-chat widget benchmark: N concurrent customer websockets on one hub process.

Starts a real hub (``switchboard serve``: SQLite, loopback + webchat, routing on) in a
subprocess, opens N widget sockets (hello → welcome), has each send messages, and
reports:

* memory per connection: the hub's RSS growth / N (from /proc/<pid>/status);
* send → ack latency (the ack comes after the message is committed);
* agent reply → visitor socket latency (REST reply by an admin → the visitor's frame).

Next to it, a baseline measured in the same run with the same N: a bare Starlette
websocket echo relay on the same uvicorn (send → echo), and the ratio hub/baseline.
Loopback only; bounded in time. Run: python bench/widget_bench.py [--quick] [--n N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ORIGIN = "http://bench.example"
SECRET = "bench-secret-" + "s" * 40
PASSWORD = "bench password 123"
CONNECT_BATCH = 250  # handshakes in flight at once (stays under the listen backlog)


# -- the baseline server (run as a subprocess: --role echo) ----------------------------------


def serve_echo(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send_text(await ws.receive_text())
        except WebSocketDisconnect:
            pass

    app = Starlette(routes=[WebSocketRoute("/ws", echo)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio")


# -- helpers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def raise_fd_limit(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, n * 2 + 1000))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < n + 500:
        raise SystemExit(f"the open-file limit ({hard}) is too low for {n} sockets; lower --n")


def pct(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient() as c:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"server exited early with code {proc.returncode}")
            try:
                if (await c.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)  # start-up polling, not part of any measurement
    raise SystemExit(f"server at {url} did not start in {seconds}s")


def write_config(workdir: Path, port: int) -> Path:
    path = workdir / "bench.toml"
    path.write_text(
        f"""
database_url = "sqlite:///{workdir}/bench.db"
data_dir = "{workdir}"
log_level = "WARNING"
host = "127.0.0.1"
port = {port}
[auth]
bootstrap_admin_email = "root@bench.example"
[channels.loopback]
[channels.webchat]
token_secret = "{SECRET}"
max_connections_per_ip = 1000000
email_followup = false
visitor_rate = {{ burst = 1000, per_minute = 60000 }}
ip_rate = {{ burst = 1000000, per_minute = 600000000 }}
[channels.webchat.sites.bench]
allowed_origins = ["{ORIGIN}"]
""",
        encoding="utf-8",
    )
    return path


# -- clients -------------------------------------------------------------------------------


class WidgetClient:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.replies: dict[str, asyncio.Future[float]] = {}
        self.conversation_id: int | None = None
        self.reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        async for raw in self.ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind in ("ack", "error") and frame.get("id") in self.waiters:
                if kind == "ack":
                    self.conversation_id = frame["conversation_id"]
                fut = self.waiters.pop(frame["id"])
                if kind == "error":
                    fut.set_exception(RuntimeError(frame["message"]))
                else:
                    fut.set_result(now)
            elif kind == "message" and frame["message"]["author"] != "you":
                reply = self.replies.pop(frame["message"]["body"], None)
                if reply is not None and not reply.done():
                    reply.set_result(now)

    async def send(self, body: str) -> float:
        mid = str(uuid.uuid4())
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters[mid] = fut
        start = time.perf_counter()
        await self.ws.send(json.dumps({"type": "message", "id": mid, "body": body}))
        return await fut - start


async def open_widgets(url: str, n: int) -> list[WidgetClient]:
    import websockets

    sem = asyncio.Semaphore(CONNECT_BATCH)

    async def one() -> WidgetClient:
        async with sem:
            ws = await websockets.connect(
                url, additional_headers={"Origin": ORIGIN}, open_timeout=60, max_queue=64, compression=None
            )
            await ws.send(json.dumps({"type": "hello", "token": None}))
            welcome = json.loads(await ws.recv())
            assert welcome["type"] == "welcome", welcome
            client = WidgetClient(ws)
            client.reader = asyncio.create_task(client.read())
            return client

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def open_echoes(url: str, n: int) -> list[Any]:
    import websockets

    sem = asyncio.Semaphore(CONNECT_BATCH)

    async def one() -> Any:
        async with sem:
            return await websockets.connect(url, open_timeout=60, max_queue=64, compression=None)

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def echo_round(ws: Any, body: str) -> float:
    payload = json.dumps({"type": "message", "id": str(uuid.uuid4()), "body": body})
    start = time.perf_counter()
    await ws.send(payload)
    await ws.recv()
    return time.perf_counter() - start


# -- load phases (the same for the hub and the baseline) -------------------------------------


async def phase_burst(conns: list[Any], send: Any) -> tuple[list[float], float]:
    """Every socket sends one message at the same moment: saturation, throughput."""
    t0 = time.perf_counter()
    lat = await asyncio.gather(*(send(c, f"hello from {i}") for i, c in enumerate(conns)))
    return list(lat), time.perf_counter() - t0


async def phase_steady(conns: list[Any], send: Any, rate: float, seconds: float) -> list[float]:
    """Messages at a fixed rate from sockets in turn: latency under a normal load."""
    latencies: list[float] = []
    tasks = []
    start = time.perf_counter()
    total = int(rate * seconds)

    async def one(c: Any, i: int) -> None:
        latencies.append(await send(c, f"steady {i}"))

    for i in range(total):
        # Open loop: each message leaves at its scheduled time, whatever the answers do.
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(conns[(i * 7919) % len(conns)], i)))
    await asyncio.gather(*tasks)
    return latencies


# -- runs ----------------------------------------------------------------------------------


async def measure_baseline(
    proc: subprocess.Popen[bytes], port: int, rate: float, seconds: float, n: int
) -> dict[str, Any]:
    await wait_for_port(port, proc)
    url = f"ws://127.0.0.1:{port}/ws"
    warm = await open_echoes(url, 1)
    await echo_round(warm[0], "warm-up")
    before = rss_kib(proc.pid)
    t0 = time.perf_counter()
    socks = await open_echoes(url, n)
    connect_s = time.perf_counter() - t0
    after = rss_kib(proc.pid)
    burst, elapsed = await phase_burst(socks, lambda ws, body: echo_round(ws, body))
    steady = await phase_steady(socks, lambda ws, body: echo_round(ws, body), rate, seconds)
    await asyncio.gather(*(ws.close() for ws in [*socks, *warm]))
    return {
        "rss_per_conn_kib": (after - before) / n,
        "connect_s": connect_s,
        "burst": burst,
        "burst_msgs_per_s": len(burst) / elapsed,
        "steady": steady,
    }


def run_baseline(n: int, rate: float, seconds: float) -> dict[str, Any]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--role", "echo", "--port", str(port)])
    try:
        return asyncio.run(measure_baseline(proc, port, rate, seconds, n))
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with code {proc.returncode}")
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            await w.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.1)  # start-up polling
    raise SystemExit("baseline server did not start")


async def measure_hub(
    proc: subprocess.Popen[bytes], port: int, n: int, rate: float, seconds: float, replies: int
) -> dict[str, Any]:
    import httpx

    base = f"http://127.0.0.1:{port}"
    url = f"ws://127.0.0.1:{port}/channels/webchat/s/bench/ws"
    await wait_http(f"{base}/healthz", proc)
    warm = await open_widgets(url, 1)
    await warm[0].send("warm-up")
    before = rss_kib(proc.pid)
    t0 = time.perf_counter()
    clients = await open_widgets(url, n)
    connect_s = time.perf_counter() - t0
    after = rss_kib(proc.pid)
    burst, elapsed = await phase_burst(clients, lambda c, body: c.send(body))
    steady = await phase_steady(clients, lambda c, body: c.send(body), rate, seconds)
    after_msgs = rss_kib(proc.pid)

    reply_lat: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.post("/api/v1/auth/login", json={"email": "agent@bench.example", "password": PASSWORD})
        r.raise_for_status()
        headers = {"x-csrf-token": r.json()["csrf_token"]}
        sem = asyncio.Semaphore(1)  # one at a time: latency, not a reply-throughput test

        async def agent_reply(c: WidgetClient, i: int) -> None:
            body = f"agent reply {i}"
            fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            c.replies[body] = fut
            async with sem:
                start = time.perf_counter()
                res = await http.post(
                    f"/api/v1/conversations/{c.conversation_id}/reply",
                    json={"body": body},
                    headers=headers,
                )
                res.raise_for_status()
                reply_lat.append(await asyncio.wait_for(fut, 30) - start)

        step = max(1, n // replies)
        await asyncio.gather(*(agent_reply(c, i) for i, c in enumerate(clients[::step][:replies])))
    await asyncio.gather(*(c.ws.close() for c in [*clients, *warm]))
    await asyncio.gather(*(c.reader for c in [*clients, *warm] if c.reader is not None))
    return {
        "rss_per_conn_kib": (after - before) / n,
        "rss_growth_after_msgs_kib": after_msgs - before,
        "connect_s": connect_s,
        "burst": burst,
        "burst_msgs_per_s": len(burst) / elapsed,
        "steady": steady,
        "reply_latency": reply_lat,
    }


def run_hub(n: int, rate: float, seconds: float, replies: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="sb-widget-bench-"))
    port = free_port()
    cfg = write_config(workdir, port)
    switchboard = [sys.executable, "-m", "hub", "--config", str(cfg)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    create = ["create-user", "--email", "agent@bench.example", "--role", "admin", "--password", PASSWORD]
    subprocess.run([*switchboard, *create], check=True, env=env, stdout=subprocess.DEVNULL)
    proc = subprocess.Popen([*switchboard, "serve"], env=env, stdout=subprocess.DEVNULL)
    try:
        return asyncio.run(measure_hub(proc, port, n, rate, seconds, replies))
    finally:
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def ms(x: float) -> str:
    return f"{x * 1000:8.1f}"


def report(n: int, rate: float, seconds: float, hub: dict[str, Any], base: dict[str, Any]) -> None:
    print(f"\n{n} concurrent widget sockets on one hub process (SQLite, loopback network)\n")
    head = f"{'':34} {'KiB/conn':>9} {'connect s':>10} {'msg/s':>8} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}"
    print(head)
    print("-" * len(head))

    def row(name: str, lat: list[float], extra: str = "", per_conn: str = "", connect: str = "") -> None:
        print(
            f"{name:34} {per_conn:>9} {connect:>10} {extra:>8} {ms(pct(lat, 50))} {ms(pct(lat, 95))} {ms(pct(lat, 99))}"
        )

    row(
        "hub: burst, all send (send->ack)",
        hub["burst"],
        f"{hub['burst_msgs_per_s']:.0f}",
        f"{hub['rss_per_conn_kib']:.1f}",
        f"{hub['connect_s']:.2f}",
    )
    row(f"hub: steady {rate:g}/s (send->ack)", hub["steady"])
    row("hub: agent reply -> visitor", hub["reply_latency"], f"n={len(hub['reply_latency'])}")
    row(
        "baseline echo: burst",
        base["burst"],
        f"{base['burst_msgs_per_s']:.0f}",
        f"{base['rss_per_conn_kib']:.1f}",
        f"{base['connect_s']:.2f}",
    )
    row(f"baseline echo: steady {rate:g}/s", base["steady"])
    print(
        f"\nratio hub/baseline: memory per connection "
        f"{hub['rss_per_conn_kib'] / max(base['rss_per_conn_kib'], 0.1):.1f}x; "
        f"steady p50 {pct(hub['steady'], 50) / pct(base['steady'], 50):.1f}x, "
        f"p99 {pct(hub['steady'], 99) / pct(base['steady'], 99):.1f}x; "
        f"burst throughput {hub['burst_msgs_per_s'] / base['burst_msgs_per_s']:.3f}x"
    )
    print(
        "The hub commits each message (contact, conversation, message, event log) to SQLite before the ack;\n"
        "the baseline only echoes. Burst latency is queueing behind that commit rate. "
        f"Hub RSS growth after all messages: {hub['rss_growth_after_msgs_kib'] / 1024:.1f} MiB."
    )


def run(args: argparse.Namespace) -> None:
    n = args.n or (200 if args.quick else 5000)
    raise_fd_limit(n)
    seconds = 5.0 if args.quick else 10.0
    replies = min(n, 50 if args.quick else 100)
    t0 = time.perf_counter()
    base = run_baseline(n, args.rate, seconds)
    hub = run_hub(n, args.rate, seconds, replies)
    report(n, args.rate, seconds, hub, base)
    print(f"\ntotal bench time {time.perf_counter() - t0:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 sockets (smoke run)")
    parser.add_argument("--n", type=int, help="number of concurrent widget sockets (default 5000)")
    parser.add_argument(
        "--rate", type=float, default=30.0, help="steady-phase messages per second (default 30)"
    )
    parser.add_argument("--role", choices=["bench", "echo"], default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "echo":
        serve_echo(args.port)
        return
    run(args)


if __name__ == "__main__":
    main()
