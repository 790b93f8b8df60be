"""Pure routing decision core: no I/O, no clock reads; time is passed in."""

from routing.core import RoutingCore
from routing.model import (
    AfterHours,
    AgentState,
    Assign,
    ConversationState,
    Decision,
    Offer,
    Overflowed,
    PresenceChanged,
    QueueStats,
    Requeued,
    RoutingError,
    TeamPolicy,
    Withdrawn,
    WorkItem,
)

__all__ = [
    "AfterHours",
    "AgentState",
    "Assign",
    "ConversationState",
    "Decision",
    "Offer",
    "Overflowed",
    "PresenceChanged",
    "QueueStats",
    "Requeued",
    "RoutingCore",
    "RoutingError",
    "TeamPolicy",
    "Withdrawn",
    "WorkItem",
]
