"""The official ``twilio`` REST client, async, and Twilio failures as :class:`SendError`.

Sends must not block the event loop, so the client runs on the library's aiohttp
transport (``*_async`` methods). ``api_base_url`` points the ``api.twilio.com`` domain
elsewhere (tests use a local double that speaks Twilio's wire format).
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels.base import SendError
from channels.twilio.config import TwilioAccount

log = logging.getLogger(__name__)
T = TypeVar("T")

# Twilio's exceptions drop the response headers, but a 429's Retry-After matters to the
# outbox. Each send runs in its own task, so a context variable carries it from the
# transport back to the caller without crosstalk between concurrent sends.
_retry_after: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "twilio_retry_after", default=None
)

# What an agent should read next to a failed message, for the codes seen most.
ERROR_HINTS: dict[int, str] = {
    20003: "Twilio rejected the credentials; check account_sid, auth_token or api_key/api_secret",
    21211: "the 'To' number is not a valid phone number",
    21408: "sending to this region is not enabled on the Twilio account",
    21606: "the 'From' number cannot send messages of this kind",
    21610: "the recipient has opted out (replied STOP); they must reply START first",
    21614: "the 'To' number cannot receive SMS (e.g. a landline)",
    21220: "the call is no longer in progress",
    30003: "unreachable destination handset",
    30004: "message blocked by the recipient or carrier",
    30005: "unknown destination handset",
    30006: "landline or unreachable carrier",
    30007: "filtered as spam by the carrier",
    30008: "unknown error from the carrier",
    63016: "outside WhatsApp's 24-hour window; send an approved template",
}


# Twilio's own text for these says too little for an agent to act on.
_ALWAYS_HINT = frozenset({20003, 21610})
_LIBRARY_PREFIX = re.compile(r"^Unable to \w+ record: ")


def describe_error(code: int | str | None, message: str | None = None) -> str:
    """``"Twilio error 21211: <message>"``, readable on its own in the console.

    Status callbacks carry only the code, so a short explanation is added then (and
    for codes whose message is cryptic).
    """
    message = _LIBRARY_PREFIX.sub("", message or "").strip() or None
    if code in (None, ""):
        return message or "Twilio reported an error"
    try:
        number: int | None = int(code)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = None
    hint = ERROR_HINTS.get(number) if number is not None else None
    text = f"Twilio error {code}"
    if message:
        text += f": {message}"
    if hint and (not message or number in _ALWAYS_HINT):
        text += f" ({hint})"
    return text


class _AsyncHttpClient(AsyncTwilioHttpClient):
    """The library's aiohttp transport, with two adjustments.

    - Credentials go in an ``Authorization`` header built here: the library passes
      ``aiohttp.BasicAuth``, which aiohttp 3.14 deprecates (a warning per request).
    - Retry-After of a 429 is remembered (see ``_retry_after``).
    """

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the library's signature
        allow_redirects: bool = False,
    ) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            headers["Authorization"] = basic_authorization(*auth)
        response = await super().request(method, url, params, data, headers, None, timeout, allow_redirects)
        if response.status_code == 429:
            _retry_after.set(_seconds(response.headers.get("Retry-After")))
        return response


def basic_authorization(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


class TwilioRest:
    """One ``twilio.rest.Client`` per channel, created inside the running event loop."""

    def __init__(self, account: TwilioAccount) -> None:
        self.account = account
        self._http: _AsyncHttpClient | None = None
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            # aiohttp sessions must be born inside the running loop (start() or a send).
            self._http = _AsyncHttpClient()
            username, password = self.account.rest_credentials
            self._client = Client(
                username, password, account_sid=self.account.account_sid, http_client=self._http
            )
            if self.account.api_base_url:
                self._client.api.base_url = self.account.api_base_url
        return self._client

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._http = None
        self._client = None

    async def call(self, operation: Callable[[Client], Awaitable[T]]) -> T:
        """Run one REST operation with the configured timeout; failures → SendError."""
        _retry_after.set(None)
        try:
            async with asyncio.timeout(self.account.timeout_seconds):
                return await operation(self.client)
        except TimeoutError:
            raise SendError(f"Twilio did not answer within {self.account.timeout_seconds:g}s") from None
        except TwilioRestException as exc:
            raise _from_rest(exc.status, exc.code, exc.msg) from None
        except TwilioServiceException as exc:
            raise _from_rest(exc.status, exc.code, exc.detail or exc.title) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise SendError(f"could not reach Twilio: {type(exc).__name__}: {exc}") from None
        except TwilioException as exc:
            raise SendError(f"Twilio client error: {exc}", retryable=False) from None


def _from_rest(status: int, code: int | None, message: str | None) -> SendError:
    reason = f"{describe_error(code, message)} [HTTP {status}]"
    if status == 429:
        return SendError(reason, retryable=True, retry_after=_retry_after.get())
    if status >= 500:
        return SendError(reason, retryable=True)
    # 4xx: the request itself is wrong (bad number, opted out, outside the window,
    # bad credentials); sending it again would fail the same way.
    return SendError(reason, retryable=False)
