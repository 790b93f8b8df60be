"""Recognition tiers (admins): rules, labels, colours and routing boosts.

A change emits ``tiers.changed``; the ``contact_figures`` projection then re-evaluates
every contact from its stored figures (hub.crm.figures), off the request path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.crm.tiers import RuleError, validate_rule
from hub.events import TiersChangedPayload
from hub.models import ContactField, Role, Team, Tier
from hub.services.access import Actor, require_role
from hub.services.contact_fields import invalid_fields
from hub.services.errors import Conflict, NotFound
from hub.services.uow import unit_of_work

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_BOOST = 100
MAX_STICKY = 3600
SETTABLE = ("label_en", "label_ar", "color", "rule", "routing", "position", "active")


async def list_tiers(s: AsyncSession, *, active_only: bool = False) -> list[Tier]:
    stmt = select(Tier).order_by(col(Tier.position), col(Tier.key))
    if active_only:
        stmt = stmt.where(Tier.active == True)  # noqa: E712
    return list((await s.exec(stmt)).all())


async def _check(s: AsyncSession, values: Mapping[str, Any]) -> dict[str, Any]:
    problems: list[tuple[str, str, str]] = []
    out = dict(values)
    if "color" in values and not COLOR_RE.match(str(values["color"])):
        problems.append(("color", "invalid_color", "a colour like #1d4ed8"))
    if "rule" in values:
        fields = {f.key: f.type for f in (await s.exec(select(ContactField))).all()}
        try:
            out["rule"] = validate_rule(values["rule"], fields)
        except RuleError as exc:
            problems.append((exc.field, "invalid_rule", str(exc)))
    if "routing" in values:
        routing = values["routing"] or {}
        teams = {str(t) for t in (await s.exec(select(Team.id))).all()}
        problems += _check_routing(routing, teams)
        out["routing"] = routing
    if problems:
        raise invalid_fields(problems)
    return out


def _check_routing(routing: Any, teams: set[str]) -> list[tuple[str, str, str]]:
    if not isinstance(routing, Mapping) or set(routing) - {"boost", "teams", "sticky_wait"}:
        return [("routing", "invalid_routing", "routing is {boost, teams, sticky_wait}")]
    problems = []

    def boost_ok(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and -MAX_BOOST <= v <= MAX_BOOST

    if "boost" in routing and not boost_ok(routing["boost"]):
        problems.append(
            ("routing.boost", "invalid_routing", f"a whole number from -{MAX_BOOST} to {MAX_BOOST}")
        )
    per_team = routing.get("teams") or {}
    if not isinstance(per_team, Mapping):
        problems.append(("routing.teams", "invalid_routing", "team id → boost"))
    else:
        for team, v in per_team.items():
            if str(team) not in teams:
                problems.append((f"routing.teams.{team}", "unknown_team", "no such team"))
            elif not boost_ok(v):
                problems.append((f"routing.teams.{team}", "invalid_routing", "a whole number"))
    sticky = routing.get("sticky_wait")
    if sticky is not None and (
        isinstance(sticky, bool) or not isinstance(sticky, int | float) or not 0 <= sticky <= MAX_STICKY
    ):
        problems.append(("routing.sticky_wait", "invalid_routing", f"seconds, 0 to {MAX_STICKY}"))
    return problems


async def create_tier(hub: Hub, actor: Actor, values: Mapping[str, Any]) -> Tier:
    require_role(actor, Role.admin)
    key = str(values.get("key", ""))
    if not KEY_RE.match(key):
        raise invalid_fields(
            [("key", "invalid_key", "lower-case letters, digits and _, starting with a letter")]
        )
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        if await s.get(Tier, key) is not None:
            raise Conflict(f"a tier with key {key!r} exists", code="tier_exists")
        checked = await _check(s, values)
        row = Tier(key=key, **{k: checked[k] for k in SETTABLE if k in checked}, updated_at=hub.now())
        s.add(row)
        uow.emit("tiers.changed", TiersChangedPayload(keys=[key]))
    return row


async def update_tier(hub: Hub, actor: Actor, key: str, changes: Mapping[str, Any]) -> Tier:
    require_role(actor, Role.admin)
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        row = await s.get(Tier, key)
        if row is None:
            raise NotFound(f"no tier {key!r}")
        checked = await _check(s, changes)
        for name in SETTABLE:
            if name in checked:
                setattr(row, name, checked[name])
        row.updated_at = hub.now()
        s.add(row)
        uow.emit("tiers.changed", TiersChangedPayload(keys=[key]))
    return row


async def delete_tier(hub: Hub, actor: Actor, key: str) -> None:
    require_role(actor, Role.admin)
    async with unit_of_work(hub, actor.user_id) as uow:
        row = await uow.session.get(Tier, key)
        if row is None:
            raise NotFound(f"no tier {key!r}")
        await uow.session.delete(row)
        uow.emit("tiers.changed", TiersChangedPayload(keys=[key]))
