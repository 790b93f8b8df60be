"""The console websocket gateway: one socket per signed-in user.

Bus events are fanned out to the sockets allowed to see them through indexes (by
user, team, watched conversation), so an event costs O(recipients), not O(sockets).
Each socket has a bounded queue: a client that cannot keep up is told to resync and
closed rather than allowed to grow memory or stall everyone else. A reconnecting
client sends ``last_event_id`` and first receives what it missed from the event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import col, select
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from hub.api.deps import principal_from_request
from hub.api.routes_contacts import event_visible_clause
from hub.bus import Subscription, follow
from hub.context import Hub
from hub.events import Event
from hub.models import EventLog, User
from hub.services.access import Actor
from hub.services.uow import event_from_row

log = logging.getLogger(__name__)

QUEUE_LIMIT = 1_000
REPLAY_LIMIT = 2_000
HEARTBEAT_SECONDS = 25.0
CLOSE_RESYNC = 4000
CLOSE_UNAUTHORIZED = 4401
CLOSE_ORIGIN = 4403

# Ephemeral signals (not in the event log) that still travel on the bus between hub
# processes: typing indicators, socket presence for routing, queue statistics.
EPHEMERAL_ID = 0


class Connection:
    def __init__(self, ws: WebSocket, user: User, actor: Actor) -> None:
        self.ws = ws
        self.user = user
        self.actor = actor
        self.user_id: int = user.id  # type: ignore[assignment]
        self.queue: asyncio.Queue[tuple[int, str] | None] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self.watching: set[int] = set()
        self.overflowed = False
        # Ids sent during the resume replay; the same events may also arrive live.
        self.replayed: set[int] = set()

    def push(self, frame: str, event_id: int = EPHEMERAL_ID) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait((event_id, frame))
        except asyncio.QueueFull:
            self.overflow()

    def overflow(self) -> None:
        """Drop the backlog (the client reloads state anyway) and ask it to resync."""
        self.overflowed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


CommandHandler = Callable[["Gateway", Connection, dict[str, Any]], Awaitable[Any]]


class Gateway:
    def __init__(self, hub: Hub, commands: Mapping[str, CommandHandler]) -> None:
        self.hub = hub
        self.commands = commands
        self.by_user: dict[int, set[Connection]] = defaultdict(set)
        self.by_team: dict[int, set[Connection]] = defaultdict(set)
        self.by_watch: dict[int, set[Connection]] = defaultdict(set)
        self.admins: set[Connection] = set()
        self.supervisors: set[Connection] = set()
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._sub = self.hub.bus.subscribe(maxsize=100_000)
        self._task = asyncio.create_task(self._fanout(), name="gateway-fanout")

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=10)
        for conns in list(self.by_user.values()):
            for conn in list(conns):
                with contextlib.suppress(asyncio.QueueFull):
                    conn.queue.put_nowait(None)

    @property
    def connection_count(self) -> int:
        return sum(len(c) for c in self.by_user.values())

    # -- fan-out -------------------------------------------------------------------------
    async def _fanout(self) -> None:
        assert self._sub is not None

        async def on_event(event: Event) -> None:
            self.deliver(event)

        async def on_lag() -> None:
            # The gateway itself fell behind the bus: every console resyncs from the log.
            for conns in list(self.by_user.values()):
                for conn in list(conns):
                    conn.overflow()

        await follow(self._sub, on_event, on_lag, "console gateway")

    def recipients(self, event: Event) -> set[Connection]:
        t = event.type
        out: set[Connection] = set(self.admins)
        if t == "outbox.enqueued":
            return set()
        if t.startswith("message.") or t in ("typing", "read"):
            if event.user_id is not None:
                out |= self.by_user.get(event.user_id, set())
            elif event.team_id is not None:
                # Unassigned work: the team sees it move in its queue.
                out |= self.by_team.get(event.team_id, set())
            if event.conversation_id is not None:
                out |= self.by_watch.get(event.conversation_id, set())
            if t == "typing" and isinstance(event.payload.get("user_id"), int):
                out -= self.by_user.get(event.payload["user_id"], set())  # not to the typist
            return out
        if t.startswith("conversation."):
            if event.team_id is not None:
                out |= self.by_team.get(event.team_id, set())
            else:
                out |= self.supervisors
            for key in ("assignee_id", "previous_assignee_id"):
                uid = event.payload.get(key)
                if isinstance(uid, int):
                    out |= self.by_user.get(uid, set())
            if event.conversation_id is not None:
                out |= self.by_watch.get(event.conversation_id, set())
            return out
        if t.startswith("offer."):
            uid = event.payload.get("user_id")
            if isinstance(uid, int):
                out |= self.by_user.get(uid, set())
            return out | self.supervisors
        if t == "presence.changed" or t.startswith("agent."):
            if event.user_id is not None:
                out |= self.by_user.get(event.user_id, set())
            return out | self.supervisors
        if t == "queue.stats":
            if event.team_id is not None:
                out |= self.by_team.get(event.team_id, set())
            return out | self.supervisors
        return out | self.supervisors

    def deliver(self, event: Event) -> None:
        targets = self.recipients(event)
        if not targets:
            return
        # Serialize once, however many sockets receive it.
        frame = json.dumps({"type": "event", "event": event.model_dump(mode="json")}, ensure_ascii=False)
        for conn in targets:
            conn.push(frame, event.id)

    # -- the socket ----------------------------------------------------------------------
    def _origin_ok(self, ws: WebSocket) -> bool:
        origin = ws.headers.get("origin")
        if origin is None:
            return True  # non-browser clients (tests, integrations) send no Origin
        host = ws.headers.get("host", "")
        allowed = {self.hub.settings.base_url.rstrip("/"), *self.hub.settings.allowed_origins}
        parsed = urlsplit(origin)
        return origin in allowed or parsed.netloc == host

    def _register(self, conn: Connection) -> None:
        self.by_user[conn.user_id].add(conn)
        for team_id in conn.actor.team_ids:
            self.by_team[team_id].add(conn)
        if conn.actor.is_admin:
            self.admins.add(conn)
        elif conn.actor.is_supervisor:
            self.supervisors.add(conn)
        self.hub.metrics.websockets.labels("console").inc()

    def _unregister(self, conn: Connection) -> None:
        self.by_user[conn.user_id].discard(conn)
        if not self.by_user[conn.user_id]:
            del self.by_user[conn.user_id]
        for team_id in conn.actor.team_ids:
            self.by_team[team_id].discard(conn)
        for conv_id in conn.watching:
            self.by_watch[conv_id].discard(conn)
            if not self.by_watch[conv_id]:
                del self.by_watch[conv_id]
        self.admins.discard(conn)
        self.supervisors.discard(conn)
        self.hub.metrics.websockets.labels("console").dec()

    def watch(self, conn: Connection, conversation_id: int, on: bool) -> None:
        if on:
            conn.watching.add(conversation_id)
            self.by_watch[conversation_id].add(conn)
        else:
            conn.watching.discard(conversation_id)
            self.by_watch[conversation_id].discard(conn)

    async def endpoint(self, ws: WebSocket) -> None:
        # Refusals accept first and then close with a code: a browser cannot read an
        # HTTP 403 on a websocket handshake, but it can read a close code.
        if not self._origin_ok(ws):
            await ws.accept()
            await ws.close(code=CLOSE_ORIGIN, reason="origin not allowed")
            return
        principal = await principal_from_request(self.hub, ws)  # type: ignore[arg-type]
        await ws.accept()
        if principal is None:
            await ws.close(code=CLOSE_UNAUTHORIZED, reason="sign in first")
            return
        conn = Connection(ws, principal.user, principal.actor)
        last_id = _int(ws.query_params.get("last_event_id"))
        # Register before replaying so nothing committed meanwhile falls in the gap;
        # duplicates are filtered by id in deliver() and the sender.
        self._register(conn)
        first_connection = len(self.by_user[conn.user_id]) == 1
        sender: asyncio.Task[None] | None = None
        try:
            await self._hello(conn, last_id)
            sender = asyncio.create_task(self._sender(conn), name=f"ws-send-{conn.user_id}")
            if first_connection:
                await self._signal("agent.connected", conn)
            await self._receiver(conn)
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("console socket failed", extra={"user_id": conn.user_id})
        finally:
            self._unregister(conn)
            if sender is not None:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender
            if conn.user_id not in self.by_user:
                await self._signal("agent.disconnected", conn)
            if ws.application_state != WebSocketState.DISCONNECTED:
                with contextlib.suppress(Exception):
                    await ws.close()

    async def _hello(self, conn: Connection, last_id: int | None) -> None:
        async with self.hub.db.session() as s:
            head = (await s.exec(select(EventLog.id).order_by(col(EventLog.id).desc()).limit(1))).first() or 0
            missed: list[EventLog] = []
            if last_id is not None and last_id < head:
                missed = list(
                    (
                        await s.exec(
                            select(EventLog)
                            .where(col(EventLog.id) > last_id, event_visible_clause(conn.actor))
                            .order_by(col(EventLog.id))
                            .limit(REPLAY_LIMIT + 1)
                        )
                    ).all()
                )
        if len(missed) > REPLAY_LIMIT:
            # Cheaper for everyone to reload state over REST than to stream the backlog.
            await conn.ws.send_text(json.dumps({"type": "resync", "reason": "too_far_behind", "head": head}))
            return
        await conn.ws.send_text(
            json.dumps(
                {
                    "type": "hello",
                    "user": {"id": conn.user_id, "name": conn.user.name, "role": str(conn.user.role)},
                    "head": head,
                    "server_time": self.hub.now().isoformat(),
                    "replayed": len(missed),
                    "heartbeat_seconds": HEARTBEAT_SECONDS,
                }
            )
        )
        for row in missed:
            event = event_from_row(row)
            await conn.ws.send_text(json.dumps({"type": "event", "event": event.model_dump(mode="json")}))
            conn.replayed.add(event.id)

    async def _sender(self, conn: Connection) -> None:
        rng = random.Random()
        while True:
            try:
                async with asyncio.timeout(HEARTBEAT_SECONDS * (0.8 + 0.4 * rng.random())):
                    item = await conn.queue.get()
            except TimeoutError:
                item = (EPHEMERAL_ID, '{"type":"ping"}')
            if item is None:
                if conn.overflowed:
                    with contextlib.suppress(Exception):
                        await conn.ws.send_text(json.dumps({"type": "resync", "reason": "slow_consumer"}))
                        await conn.ws.close(code=CLOSE_RESYNC, reason="resync")
                return
            event_id, frame = item
            if event_id != EPHEMERAL_ID and event_id in conn.replayed:
                continue
            await conn.ws.send_text(frame)

    async def _receiver(self, conn: Connection) -> None:
        while True:
            raw = await conn.ws.receive_text()
            try:
                msg = json.loads(raw)
            except ValueError:
                conn.push(json.dumps({"type": "error", "code": "bad_json", "message": "frames must be JSON"}))
                continue
            if not isinstance(msg, dict):
                conn.push(
                    json.dumps({"type": "error", "code": "bad_frame", "message": "frames must be objects"})
                )
                continue
            kind = msg.get("type")
            if kind == "pong":
                continue
            if kind != "command":
                conn.push(
                    json.dumps(
                        {"type": "error", "code": "bad_type", "message": f"unknown frame type {kind!r}"}
                    )
                )
                continue
            await self._command(conn, msg)

    async def _command(self, conn: Connection, msg: dict[str, Any]) -> None:
        from hub.services.errors import ServiceError

        cid = msg.get("id")
        name = msg.get("command")
        handler = self.commands.get(name) if isinstance(name, str) else None
        if handler is None:
            known = ", ".join(sorted(self.commands))
            conn.push(
                json.dumps(
                    {
                        "type": "error",
                        "id": cid,
                        "code": "unknown_command",
                        "message": f"unknown command; known: {known}",
                    }
                )
            )
            return
        try:
            result = await handler(self, conn, msg)
        except ServiceError as exc:
            conn.push(json.dumps({"type": "error", "id": cid, "code": exc.code, "message": exc.message}))
            return
        except (KeyError, TypeError, ValueError) as exc:
            conn.push(json.dumps({"type": "error", "id": cid, "code": "bad_command", "message": str(exc)}))
            return
        conn.push(json.dumps({"type": "ack", "id": cid, "result": result}, ensure_ascii=False, default=str))

    async def _signal(self, event_type: str, conn: Connection) -> None:
        event = Event(
            id=EPHEMERAL_ID, type=event_type, user_id=conn.user_id, payload={"user_id": conn.user_id}
        )
        try:
            await self.hub.bus.publish([event])
        except Exception:
            log.exception("could not publish %s", event_type)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
