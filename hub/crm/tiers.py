"""Tier rules: which recognition tiers a contact is in, and until when that holds.

A rule is ``{"all": [condition, ...]}`` or ``{"any": [condition, ...]}``; a condition is
``{"field": name, "op": op, "value": v}`` over the facts of one contact (its figures,
``vip``, ``tags``, ``language`` and custom fields as ``field.<key>``). Time conditions
(``within_days``, ``older_than_days``) on a timestamp fact also say when they will flip,
so the projection can set a due time instead of re-reading every contact daily.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

NUMBER_FACTS = frozenset(
    {
        "conversations_30d",
        "conversations_90d",
        "conversations_365d",
        "conversations_total",
        "open_complaints",
        "csat_count",
        "csat_average",
    }
)
TIME_FACTS = frozenset({"first_contact_at", "last_contact_at", "last_low_csat_at"})
TEXT_FACTS = frozenset({"language", "preferred_channel"})
LIST_FACTS = frozenset({"tags", "channels"})
BOOL_FACTS = frozenset({"vip"})
NUMBER_OPS = frozenset({">=", ">", "<=", "<", "==", "!="})
TIME_OPS = frozenset({"within_days", "older_than_days", "exists", "missing"})
MAX_CONDITIONS = 20


class RuleError(ValueError):
    """A rule that cannot be evaluated; ``field`` says where (for the API's 422)."""

    def __init__(self, message: str, field: str = "rule") -> None:
        super().__init__(message)
        self.field = field


def validate_rule(rule: Any, custom_fields: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Check a rule's shape; returns it normalised. ``custom_fields``: key → type."""
    if not isinstance(rule, Mapping) or len(rule) != 1 or next(iter(rule)) not in ("all", "any"):
        raise RuleError('a rule is {"all": [...]} or {"any": [...]}')
    mode = next(iter(rule))
    conditions = rule[mode]
    if not isinstance(conditions, list) or not conditions or len(conditions) > MAX_CONDITIONS:
        raise RuleError(f"a rule needs 1 to {MAX_CONDITIONS} conditions")
    out = []
    for i, cond in enumerate(conditions):
        where = f"rule.{mode}[{i}]"
        if not isinstance(cond, Mapping) or set(cond) - {"field", "op", "value"}:
            raise RuleError("a condition is {field, op, value}", where)
        name, op, value = cond.get("field"), cond.get("op"), cond.get("value")
        if not isinstance(name, str) or not isinstance(op, str):
            raise RuleError("a condition needs a field and an op", where)
        kind = _kind(name, custom_fields or {})
        if kind is None:
            raise RuleError(f"unknown field {name!r}", where)
        _check_op(kind, op, value, where)
        out.append({"field": name, "op": op, "value": value})
    return {mode: out}


def _kind(name: str, custom: Mapping[str, str]) -> str | None:
    if name in NUMBER_FACTS:
        return "number"
    if name in TIME_FACTS:
        return "time"
    if name in TEXT_FACTS:
        return "text"
    if name in LIST_FACTS:
        return "list"
    if name in BOOL_FACTS:
        return "boolean"
    if name.startswith("field."):
        ftype = custom.get(name[6:])
        return {
            "number": "number",
            "text": "text",
            "choice": "text",
            "multi_choice": "list",
            "boolean": "boolean",
            "date": "text",
        }.get(ftype or "")
    return None


def _check_op(kind: str, op: str, value: Any, where: str) -> None:
    ok = False
    if kind == "number":
        ok = op in NUMBER_OPS and isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "time":
        ok = (op in ("within_days", "older_than_days") and isinstance(value, int) and 0 < value <= 3650) or (
            op in ("exists", "missing") and value in (None, True)
        )
    elif kind == "text":
        ok = (op in ("==", "!=") and isinstance(value, str)) or (
            op == "in" and isinstance(value, list) and all(isinstance(v, str) for v in value)
        )
    elif kind == "list":
        ok = op in ("has", "lacks") and isinstance(value, str)
    elif kind == "boolean":
        ok = op == "is" and isinstance(value, bool)
    if not ok:
        raise RuleError(f"operator {op!r} with value {value!r} does not fit a {kind} field", where)


@dataclass(frozen=True, slots=True)
class Verdict:
    member: bool
    changes_at: datetime | None  # when time alone may change ``member``


def _conditions(rule: Mapping[str, Any]) -> tuple[str, list[Mapping[str, Any]]]:
    mode = "any" if "any" in rule else "all"
    return mode, rule.get(mode, [])


def rule_fields(rule: Mapping[str, Any]) -> set[str]:
    """The facts a rule reads."""
    return {cond["field"] for cond in _conditions(rule)[1]}


def evaluate(rule: Mapping[str, Any], facts: Mapping[str, Any], now: datetime) -> Verdict:
    mode, conditions = _conditions(rule)
    results: list[bool] = []
    changes: list[datetime] = []
    for cond in conditions:
        ok, at = _condition(cond, facts, now)
        results.append(ok)
        if at is not None:
            changes.append(at)
    member = any(results) if mode == "any" else (all(results) and bool(results))
    return Verdict(member, min(changes) if changes else None)


def _condition(
    cond: Mapping[str, Any], facts: Mapping[str, Any], now: datetime
) -> tuple[bool, datetime | None]:
    name, op, value = cond["field"], cond["op"], cond["value"]
    actual = facts.get(name)
    if op in ("within_days", "older_than_days"):
        if not isinstance(actual, datetime):
            return False, None
        flip = actual + timedelta(days=int(value))
        inside = now < flip  # "within N days" holds until the moment N days have passed
        ok = inside if op == "within_days" else not inside
        return ok, flip if now < flip else None
    if op == "exists":
        return actual is not None, None
    if op == "missing":
        return actual is None, None
    if op == "is":
        return bool(actual) is value, None
    if op in ("has", "lacks"):
        items = actual if isinstance(actual, Sequence) and not isinstance(actual, str) else []
        found = value in items
        return (found if op == "has" else not found), None
    if op == "in":
        return actual in value, None
    if op in ("==", "!="):
        return (actual == value) is (op == "=="), None
    if not isinstance(actual, int | float) or isinstance(actual, bool) or not isinstance(value, int | float):
        return False, None
    return {
        ">=": actual >= value,
        ">": actual > value,
        "<=": actual <= value,
        "<": actual < value,
    }[op], None


def routing_for(tier_routing: Mapping[str, Any], team_id: int | None) -> tuple[int, float | None]:
    """The (priority boost, sticky wait) a tier asks for in ``team_id``'s queue."""
    boost = tier_routing.get("boost", 0)
    teams = tier_routing.get("teams") or {}
    if team_id is not None and str(team_id) in teams:
        boost = teams[str(team_id)]
    sticky = tier_routing.get("sticky_wait")
    return int(boost or 0), float(sticky) if sticky else None
