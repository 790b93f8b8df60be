"""The end-to-end bench's load generator: a separate, lean process.

    python bench/e2e_loadgen.py '<json settings>'   # writes its results to settings["out"]

HTTP/1.1 keep-alive over a fixed pool of raw asyncio connections (``asyncio.Protocol``,
no HTTP library), one request in flight per connection, so the pool size is the cap on
requests in flight. Request bytes are pre-built per customer; only the fixed-width
sequence number and timestamp are spliced in.

Open loop (``rate`` > 0): request ``i`` is *scheduled* at ``t0 + i / rate`` whatever the
server does; if no connection is free it waits in a queue, and every latency (here and in
the receivers) is measured from the scheduled time, so a slow server cannot hide its
backlog (no coordinated omission). A request that could not be sent within ``max_lag``
seconds of its schedule is shed and counted; nothing is sent after the step ends.

Closed loop (``rate`` == 0, the saturation step): every connection sends its next
request as soon as the previous answer arrives, for ``duration`` seconds.

Bounded: the step lasts ``duration`` seconds, answers still missing ``grace`` seconds
later are timeouts, a request without an answer for ``timeout`` seconds is a timeout.
"""

from __future__ import annotations

import asyncio
import json
import math
import resource
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_common import SEQ_WIDTH, TAG_WIDTH, TS_WIDTH, customer_senders, use_uvloop, write_json

TEXT = "| hello, I have a question about my last order"


@dataclass
class Settings:
    port: int
    tag: str
    agents: int
    rate: float  # messages per second; 0 = as fast as the pool allows (closed loop)
    duration: float
    connections: int = 100
    path: str = "/channels/loopback/messages"
    token: str | None = None
    max_lag: float = 1.0
    timeout: float = 5.0
    grace: float = 5.0


class Templates:
    """Per customer: the request bytes around the fixed-width seq / timestamp fields."""

    def __init__(self, s: Settings) -> None:
        assert len(s.tag) == TAG_WIDTH
        self.parts: list[tuple[bytes, bytes, bytes]] = []
        token = f"X-Loopback-Token: {s.token}\r\n" if s.token else ""
        for sender in customer_senders(s.agents):
            pre_id = f'{{"sender":"{sender}","provider_message_id":"{s.tag}-'
            mid = f'","body":"sbb|{s.tag}|'
            post = f'{TEXT}"}}'
            length = len(pre_id) + SEQ_WIDTH + len(mid) + SEQ_WIDTH + 1 + TS_WIDTH + len(post)
            head = (
                f"POST {s.path} HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\n"
                f"Content-Type: application/json\r\n{token}Content-Length: {length}\r\n\r\n"
            )
            self.parts.append(((head + pre_id).encode(), mid.encode(), post.encode()))
        self.n = len(self.parts)
        # Consecutive messages go to customers far apart (7919 is prime).
        self.stride = 7919 if self.n % 7919 else 1

    def request(self, seq: int, ts: int) -> bytes:
        a, b, c = self.parts[(seq * self.stride) % self.n]
        return b"%s%09d%s%09d|%020d%s" % (a, seq, b, seq, ts, c)


@dataclass
class Tally:
    scheduled: int = 0
    sent: int = 0
    ok: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    timeouts: int = 0
    conn_errors: int = 0
    shed: int = 0
    ack_ns: list[int] = field(default_factory=list)  # scheduled -> HTTP answer
    sched_lag_ns: list[int] = field(default_factory=list)  # scheduler wake-up lateness


class Conn(asyncio.Protocol):
    def __init__(self, gen: Generator) -> None:
        self.gen = gen
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.busy: tuple[int, int, int] | None = None  # seq, scheduled ns, sent ns
        self.dead = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def send(self, seq: int, sched: int) -> None:
        assert self.transport is not None
        now = time.monotonic_ns()
        self.busy = (seq, sched, now)
        self.transport.write(self.gen.templates.request(seq, sched))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            i = head.find(b"content-length:")
            if i >= 0:
                j = head.find(b"\r\n", i)
                length = int(head[i + 15 : j if j >= 0 else len(head)])
                total = end + 4 + length
            else:  # chunked (not expected from uvicorn for JSON bodies)
                k = buf.find(b"0\r\n\r\n", end + 4)
                if k < 0:
                    return
                total = k + 5
            if len(buf) < total:
                return
            del buf[:total]
            status = int(head[9:12])
            self.gen.answered(self, status, b"connection: close" in head)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gen.lost(self)


class Generator:
    def __init__(self, s: Settings) -> None:
        self.s = s
        self.templates = Templates(s)
        self.t = Tally()
        self.pending: deque[tuple[int, int]] = deque()
        self.idle: deque[Conn] = deque()
        self.conns: set[Conn] = set()
        self.open_loop = s.rate > 0
        self.started = False  # true from t0: connections opened before it wait idle
        self.sending = True  # false once the step's time is up
        self.next_seq = 0
        self.all_idle = asyncio.Event()
        self.reconnecting = 0

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(lambda: Conn(self), "127.0.0.1", self.s.port)
        except OSError:
            self.t.conn_errors += 1
            return
        self.conns.add(conn)
        self.dispatch(conn)

    def reconnect_later(self) -> None:
        if not self.sending:
            return
        self.reconnecting += 1

        async def again() -> None:
            try:
                await asyncio.sleep(0.05)  # back-off before reopening a pool connection
                await self.connect()
            finally:
                self.reconnecting -= 1

        asyncio.get_running_loop().create_task(again())

    # -- the request cycle -----------------------------------------------------------------
    def dispatch(self, conn: Conn) -> None:
        """Give ``conn`` its next request, or park it idle."""
        if conn.dead:
            return
        if self.started and self.sending:
            if self.open_loop:
                now = time.monotonic_ns()
                limit = int(self.s.max_lag * 1e9)
                while self.pending:
                    seq, sched = self.pending.popleft()
                    if now - sched > limit:
                        self.t.shed += 1  # no free connection for max_lag: the server is saturated
                        continue
                    self.t.sent += 1
                    conn.send(seq, sched)
                    return
            else:
                seq = self.next_seq
                self.next_seq += 1
                self.t.scheduled += 1
                self.t.sent += 1
                conn.send(seq, time.monotonic_ns())
                return
        self.idle.append(conn)
        if not self.sending and all(c.busy is None for c in self.conns):
            self.all_idle.set()

    def submit(self, seq: int, sched: int) -> None:
        self.t.scheduled += 1
        while self.idle:
            conn = self.idle.popleft()
            if not conn.dead:
                self.t.sent += 1
                conn.send(seq, sched)
                return
        self.pending.append((seq, sched))

    def answered(self, conn: Conn, status: int, close: bool) -> None:
        if conn.busy is None:
            return
        _seq, sched, _sent = conn.busy
        conn.busy = None
        self.t.ack_ns.append(time.monotonic_ns() - sched)
        if 200 <= status < 300:
            self.t.ok += 1
        else:
            self.t.statuses[status] += 1
        if close:
            self.retire(conn)
            self.reconnect_later()
        else:
            self.dispatch(conn)

    def lost(self, conn: Conn) -> None:
        if conn.dead:
            return
        if conn.busy is not None:
            self.t.conn_errors += 1
            conn.busy = None
        self.retire(conn)
        self.reconnect_later()

    def retire(self, conn: Conn) -> None:
        conn.dead = True
        self.conns.discard(conn)
        if conn.transport is not None:
            conn.transport.abort()
        if not self.sending and all(c.busy is None for c in self.conns):
            self.all_idle.set()

    async def watchdog(self) -> None:
        """Requests unanswered for ``timeout`` seconds are timeouts (their connection is dropped)."""
        limit = int(self.s.timeout * 1e9)
        while True:
            await asyncio.sleep(0.05)  # periodic timeout scan, not a measurement
            now = time.monotonic_ns()
            for conn in list(self.conns):
                if conn.busy is not None and now - conn.busy[2] > limit:
                    conn.busy = None
                    self.t.timeouts += 1
                    self.retire(conn)
                    self.reconnect_later()

    # -- a step ----------------------------------------------------------------------------
    async def schedule(self, t0: int) -> None:
        """Open loop: submit request i at t0 + i/rate, until the step's time is up."""
        rate, total = self.s.rate, int(self.s.rate * self.s.duration)
        i = 0
        while i < total:
            now = time.monotonic_ns()
            due = min(total, math.floor((now - t0) * rate / 1e9) + 1)
            if i < due:
                self.t.sched_lag_ns.append(now - (t0 + int(i * 1e9 / rate)))
            while i < due:
                self.submit(i, t0 + int(i * 1e9 / rate))
                i += 1
            if i < total:
                # Timers have 1 ms resolution (uvloop rounds less to 0, which would spin):
                # what falls due within a millisecond leaves together, each still timed
                # from its own schedule.
                wake = t0 + int(i * 1e9 / rate)
                await asyncio.sleep(max(0.001, (wake - time.monotonic_ns()) / 1e9))

    async def run(self) -> dict[str, Any]:
        s = self.s
        await asyncio.gather(*(self.connect() for _ in range(s.connections)))
        # Connections opened before the clock starts; anything parked by dispatch() is idle.
        dog = asyncio.get_running_loop().create_task(self.watchdog())
        cpu0 = _cpu()
        t0 = time.monotonic_ns()
        self.started = True
        if self.open_loop:
            await self.schedule(t0)
            await asyncio.sleep(max(0.0, (t0 + int(s.duration * 1e9) - time.monotonic_ns()) / 1e9))
        else:
            parked = list(self.idle)
            self.idle.clear()
            for conn in parked:
                self.dispatch(conn)
            await asyncio.sleep(s.duration)
        t_end = time.monotonic_ns()
        cpu_active = _cpu() - cpu0
        self.sending = False
        self.t.shed += len(self.pending)  # scheduled in the step, never got a connection
        self.pending.clear()
        if any(c.busy is not None for c in self.conns):
            self.all_idle.clear()
            try:
                async with asyncio.timeout(s.grace):
                    await self.all_idle.wait()
            except TimeoutError:
                pass
        t_done = time.monotonic_ns()
        cpu1 = _cpu()
        dog.cancel()
        for conn in list(self.conns):
            if conn.busy is not None:
                self.t.timeouts += 1
                conn.busy = None
            if conn.transport is not None:
                conn.transport.close()
        self.t.ack_ns.sort()
        lag = sorted(self.t.sched_lag_ns)
        wall = (t_done - t0) / 1e9
        return {
            "t0_ns": t0,
            "t_end_ns": t_end,
            "scheduled": self.t.scheduled,
            "sent": self.t.sent,
            "ok": self.t.ok,
            "statuses": {str(k): v for k, v in self.t.statuses.items()},
            "timeouts": self.t.timeouts,
            "conn_errors": self.t.conn_errors,
            "shed": self.t.shed,
            "ack_ms": [x / 1e6 for x in _sample(self.t.ack_ns, 20_000)],
            "sched_lag_ms_p99": (lag[int(0.99 * (len(lag) - 1))] / 1e6) if lag else 0.0,
            "sched_lag_ms_max": (lag[-1] / 1e6) if lag else 0.0,
            "cpu_s": cpu_active,  # while sending: [t0, t_end]
            "wall_s": (t_end - t0) / 1e9,
            "cpu_total_s": cpu1 - cpu0,  # including the wait for the last answers
            "wall_total_s": wall,
        }


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _sample(sorted_values: list[int], n: int) -> list[int]:
    """At most ``n`` evenly spaced values of an ascending list (keeps its percentiles)."""
    if len(sorted_values) <= n:
        return sorted_values
    step = len(sorted_values) / n
    return [sorted_values[int(i * step)] for i in range(n)] + [sorted_values[-1]]


async def _main(s: Settings) -> dict[str, Any]:
    return await Generator(s).run()


def main(argv: list[str]) -> int:
    settings = json.loads(argv[0])
    out = Path(settings.pop("out"))
    loop_kind = use_uvloop()
    result = asyncio.run(_main(Settings(**settings)))
    result["loop"] = loop_kind
    # Results go to a file: large JSON lines on a pipe were seen cut at 128 KiB.
    write_json(out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
