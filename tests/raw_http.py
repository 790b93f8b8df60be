"""A lean HTTP/1.1 keep-alive client for tests that load a real hub process.

httpx spends milliseconds of CPU a request with dozens of connections in flight
(its pool and anyio's machinery): a test posting a few thousand messages measured the
generator, not the hub. This one is an ``asyncio`` stream per connection, one request
in flight on it, and just enough HTTP to read the hub's answers (a status line,
headers with a Content-Length, a body).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class Broken(Exception):
    """The connection failed before a whole answer arrived: the request was not
    acknowledged (it may or may not have been stored, as with any provider)."""


class RawConnection:
    """One keep-alive connection to 127.0.0.1:port; it reconnects on the next request
    after a failure."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post_json(self, path: str, payload: Any) -> tuple[int, bytes]:
        body = json.dumps(payload).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            return await asyncio.wait_for(self._exchange(head + body), self.timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
            await self.close()
            raise Broken(repr(exc)) from exc

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self._reader is not None
        self._writer.write(request)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        if "content-length" not in headers:
            raise AssertionError(f"an answer without Content-Length: {headers}")
        data = await self._reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, data

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
