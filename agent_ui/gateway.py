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

from agent_ui.commands import ValidationFailed
from hub.api.deps import principal_from_request
from hub.bus import Subscription, follow
from hub.context import Hub
from hub.events import Event
from hub.models import EventLog, TeamMember
from hub.sendqueue import SendQueue
from hub.services.access import Actor, can_view
from hub.services.revocation import ACCESS_CHANGED
from hub.services.uow import event_from_row
from hub.services.visibility import (
    INTERNAL,
    STAFF,
    assignee_only,
    may_see,
    may_view_conversation,
    read_visible,
)

log = logging.getLogger(__name__)

QUEUE_LIMIT = 1_000
REPLAY_LIMIT = 2_000
HEARTBEAT_SECONDS = 25.0
CLOSE_RESYNC = 4000
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_ORIGIN = 4403
# Events after which a user's open sockets re-check their credential and rights.
RECHECK = frozenset({"user.updated", ACCESS_CHANGED})

# Ephemeral signals (not in the event log) that still travel on the bus between hub
# processes: typing indicators, socket presence for routing, queue statistics.
EPHEMERAL_ID = 0


def event_frame(event: Event) -> str:
    """The ``{"type": "event", "event": …}`` frame of ``event``: pydantic's own JSON
    (one pass in its core, ~3× cheaper than ``model_dump`` then ``json.dumps``)."""
    return '{"type":"event","event":' + event.model_dump_json() + "}"


class Connection:
    def __init__(self, ws: WebSocket, actor: Actor) -> None:
        self.ws = ws
        # The actor (id, role, teams, name) is all a socket keeps of its user: not the
        # ORM row, held for the socket's whole life by each of a thousand consoles.
        self.actor = actor
        self.user_id: int = actor.user_id  # type: ignore[assignment]
        self.queue: SendQueue[tuple[int, str] | None] = SendQueue(QUEUE_LIMIT)
        self.watching: set[int] = set()
        self.overflowed = False
        # Ids sent during the resume replay; the same events may also arrive live.
        self.replayed: set[int] = set()
        # Set while this socket's rights are being re-checked: commands wait for it.
        self.recheck: asyncio.Task[None] | None = None
        self.close_with: tuple[int, str] | None = None

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
        self._drain()

    def revoke(self, code: int, reason: str) -> None:
        """Stop delivering at once and close with ``code`` (the sender does the close)."""
        if self.close_with is None:
            self.close_with = (code, reason)
            self.overflowed = True  # push() drops from now on
            self._drain()

    def _drain(self) -> None:
        self.queue.clear()
        self.queue.put_last(None)


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
        # Team memberships of every user, for staff events (presence, agent.*): which
        # supervisors may see them. Refreshed on user.updated / team.updated.
        self.teams_of_user: dict[int, frozenset[int]] = {}
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        await self._load_teams()
        self._sub = self.hub.bus.subscribe(maxsize=100_000)
        self._task = asyncio.create_task(self._fanout(), name="gateway-fanout")

    async def _load_teams(self, user_id: int | None = None) -> None:
        stmt = select(TeamMember.user_id, TeamMember.team_id)
        if user_id is not None:
            stmt = stmt.where(TeamMember.user_id == user_id)
        async with self.hub.db.session() as s:
            rows = (await s.exec(stmt)).all()
        found: dict[int, set[int]] = defaultdict(set)
        for uid, tid in rows:
            found[uid].add(tid)
        if user_id is None:
            self.teams_of_user = {uid: frozenset(t) for uid, t in found.items()}
        else:
            self.teams_of_user[user_id] = frozenset(found.get(user_id, ()))

    def teams_of(self, user_id: int) -> frozenset[int]:
        return self.teams_of_user.get(user_id, frozenset())

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=10)
        # Wait for the cancelled re-checks: one cut off mid-query must hand its database
        # connection back before the engine is disposed, or closing the loop hangs on
        # the orphaned aiosqlite connection.
        background = list(self._background)
        for task in background:
            task.cancel()
        if background:
            await asyncio.wait(background, timeout=10)
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
            if event.type in RECHECK and event.user_id is not None:
                self.recheck_user(event.user_id, str(event.payload.get("reason") or event.type))
            elif event.type == "team.updated":
                self._spawn(self._load_teams(), "gateway-teams")
            self.deliver(event)

        async def on_lag() -> None:
            # The gateway itself fell behind the bus: every console resyncs from the log.
            for conns in list(self.by_user.values()):
                for conn in list(conns):
                    conn.overflow()

        await follow(self._sub, on_event, on_lag, "console gateway")

    def candidates(self, event: Event) -> set[Connection]:
        """A cheap superset of who may receive ``event``, from the indexes."""
        out: set[Connection] = set(self.admins)
        if event.user_id is not None:
            out |= self.by_user.get(event.user_id, set())
        if event.team_id is not None and not (event.user_id is not None and assignee_only(event.type)):
            # An assigned conversation's messages go to its assignee, not its team
            # (may_see): the team's sockets are not even candidates (with teams of
            # ten, ten checks a message for the one that receives it).
            out |= self.by_team.get(event.team_id, set())
        if event.conversation_id is not None:
            out |= self.by_watch.get(event.conversation_id, set())
        for key in ("previous_assignee_id", "previous_team_id"):
            ref = event.payload.get(key)
            if isinstance(ref, int):
                out |= (self.by_user if key == "previous_assignee_id" else self.by_team).get(ref, set())
        if event.type == "chat.message":  # a direct message: its two members (hub.services.chat)
            for member in event.payload.get("member_ids") or ():
                out |= self.by_user.get(member, set()) if isinstance(member, int) else set()
        if event.type.startswith("task."):  # its creator follows it (hub.services.tasks)
            creator = event.payload.get("created_by")
            if isinstance(creator, int):
                out |= self.by_user.get(creator, set())
        if event.team_id is None or event.type.startswith("offer.") or event.type in STAFF:
            out |= self.supervisors
        elif event.type == "contact.merged":
            out |= self.supervisors
        return out

    def recipients(self, event: Event) -> set[Connection]:
        """Exactly who receives ``event`` live: :func:`hub.services.visibility.may_see`,
        the same rule as replay and ``GET /events``, plus each socket's watches."""
        if event.type in INTERNAL:
            return set()
        return {
            conn
            for conn in self.candidates(event)
            if may_see(conn.actor, event, self.teams_of, conn.watching)
        }

    def _end_lost_watches(self, event: Event) -> None:
        """A conversation moved (team, assignee): watchers who may no longer see it stop."""
        if event.conversation_id is None or not event.type.startswith(("conversation.", "message.")):
            return
        for conn in list(self.by_watch.get(event.conversation_id, ())):
            if not may_view_conversation(conn.actor, event.team_id, event.user_id):
                self.watch(conn, event.conversation_id, False)
                conn.push(
                    json.dumps(
                        {
                            "type": "watch_ended",
                            "conversation_id": event.conversation_id,
                            "reason": "not_visible",
                        }
                    )
                )

    def deliver(self, event: Event) -> None:
        self._end_lost_watches(event)
        targets = self.recipients(event)
        if not targets:
            return
        frame = event_frame(event)  # serialized once, however many sockets receive it
        for conn in targets:
            conn.push(frame, event.id)

    # -- rights follow the user ------------------------------------------------------------
    def recheck_user(self, user_id: int, reason: str) -> None:
        """Re-validate every socket of ``user_id`` (credential, role, teams, watches).

        Commands on those sockets wait for the check, so nothing is acked with the old
        rights once the change that removed them has been published.
        """
        conns = list(self.by_user.get(user_id, ()))
        task = self._spawn(self._recheck(user_id, conns, reason), f"ws-recheck-{user_id}")
        for conn in conns:
            conn.recheck = task

    async def _recheck(
        self, user_id: int, conns: list[Connection], reason: str, *, reload_teams: bool = True
    ) -> None:
        if reload_teams:
            await self._load_teams(user_id)
        for conn in conns:
            try:
                principal = await principal_from_request(self.hub, conn.ws)  # type: ignore[arg-type]
            except Exception:
                log.exception("socket re-check failed", extra={"user_id": user_id})
                principal = None
            if principal is None or principal.user.id != user_id:
                conn.revoke(CLOSE_UNAUTHORIZED, _close_reason(reason))
                continue
            await self._apply_rights(conn, principal.actor)

    async def _apply_rights(self, conn: Connection, actor: Actor) -> None:
        changed = actor.role != conn.actor.role or actor.team_ids != conn.actor.team_ids
        if changed:
            self._index(conn, add=False)
        conn.actor = actor  # always: a new name may come with the same rights
        if changed:
            self._index(conn, add=True)
        if conn.watching:
            async with self.hub.db.session() as s:
                from hub.models import Conversation

                rows = (
                    await s.exec(select(Conversation).where(col(Conversation.id).in_(sorted(conn.watching))))
                ).all()
            visible = {c.id for c in rows if can_view(actor, c)}
            for conv_id in sorted(conn.watching - visible):
                self.watch(conn, conv_id, False)
                conn.push(
                    json.dumps({"type": "watch_ended", "conversation_id": conv_id, "reason": "not_visible"})
                )
        if changed:
            conn.push(
                json.dumps(
                    {"type": "rights_changed", "role": str(actor.role), "team_ids": sorted(actor.team_ids)}
                )
            )

    # -- the socket ----------------------------------------------------------------------
    def _origin_ok(self, ws: WebSocket) -> bool:
        origin = ws.headers.get("origin")
        if origin is None:
            return True  # non-browser clients (tests, integrations) send no Origin
        host = ws.headers.get("host", "")
        allowed = {self.hub.settings.base_url.rstrip("/"), *self.hub.settings.allowed_origins}
        parsed = urlsplit(origin)
        return origin in allowed or parsed.netloc == host

    def _index(self, conn: Connection, *, add: bool) -> None:
        """Add ``conn`` to (or remove it from) the team and role indexes."""
        for team_id in conn.actor.team_ids:
            if add:
                self.by_team[team_id].add(conn)
            else:
                self.by_team[team_id].discard(conn)
                if not self.by_team[team_id]:
                    del self.by_team[team_id]
        self.admins.discard(conn)
        self.supervisors.discard(conn)
        if add and conn.actor.is_admin:
            self.admins.add(conn)
        elif add and conn.actor.is_supervisor:
            self.supervisors.add(conn)

    def _register(self, conn: Connection) -> None:
        self.by_user[conn.user_id].add(conn)
        self._index(conn, add=True)
        self.hub.metrics.websockets.labels("console").inc()

    def _unregister(self, conn: Connection) -> None:
        self.by_user[conn.user_id].discard(conn)
        if not self.by_user[conn.user_id]:
            del self.by_user[conn.user_id]
        self._index(conn, add=False)
        for conv_id in conn.watching:
            self.by_watch[conv_id].discard(conn)
            if not self.by_watch[conv_id]:
                del self.by_watch[conv_id]
        self.hub.metrics.websockets.labels("console").dec()

    def watch(self, conn: Connection, conversation_id: int, on: bool) -> None:
        if on:
            conn.watching.add(conversation_id)
            self.by_watch[conversation_id].add(conn)
        else:
            conn.watching.discard(conversation_id)
            watchers = self.by_watch.get(conversation_id)
            if watchers is not None:
                watchers.discard(conn)
                if not watchers:
                    del self.by_watch[conversation_id]

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
        conn = Connection(ws, principal.actor)
        raw_last = ws.query_params.get("last_event_id")
        last_id = _int(raw_last)
        if raw_last is not None and last_id is None:
            await ws.close(code=CLOSE_BAD_REQUEST, reason="last_event_id must be a non-negative integer")
            return
        # Register before replaying so nothing committed meanwhile falls in the gap;
        # duplicates are filtered by id in deliver() and the sender.
        self._register(conn)
        first_connection = len(self.by_user[conn.user_id]) == 1
        sender: asyncio.Task[None] | None = None
        try:
            if not await self._hello(conn, last_id):
                return
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

    async def _hello(self, conn: Connection, last_id: int | None) -> bool:
        """Send ``hello`` and the replay; False when the client must resync instead."""
        async with self.hub.db.session() as s:
            head = (await s.exec(select(EventLog.id).order_by(col(EventLog.id).desc()).limit(1))).first() or 0
            missed: list[EventLog] = []
            more: int | None = None
            if last_id is not None and last_id < head:
                missed, more = await read_visible(
                    s, conn.actor, last_id, REPLAY_LIMIT, max_scan=REPLAY_LIMIT * 20
                )
        reason = None
        if last_id is not None and last_id > head:
            reason = "unknown_event_id"  # the hub's log was reset, or the id is made up
        elif more is not None:
            reason = "too_far_behind"  # cheaper to reload state over REST than to stream it
        if reason is not None:
            await conn.ws.send_text(json.dumps({"type": "resync", "reason": reason, "head": head}))
            await conn.ws.close(code=CLOSE_RESYNC, reason="resync")
            return False
        await conn.ws.send_text(
            json.dumps(
                {
                    "type": "hello",
                    "user": {"id": conn.user_id, "name": conn.actor.name, "role": conn.actor.role},
                    "team_ids": sorted(conn.actor.team_ids),
                    "head": head,
                    "server_time": self.hub.now().isoformat(),
                    "replayed": len(missed),
                    "heartbeat_seconds": HEARTBEAT_SECONDS,
                }
            )
        )
        for row in missed:
            event = event_from_row(row)
            await conn.ws.send_text(event_frame(event))
            conn.replayed.add(event.id)
        return True

    async def _sender(self, conn: Connection) -> None:
        while True:
            try:
                item = await conn.queue.get(HEARTBEAT_SECONDS * (0.8 + 0.4 * random.random()))
            except TimeoutError:
                item = (EPHEMERAL_ID, '{"type":"ping"}')
            if item is None:
                if conn.close_with is not None:
                    code, reason = conn.close_with
                    with contextlib.suppress(Exception):
                        await conn.ws.close(code=code, reason=reason)
                elif conn.overflowed:
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
        if conn.recheck is not None and not conn.recheck.done():
            await asyncio.shield(conn.recheck)  # rights are changing: decide with the new ones
        # Commands are human-paced: each one re-reads the credential and rights (two
        # indexed reads), so a command is never decided with rights already taken away,
        # even before the change's event has reached this process.
        await self._recheck(conn.user_id, [conn], "sign in again", reload_teams=False)
        if conn.close_with is not None:
            return  # the socket is closing; nothing more is done on its behalf
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
        except ValidationFailed as exc:
            conn.push(
                json.dumps(
                    {
                        "type": "error",
                        "id": cid,
                        "code": "validation_error",
                        "message": str(exc),
                        "fields": exc.fields,
                    }
                )
            )
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
    """A non-negative 64-bit integer, or None."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    n = int(value)
    return n if n <= 2**63 - 1 else None


def _close_reason(reason: str) -> str:
    """Close reasons the console shows (and docs/protocol.md lists)."""
    known = {
        "signed_out": "signed out",
        "password_changed": "password changed",
        "sessions_revoked": "session revoked",
        "token_revoked": "token revoked",
    }
    return known.get(reason, "sign in again")
