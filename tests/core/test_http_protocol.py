"""The hub's HTTP protocol (hub.http_protocol): the writes of one loop turn leave in one
send, in order, and nothing is lost or reordered around close, write_eof and abort.

Unit tests on a recording transport, then a real uvicorn server with the protocol,
spoken to over a raw socket, whose responses (a JSON answer, a streamed one, a
connection: close) arrive whole and each in one write of the real transport.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from hub.http_protocol import CoalescingTransport, HubHttpProtocol


class Recording(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, bytes]] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.calls.append(("write", bytes(data)))

    def write_eof(self) -> None:
        self.calls.append(("eof", b""))

    def close(self) -> None:
        self.closing = True
        self.calls.append(("close", b""))

    def abort(self) -> None:
        self.closing = True
        self.calls.append(("abort", b""))

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0


async def _turn() -> None:
    """Let the loop run the callbacks scheduled so far (one turn is enough)."""
    await asyncio.sleep(0)


async def test_writes_of_one_turn_leave_in_one_write_in_order() -> None:
    inner = Recording()
    t = CoalescingTransport(inner, asyncio.get_running_loop())
    t.write(b"HTTP/1.1 200 OK\r\n\r\n")
    t.write(b"")  # nothing to send: no write of its own
    t.writelines([b"{", b"}"])
    assert inner.calls == [] and t.get_write_buffer_size() == 21
    await _turn()
    assert inner.calls == [("write", b"HTTP/1.1 200 OK\r\n\r\n{}")]
    t.write(b"next")
    await _turn()
    assert inner.calls[1:] == [("write", b"next")]


async def test_close_and_eof_send_what_is_pending_first_and_abort_drops_it() -> None:
    inner = Recording()
    t = CoalescingTransport(inner, asyncio.get_running_loop())
    t.write(b"a")
    t.write_eof()
    t.write(b"b")
    t.close()
    await _turn()  # the scheduled flush finds nothing left
    assert inner.calls == [("write", b"a"), ("eof", b""), ("write", b"b"), ("close", b"")]

    inner = Recording()
    t = CoalescingTransport(inner, asyncio.get_running_loop())
    t.write(b"never")
    t.abort()
    await _turn()
    assert inner.calls == [("abort", b"")]


async def test_a_peer_gone_before_the_flush_gets_no_write() -> None:
    inner = Recording()
    t = CoalescingTransport(inner, asyncio.get_running_loop())
    t.write(b"late")
    inner.closing = True  # the connection was lost meanwhile
    await _turn()
    assert inner.calls == []


async def _answer(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"got": body.decode(), "ok": True}, status_code=201)


async def _stream(request: Request) -> StreamingResponse:
    async def parts() -> Any:
        for part in (b"one,", b"two,", b"three"):
            yield part

    return StreamingResponse(parts(), media_type="text/plain")


async def test_a_real_server_answers_whole_responses_each_in_one_send() -> None:
    writes: list[bytes] = []

    class Tap:
        """The real transport, with what reaches its write recorded."""

        def __init__(self, inner: asyncio.Transport) -> None:
            self._inner = inner

        def write(self, data: Any) -> None:
            writes.append(bytes(data))
            self._inner.write(data)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    class Spy(HubHttpProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(Tap(transport))  # type: ignore[arg-type]

    app = Starlette(routes=[Route("/in", _answer, methods=["POST"]), Route("/stream", _stream)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, http=Spy, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])  # returns once listening
    loop_task = asyncio.create_task(server.main_loop())
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def response() -> tuple[bytes, bytes]:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            return head, await reader.readexactly(length)

        for i in range(3):  # keep-alive: three requests on one connection
            payload = f"مرحبا {i}".encode()
            writer.write(
                b"POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload)
            )
            head, body = await response()
            assert head.startswith(b"HTTP/1.1 201")
            assert json.loads(body) == {"got": f"مرحبا {i}", "ok": True}
        assert len(writes) == 3 and all(w.startswith(b"HTTP/1.1 201") and w.endswith(b"}") for w in writes)

        # A streamed (chunked) answer: every byte arrives, in order.
        writer.write(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        rest = await reader.read()  # until the server closes: close() sent what was pending
        assert rest.startswith(b"HTTP/1.1 200") and rest.endswith(b"0\r\n\r\n")
        chunks = rest.split(b"\r\n\r\n", 1)[1]
        assert b"one," in chunks and b"two," in chunks and b"three" in chunks
        writer.close()
    finally:
        server.should_exit = True
        await asyncio.wait_for(loop_task, 10)
        await server.shutdown(sockets=[sock])
        sock.close()
