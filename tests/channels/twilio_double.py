"""A local double of Twilio's REST API, on a real socket, speaking Twilio's wire format.

The adapters under test use the real ``twilio`` client (aiohttp transport) pointed at
this server. It checks HTTP basic auth like Twilio, records every request (method,
path, form parameters), answers with Twilio-shaped JSON (Message and Call resources,
errors as ``{"code", "message", "more_info", "status"}``) and can be scripted to fail:
an HTTP error with a Twilio error code, a 429 with Retry-After, or no answer at all.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import json
import secrets
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from hub.timeutil import utcnow

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f2c5b1d4e3a6978812ab34cd56ef7890"
API_VERSION = "2010-04-01"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    form: dict[str, list[str]]
    username: str | None
    content_type: str

    def one(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


@dataclass
class Scripted:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class _Server(uvicorn.Server):
    """uvicorn, telling the test when it listens and leaving signals to pytest."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class TwilioDouble:
    def __init__(self, account_sid: str = ACCOUNT_SID, credentials: dict[str, str] | None = None) -> None:
        self.account_sid = account_sid
        self.credentials = credentials or {account_sid: AUTH_TOKEN}
        self.requests: list[Recorded] = []
        self.calls: dict[str, dict[str, Any]] = {}  # live calls the double knows
        self._script: deque[Scripted] = deque()
        self._changed = asyncio.Condition()
        self._release = asyncio.Event()
        self.url = ""

    # -- scripting --------------------------------------------------------------------
    def fail_next(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._script.append(Scripted(status, twilio_error(status, code, message), headers or {}))

    def answer_next_raw(self, status: int, text_body: dict[str, Any] | None = None) -> None:
        self._script.append(Scripted(status, text_body))

    def hang_next(self) -> None:
        """The next request gets no answer until the double shuts down."""
        self._script.append(Scripted(0, hang=True))

    def add_call(self, call_sid: str, from_: str, to: str, status: str = "queued") -> None:
        self.calls[call_sid] = {"from": from_, "to": to, "status": status}

    # -- inspection -------------------------------------------------------------------
    def messages(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/Messages.json") and r.method == "POST"]

    def call_updates(self) -> list[Recorded]:
        return [r for r in self.requests if "/Calls/" in r.path and r.method == "POST"]

    async def wait_for(self, predicate: Callable[[Recorded], bool], within: float = 5.0) -> Recorded:
        async with asyncio.timeout(within):
            async with self._changed:
                while True:
                    for r in self.requests:
                        if predicate(r):
                            return r
                    await self._changed.wait()

    # -- HTTP -------------------------------------------------------------------------
    def app(self) -> Starlette:
        base = f"/{API_VERSION}/Accounts/{{account}}"
        return Starlette(
            routes=[
                Route(f"{base}/Messages.json", self._create_message, methods=["POST"]),
                Route(f"{base}/Calls/{{call}}.json", self._update_call, methods=["POST"]),
                Route("/{path:path}", self._not_found, methods=["GET", "POST", "DELETE"]),
            ]
        )

    async def _record(self, request: Request) -> tuple[Recorded, Response | None]:
        form = await request.form()
        form_lists: dict[str, list[str]] = {}
        for k, v in form.multi_items():
            form_lists.setdefault(k, []).append(str(v))
        username, ok = self._check_auth(request.headers.get("authorization", ""))
        rec = Recorded(
            request.method, request.url.path, form_lists, username, request.headers.get("content-type", "")
        )
        async with self._changed:
            self.requests.append(rec)
            self._changed.notify_all()
        if not ok:
            return rec, JSONResponse(twilio_error(401, 20003, "Authenticate"), status_code=401)
        if request.path_params.get("account") not in (None, self.account_sid):
            return rec, JSONResponse(
                twilio_error(404, 20404, f"The requested resource {request.url.path} was not found"), 404
            )
        if self._script:
            scripted = self._script.popleft()
            if scripted.hang:
                await self._release.wait()
                return rec, Response(status_code=503)
            return rec, JSONResponse(scripted.body, status_code=scripted.status, headers=scripted.headers)
        return rec, None

    def _check_auth(self, header: str) -> tuple[str | None, bool]:
        if not header.lower().startswith("basic "):
            return None, False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None, False
        expected = self.credentials.get(user)
        return user, expected is not None and secrets.compare_digest(expected, password)

    async def _create_message(self, request: Request) -> Response:
        rec, scripted = await self._record(request)
        if scripted is not None:
            return scripted
        to, from_ = rec.one("To"), rec.one("From")
        if not to:
            return JSONResponse(twilio_error(400, 21604, "A 'To' phone number is required."), 400)
        if not from_ and not rec.one("MessagingServiceSid"):
            return JSONResponse(twilio_error(400, 21603, "A 'From' phone number is required."), 400)
        if not (rec.one("Body") or rec.form.get("MediaUrl") or rec.one("ContentSid")):
            return JSONResponse(twilio_error(400, 21602, "Message body is required."), 400)
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(utcnow(), usegmt=True)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        media = rec.form.get("MediaUrl", [])
        return JSONResponse(
            {
                "account_sid": self.account_sid,
                "api_version": API_VERSION,
                "body": rec.one("Body") or "",
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": from_,
                "messaging_service_sid": rec.one("MessagingServiceSid"),
                "num_media": str(len(media)),
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {"media": f"{uri}/Media.json"},
                "to": to,
                "uri": f"{uri}.json",
            },
            status_code=201,
        )

    async def _update_call(self, request: Request) -> Response:
        _, scripted = await self._record(request)
        if scripted is not None:
            return scripted
        call_sid = request.path_params["call"]
        call = self.calls.get(call_sid)
        if call is None:
            return JSONResponse(
                twilio_error(404, 20404, f"The requested resource {request.url.path} was not found"), 404
            )
        if call["status"] in ("completed", "canceled", "failed", "busy", "no-answer"):
            return JSONResponse(twilio_error(400, 21220, "Call is not in-progress. Cannot redirect."), 400)
        call["status"] = "in-progress"
        now = format_datetime(utcnow(), usegmt=True)
        return JSONResponse(
            {
                "account_sid": self.account_sid,
                "api_version": API_VERSION,
                "sid": call_sid,
                "from": call["from"],
                "to": call["to"],
                "status": call["status"],
                "direction": "inbound",
                "date_created": now,
                "date_updated": now,
                "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{call_sid}.json",
            }
        )

    async def _not_found(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse(
            twilio_error(404, 20404, f"The requested resource {request.url.path} was not found"), 404
        )

    # -- lifecycle --------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[TwilioDouble]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            self.app(), lifespan="off", log_level="warning", access_log=False, ws="none", http="h11"
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="twilio-double")
        try:
            async with asyncio.timeout(10):
                await server.ready.wait()
            yield self
        finally:
            self._release.set()
            server.should_exit = True
            await task
            sock.close()


_refusing: list[socket.socket] = []


def closed_port_url() -> str:
    """A URL on which nothing listens (connection refused).

    The port stays bound, never listening, for the rest of the process: closing it
    would let another xdist worker's server (or this one's) take it and answer."""
    if not _refusing:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        _refusing.append(s)
        atexit.register(s.close)
    return f"http://127.0.0.1:{_refusing[0].getsockname()[1]}"


# -- webhooks as Twilio sends them ---------------------------------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "twilio"
PUBLIC_BASE = "http://testserver"  # the hub's public_url in these tests


def webhook(name: str, **overrides: str) -> dict[str, str]:
    """A captured-shape parameter set from tests/fixtures/twilio, with overrides."""
    params: dict[str, str] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    params.update(overrides)
    return params


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """``X-Twilio-Signature`` exactly as Twilio computes it (the official algorithm)."""
    return str(RequestValidator(token).compute_signature(url, params))


async def post_webhook(
    client: httpx.AsyncClient,
    path: str,
    params: dict[str, str],
    *,
    signature: str | None = "auto",
    signed_url: str | None = None,
    token: str = AUTH_TOKEN,
) -> httpx.Response:
    """POST form-encoded like Twilio, signed over the public URL (or not at all)."""
    headers = {"user-agent": "TwilioProxy/1.1", "i-twilio-idempotency-token": secrets.token_hex(8)}
    if signature == "auto":
        signature = sign(signed_url or PUBLIC_BASE + path, params, token)
    if signature is not None:
        headers["x-twilio-signature"] = signature
    return await client.post(path, data=params, headers=headers)


OUR_NUMBER = "+14155550100"
WHATSAPP_NUMBER = "+14155238886"
CUSTOMER = "+14155550111"


def channel_config(api_url: str, **extra: Any) -> dict[str, Any]:
    """A ``[channels.<kind>]`` table pointing at the double."""
    return {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "numbers": {OUR_NUMBER: "Support"},
        "api_base_url": api_url,
        "timeout_seconds": 5,
        **extra,
    }


def hub_settings(db_url: str, tmp_path: Path, public_url: str = PUBLIC_BASE) -> Any:
    """The core's test settings, with the public URL Twilio would call."""
    from hub.config import load_settings

    return load_settings(
        None,
        database_url=db_url,
        data_dir=str(tmp_path / "var"),
        channels={"loopback": {}},
        public_url=public_url,
    )


def cheap_passwords(monkeypatch: Any) -> None:
    """Argon2 at test strength: these tests create agents, they do not test hashing."""
    from argon2 import PasswordHasher

    monkeypatch.setattr("hub.auth._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
