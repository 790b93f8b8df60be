"""Automation rules, the admin's side: list, create, change, delete, reorder, the dry
run and a rule's firings. Running them is hub.rules (the reactor and the executor).

Every change writes ``rule.changed`` (an audit fact) in its transaction. The dry run
reads the facts of the last ``DRY_RUN`` conversations with hub.rules.facts and plans
with :func:`hub.rules.engine.run` — the very functions live execution uses — among the
active rules of the same trigger, in order, so what it shows is what would happen.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.events import RuleChangedPayload
from hub.models import AutomationRule, CannedResponse, Conversation, Label, Role, RuleFiring, Team, User
from hub.rules import engine, facts, schema
from hub.services.access import Actor, require_role
from hub.services.contact_fields import invalid_fields
from hub.services.errors import NotFound
from hub.services.uow import UnitOfWork, unit_of_work

MAX_RULES = 200
DRY_RUN = 500
MAX_FIRINGS = 100
FIELDS = ("name", "active", "trigger", "trigger_params", "conditions", "actions", "team_id")


def to_dict(r: AutomationRule) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "position": r.position,
        "active": r.active,
        "trigger": r.trigger,
        "trigger_params": r.trigger_params,
        "conditions": r.conditions,
        "actions": r.actions,
        "team_id": r.team_id,
        "created_by": r.created_by,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


async def _exists(s: AsyncSession, model: Any, key: Any, ids: set[Any]) -> set[Any]:
    if not ids:
        return set()
    found = set((await s.exec(select(key).where(col(key).in_(sorted(ids))))).all())
    return ids - found


async def references(
    s: AsyncSession, actions: list[dict[str, Any]], conditions: list[dict[str, Any]]
) -> list[schema.Problem]:
    """Teams, users, canned answers and labels a rule or macro names must exist."""
    problems: list[schema.Problem] = []
    checks = (
        ("team_id", Team, Team.id),
        ("assignee_team_id", Team, Team.id),
        ("user_id", User, User.id),
        ("assignee_user_id", User, User.id),
        ("canned_id", CannedResponse, CannedResponse.id),
    )
    for i, a in enumerate(actions):
        for key, model, column in checks:
            if a.get(key) is not None and await _exists(s, model, column, {a[key]}):
                problems.append((f"actions.{i}.{key}", "unknown_option", "not found"))
        if a.get("labels"):
            missing = await _exists(s, Label, Label.key, set(a["labels"]))
            if missing:
                problems.append(
                    (f"actions.{i}.labels", "unknown_option", "unknown label " + ", ".join(sorted(missing)))
                )
    for i, c in enumerate(conditions):
        if c.get("field") == "team" and await _exists(s, Team, Team.id, set(c["values"])):
            problems.append((f"conditions.{i}.values", "unknown_option", "unknown team"))
    return problems


async def _check(s: AsyncSession, data: dict[str, Any]) -> dict[str, Any]:
    problems: list[schema.Problem] = []
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        problems.append(("name", "required", "a name of 1 to 120 characters"))
    got, params = schema.check_trigger(data.get("trigger"), data.get("trigger_params"))
    problems += got
    got, conditions = schema.check_conditions(data.get("conditions"))
    problems += got
    got, actions = schema.check_actions(data.get("actions"))
    problems += got
    team_id = data.get("team_id")
    if team_id is not None and (not isinstance(team_id, int) or await _exists(s, Team, Team.id, {team_id})):
        problems.append(("team_id", "unknown_option", "unknown team"))
    if not problems:
        problems += await references(s, actions, conditions)
    if problems:
        raise invalid_fields(problems)
    return {
        "name": str(name).strip(),
        "active": bool(data.get("active", True)),
        "trigger": data["trigger"],
        "trigger_params": params,
        "conditions": conditions,
        "actions": actions,
        "team_id": team_id,
    }


def _emit(uow: UnitOfWork, r: AutomationRule | None, change: str, name: str = "") -> None:
    uow.emit(
        "rule.changed",
        RuleChangedPayload(
            id=r.id if r is not None else None, name=r.name if r is not None else name, change=change
        ),
    )


async def list_rules(hub: Hub, actor: Actor) -> list[dict[str, Any]]:
    require_role(actor, Role.admin)
    async with hub.db.session() as s:
        rows = (
            await s.exec(
                select(AutomationRule).order_by(col(AutomationRule.position), col(AutomationRule.id))
            )
        ).all()
    return [to_dict(r) for r in rows]


async def _load(s: AsyncSession, rule_id: int) -> AutomationRule:
    row = await s.get(AutomationRule, rule_id)
    if row is None:
        raise NotFound(f"rule {rule_id} not found", code="rule_not_found")
    return row


async def get_rule(hub: Hub, actor: Actor, rule_id: int) -> dict[str, Any]:
    require_role(actor, Role.admin)
    async with hub.db.session() as s:
        return to_dict(await _load(s, rule_id))


async def create_rule(hub: Hub, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    require_role(actor, Role.admin)
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        values = await _check(s, data)
        count = (await s.exec(select(sa.func.count()).select_from(AutomationRule))).one()
        if count >= MAX_RULES:
            raise invalid_fields([("name", "too_many", f"at most {MAX_RULES} rules")])
        top = (await s.exec(select(sa.func.max(AutomationRule.position)))).one()
        now = hub.now()
        row = AutomationRule(
            **values, position=(top or 0) + 1, created_by=actor.user_id, created_at=now, updated_at=now
        )
        s.add(row)
        await s.flush()
        _emit(uow, row, "created")
        return to_dict(row)


async def update_rule(hub: Hub, actor: Actor, rule_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    require_role(actor, Role.admin)
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        row = await _load(s, rule_id)
        merged = {k: getattr(row, k) for k in FIELDS} | {k: v for k, v in changes.items() if k in FIELDS}
        values = await _check(s, merged)
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = hub.now()
        s.add(row)
        await s.flush()
        _emit(uow, row, "updated")
        return to_dict(row)


async def delete_rule(hub: Hub, actor: Actor, rule_id: int) -> None:
    require_role(actor, Role.admin)
    async with unit_of_work(hub, actor.user_id) as uow:
        row = await _load(uow.session, rule_id)
        _emit(uow, row, "deleted")
        await uow.session.delete(row)


async def reorder(hub: Hub, actor: Actor, ids: list[int]) -> list[dict[str, Any]]:
    """Put the rules in the order of ``ids`` (every rule, once)."""
    require_role(actor, Role.admin)
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        rows = {r.id: r for r in (await s.exec(select(AutomationRule))).all()}
        if sorted(ids) != sorted(k for k in rows if k is not None) or len(set(ids)) != len(ids):
            raise invalid_fields([("ids", "not_valid", "every rule's id, each once")])
        for i, rid in enumerate(ids):
            rows[rid].position = i + 1
            s.add(rows[rid])
        _emit(uow, None, "reordered")
    return await list_rules(hub, actor)


async def dry_run(
    hub: Hub,
    actor: Actor,
    *,
    rule_id: int | None = None,
    body: dict[str, Any] | None = None,
    limit: int = DRY_RUN,
) -> dict[str, Any]:
    """Which of the last ``limit`` conversations the rule (saved, or a body not yet
    saved) would match now, and what it would do in each."""
    require_role(actor, Role.admin)
    now = hub.now()
    async with hub.db.session() as s:
        if rule_id is not None:
            rule = await _load(s, rule_id)
        else:
            values = await _check(s, body or {})
            rule = AutomationRule(id=0, position=10**9, **values)
        others = [
            r
            for r in (
                await s.exec(
                    select(AutomationRule).where(
                        col(AutomationRule.active).is_(True),
                        AutomationRule.trigger == rule.trigger,
                        AutomationRule.id != rule.id,
                    )
                )
            ).all()
        ]
        rules = [*others, rule]
        segments = facts.segments_asked(rules)
        conv_ids = (
            await s.exec(
                select(Conversation.id)
                .order_by(col(Conversation.id).desc())
                .limit(max(1, min(limit, DRY_RUN)))
            )
        ).all()
        matched: list[dict[str, Any]] = []
        for cid in conv_ids:
            f = await facts.load(
                s,
                trigger=rule.trigger,
                conversation_id=cid,
                segments=segments,
                now=now,
                is_sqlite=hub.db.is_sqlite,
            )
            if f is None:
                continue
            for p in engine.run(rules, f):
                if p.rule_id == (rule.id or 0):
                    matched.append(
                        {
                            "conversation_id": cid,
                            "channel": f.channel,
                            "status": f.status,
                            "actions": p.actions,
                        }
                    )
    return {"looked_at": len(conv_ids), "matched": matched}


async def firings(hub: Hub, actor: Actor, rule_id: int, *, limit: int = MAX_FIRINGS) -> list[dict[str, Any]]:
    require_role(actor, Role.admin)
    async with hub.db.session() as s:
        await _load(s, rule_id)
        rows = (
            await s.exec(
                select(RuleFiring)
                .where(RuleFiring.rule_id == rule_id)
                .order_by(col(RuleFiring.id).desc())
                .limit(max(1, min(limit, MAX_FIRINGS)))
            )
        ).all()
    return [
        {
            "id": r.id,
            "event_id": r.event_id,
            "trigger": r.trigger,
            "conversation_id": r.conversation_id,
            "outcome": r.outcome,
            "actions": r.actions,
            "at": r.at,
            "finished_at": r.finished_at,
        }
        for r in rows
    ]
