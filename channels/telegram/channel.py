"""The Telegram channel: webhook or long polling in, the Bot API out.

Ingress checks the webhook's secret-token header, parses the update (``parse.py``) and
hands it to ``ingest``; Telegram gets its 200 only after the commit, and redelivers
anything else. A press on a survey button (``callback_query``) is answered by
``survey.py`` and always acknowledged. Egress goes through the real async :class:`telegram.Bot`; its errors
become :class:`SendError` so the outbox waits (429 ``retry_after``), retries (network,
5xx, timeouts) or dead-letters (blocked bot, unknown chat).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import random
import warnings
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from channels.base import SendError, SendResult
from channels.telegram.config import KIND, TelegramConfig, parse_config
from channels.telegram.parse import (
    FILE_REF_PREFIX,
    UnreadableUpdate,
    UpdateError,
    load_update,
    parse_update,
    update_type,
)
from channels.telegram.survey import answer_press, keyboard, load_callback
from hub.domain import Attachment, OutboundMessage
from hub.services.errors import ServiceError
from hub.services.ingest import IngestResult, ingest

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
# Only these update types carry customer messages or survey button presses; asking for
# just these keeps Telegram from sending (and retrying) membership updates we would ignore.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
CAPTION_MAX = 1024  # Bot API limit for media captions
UPLOAD_MAX_BYTES = 50 * 1024 * 1024  # Bot API limit for uploads by bots
POLL_BACKOFF_CAP_SECONDS = 60.0


# -- outbound: errors ------------------------------------------------------------------
def _retry_after_seconds(exc: RetryAfter) -> float:
    # python-telegram-bot 22 warns on reading `retry_after` as an int (it is becoming a
    # timedelta); accept both forms and keep the warning out of the logs and tests.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def send_error(exc: TelegramError) -> SendError:
    """Map a Bot API failure to what the outbox should do with it."""
    reason = f"telegram {type(exc).__name__}: {exc.message}"
    if isinstance(exc, RetryAfter):
        return SendError(reason, retryable=True, retry_after=_retry_after_seconds(exc))
    if isinstance(exc, ChatMigrated):
        # The group became a supergroup; the conversation's chat id is dead for good.
        return SendError(f"{reason} (new chat id {exc.new_chat_id})", retryable=False)
    if isinstance(exc, Forbidden | BadRequest):
        # Blocked bot, chat not found, message too long, bad file id: retrying cannot help.
        return SendError(reason, retryable=False)
    # TimedOut, other NetworkErrors (connection refused, 5xx), InvalidToken (a config
    # problem an operator can fix while retries wait) and unreadable answers.
    return SendError(reason, retryable=True)


# -- logging ---------------------------------------------------------------------------
class _TokenRedactor(logging.Filter):
    """httpx logs every request URL at INFO, and the Bot API puts the token in the URL."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if self.token in text:
            record.msg, record.args = text.replace(self.token, "<bot-token>"), None
        return True


# -- the channel -----------------------------------------------------------------------
class TelegramChannel:
    kind: ClassVar[str] = KIND
    address_kind: ClassVar[str] = "telegram"
    max_body_length: ClassVar[int] = 4096
    supports_attachments: ClassVar[bool] = True
    rate_per_second: ClassVar[float | None] = 30
    # /stop and /start (alone) on top of the hub's keywords (hub.consent_keywords): /stop
    # opts out of marketing; a bare /start only undoes an earlier /stop, so a new chat's
    # /start (with or without a deep-link topic) records nothing.
    opt_out_keywords: ClassVar[frozenset[str]] = frozenset({"/stop"})
    opt_in_keywords: ClassVar[frozenset[str]] = frozenset({"/start"})

    def __init__(self, config: TelegramConfig) -> None:
        self.config = config
        t = config.timeout
        # Our own request objects, so stop() can always close their connection pools.
        self._request = HTTPXRequest(
            connect_timeout=t,
            read_timeout=t,
            write_timeout=t,
            pool_timeout=t,
            media_write_timeout=max(t, 20.0),
        )
        self._updates_request = HTTPXRequest(
            connection_pool_size=1, connect_timeout=t, read_timeout=t, write_timeout=t, pool_timeout=t
        )
        self.bot = Bot(
            config.bot_token,
            base_url=config.base_url,
            request=self._request,
            get_updates_request=self._updates_request,
        )
        self._hub: Hub | None = None
        self._task: asyncio.Task[None] | None = None
        self._redactor = _TokenRedactor(config.bot_token)
        self._rng = random.Random()

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> TelegramChannel:
        return cls(parse_config(section))

    # -- Channel -----------------------------------------------------------------------
    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/webhook", self._webhook, methods=["POST"])]

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        logging.getLogger("httpx").addFilter(self._redactor)
        await asyncio.gather(self._request.initialize(), self._updates_request.initialize())
        # Network work runs in the background: a Telegram outage must not stop the hub
        # from starting and serving its other channels.
        if self.config.mode == "polling":
            self._task = asyncio.create_task(self._poll_forever(), name="telegram-polling")
        else:
            self._task = asyncio.create_task(self._announce(), name="telegram-webhook-setup")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.bot.shutdown()
        await asyncio.gather(self._request.shutdown(), self._updates_request.shutdown())
        logging.getLogger("httpx").removeFilter(self._redactor)
        self._hub = None

    async def send(self, message: OutboundMessage) -> SendResult:
        chat_id = message.thread_key or message.to
        if len(message.body) > self.max_body_length:
            raise SendError(
                f"body is {len(message.body)} characters; Telegram takes {self.max_body_length}",
                retryable=False,
            )
        if not message.body and not message.attachments:
            raise SendError("nothing to send: empty body and no attachments", retryable=False)
        try:
            sent = await self._deliver(chat_id, message)
        except TelegramError as exc:
            raise send_error(exc) from exc
        return SendResult(provider_message_id=f"{chat_id}:{sent.message_id}")

    # -- outbound ----------------------------------------------------------------------
    async def _deliver(self, chat_id: str, message: OutboundMessage) -> Message:
        body = message.body
        # A survey question carries its score buttons (channels/telegram/survey.py).
        markup = keyboard(message.meta["survey"]) if "survey" in message.meta else None
        # Resolve every attachment before the first call, so one that can never be sent
        # dead-letters the message before anything reaches the customer.
        media = [(a, await self._media(a)) for a in message.attachments]
        if len(media) == 1 and len(body) <= CAPTION_MAX:
            # One API call: nothing is sent twice when a retry follows a partial failure.
            return await self._send_attachment(chat_id, *media[0], caption=body or None, markup=markup)
        # Several calls are not atomic: a retry after a failed attachment resends the
        # text (at-least-once, like every outbox send).
        first = await self.bot.send_message(chat_id=chat_id, text=body, reply_markup=markup) if body else None
        for attachment, content in media:
            sent = await self._send_attachment(
                chat_id, attachment, content, caption=None, markup=None if first else markup
            )
            first = first or sent
        assert first is not None
        return first

    async def _send_attachment(
        self,
        chat_id: str,
        attachment: Attachment,
        media: str | bytes,
        *,
        caption: str | None,
        markup: InlineKeyboardMarkup | None = None,
    ) -> Message:
        filename = attachment.filename or None
        if attachment.content_type in ("image/jpeg", "image/png"):
            return await self.bot.send_photo(
                chat_id=chat_id, photo=media, caption=caption, filename=filename, reply_markup=markup
            )
        return await self.bot.send_document(
            chat_id=chat_id, document=media, caption=caption, filename=filename, reply_markup=markup
        )

    async def _media(self, attachment: Attachment) -> str | bytes:
        """A file id or URL Telegram fetches itself, or the bytes of a stored file."""
        if attachment.url:
            if attachment.url.startswith(FILE_REF_PREFIX):
                return attachment.url.removeprefix(FILE_REF_PREFIX)
            if attachment.url.startswith(("https://", "http://")):
                return attachment.url
            raise SendError(
                f"attachment url {attachment.url[:100]!r} is not one Telegram can fetch", retryable=False
            )
        if attachment.path:
            return await self._read_stored(attachment.path)
        raise SendError("attachment has neither url nor path", retryable=False)

    async def _read_stored(self, relative: str) -> bytes:
        if self._hub is None:
            raise SendError("telegram channel is not started")
        base = (self._hub.settings.data_dir / "attachments").resolve()
        path = (base / relative).resolve()
        if not path.is_relative_to(base):
            raise SendError(
                f"attachment path {relative!r} is outside the attachment directory", retryable=False
            )
        try:
            size = path.stat().st_size
        except OSError:
            raise SendError(f"attachment file {relative!r} is missing", retryable=False) from None
        if size > UPLOAD_MAX_BYTES:
            raise SendError(
                f"attachment {relative!r} is {size} bytes; bots may upload 50 MB", retryable=False
            )
        return await asyncio.to_thread(Path.read_bytes, path)

    # -- inbound -----------------------------------------------------------------------
    def _secret_ok(self, request: Request) -> bool:
        expected = self.config.webhook_secret
        if expected is None:  # polling mode: nobody may post updates
            return False
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode(), expected.encode())

    async def _webhook(self, request: Request) -> Response:
        if not self._secret_ok(request):
            return _json_error(403, "bad_secret", "missing or wrong X-Telegram-Bot-Api-Secret-Token")
        if self._hub is None:
            return _json_error(503, "not_ready", "the telegram channel is not started")
        try:
            raw = load_update(await request.body())
        except ValueError as exc:
            return _json_error(
                400, "bad_json", f"the body is not valid JSON (expected a Telegram Update): {exc}"
            )
        if not isinstance(raw, dict):
            return _json_error(400, "bad_update", "expected a JSON object (a Telegram Update)")
        if "callback_query" in raw:
            return await self._press(raw)
        try:
            result = await self._accept(raw)
        except UnreadableUpdate as exc:
            # It did come from Telegram (the secret matched): answering 4xx would only
            # make Telegram redeliver it for as long as it keeps trying.
            log.error("%s; acknowledged and dropped", exc, extra={"channel": KIND})
            return JSONResponse({"ok": True, "ignored": True})
        except UpdateError as exc:
            return _json_error(400, "bad_update", str(exc))
        # Never a "method" key here: Telegram would run a JSON answer with one as a call.
        if result is None:
            return JSONResponse({"ok": True, "ignored": True})
        return JSONResponse(
            {
                "ok": True,
                "message_id": result.message_id,
                "conversation_id": result.conversation_id,
                "duplicate": result.duplicate,
            }
        )

    async def _press(self, raw: dict[str, Any]) -> Response:
        """A survey button press: recorded and answered here, always acknowledged."""
        assert self._hub is not None
        try:
            query = load_callback(raw, self.bot)
        except UnreadableUpdate as exc:
            log.error("%s; acknowledged and dropped", exc, extra={"channel": KIND})
            return JSONResponse({"ok": True, "ignored": True})
        except UpdateError as exc:
            return _json_error(400, "bad_update", str(exc))
        outcome = await answer_press(self._hub, self.bot, query)
        return JSONResponse({"ok": True, "callback": outcome})

    async def _accept(self, raw: dict[str, Any]) -> IngestResult | None:
        """Parse and commit one update; None when it carries nothing for us.

        Raises UpdateError for what is not an update. Input the hub refuses (ServiceError)
        is logged and acknowledged: Telegram would redeliver it forever otherwise, and it
        cannot become valid. Anything else (the database is down) propagates so the
        update is redelivered.
        """
        assert self._hub is not None
        msg = parse_update(raw, bot_id=self.config.bot_id, topics=self.config.topics, bot=self.bot)
        if msg is None:
            log.info("ignored telegram update %s (%s)", raw.get("update_id"), update_type(raw))
            return None
        try:
            return await ingest(self._hub, msg)
        except ServiceError as exc:
            log.warning(
                "telegram update %s refused: %s (%s)",
                raw.get("update_id"),
                exc.message,
                exc.code,
                extra={"channel": KIND},
            )
            return None

    async def _announce(self) -> None:
        """Webhook mode: check the token and, when configured, register the webhook."""
        try:
            me = await self.bot.get_me()
            log.info("telegram bot @%s (id %s) ready", me.username, me.id, extra={"channel": KIND})
            if self.config.webhook_url:
                await self.bot.set_webhook(
                    url=self.config.webhook_url,
                    secret_token=self.config.webhook_secret,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
                log.info("telegram webhook set to %s", self.config.webhook_url, extra={"channel": KIND})
        except TelegramError as exc:
            log.warning("telegram bot check failed: %s; sends will retry", exc, extra={"channel": KIND})

    async def _poll_forever(self) -> None:
        """Development mode: getUpdates in a loop; an update counts once it is committed.

        A registered webhook is not removed for you (python-telegram-bot's Updater does):
        a development hub pointed at a production bot must not silently take its
        webhook away. Telegram answers 409 instead, and the log says what to do.
        """
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self.config.poll_timeout, allowed_updates=list(ALLOWED_UPDATES)
                )
                for update in updates:
                    await self._accept_polled(update)
                    # The next getUpdates with this offset confirms the update to Telegram.
                    offset = update.update_id + 1
                failures = 0
            except Conflict as exc:
                failures += 1
                delay = self._poll_delay(failures)
                log.error(
                    "telegram polling refused (%s): remove the bot's webhook (deleteWebhook, see "
                    "docs/channels/telegram.md) or stop the other poller; retrying in %.1fs",
                    exc,
                    delay,
                    extra={"channel": KIND},
                )
                await asyncio.sleep(delay)
            except Exception as exc:  # CancelledError is not an Exception: stop() still works
                failures += 1
                delay = self._poll_delay(failures)
                log.warning(
                    "telegram polling failed (%s: %s); retrying in %.1fs",
                    type(exc).__name__,
                    exc,
                    delay,
                    extra={"channel": KIND},
                )
                await asyncio.sleep(delay)

    async def _accept_polled(self, update: Update) -> None:
        # getUpdates hands us parsed objects; to_dict() gives the payload back (with
        # python-telegram-bot's defaults filled in), so both modes share one parser.
        # (An update the library cannot parse fails the whole getUpdates call inside
        # python-telegram-bot; the loop then retries with backoff and logs each time.)
        try:
            if update.callback_query is not None:
                assert self._hub is not None
                await answer_press(self._hub, self.bot, update.callback_query)
                return
            await self._accept(update.to_dict())
        except UpdateError as exc:  # skipping beats blocking every later update
            log.error("telegram update %s skipped: %s", update.update_id, exc, extra={"channel": KIND})

    def _poll_delay(self, failures: int) -> float:
        delay = min(POLL_BACKOFF_CAP_SECONDS, self.config.poll_retry_seconds * 2 ** (failures - 1))
        return delay / 2 + self._rng.random() * delay / 2


def _json_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
