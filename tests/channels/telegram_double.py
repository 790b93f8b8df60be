"""A local double of the Telegram Bot API, served over real HTTP on 127.0.0.1.

It answers the methods the adapter uses in the Bot API's own JSON shapes
(``{"ok": true, "result": ...}`` and ``{"ok": false, "error_code": ..., "description":
..., "parameters": ...}``), records every call, queues updates for ``getUpdates`` (with
long polling and offset confirmation, as Telegram does) and can be scripted to fail or
to hang. The real python-telegram-bot client talks to it through its ``base_url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BOT_ID = 7012345678
BOT_USERNAME = "switchboard_test_bot"
EPOCH = 1767603600  # 2026-01-05 09:00 UTC, the tests' fake clock


@dataclass
class Call:
    method: str
    params: dict[str, str]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@dataclass
class Scripted:
    status: int
    body: bytes
    content_type: str = "application/json"
    hang: bool = False


def api_error(status: int, description: str, **parameters: Any) -> Scripted:
    data: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        data["parameters"] = parameters
    return Scripted(status, json.dumps(data).encode())


def html_error(status: int, title: str) -> Scripted:
    """What Telegram's front proxy answers when the Bot API behind it is down."""
    page = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    return Scripted(status, page.encode(), "text/html")


HANG = Scripted(0, b"", hang=True)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: asyncio.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self._ready.set()


class BotApiDouble:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self._script: defaultdict[str, deque[Scripted]] = defaultdict(deque)
        self._message_ids = itertools.count(5001)
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None
        self.app = Starlette(routes=[Route("/bot{token}/{method}", self._handle, methods=["GET", "POST"])])

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._sock is not None
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}/bot"

    async def start(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", ws="none", http="h11",
            access_log=False, timeout_graceful_shutdown=2,
        )  # fmt: skip
        ready = asyncio.Event()
        self._server = _Server(config, ready)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        ready_wait = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait(
            {ready_wait, self._task}, timeout=10, return_when=asyncio.FIRST_COMPLETED
        )
        if ready_wait not in done:
            ready_wait.cancel()
            raise RuntimeError("the Bot API double did not start")

    async def stop(self) -> None:
        self._closing.set()  # release hanging handlers and long polls
        async with self._changed:
            self._changed.notify_all()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 10)
        if self._sock is not None:
            self._sock.close()

    # -- scripting ---------------------------------------------------------------------
    def script(self, method: str, *answers: Scripted) -> None:
        """The next calls of ``method`` get these answers, in order."""
        self._script[method].extend(answers)

    async def push_update(self, update: dict[str, Any]) -> None:
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_until(self, condition: Callable[[], bool], within: float = 10) -> None:
        """Wait (bounded) until ``condition`` holds; it is checked after every call."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), within)

    async def wait_for(
        self, method: str, predicate: Callable[[Call], bool] | None = None, within: float = 10
    ) -> Call:
        """The first recorded call of ``method`` matching ``predicate``, waiting for it."""

        def find() -> Call | None:
            return next((c for c in self.called(method) if predicate is None or predicate(c)), None)

        await self.wait_until(lambda: find() is not None, within)
        found = find()
        assert found is not None
        return found

    # -- HTTP --------------------------------------------------------------------------
    async def _handle(self, request: Request) -> Response:
        method = request.path_params["method"]
        if request.path_params["token"] != self.token:
            return _answer(api_error(401, "Unauthorized"))
        call = await _read_call(method, request)
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        if self._script[method]:
            scripted = self._script[method].popleft()
            if scripted.hang:
                await self._closing.wait()
            return _answer(scripted)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _answer(api_error(404, "Not Found"))
        return JSONResponse({"ok": True, "result": await handler(call)})

    async def _m_getMe(self, call: Call) -> Any:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Switchboard Test",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_setWebhook(self, call: Call) -> Any:
        return True

    async def _m_getUpdates(self, call: Call) -> Any:
        offset = int(call.params.get("offset") or 0)
        timeout = float(call.params.get("timeout") or 0)
        async with self._changed:
            # An offset confirms every update before it, as on Telegram.
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and timeout:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self.updates) or self._closing.is_set()), timeout
                    )
            return list(self.updates)

    async def _m_sendMessage(self, call: Call) -> Any:
        return {**self._sent_message(call), "text": call.params["text"]}

    async def _m_sendPhoto(self, call: Call) -> Any:
        result = self._sent_message(call)
        result["photo"] = [
            {
                "file_id": f"AgACAgQAAxkDAAI{n}",
                "file_unique_id": f"AQAD{n}",
                "file_size": 1207,
                "width": 90,
                "height": 90,
            }
            for n in ("s", "m")
        ]
        if "caption" in call.params:
            result["caption"] = call.params["caption"]
        return result

    async def _m_sendDocument(self, call: Call) -> Any:
        result = self._sent_message(call)
        name = call.files["document"][0] if "document" in call.files else "file"
        result["document"] = {
            "file_name": name,
            "file_id": "BQACAgQAAxkDAAIx",
            "file_unique_id": "AgADx",
            "file_size": 10,
        }
        if "caption" in call.params:
            result["caption"] = call.params["caption"]
        return result

    async def _m_answerCallbackQuery(self, call: Call) -> Any:
        return True

    async def _m_editMessageReplyMarkup(self, call: Call) -> Any:
        # The edited message comes back; without reply_markup the keyboard is gone.
        edited = self._message(int(call.params["chat_id"]), int(call.params["message_id"]))
        edited["edit_date"] = EPOCH
        if "reply_markup" in call.params:
            edited["reply_markup"] = json.loads(call.params["reply_markup"])
        return edited

    def _sent_message(self, call: Call) -> dict[str, Any]:
        return self._message(int(call.params["chat_id"]), next(self._message_ids))

    def _message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = "Acme Customers"
        else:
            chat["first_name"] = "Customer"
        return {
            "message_id": message_id,
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Switchboard Test",
                "username": BOT_USERNAME,
            },
            "chat": chat,
            "date": EPOCH,
        }


async def _read_call(method: str, request: Request) -> Call:
    params: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.body()
        data = json.loads(body) if body else {}
        params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    else:
        async with request.form() as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[key] = (value.filename or "", await value.read())
                else:
                    params[key] = value
    return Call(method, params, files)


def _answer(scripted: Scripted) -> Response:
    return Response(scripted.body, status_code=scripted.status, media_type=scripted.content_type)
