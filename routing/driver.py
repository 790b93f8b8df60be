"""The thin driver: feeds hub events to the pure :class:`RoutingCore` and applies its
decisions through hub services.

One driver decides at a time. With Redis, hub processes elect a leader with a lease
(``SET NX PX`` renewed by a compare-and-extend script); the others stay idle and take
over when the lease lapses, rebuilding the core from the database. The database stays
the arbiter: an offer is only created for a conversation that is still queued (row
lock), so even two drivers in a split brain cannot assign one conversation twice.

Events the driver caused itself (system offers, routing assignments, presence set by
routing) carry a ``routing`` reason and are not fed back into the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.bus import Subscription, follow
from hub.context import Hub
from hub.crm.tiers import routing_for
from hub.events import Event
from hub.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Contact,
    ContactFigures,
    Conversation,
    ConversationStatus,
    OfferStatus,
    Team,
    TeamMember,
    Tier,
    User,
)
from hub.services import SYSTEM, ServiceError
from hub.services import abandon as abandon_svc
from hub.services import conversations as conv_svc
from hub.services import offers as offer_svc
from hub.services import users as user_svc
from routing import hours
from routing.core import RoutingCore
from routing.model import (
    AfterHours,
    Assign,
    Decision,
    Offer,
    Overflowed,
    PresenceChanged,
    Requeued,
    RoutingError,
    TeamPolicy,
    Withdrawn,
    WorkItem,
)
from routing.policy import policy_from_settings

log = logging.getLogger(__name__)

ROUTING_REASON = "routing"
DEFAULT_AFTER_HOURS_MESSAGE = {
    "en": "Thanks for your message. We are closed right now and will reply when we open.",
    "ar": "شكرًا لرسالتك. نحن مغلقون الآن وسنرد عليك فور عودتنا.",
}


def ts(value: datetime) -> float:
    return value.timestamp()


WAIT_REPLY = {
    "en": (
        "Thanks, we have your message. You are number {position} in line; expected wait about {minutes} min."
    ),
    "ar": "شكرًا، وصلتنا رسالتك. ترتيبك {position} في قائمة الانتظار؛ الانتظار المتوقع نحو {minutes} دقيقة.",
}
WAIT_REPLY_UNKNOWN = {
    "en": "Thanks, we have your message. You are number {position} in line; an agent will reply soon.",
    "ar": "شكرًا، وصلتنا رسالتك. ترتيبك {position} في قائمة الانتظار؛ سيرد عليك أحد موظفينا قريبًا.",
}


def policy_from_team(team: Team) -> TeamPolicy:
    return policy_from_settings(str(team.id), team.routing or {})


# Events routing never acts on (handle() and _mark_dirty() have no branch for them):
# the busiest types, a message and its outbox row, are not queued for it at all.
IGNORED_PREFIXES = ("message.", "outbox.")


def routed(event_type: str) -> bool:
    """Whether the routing driver takes events of this type from the bus."""
    return not event_type.startswith(IGNORED_PREFIXES)


class RoutingDriver:
    def __init__(self, hub: Hub, *, lease_seconds: float = 15.0) -> None:
        self.hub = hub
        self.core = RoutingCore([])
        self.node_id = uuid.uuid4().hex
        self.lease_seconds = lease_seconds
        self.is_leader = False
        self.became_leader = asyncio.Event()  # set once this process decides (tests, ops)
        self._sub: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._timer_wakeup = asyncio.Event()
        self._lock = asyncio.Lock()
        self._hours: dict[str, dict[str, Any]] = {}
        self._auto_reply: dict[str, set[str]] = {}  # team id -> channels that get a wait reply
        self._dirty_teams: set[str] = set()  # queue stats to push to consoles
        self._stats_wakeup = asyncio.Event()
        self._busy = False
        self._stopping = False
        self._settled = asyncio.Condition()

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._sub = self.hub.bus.subscribe(maxsize=100_000, wants=routed)
        if self.hub.settings.redis_url:
            self._tasks.append(asyncio.create_task(self._lease_loop(), name="routing-lease"))
        else:
            await self._become_leader()
        self._tasks.append(asyncio.create_task(self._event_loop(), name="routing-events"))
        self._tasks.append(asyncio.create_task(self._timer_loop(), name="routing-timer"))
        self._tasks.append(asyncio.create_task(self._stats_loop(), name="routing-stats"))

    async def stop(self) -> None:
        # Loops also check the flag: on Python 3.11 a cancellation can be swallowed by
        # asyncio.wait_for inside a library, and stop() must never hang on that.
        self._stopping = True
        if self._sub is not None:
            self._sub.close()
        self._timer_wakeup.set()
        self._stats_wakeup.set()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                log.error("routing task %s did not stop", task.get_name())
        if self.is_leader and self.hub.settings.redis_url:
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                await self._release_lease()

    # -- leadership ----------------------------------------------------------------------
    def _lease_key(self) -> str:
        return f"{self.hub.settings.redis_prefix}routing:leader"

    async def _lease_loop(self) -> None:
        import redis.asyncio as redis

        client = redis.from_url(
            self.hub.settings.redis_url or "",
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=5,
        )
        ms = int(self.lease_seconds * 1000)
        extend = client.register_script(
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
        )
        try:
            while not self._stopping:
                try:
                    if self.is_leader:
                        if not await extend(keys=[self._lease_key()], args=[self.node_id, ms]):
                            log.warning("routing lease lost; standing down")
                            self.is_leader = False
                            self.core = RoutingCore([])
                    elif await client.set(self._lease_key(), self.node_id, nx=True, px=ms):
                        await self._become_leader()
                except (OSError, redis.RedisError):
                    log.exception("routing lease check failed")
                await asyncio.sleep(self.lease_seconds / 3)  # renewal cadence, not synchronization
        finally:
            await client.aclose()

    async def _release_lease(self) -> None:
        import redis.asyncio as redis

        client = redis.from_url(
            self.hub.settings.redis_url or "",
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=5,
        )
        try:
            script = client.register_script(
                "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
            )
            await script(keys=[self._lease_key()], args=[self.node_id])
        finally:
            await client.aclose()

    async def _become_leader(self) -> None:
        async with self._lock:
            self.core = RoutingCore([])
            await self._load()
            self.is_leader = True
            self.became_leader.set()
        log.info("routing: this process is the leader (%s)", self.node_id[:8])

    # -- loading state -------------------------------------------------------------------
    async def _load(self) -> None:
        now = ts(self.hub.now())
        async with self.hub.db.session() as s:
            teams = (await s.exec(select(Team))).all()
            users = (await s.exec(select(User).where(User.active == True))).all()  # noqa: E712
            members = (await s.exec(select(TeamMember))).all()
            convs = (
                await s.exec(
                    select(Conversation)
                    .where(
                        col(Conversation.status).in_(OPEN_STATUSES), col(Conversation.team_id).is_not(None)
                    )
                    .order_by(col(Conversation.queued_at), col(Conversation.id))
                )
            ).all()
        for team in teams:
            self._set_team(team, now)
        team_of: dict[int, list[str]] = {}
        for m in members:
            team_of.setdefault(m.user_id, []).append(str(m.team_id))
        for user in users:
            self._upsert_user(user, team_of.get(user.id or 0, []), now)
            if user.presence != "offline":
                # Consoles reconnect after a restart; until then the grace period runs.
                self.core.agent_disconnected(str(user.id), now)
        stale_offers: list[int] = []
        for conv in convs:
            item = await self._work_item(conv)
            self.core.enqueue(item, now)
            if conv.status == ConversationStatus.offered and conv.id is not None:
                stale_offers.append(conv.id)
            elif conv.assignee_id is not None and str(conv.assignee_id) in self.core.agent_ids():
                with contextlib.suppress(RoutingError):
                    self.core.assign(str(conv.id), str(conv.assignee_id), now, force=True)
        for conv_id in stale_offers:
            with contextlib.suppress(ServiceError):
                await offer_svc.close_offer(self.hub, conv_id, OfferStatus.cancelled, reason=ROUTING_REASON)
        # Offers issued while loading are dropped: the first tick redistributes.
        decisions = self.core.tick(now)
        await self._apply(decisions)

    def _set_team(self, team: Team, now: float) -> list[Decision]:
        try:
            policy = policy_from_team(team)
            hours.validate(team.business_hours or {})
        except (ValueError, TypeError) as exc:
            log.error("team %s has bad routing settings (%s); using defaults", team.name, exc)
            policy = TeamPolicy(team_id=str(team.id))
        self._hours[str(team.id)] = team.business_hours or {}
        channels = (team.routing or {}).get("auto_reply_channels") or []
        self._auto_reply[str(team.id)] = {str(c) for c in channels} if isinstance(channels, list) else set()
        return self.core.set_policy(policy, now)

    def _upsert_user(self, user: User, teams: list[str], now: float) -> list[Decision]:
        return self.core.upsert_agent(
            str(user.id),
            now,
            presence=str(user.presence),
            teams=teams,
            skills=dict(user.skills),
            languages=list(user.languages) or [user.language],
            capacity=dict(user.capacity),
            connected=True,
        )

    async def _work_item(self, conv: Conversation) -> WorkItem:
        async with self.hub.db.session() as s:
            contact = await s.get(Contact, conv.contact_id)
            boost, sticky_wait = await self._tier_routing(s, conv)
            last_agent = (
                await s.exec(
                    select(Conversation.assignee_id)
                    .where(
                        Conversation.contact_id == conv.contact_id,
                        Conversation.id != conv.id,
                        col(Conversation.status).in_(CLOSED_STATUSES),
                        col(Conversation.assignee_id).is_not(None),
                    )
                    .order_by(col(Conversation.resolved_at).desc())
                    .limit(1)
                )
            ).first()
        team_id = str(conv.team_id)
        queued_at = conv.queued_at or conv.created_at
        return WorkItem(
            conversation_id=str(conv.id),
            team_id=team_id,
            channel=conv.channel,
            enqueued_at=ts(queued_at),
            priority=conv.priority,
            vip=bool(contact and contact.vip),
            skills=dict(conv.skills),
            language=conv.language,
            last_agent_id=str(last_agent) if last_agent else None,
            open=hours.is_open(self._hours.get(team_id, {}), self.hub.now()),
            boost=boost,
            sticky_wait=sticky_wait,
        )

    async def _tier_routing(self, s: AsyncSession, conv: Conversation) -> tuple[int, float | None]:
        """The customer's tiers (read from the contact_figures projection when the work
        item is built): the largest boost any of them gives in this team, and the
        longest sticky wait any asks for."""
        figures = await s.get(ContactFigures, conv.contact_id)
        if figures is None or not figures.tiers:
            return 0, None
        tiers = (
            await s.exec(select(Tier).where(col(Tier.key).in_(figures.tiers), Tier.active == True))  # noqa: E712
        ).all()
        boost, sticky = 0, None
        for tier in tiers:
            b, w = routing_for(tier.routing or {}, conv.team_id)
            boost = max(boost, b)
            if w is not None:
                sticky = max(sticky or 0.0, w)
        return boost, sticky

    # -- events --------------------------------------------------------------------------
    async def _event_loop(self) -> None:
        assert self._sub is not None

        async def on_lag() -> None:
            if self.is_leader:
                await self._become_leader()  # rebuild the core from the database

        await follow(self._sub, self._on_event, on_lag, "routing")

    async def _on_event(self, event: Event) -> None:
        self._busy = True
        if self.is_leader:
            try:
                async with self._lock:
                    await self.handle(event)
            except Exception:
                log.exception("routing failed on %s %s", event.type, event.id)
            self._mark_dirty(event)
        self._busy = False
        async with self._settled:
            self._settled.notify_all()

    async def idle(self) -> None:
        """Wait until every event published so far has been handled (tests, demo)."""
        async with self._settled:
            await self._settled.wait_for(lambda: not self._busy and (self._sub is None or self._sub.empty()))

    async def handle(self, event: Event) -> None:
        now = ts(self.hub.now())
        p = event.payload
        t = event.type
        decisions: list[Decision] = []
        reason = p.get("reason") or ""
        conv_id = str(event.conversation_id) if event.conversation_id is not None else None
        if t == "conversation.created":
            decisions = await self._enqueue(event.conversation_id, now)
            await self._apply(decisions)
            await self._wait_reply(event, decisions)
            return
        if t == "conversation.reopened" and p.get("assignee_id") is not None:
            decisions = await self._manual_assign(event.conversation_id, str(p["assignee_id"]), now)
        elif t in ("conversation.created", "conversation.reopened") or (
            t == "conversation.queued" and not str(reason).startswith(ROUTING_REASON) and reason != "rejected"
        ):
            decisions = await self._enqueue(event.conversation_id, now)
        elif t == "conversation.assigned" and conv_id is not None:
            agent = str(p["assignee_id"])
            if reason == "offer_accepted":
                decisions = self._accepted(conv_id, agent, now)
            elif reason != ROUTING_REASON:
                decisions = await self._manual_assign(event.conversation_id, agent, now)
        elif t == "conversation.transferred" and conv_id is not None:
            decisions = await self._transferred(event, now)
        elif t == "conversation.resolved" and conv_id is not None:
            decisions = self.core.complete(conv_id, now)
        elif t == "conversation.abandoned" and conv_id is not None and p.get("status") == "abandoned":
            decisions = self.core.complete(conv_id, now)  # closed: out of the queue
        elif t == "conversation.updated" and conv_id is not None and reason == "priority":
            with contextlib.suppress(RoutingError):
                decisions = self.core.set_priority(conv_id, int(p["priority"]), now)
        elif t == "offer.updated" and p.get("status") == "rejected" and conv_id is not None:
            with contextlib.suppress(RoutingError):
                decisions = self.core.reject(conv_id, str(p["user_id"]), now)
        elif t == "presence.changed" and not str(reason).startswith(ROUTING_REASON):
            if str(p["user_id"]) in self.core.agent_ids():
                decisions = self.core.set_presence(str(p["user_id"]), p["presence"], now)
        elif t == "agent.connected" and event.user_id is not None:
            if str(event.user_id) in self.core.agent_ids():
                decisions = self.core.agent_connected(str(event.user_id), now)
        elif t == "agent.disconnected" and event.user_id is not None:
            if str(event.user_id) in self.core.agent_ids():
                decisions = self.core.agent_disconnected(str(event.user_id), now)
        elif t == "user.updated" and event.user_id is not None:
            decisions = await self._reload_user(event.user_id, now)
        elif t == "team.updated" and event.team_id is not None:
            async with self.hub.db.session() as s:
                team = await s.get(Team, event.team_id)
            if team is not None:
                decisions = self._set_team(team, now)
        await self._apply(decisions)

    async def _enqueue(self, conversation_id: int | None, now: float) -> list[Decision]:
        if conversation_id is None:
            return []
        async with self.hub.db.session() as s:
            conv = await s.get(Conversation, conversation_id)
        if conv is None or conv.team_id is None or conv.status != ConversationStatus.queued:
            return []
        if str(conv.team_id) not in self._hours:
            async with self.hub.db.session() as s:
                team = await s.get(Team, conv.team_id)
            if team is not None:
                self._set_team(team, now)
        self.core.remove(str(conv.id), now)  # a reopened conversation starts afresh
        return self.core.enqueue(await self._work_item(conv), now)

    def _accepted(self, conv_id: str, agent: str, now: float) -> list[Decision]:
        try:
            return [d for d in self.core.accept(conv_id, agent, now) if not isinstance(d, Assign)]
        except RoutingError:
            # The offer timed out in the core while the agent's accept won in the
            # database: the database is the truth, so follow it.
            with contextlib.suppress(RoutingError):
                return self.core.assign(conv_id, agent, now, force=True)
        return []

    async def _manual_assign(self, conversation_id: int | None, agent: str, now: float) -> list[Decision]:
        conv_id = str(conversation_id)
        if conv_id not in self.core.conversation_ids():
            await self._enqueue_any(conversation_id, now)
        if agent not in self.core.agent_ids():
            await self._reload_user(int(agent), now)
        try:
            return [d for d in self.core.assign(conv_id, agent, now, force=True) if not isinstance(d, Assign)]
        except RoutingError as exc:
            log.warning("routing could not mirror assignment of %s to %s: %s", conv_id, agent, exc)
            return []

    async def _enqueue_any(self, conversation_id: int | None, now: float) -> None:
        async with self.hub.db.session() as s:
            conv = await s.get(Conversation, conversation_id)
        if conv is not None and conv.team_id is not None:
            item = await self._work_item(conv)
            self.core.enqueue(item, now)

    async def _transferred(self, event: Event, now: float) -> list[Decision]:
        p = event.payload
        conv_id = str(event.conversation_id)
        if p.get("assignee_id") is not None:
            return await self._manual_assign(event.conversation_id, str(p["assignee_id"]), now)
        if conv_id not in self.core.conversation_ids():
            return await self._enqueue(event.conversation_id, now)
        try:
            return self.core.transfer(conv_id, now, to_team=str(p["team_id"]))
        except RoutingError:
            self.core.remove(conv_id, now)
            return await self._enqueue(event.conversation_id, now)

    async def _reload_user(self, user_id: int, now: float) -> list[Decision]:
        async with self.hub.db.session() as s:
            user = await s.get(User, user_id)
            teams = (await s.exec(select(TeamMember.team_id).where(TeamMember.user_id == user_id))).all()
        if user is None or not user.active:
            if str(user_id) in self.core.agent_ids():
                return self.core.remove_agent(str(user_id), now)
            return []
        return self._upsert_user(user, [str(t) for t in teams], now)

    # -- timers --------------------------------------------------------------------------
    async def tick(self) -> None:
        """Run due timers now (offer timeouts, overflow, grace, wrap-up, snoozes)."""
        if not self.is_leader:
            return
        async with self._lock:
            decisions = self.core.tick(ts(self.hub.now()))
            await self._apply(decisions)
        await conv_svc.wake_snoozed(self.hub)
        await abandon_svc.abandon_due(self.hub)

    async def _timer_loop(self) -> None:
        while not self._stopping:
            deadline = self.core.next_deadline() if self.is_leader else None
            timeout = 5.0 if deadline is None else max(0.0, min(5.0, deadline - ts(self.hub.now())))
            self._timer_wakeup.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._timer_wakeup.wait()
            if self._stopping:
                return
            try:
                await self.tick()
            except Exception:
                log.exception("routing tick failed")

    # -- decisions -> services -----------------------------------------------------------
    async def _apply(self, decisions: list[Decision]) -> None:
        for d in decisions:
            try:
                await self._apply_one(d)
            except ServiceError as exc:
                # The database moved on (resolved, reassigned meanwhile): drop the
                # conversation from the core; the next event brings it back if needed.
                log.info("routing decision %s not applied: %s", d.kind, exc.message)
                if hasattr(d, "conversation_id"):
                    for extra in self.core.remove(d.conversation_id, ts(self.hub.now())):
                        if isinstance(extra, PresenceChanged):
                            await self._apply_one(extra)
        if decisions:
            self._timer_wakeup.set()

    async def _apply_one(self, d: Decision) -> None:
        hub = self.hub
        if isinstance(d, Offer):
            expires = datetime.fromtimestamp(d.expires_at, UTC)
            await offer_svc.create_offer(hub, int(d.conversation_id), int(d.agent_id), expires)
        elif isinstance(d, Assign):
            if d.via == "auto":
                await conv_svc.assign(
                    hub, SYSTEM, int(d.conversation_id), int(d.agent_id), reason=ROUTING_REASON
                )
        elif isinstance(d, Requeued):
            if d.reason == "offer_timeout":
                await offer_svc.close_offer(
                    hub, int(d.conversation_id), OfferStatus.expired, reason=ROUTING_REASON
                )
            elif d.reason in ("agent_offline", "agent_removed"):
                await offer_svc.requeue(hub, int(d.conversation_id), f"{ROUTING_REASON}:{d.reason}")
        elif isinstance(d, Withdrawn):
            with contextlib.suppress(ServiceError):
                await offer_svc.close_offer(
                    hub, int(d.conversation_id), OfferStatus.cancelled, reason=ROUTING_REASON
                )
        elif isinstance(d, PresenceChanged):
            await user_svc.set_presence(
                hub, SYSTEM, int(d.agent_id), d.presence, reason=f"{ROUTING_REASON}:{d.reason}"
            )
        elif isinstance(d, Overflowed):
            log.info("conversation %s overflowed to team %s", d.conversation_id, d.to_team)
        elif isinstance(d, AfterHours):
            await self._after_hours(d)

    async def _after_hours(self, d: AfterHours) -> None:
        if d.action != "message":
            log.info("conversation %s after hours: %s", d.conversation_id, d.action)
            return
        async with self.hub.db.session() as s:
            conv = await s.get(Conversation, int(d.conversation_id))
            team = await s.get(Team, conv.team_id) if conv and conv.team_id else None
        if conv is None:
            return
        lang = "ar" if (conv.language or "").startswith("ar") else "en"
        configured = (team.business_hours or {}).get("after_hours_message", {}) if team else {}
        text = configured.get(lang) or DEFAULT_AFTER_HOURS_MESSAGE[lang]
        if conv.channel in self.hub.channels:
            await conv_svc.reply(self.hub, SYSTEM, conv.id, text)  # type: ignore[arg-type]

    async def _wait_reply(self, event: Event, decisions: list[Decision]) -> None:
        """Tell a customer who has to wait where they stand (teams opt in per channel)."""
        conv_id = event.conversation_id
        channel = event.payload.get("channel")
        team = str(event.team_id)
        if (
            conv_id is None
            or channel not in self._auto_reply.get(team, set())
            or channel not in self.hub.channels
        ):
            return
        if any(
            isinstance(d, Offer | Assign | AfterHours) and d.conversation_id == str(conv_id)
            for d in decisions
        ):
            return  # picked up at once, or the after-hours message already went out
        position = self.position(conv_id)
        if position is None:
            return
        wait = self.estimated_wait(conv_id)
        async with self.hub.db.session() as s:
            conv = await s.get(Conversation, conv_id)
        lang = "ar" if conv is not None and (conv.language or "").startswith("ar") else "en"
        if wait is None:
            text = WAIT_REPLY_UNKNOWN[lang].format(position=position)
        else:
            text = WAIT_REPLY[lang].format(position=position, minutes=max(1, round(wait / 60)))
        with contextlib.suppress(ServiceError):
            await conv_svc.reply(self.hub, SYSTEM, conv_id, text)

    # -- queue statistics pushed to consoles ---------------------------------------------
    def _mark_dirty(self, event: Event) -> None:
        if event.type.startswith(("conversation.", "offer.")) and event.team_id is not None:
            self._dirty_teams.add(str(event.team_id))
        elif event.type in ("presence.changed", "agent.connected", "agent.disconnected") and event.user_id:
            agent = self.core.agent(str(event.user_id))
            if agent is not None:
                self._dirty_teams.update(agent.teams)
        else:
            return
        self._stats_wakeup.set()

    async def _stats_loop(self) -> None:
        """Coalesce: at most one ``queue.stats`` per team per second, only after changes."""
        while not self._stopping:
            await self._stats_wakeup.wait()
            self._stats_wakeup.clear()
            teams, self._dirty_teams = self._dirty_teams, set()
            if self.is_leader and teams:
                now = ts(self.hub.now())
                events = []
                for team_id in sorted(teams):
                    stats = self.core.queue_stats(team_id, now)
                    payload = {k: v for k, v in asdict(stats).items() if k != "team_id"}
                    events.append(Event(id=0, type="queue.stats", team_id=int(team_id), payload=payload))
                with contextlib.suppress(Exception):
                    await self.hub.bus.publish(events)
            await asyncio.sleep(1.0)  # pacing a display: at most one push per team per second

    # -- queries for channels and the supervisor view -------------------------------------
    def estimated_wait(self, conversation_id: int) -> float | None:
        state = self.core.conversation(str(conversation_id))
        if state is None:
            return None
        return self.core.estimated_wait(state.team_id, state.channel, ts(self.hub.now()))

    def position(self, conversation_id: int) -> int | None:
        return self.core.position(str(conversation_id))
