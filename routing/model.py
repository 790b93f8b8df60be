"""Value types of the routing core: policies, work items, agent views, decisions.

Everything here is immutable and free of behaviour beyond small lookups, so the
driver, the simulator and the tests can build and compare them freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

Presence: TypeAlias = Literal["available", "busy", "away", "offline", "wrap_up"]
PRESENCES: frozenset[str] = frozenset({"available", "busy", "away", "offline", "wrap_up"})
STRATEGIES: frozenset[str] = frozenset({"longest_idle", "least_occupied", "round_robin"})
AFTER_HOURS_ACTIONS: frozenset[str] = frozenset({"queue", "message", "voicemail", "callback", "reject"})

CHAT_CHANNELS = ("chat", "webchat", "whatsapp", "telegram", "sms")

DEFAULT_CHANNEL_PRIORITY: dict[str, int] = {"voice": 30, **dict.fromkeys(CHAT_CHANNELS, 20), "email": 10}
DEFAULT_SLA_SECONDS: dict[str, float] = {"voice": 20.0, **dict.fromkeys(CHAT_CHANNELS, 60.0), "email": 3600.0}
# An agent registered without an explicit capacity gets this; with an explicit
# mapping, a channel that is missing means "cannot take that channel" (0).
DEFAULT_CAPACITY: dict[str, int] = {"voice": 1, **dict.fromkeys(CHAT_CHANNELS, 3), "email": 5}
DEFAULT_AFTER_HOURS: dict[str, str] = {
    "voice": "voicemail",
    **dict.fromkeys(CHAT_CHANNELS, "message"),
    "email": "queue",
}

# Fallbacks for channels a policy's mappings do not name.
FALLBACK_CHANNEL_PRIORITY = 0
FALLBACK_SLA_SECONDS = 3600.0
FALLBACK_OFFER_TIMEOUT = 30.0
# Share of conversations to answer within ``sla_seconds`` (staffing, docs/workforce.md).
FALLBACK_SERVICE_LEVEL_TARGET = 0.8


class RoutingError(ValueError):
    """A command the core refuses (unknown agent, accept of an expired offer...).

    The core raises before changing any state, so the driver can turn it into
    an error acknowledgement without resynchronising.
    """


@dataclass(frozen=True, slots=True)
class TeamPolicy:
    """How one team's queue is ordered and served. Dicts are read-only by convention."""

    team_id: str
    strategy: str = "longest_idle"
    sla_seconds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SLA_SECONDS))
    # Per channel, the share to answer within sla_seconds: workforce planning staffs for it.
    service_level_target: dict[str, float] = field(default_factory=dict)
    # Per channel, the handle time (s) workforce planning assumes until one is measured.
    handle_seconds: dict[str, float] = field(default_factory=dict)
    overflow_team: str | None = None
    overflow_after: float | None = None
    offer_timeout: dict[str, float] = field(default_factory=dict)
    auto_accept: bool = False
    on_offer_timeout: Literal["away", "stay"] = "away"
    max_missed_offers: int = 1
    # Seconds during which an agent who rejected or missed a conversation is
    # not offered that same conversation again (0 = may be re-offered at once).
    reoffer_cooldown: float = 30.0
    offline_requeue_after: float | None = None
    wrap_up_seconds: float = 0.0
    voice_blocks_other_channels: bool = True
    allow_pick: bool = True
    sticky_wait: float = 0.0
    aging_per_second: float = 0.01
    channel_priority: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CHANNEL_PRIORITY))
    vip_boost: int = 15
    sla_urgency_boost: int = 10
    sla_urgency_window: float = 0.0
    disconnect_grace: float = 30.0
    after_hours: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_AFTER_HOURS))

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; expected one of {sorted(STRATEGIES)}")
        if self.on_offer_timeout not in ("away", "stay"):
            raise ValueError(f"on_offer_timeout must be 'away' or 'stay', not {self.on_offer_timeout!r}")
        if self.max_missed_offers < 1:
            raise ValueError("max_missed_offers must be >= 1")
        bad = set(self.after_hours.values()) - AFTER_HOURS_ACTIONS
        if bad:
            raise ValueError(f"unknown after-hours actions {sorted(bad)}")
        if self.overflow_team == self.team_id:
            raise ValueError("a team cannot overflow into itself")
        for channel, share in self.service_level_target.items():
            if not isinstance(share, int | float) or not 0 < share < 1:
                raise ValueError(f"service_level_target.{channel}: a share between 0 and 1, e.g. 0.8")
        for channel, seconds in self.handle_seconds.items():
            if not isinstance(seconds, int | float) or not seconds > 0:
                raise ValueError(f"handle_seconds.{channel}: seconds greater than 0, e.g. 300")

    def priority_for(self, channel: str) -> int:
        return self.channel_priority.get(channel, FALLBACK_CHANNEL_PRIORITY)

    def sla_for(self, channel: str) -> float:
        return self.sla_seconds.get(channel, FALLBACK_SLA_SECONDS)

    def service_level_target_for(self, channel: str) -> float:
        return float(self.service_level_target.get(channel, FALLBACK_SERVICE_LEVEL_TARGET))

    def offer_timeout_for(self, channel: str) -> float:
        return self.offer_timeout.get(channel, FALLBACK_OFFER_TIMEOUT)

    def after_hours_for(self, channel: str) -> str:
        return self.after_hours.get(channel, "queue")


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A conversation that needs an agent.

    `open` carries business hours: the driver evaluates the team's calendar at
    enqueue time (the core never reads a clock) and passes False after hours;
    the team's `after_hours` action for the channel then decides what happens.
    """

    conversation_id: str
    team_id: str
    channel: str
    enqueued_at: float
    priority: int = 0
    vip: bool = False
    skills: dict[str, int] = field(default_factory=dict)
    language: str | None = None
    last_agent_id: str | None = None
    open: bool = True
    # From the customer's recognition tiers (hub.crm.tiers.routing_for): extra priority
    # in this team's queue, and a sticky wait that overrides the team's when set.
    boost: int = 0
    sticky_wait: float | None = None


@dataclass(frozen=True, slots=True)
class AgentState:
    """Read-only snapshot of an agent as the core sees it."""

    agent_id: str
    presence: str
    teams: frozenset[str]
    skills: dict[str, int]
    languages: frozenset[str]
    capacity: dict[str, int]
    connected: bool
    load: dict[str, int]
    offered: tuple[str, ...]
    assigned: tuple[str, ...]
    missed_offers: int


@dataclass(frozen=True, slots=True)
class ConversationState:
    """Read-only snapshot of one conversation known to the core."""

    conversation_id: str
    team_id: str
    channel: str
    state: Literal["waiting", "sticky", "offered", "assigned"]
    agent_id: str | None
    enqueued_at: float
    overflowed: bool
    urgent: bool
    excluded: dict[str, float]
    sticky_agent_id: str | None


@dataclass(frozen=True, slots=True)
class QueueStats:
    team_id: str
    waiting: int
    longest_wait: float
    offered: int
    in_progress: int
    agents_available: int
    agents_busy: int
    agents_away: int
    agents_offline: int
    arrival_rate: float
    aht: float | None


# --- decisions -----------------------------------------------------------------
# Each carries a constant `kind` so the driver can dispatch on a string and
# serialise with dataclasses.asdict without losing the type.


@dataclass(frozen=True, slots=True)
class Offer:
    conversation_id: str
    agent_id: str
    expires_at: float
    kind: Literal["offer"] = field(default="offer", init=False)


@dataclass(frozen=True, slots=True)
class Assign:
    conversation_id: str
    agent_id: str
    # "auto" (auto-accept), "accept", "manual" (supervisor), "pick" (agent), "transfer"
    via: str = "auto"
    kind: Literal["assign"] = field(default="assign", init=False)


@dataclass(frozen=True, slots=True)
class Requeued:
    conversation_id: str
    reason: str
    agent_id: str | None = None
    kind: Literal["requeued"] = field(default="requeued", init=False)


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """An offer or assignment taken from an agent without going back to the queue."""

    conversation_id: str
    agent_id: str
    reason: str
    kind: Literal["withdrawn"] = field(default="withdrawn", init=False)


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    agent_id: str
    presence: str
    reason: str
    kind: Literal["presence"] = field(default="presence", init=False)


@dataclass(frozen=True, slots=True)
class Overflowed:
    conversation_id: str
    to_team: str
    kind: Literal["overflowed"] = field(default="overflowed", init=False)


@dataclass(frozen=True, slots=True)
class AfterHours:
    conversation_id: str
    action: str
    queued: bool
    kind: Literal["after_hours"] = field(default="after_hours", init=False)


Decision: TypeAlias = Offer | Assign | Requeued | Withdrawn | PresenceChanged | Overflowed | AfterHours
