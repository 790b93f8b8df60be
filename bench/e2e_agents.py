"""The end-to-end bench's receivers: N agent websockets in one lean process.

    python bench/e2e_agents.py <settings.json>     # then JSON commands on stdin, one a line

Each agent is a minimal websocket client on a raw ``asyncio.Protocol`` (RFC 6455 framing
by hand, no compression, no library): it answers pings, and for every frame carrying a
bench message (``message.received`` whose body starts ``sbb|``) it records the receive
time on CLOCK_MONOTONIC against the timestamp the generator put in the body. Only the
frames that carry a bench marker are looked at beyond a substring search.

It also drives the reply step: agents send the console's ``reply`` command on their own
socket at a fixed, open-loop rate (docs/protocol.md) and time the ``ack``.

Commands, each with "out": a file for the JSON answer ("done" on stdout when written):
  {"cmd": "warm"}                     connect agent 0, wait for hello, close it again
  {"cmd": "connect"}                  connect every agent, wait for each hello
  {"cmd": "count", "tag": T}          how many distinct bench messages of step T arrived
  {"cmd": "report", "tag": T, "window_end_ns": E}   their latencies and counts
  {"cmd": "replies", "tag": T, "rate": R, "duration": D, ...}   the reply step
  {"cmd": "close"}                    close every socket and exit
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_common import INBOUND_MARK, REPLY_MARK, parse_marked, raise_fd_limit, use_uvloop, write_json


def ws_frame(payload: bytes, opcode: int = 1) -> bytes:
    """A masked client frame (clients must mask, RFC 6455 §5.3)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65_536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    if n:
        key = (mask * (n // 4 + 1))[:n]
        payload = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return head + mask + payload


@dataclass
class TagStats:
    seen: set[int] = field(default_factory=set)
    lat_ns: list[int] = field(default_factory=list)
    recv_ns: list[int] = field(default_factory=list)
    dupes: int = 0


@dataclass
class ReplyStats:
    outstanding: set[int] = field(default_factory=set)
    ack_ns: list[int] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    drained: asyncio.Event = field(default_factory=asyncio.Event)


class Agent(asyncio.Protocol):
    def __init__(self, pool: Pool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.frag = bytearray()
        self.upgraded = False
        self.hello: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        transport = self.transport
        spec = self.pool.agents[self.index]
        key = base64.b64encode(os.urandom(16)).decode()
        cookie = f"Cookie: sb_session={spec['cookie']}\r\n" if spec.get("cookie") else ""
        transport.write(
            (
                f"GET {spec['path']} HTTP/1.1\r\nHost: 127.0.0.1:{self.pool.port}\r\n"
                f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\n{cookie}\r\n"
            ).encode()
        )

    def send_text(self, text: bytes) -> None:
        if self.transport is not None and not self.closing:
            self.transport.write(ws_frame(text))

    def close(self) -> None:
        if self.transport is not None and not self.closing:
            self.closing = True
            self.transport.write(ws_frame(b"\x03\xe8", 8))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if buf[9:12] != b"101":
                self._fail(f"handshake refused: {bytes(buf[:end])[:80]!r}")
                return
            del buf[: end + 4]
            self.upgraded = True
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n, off = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, off = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, off = int.from_bytes(buf[2:10], "big"), 10
            masked = b1 & 0x80
            if len(buf) < off + (4 if masked else 0) + n:
                return
            if masked:  # servers do not mask; tolerated anyway
                mask = bytes(buf[off : off + 4])
                off += 4
                raw = bytes(buf[off : off + n])
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(raw))
            else:
                payload = bytes(buf[off : off + n])
            del buf[: off + n]
            self._frame(b0 & 0x80, b0 & 0x0F, payload, now)

    def _frame(self, fin: int, opcode: int, payload: bytes, now: int) -> None:
        if opcode == 0:
            self.frag += payload
            if fin:
                text, self.frag = bytes(self.frag), bytearray()
                self._text(text, now)
        elif opcode == 1 or opcode == 2:
            if fin:
                self._text(payload, now)
            else:
                self.frag = bytearray(payload)
        elif opcode == 9:  # protocol ping (uvicorn's keep-alive)
            if self.transport is not None and not self.closing:
                self.transport.write(ws_frame(payload, 10))
        elif opcode == 8:
            if not self.closing:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.pool.closes[str(code)] = self.pool.closes.get(str(code), 0) + 1
                self.close()

    def _text(self, frame: bytes, now: int) -> None:
        pool = self.pool
        if INBOUND_MARK in frame:
            if b'"message.received"' in frame:
                found = parse_marked(frame, INBOUND_MARK)
                if found is not None:
                    pool.record(found[0], found[1], now - found[2], now)
            return
        if frame.startswith((b'{"type": "ack"', b'{"type":"ack"')):
            found = parse_marked(frame, REPLY_MARK)
            if found is not None:
                pool.reply_done(found[1], now - found[2], None)
            return
        if frame.startswith((b'{"type": "error"', b'{"type":"error"')) and REPLY_MARK in frame:
            found = parse_marked(frame, REPLY_MARK)
            if found is not None:
                code = json.loads(frame).get("code", "error")
                pool.reply_done(found[1], now - found[2], str(code))
            return
        if not self.hello.done() and frame.startswith((b'{"type": "hello"', b'{"type":"hello"')):
            self.hello.set_result(True)
        elif frame.startswith((b'{"type": "ping"', b'{"type":"ping"')):
            self.send_text(b'{"type": "pong"}')

    def _fail(self, why: str) -> None:
        if not self.hello.done():
            self.hello.set_exception(ConnectionError(why))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.hello.done():
            self.hello.set_exception(ConnectionError(f"closed before hello: {exc}"))
        if not self.closing:
            self.pool.closes["lost"] = self.pool.closes.get("lost", 0) + 1
        self.closing = True


class Pool:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.port: int = settings["port"]
        self.agents: list[dict[str, Any]] = settings["agents"]
        self.open: list[Agent] = []
        self.tags: dict[str, TagStats] = {}
        self.replies: dict[str, ReplyStats] = {}
        self.reply_tag = ""
        self.closes: dict[str, int] = {}

    def record(self, tag: str, seq: int, lat: int, now: int) -> None:
        st = self.tags.get(tag)
        if st is None:
            st = self.tags[tag] = TagStats()
        if seq in st.seen:
            st.dupes += 1
            return
        st.seen.add(seq)
        st.lat_ns.append(lat)
        st.recv_ns.append(now)

    def reply_done(self, seq: int, lat: int, error: str | None) -> None:
        st = self.replies.get(self.reply_tag)
        if st is None or seq not in st.outstanding:
            return
        st.outstanding.discard(seq)
        if not st.outstanding:
            st.drained.set()
        if error is None:
            st.ack_ns.append(lat)
        else:
            st.errors[error] = st.errors.get(error, 0) + 1

    async def open_one(self, index: int, wait_s: float) -> Agent:
        loop = asyncio.get_running_loop()
        _, agent = await loop.create_connection(lambda: Agent(self, index), "127.0.0.1", self.port)
        async with asyncio.timeout(wait_s):
            await agent.hello
        return agent

    async def warm(self) -> dict[str, Any]:
        agent = await self.open_one(0, 30)
        agent.close()
        await asyncio.sleep(0.2)  # let the server finish the disconnect before RSS is read
        return {"ok": True}

    async def connect(self, concurrency: int, wait_s: float) -> dict[str, Any]:
        sem = asyncio.Semaphore(concurrency)
        failures: dict[str, int] = {}
        t0 = time.monotonic()

        async def one(i: int) -> None:
            async with sem:
                try:
                    self.open.append(await self.open_one(i, 30))
                except (OSError, TimeoutError) as exc:
                    key = type(exc).__name__ + ": " + str(exc)[:60]
                    failures[key] = failures.get(key, 0) + 1

        try:
            async with asyncio.timeout(wait_s):
                await asyncio.gather(*(one(i) for i in range(len(self.agents))))
        except TimeoutError:
            failures["connect step timed out"] = len(self.agents) - len(self.open)
        return {"connected": len(self.open), "failures": failures, "seconds": time.monotonic() - t0}

    def count(self, tag: str) -> dict[str, Any]:
        st = self.tags.get(tag)
        return {"delivered": len(st.seen) if st else 0}

    def report(self, tag: str, window_end_ns: int) -> dict[str, Any]:
        st = self.tags.pop(tag, None) or TagStats()
        return {
            "delivered": len(st.seen),
            "dupes": st.dupes,
            "in_window": sum(1 for t in st.recv_ns if t <= window_end_ns),
            "lat_ms": sorted(round(x / 1e6, 3) for x in st.lat_ns),
            "closes": dict(self.closes),
        }

    async def reply_step(
        self, tag: str, rate: float, duration: float, max_inflight: int, grace: float
    ) -> dict[str, Any]:
        """Open loop: reply i is scheduled at t0 + i/rate from agent i mod N."""
        agents = [a for a in self.open if not a.closing]
        st = self.replies[tag] = ReplyStats()
        self.reply_tag = tag
        total = int(rate * duration)
        sent = shed = 0
        t0 = time.monotonic_ns()
        i = 0
        while i < total and agents:
            now = time.monotonic_ns()
            due = min(total, int((now - t0) * rate / 1e9) + 1)
            while i < due:
                sched = t0 + int(i * 1e9 / rate)
                agent = agents[i % len(agents)]
                convs = self.agents[agent.index]["conversations"]
                conv = convs[(i // len(agents)) % len(convs)]
                if len(st.outstanding) >= max_inflight:
                    shed += 1
                else:
                    mark = f"sbr|{tag}|{i:09d}|{sched:020d}"
                    st.outstanding.add(i)
                    agent.send_text(
                        json.dumps(
                            {
                                "type": "command",
                                "id": mark,
                                "command": "reply",
                                "conversation_id": conv,
                                "body": mark + "| thanks, your order is on its way",
                            }
                        ).encode()
                    )
                    sent += 1
                i += 1
            if i < total:
                wake = t0 + int(i * 1e9 / rate)  # 1 ms floor: see e2e_loadgen.Generator.schedule
                await asyncio.sleep(max(0.001, (wake - time.monotonic_ns()) / 1e9))
        t_end = time.monotonic_ns()
        remaining = t0 + int(duration * 1e9) - t_end
        if remaining > 0:
            await asyncio.sleep(remaining / 1e9)
        if st.outstanding:
            st.drained.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await st.drained.wait()
        lat = sorted(st.ack_ns)
        return {
            "t0_ns": t0,
            "t_end_ns": t0 + int(duration * 1e9),
            "scheduled": total,
            "sent": sent,
            "acked": len(lat),
            "errors": st.errors,
            "timeouts": len(st.outstanding),
            "shed": shed,
            "ack_ms": [round(x / 1e6, 3) for x in lat],
        }

    async def close(self) -> None:
        for agent in self.open:
            agent.close()
        await asyncio.sleep(0.2)  # close frames on their way before the process exits


async def serve(settings: dict[str, Any]) -> None:
    pool = Pool(settings)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            await pool.close()
            return
        cmd = json.loads(line)
        name = cmd.pop("cmd")
        answer = Path(cmd.pop("out"))
        if name == "warm":
            out = await pool.warm()
        elif name == "connect":
            out = await pool.connect(cmd.get("concurrency", 50), cmd.get("timeout", 120.0))
        elif name == "count":
            out = pool.count(cmd["tag"])
        elif name == "report":
            out = pool.report(cmd["tag"], cmd["window_end_ns"])
        elif name == "replies":
            out = await pool.reply_step(
                cmd["tag"], cmd["rate"], cmd["duration"], cmd.get("max_inflight", 2000), cmd.get("grace", 5.0)
            )
        elif name == "close":
            await pool.close()
            out = {"ok": True}
        else:
            out = {"error": f"unknown command {name}"}
        # The answer goes to a file (large JSON lines on a pipe were seen cut at 128 KiB);
        # the pipe carries one short line saying it is there.
        write_json(answer, out)
        sys.stdout.write("done\n")
        sys.stdout.flush()
        if name == "close":
            return


def main(argv: list[str]) -> int:
    settings = json.loads(Path(argv[0]).read_text())
    raise_fd_limit()
    use_uvloop()
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
