"""Baselines for the end-to-end bench, each run as its own server process.

python bench/e2e_relay.py relay --port P --agents N
    The bare relay: a minimal FastAPI app on the same uvicorn settings as the hub
    (uvloop, httptools, websockets-sansio). It serves the hub's loopback webhook path
    and console socket path; a POST looks up the customer's agent and pushes the body
    to that agent's socket, then answers 201. No storage, no auth, no routing.

python bench/e2e_relay.py null --port P
    A null HTTP server on a raw asyncio protocol: every request gets a fixed 201
    at once. Driven at full speed it shows the load generator's own ceiling.
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_common import customer_senders, raise_fd_limit, use_uvloop


def relay_app(agents: int) -> Any:
    # No ``from __future__ import annotations`` in this file: FastAPI reads the endpoint
    # annotations at runtime, and these names are local to this function.
    from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
    from fastapi.responses import JSONResponse

    app = FastAPI()
    owner = {sender: i // 2 for i, sender in enumerate(customer_senders(agents))}
    sockets: dict[int, WebSocket] = {}

    @app.websocket("/ws")
    async def console(websocket: WebSocket) -> None:
        await websocket.accept()
        agent = int(websocket.query_params["agent"])
        sockets[agent] = websocket
        await websocket.send_text('{"type": "hello"}')
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            sockets.pop(agent, None)

    @app.post("/channels/loopback/messages")
    async def messages(request: Request) -> JSONResponse:
        data = await request.json()
        ws = sockets.get(owner.get(data["sender"], -1))
        if ws is None:
            return JSONResponse({"error": {"code": "not_found"}}, status_code=404)
        await ws.send_text(
            json.dumps(
                {"type": "event", "event": {"type": "message.received", "payload": {"body": data["body"]}}}
            )
        )
        return JSONResponse({"ok": True}, status_code=201)

    return app


class NullHTTP(asyncio.Protocol):
    ANSWER = (
        b'HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'
    )

    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            i = head.find(b"content-length:")
            length = 0
            if i >= 0:
                j = head.find(b"\r\n", i)
                length = int(head[i + 15 : j if j >= 0 else len(head)])
            if len(buf) < end + 4 + length:
                return
            del buf[: end + 4 + length]
            assert self.transport is not None
            self.transport.write(self.ANSWER)


async def serve_null(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(NullHTTP, "127.0.0.1", port, backlog=2048)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["relay", "null"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--agents", type=int, default=1000)
    args = ap.parse_args(argv)
    raise_fd_limit()
    if args.kind == "null":
        use_uvloop()
        asyncio.run(serve_null(args.port))
        return 0
    import uvicorn

    uvicorn.run(
        relay_app(args.agents),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        ws="websockets-sansio",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
