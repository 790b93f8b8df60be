"""A loopback channel: inbound over a small JSON webhook, outbound into memory.

It exists for tests, the demo and integration checks. It goes through exactly the
same path as a real adapter (ingest → commit → 2xx; outbox → ``send``), and lets a
test script send failures (retryable or not) to exercise retries and dead-letters.

It behaves like a provider that honours idempotency keys: a second send with a key it
has accepted returns the first provider id and delivers nothing. With ``journal`` set,
every accepted send is appended to that file and flushed to disk before ``send``
returns, so what was "delivered" survives a kill -9 of the hub (the outbox's
exactly-once test reads it). Provider ids are random, so they never repeat across
restarts. ``GET /sent`` lists deliveries only with the configured token: without one
it is not served at all, since replies carry customers' conversations.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import uuid
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from channels.base import SendError, SendResult
from hub.domain import InboundMessage, OutboundMessage

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger(__name__)


class LoopbackInbound(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sender: str = Field(min_length=1, max_length=320)
    body: str = Field(default="", max_length=65_536)
    provider_message_id: str | None = Field(default=None, max_length=255)
    sender_name: str = ""
    thread_key: str = ""
    team: str | None = None
    language: str | None = None


class LoopbackChannel:
    kind: ClassVar[str] = "loopback"
    address_kind: ClassVar[str] = "loopback"
    max_body_length: ClassVar[int] = 65_536
    supports_attachments: ClassVar[bool] = True
    rate_per_second: ClassVar[float | None] = None

    def __init__(self, *, token: str | None = None, keep: int = 10_000, journal: Path | None = None) -> None:
        self.token = token
        self.sent: deque[OutboundMessage] = deque(maxlen=keep)
        self.sent_event = asyncio.Event()
        self.failures: deque[SendError] = deque()
        self.journal = journal
        # idempotency key -> provider id of every accepted send (loaded from the journal)
        self._accepted: dict[str, str] = {}
        self._hub: Hub | None = None

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> LoopbackChannel:
        unknown = set(section) - {"token", "keep", "team", "journal"}
        if unknown:
            raise ValueError(f"config error: channels.loopback.{sorted(unknown)[0]}: unknown setting")
        token = section.get("token")
        if token is not None and (not isinstance(token, str) or len(token) < 16):
            raise ValueError("config error: channels.loopback.token: expected a string of 16+ characters")
        journal = section.get("journal")
        if journal is not None and (not isinstance(journal, str) or not journal):
            raise ValueError("config error: channels.loopback.journal: expected a file path")
        return cls(
            token=token,
            keep=int(section.get("keep", 10_000)),
            journal=Path(journal) if journal else None,
        )

    # -- test controls -----------------------------------------------------------------
    def script_failures(self, *errors: SendError) -> None:
        """The next sends fail with these errors, in order."""
        self.failures.extend(errors)

    # -- Channel -----------------------------------------------------------------------
    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route("/messages", self._inbound, methods=["POST"]),
            Route("/sent", self._list_sent, methods=["GET"]),
        ]

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        if self.journal is not None:
            self._accepted.update(await asyncio.to_thread(read_journal, self.journal))

    async def stop(self) -> None:
        self._hub = None

    async def send(self, message: OutboundMessage) -> SendResult:
        if self.failures:
            raise self.failures.popleft()
        key = message.idempotency_key
        if key and key in self._accepted:
            log.info("loopback: repeated send ignored", extra={"message_id": message.message_id})
            return SendResult(provider_message_id=self._accepted[key])
        provider_id = f"lb-out-{uuid.uuid4().hex}"
        if self.journal is not None:
            line = json.dumps(
                {"key": key, "provider_message_id": provider_id, "message": message.model_dump(mode="json")}
            )
            await asyncio.to_thread(append_line, self.journal, line)
        if key:
            self._accepted[key] = provider_id
        self.sent.append(message)
        self.sent_event.set()
        return SendResult(provider_message_id=provider_id)

    # -- HTTP --------------------------------------------------------------------------
    def _authorized(self, request: Request) -> bool:
        if self.token is None:
            return True
        given = request.headers.get("x-loopback-token", "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def _inbound(self, request: Request) -> Response:
        from hub.services.errors import ServiceError
        from hub.services.ingest import ingest

        if not self._authorized(request):
            return _error(403, "bad_token", "missing or wrong X-Loopback-Token")
        try:
            data = LoopbackInbound.model_validate_json(await request.body())
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "body"
            return _error(422, "validation_error", f"{field}: {first['msg']}")
        assert self._hub is not None
        msg = InboundMessage(
            channel=self.kind,
            provider_message_id=data.provider_message_id or f"lb-in-{uuid.uuid4().hex}",
            address_kind="loopback",
            sender=data.sender,
            sender_name=data.sender_name,
            thread_key=data.thread_key,
            body=data.body,
            team=data.team,
            language=data.language,
            raw=data.model_dump(),
        )
        try:
            result = await ingest(self._hub, msg)
        except ServiceError as exc:
            return _error(exc.status, exc.code, exc.message)
        return JSONResponse(
            {
                "message_id": result.message_id,
                "conversation_id": result.conversation_id,
                "contact_id": result.contact_id,
                "duplicate": result.duplicate,
            },
            status_code=200 if result.duplicate else 201,
        )

    async def _list_sent(self, request: Request) -> Response:
        if self.token is None:
            return _error(404, "not_found", "set channels.loopback.token to list sent messages")
        if not self._authorized(request):
            return _error(403, "bad_token", "missing or wrong X-Loopback-Token")
        return JSONResponse([m.model_dump(mode="json") for m in self.sent])


def read_journal(path: Path) -> dict[str, str]:
    """idempotency key -> provider id of every send the journal records."""
    accepted: dict[str, str] = {}
    if not path.exists():
        return accepted
    with path.open("rb+") as raw:
        # A crash mid-write leaves a cut line: end it, so the next entry starts clean.
        if raw.seek(0, os.SEEK_END) and (raw.seek(-1, os.SEEK_END), raw.read(1))[1] != b"\n":
            raw.write(b"\n")
    with path.open(encoding="utf-8") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash mid-write was never acknowledged
            if entry.get("key"):
                accepted[entry["key"]] = entry["provider_message_id"]
    return accepted


def append_line(path: Path, line: str) -> None:
    """Append and fsync: a send is accepted only once it is on disk."""
    with path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
