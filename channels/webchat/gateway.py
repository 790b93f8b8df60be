"""The customer-side fan-out: bus events → the visitor sockets (and long-polls) they concern.

Far narrower than the staff gateway: a visitor receives only events of their own
conversations, and of those only what a customer may see — their messages and the
agents' replies (never ``internal`` notes), delivery status, status changes,
agent typing, queue position and the satisfaction survey. Lookups are by
conversation id, so an event costs O(its recipients), not O(sockets).

A sink is a live socket or a waiting long-poll. Each socket has a bounded queue;
a visitor that cannot keep up is told to ``resync`` (reload history) and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from channels.webchat.visitors import ConversationView, agent_names, visitor_message
from hub.bus import Subscription, follow
from hub.events import Event
from hub.services import abandon

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger(__name__)

WAITING = ("queued", "offered")
CLOSED = ("resolved", "abandoned")
_NAMES_CACHE_LIMIT = 10_000
QUEUE_REFRESH_BATCH = 100


class Sink(Protocol):
    visitor_id: str

    def push(self, frame: str, *, durable: bool) -> None: ...

    def resync(self) -> None:
        """Events may have been lost: make the client reload its history."""
        ...

    def learn(self, conv: ConversationView) -> None:
        """A new conversation of this visitor (opened from another tab)."""
        ...


@dataclass(slots=True)
class ConvState:
    contact_id: int
    status: str
    team_id: int | None
    assignee_id: int | None


def dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"), default=str)


class CustomerGateway:
    def __init__(self, hub: Hub, *, queue_refresh_seconds: float = 15.0) -> None:
        self.hub = hub
        self.queue_refresh_seconds = queue_refresh_seconds
        self.by_conversation: dict[int, set[Sink]] = defaultdict(set)
        self.by_contact: dict[int, set[Sink]] = defaultdict(set)
        self.by_visitor: dict[str, set[Sink]] = defaultdict(set)
        self.subscriptions: dict[Sink, set[int]] = {}
        self.contacts: dict[Sink, set[int]] = {}
        self.states: dict[int, ConvState] = {}
        self.last_queue: dict[int, tuple[int | None, int | None]] = {}
        # conversation id -> monotonic time its last sink left (for "the visitor left").
        self.left_at: dict[int, float] = {}
        # Waiting conversations whose visitor left (monotonic time): once gone longer than
        # away_after_seconds, their abandonment timer is written (hub.services.abandon).
        self.gone_waiting: dict[int, float] = {}
        self.abandon_after_seconds = 300.0
        self.away_after_seconds = 60.0
        self._writes: set[asyncio.Task[None]] = set()
        self._names: dict[int, str] = {}
        self._pending_refresh: set[int] = set()
        self._cursor = 0
        self._refresh_wakeup = asyncio.Event()
        self._sub: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._sub = self.hub.bus.subscribe(maxsize=100_000)
        self._tasks = [
            asyncio.create_task(self._fanout(), name="webchat-fanout"),
            asyncio.create_task(self._queue_loop(), name="webchat-queue-info"),
        ]

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for sinks in list(self.by_visitor.values()):
            for sink in list(sinks):
                close = getattr(sink, "close_soon", None)
                if close is not None:
                    close()

    # -- registration --------------------------------------------------------------------
    def touch(self) -> None:
        """Wake whoever waits in ``wait_until`` (sockets came or went)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds, re-checked as sockets come and go (tests, bench)."""
        while not predicate():
            await self._changed.wait()

    def register(self, sink: Sink, conversations: Iterable[ConversationView]) -> None:
        self.by_visitor[sink.visitor_id].add(sink)
        self.subscriptions[sink] = set()
        self.contacts[sink] = set()
        for conv in conversations:
            self._subscribe(sink, conv)
        self.touch()

    def unregister(self, sink: Sink) -> None:
        now = time.monotonic()
        for conv_id in self.subscriptions.pop(sink, set()):
            sinks = self.by_conversation.get(conv_id)
            if sinks is not None:
                sinks.discard(sink)
                if not sinks:
                    del self.by_conversation[conv_id]
                    state = self.states.pop(conv_id, None)
                    if state is not None and state.status in WAITING:
                        self.gone_waiting[conv_id] = now
                    self.last_queue.pop(conv_id, None)
                    self.left_at[conv_id] = now
        for contact_id in self.contacts.pop(sink, set()):
            by_contact = self.by_contact.get(contact_id)
            if by_contact is not None:
                by_contact.discard(sink)
                if not by_contact:
                    del self.by_contact[contact_id]
        visitors = self.by_visitor.get(sink.visitor_id)
        if visitors is not None:
            visitors.discard(sink)
            if not visitors:
                del self.by_visitor[sink.visitor_id]
        self.touch()
        if len(self.left_at) > 50_000:
            cutoff = now - 3600
            self.left_at = {k: v for k, v in self.left_at.items() if v > cutoff}

    def _subscribe(self, sink: Sink, conv: ConversationView) -> None:
        self.by_conversation[conv.id].add(sink)
        self.by_contact[conv.contact_id].add(sink)
        self.subscriptions.setdefault(sink, set()).add(conv.id)
        self.contacts.setdefault(sink, set()).add(conv.contact_id)
        self.states.setdefault(
            conv.id, ConvState(conv.contact_id, conv.status, conv.team_id, conv.assignee_id)
        )
        self.left_at.pop(conv.id, None)
        self.gone_waiting.pop(conv.id, None)
        if conv.gone_pending:  # they left, perhaps through another hub process: back now
            self._write(abandon.clear_visitor_gone(self.hub, [conv.id]))

    def _write(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def settle_writes(self) -> None:
        """Wait for the abandonment-timer writes started so far (tests)."""
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    async def mark_gone(self) -> list[int]:
        """Start the abandonment timer of waiting conversations whose visitor has been
        gone longer than ``away_after_seconds`` (the queue loop calls this)."""
        now = time.monotonic()
        gone = [c for c, t in self.gone_waiting.items() if now - t >= self.away_after_seconds]
        for c in gone:
            del self.gone_waiting[c]
        gone = [c for c in gone if not self.by_conversation.get(c)]
        if gone:
            rest = max(0.0, self.abandon_after_seconds - self.away_after_seconds)
            await abandon.set_visitor_gone(self.hub, gone, rest)
        return gone

    def attach(self, visitor_id: str, conv: ConversationView) -> None:
        """A visitor's message opened (or found) ``conv``: every tab of theirs follows it."""
        for sink in list(self.by_visitor.get(visitor_id, ())):
            if conv.id not in self.subscriptions.get(sink, set()):
                self._subscribe(sink, conv)
                sink.learn(conv)
        if conv.status in WAITING:
            self.want_queue_info(conv.id)

    def present(self, conversation_id: int, away_after: float) -> bool:
        """Is the visitor here (socket open or polling, or gone less than ``away_after`` s)?"""
        if self.by_conversation.get(conversation_id):
            return True
        left = self.left_at.get(conversation_id)
        return left is not None and time.monotonic() - left < away_after

    def state(self, conversation_id: int) -> ConvState | None:
        return self.states.get(conversation_id)

    @property
    def socket_count(self) -> int:
        return sum(len(v) for v in self.by_visitor.values())

    # -- fan-out -------------------------------------------------------------------------
    async def _fanout(self) -> None:
        assert self._sub is not None

        async def on_event(event: Event) -> None:
            try:
                await self.deliver(event)
            except Exception:
                log.exception("webchat fan-out failed on %s %s", event.type, event.id)

        async def on_lag() -> None:
            self._resync_all()

        await follow(self._sub, on_event, on_lag, "webchat fan-out")

    def _resync_all(self) -> None:
        for sinks in list(self.by_visitor.values()):
            for sink in list(sinks):
                sink.resync()

    async def deliver(self, event: Event) -> None:
        conv_id = event.conversation_id
        if conv_id is None:
            return
        if conv_id not in self.by_conversation:
            if event.type != "conversation.created" or event.payload.get("channel") != "webchat":
                return
            if not await self._adopt(event):
                return
        sinks = self.by_conversation.get(conv_id)
        if not sinks:
            return
        if event.type.startswith("conversation."):
            self._track(event)
        frames = await self.render(event)
        for frame, durable in frames:
            text = dumps(frame)
            for sink in list(sinks):
                sink.push(text, durable=durable)

    async def _adopt(self, event: Event) -> bool:
        """A conversation created on another hub process for a visitor connected here."""
        contact_id = event.payload.get("contact_id")
        sinks = self.by_contact.get(contact_id) if isinstance(contact_id, int) else None
        if not sinks or event.conversation_id is None:
            return False
        from hub.models import Conversation

        async with self.hub.db.session() as s:
            conv = await s.get(Conversation, event.conversation_id)
        if conv is None:
            return False
        from channels.webchat.visitors import view

        adopted = False
        for sink in list(sinks):
            if conv.thread_key == sink.visitor_id:
                self._subscribe(sink, view(conv))
                sink.learn(view(conv))
                adopted = True
        return adopted

    async def render(self, event: Event) -> list[tuple[dict[str, Any], bool]]:
        """The visitor-facing frames for ``event`` (and whether each is durable)."""
        t, p = event.type, event.payload
        conv_id = event.conversation_id
        assert conv_id is not None
        if t in ("message.created", "message.received"):
            if p.get("direction") not in ("inbound", "outbound"):
                return []  # internal notes never leave the staff side
            name = await self._agent_name(p.get("author_id")) if p.get("author_type") == "agent" else ""
            message = visitor_message(
                message_id=p["message_id"],
                conversation_id=conv_id,
                direction=p["direction"],
                author_type=p.get("author_type", ""),
                author_name=name,
                body=p.get("body", ""),
                attachments=p.get("attachments") or [],
                created_at=p.get("created_at", ""),
                status=p.get("delivery_status", ""),
            )
            return [({"type": "message", "message": message}, True)]
        if t == "message.status":
            frame = {"type": "status", "message_id": p.get("message_id"), "status": p.get("delivery_status")}
            return [(frame, True)]
        if t == "typing":
            if p.get("side") != "agent":
                return []
            name = await self._agent_name(p.get("user_id"))
            return [({"type": "typing", "conversation_id": conv_id, "side": "agent", "name": name}, False)]
        if t.startswith("conversation."):
            return await self._conversation_frames(event)
        return []

    def _track(self, event: Event) -> None:
        p = event.payload
        assert event.conversation_id is not None
        state = self.states.get(event.conversation_id)
        if state is not None:
            state.status = str(p.get("status", state.status))
            state.team_id = p.get("team_id", state.team_id)
            state.assignee_id = p.get("assignee_id", state.assignee_id)
        if state is not None and state.status in WAITING:
            self.want_queue_info(event.conversation_id)
        else:
            self.last_queue.pop(event.conversation_id, None)

    async def _conversation_frames(self, event: Event) -> list[tuple[dict[str, Any], bool]]:
        p = event.payload
        conv_id = event.conversation_id
        assert conv_id is not None
        status = str(p.get("status", ""))
        name = await self._agent_name(p.get("assignee_id")) if status not in WAITING else ""
        out: list[tuple[dict[str, Any], bool]] = [
            (
                {
                    "type": "conversation",
                    "conversation": {"id": conv_id, "status": status, "agent_name": name},
                },
                True,
            )
        ]
        if event.type == "conversation.resolved":
            out.append(({"type": "survey", "conversation_id": conv_id}, True))
        if event.type == "conversation.updated" and p.get("reason") == "csat":
            out.append(({"type": "csat_saved", "conversation_id": conv_id}, True))
        return out

    async def _agent_name(self, user_id: Any) -> str:
        if not isinstance(user_id, int):
            return ""
        name = self._names.get(user_id)
        if name is None:
            async with self.hub.db.session() as s:
                name = (await agent_names(s, [user_id])).get(user_id, "")
            if len(self._names) > _NAMES_CACHE_LIMIT:
                self._names.clear()
            self._names[user_id] = name
        return name

    # -- queue position and estimated wait -----------------------------------------------
    def queue_frame(self, conversation_id: int) -> dict[str, Any] | None:
        routing = self.hub.routing
        if routing is None:
            return None
        position = routing.position(conversation_id)
        if position is None:
            known = routing.core.conversation(str(conversation_id))
            if known is not None and known.state == "offered":
                # Out of the queue, waiting for an agent to accept: "any moment now".
                return {
                    "type": "queue",
                    "conversation_id": conversation_id,
                    "position": None,
                    "estimated_wait_seconds": 0,
                }
            return None
        wait = routing.estimated_wait(conversation_id)
        return {
            "type": "queue",
            "conversation_id": conversation_id,
            "position": position,
            "estimated_wait_seconds": None if wait is None else round(wait),
        }

    def want_queue_info(self, conversation_id: int) -> None:
        if self.hub.routing is None:
            return
        self._pending_refresh.add(conversation_id)
        self._refresh_wakeup.set()

    async def refresh_queue(self, conversation_ids: Iterable[int]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 0.005
        for conv_id in conversation_ids:
            sinks = self.by_conversation.get(conv_id)
            state = self.states.get(conv_id)
            if not sinks or state is None or state.status not in WAITING:
                continue
            frame = self.queue_frame(conv_id)
            if frame is not None:
                key = (frame["position"], frame["estimated_wait_seconds"])
                if self.last_queue.get(conv_id) != key:
                    self.last_queue[conv_id] = key
                    text = dumps(frame)
                    for sink in list(sinks):
                        sink.push(text, durable=False)
            if loop.time() > deadline:
                # position() is O(team backlog): yield so sockets keep flowing.
                await asyncio.sleep(0)
                deadline = loop.time() + 0.005

    def _next_batch(self) -> list[int]:
        waiting = [c for c, s in self.states.items() if s.status in WAITING and c in self.by_conversation]
        if len(waiting) <= QUEUE_REFRESH_BATCH:
            return waiting
        start = self._cursor % len(waiting)
        self._cursor = start + QUEUE_REFRESH_BATCH
        return (waiting[start:] + waiting[:start])[:QUEUE_REFRESH_BATCH]

    async def _queue_loop(self) -> None:
        # Position changes when *other* conversations move, which no event for this
        # conversation announces: new conversations get an answer as soon as routing
        # has seen them, and those waiting are re-checked every few seconds, at most
        # QUEUE_REFRESH_BATCH per round (only changes are sent). Each position query
        # costs O(team backlog), so a very long queue refreshes each visitor less often.
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._refresh_wakeup.wait(), self.queue_refresh_seconds)
            self._refresh_wakeup.clear()
            routing = self.hub.routing
            if routing is None:
                self._pending_refresh.clear()
                continue
            pending, self._pending_refresh = self._pending_refresh, set()
            try:
                if self.gone_waiting:
                    await self.mark_gone()
                if pending:
                    # Let routing handle the events that created these first.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(routing.idle(), 2.0)
                    await self.refresh_queue(sorted(pending))
                else:
                    await self.refresh_queue(self._next_batch())
            except Exception:
                log.exception("webchat queue info refresh failed")
