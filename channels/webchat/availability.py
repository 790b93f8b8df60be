"""Is anyone there? Decides between the live chat and the offline form.

Offline means the team's business hours are closed, or routing knows that nobody in
the team is signed in and working (no agent available *or* busy). Agents who are all
busy still count as "there": the visitor then queues and sees the estimated wait,
which is what the wait display is for; only an empty floor turns the widget into a
leave-a-message form. Without a routing driver on this process (routing disabled, or
a follower process in a cluster) only business hours decide.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import select

from hub.models import Team
from routing import hours

if TYPE_CHECKING:
    from hub.context import Hub

_TEAM_CACHE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Availability:
    online: bool
    reason: str | None = None  # "closed" | "nobody_available"

    def as_dict(self) -> dict[str, Any]:
        return {"online": self.online, "reason": self.reason}


class AvailabilityCheck:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._teams: dict[str, tuple[float, Team | None]] = {}

    async def _team(self, name: str) -> Team | None:
        cached = self._teams.get(name)
        if cached is not None and time.monotonic() - cached[0] < _TEAM_CACHE_SECONDS:
            return cached[1]
        async with self.hub.db.session() as s:
            team = (await s.exec(select(Team).where(Team.name == name))).first()
        self._teams[name] = (time.monotonic(), team)
        return team

    async def check(self, team_name: str | None) -> Availability:
        if not team_name:
            return Availability(True)  # unrouted: supervisors see it; nothing to ask
        team = await self._team(team_name)
        if team is None:
            return Availability(True)
        now = self.hub.now()
        try:
            open_now = hours.is_open(team.business_hours or {}, now)
        except (ValueError, TypeError, KeyError):
            open_now = True  # a broken calendar must not hide the chat; routing logs it
        if not open_now:
            return Availability(False, "closed")
        routing = self.hub.routing
        if routing is not None and getattr(routing, "is_leader", False):
            stats = routing.core.queue_stats(str(team.id), now.timestamp())
            if stats.agents_available + stats.agents_busy == 0:
                return Availability(False, "nobody_available")
        return Availability(True)
