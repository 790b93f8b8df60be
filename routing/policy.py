"""Team settings (the team's ``routing`` JSON) -> TeamPolicy, validated. Pure."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from routing.model import TeamPolicy

# Team routing keys the driver handles itself (not part of the pure core's policy).
DRIVER_KEYS = ("overflow_team_id", "auto_reply_channels")


def policy_from_settings(team_id: str, settings: dict[str, Any]) -> TeamPolicy:
    """Raises ValueError (naming the key) or TypeError for bad settings."""
    known = {f.name for f in fields(TeamPolicy)} - {"team_id"}
    data = dict(settings or {})
    data.pop("auto_reply_channels", None)
    overflow = data.pop("overflow_team_id", None)
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"routing.{sorted(unknown)[0]}: unknown routing setting")
    if overflow is not None:
        data["overflow_team"] = str(overflow)
    return TeamPolicy(team_id=team_id, **data)
