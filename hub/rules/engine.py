"""Pure rule evaluation: no I/O, no clock. Live execution (hub.rules.executor) and the
dry run (hub.services.rules.dry_run) both call :func:`run` on :class:`Facts` read by
hub.rules.facts — the same code, so a dry run says what live execution would do.

Rules run in order (``position``, then id). Each matching rule's actions are planned
and their effects applied to the facts before the next rule is looked at: a rule that
adds the label ``vip`` is seen by a later rule asking for ``vip`` on the same event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from hub.textnorm import normalize


class RuleLike(Protocol):
    id: int | None
    name: str
    trigger: str
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    team_id: int | None


@dataclass(frozen=True)
class Facts:
    """What the rules may ask about one conversation (and its contact) at one event."""

    trigger: str
    conversation_id: int | None = None
    contact_id: int | None = None
    channel: str | None = None
    team_id: int | None = None
    language: str | None = None
    priority: int = 0
    labels: frozenset[str] = frozenset()
    category: str | None = None
    status: str | None = None
    assignee_id: int | None = None
    text: str = ""  # normalised (hub.textnorm): the triggering message, else the last one
    business_open: bool = True  # the conversation's team's hours, at the event
    tiers: frozenset[str] = frozenset()
    segments: frozenset[int] = frozenset()  # of those the rules ask about
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Planned:
    rule_id: int
    rule_name: str
    actions: list[dict[str, Any]]


def _words(values: list[str]) -> list[str]:
    return [w for w in (normalize(v) for v in values) if w]


def condition_holds(c: dict[str, Any], f: Facts) -> bool:
    fld, op = c.get("field"), c.get("op")
    values = c.get("values") or []
    if fld in ("channel", "team", "language", "category"):
        have = {"channel": f.channel, "team": f.team_id, "language": f.language, "category": f.category}[fld]
        if fld == "language" and isinstance(have, str):
            have = have[:2]
        inside = have in values
        return inside if op == "in" else not inside
    if fld == "business_hours":
        return f.business_open if op == "open" else not f.business_open
    if fld == "text":
        if op == "matches":
            try:
                return re.search(str(c.get("value") or ""), f.text) is not None
            except re.error:
                return False
        found = any(w in f.text for w in _words(values))
        return found if op == "contains_any" else not found
    if fld == "tier":
        inside = bool(f.tiers & set(values))
        return inside if op == "in" else not inside
    if fld == "segment":
        inside = bool(f.segments & set(values))
        return inside if op == "in" else not inside
    if fld == "contact_field":
        have_value = f.fields.get(str(c.get("key")))
        if op == "set":
            return bool(have_value)
        if op == "unset":
            return not have_value
        same = (have_value or "") == str(c.get("value") or "")
        return same if op == "eq" else not same
    if fld == "label":
        wanted = set(values)
        if op == "has_any":
            return bool(f.labels & wanted)
        if op == "has_all":
            return wanted <= f.labels
        return not (f.labels & wanted)
    if fld == "priority":
        v = int(c.get("value") or 0)
        return f.priority >= v if op == "gte" else f.priority <= v
    return False


def matches(rule: RuleLike, f: Facts) -> bool:
    if rule.trigger != f.trigger:
        return False
    if rule.team_id is not None and rule.team_id != f.team_id:
        return False
    return all(condition_holds(c, f) for c in rule.conditions)


def plan(rule: RuleLike, f: Facts) -> list[dict[str, Any]]:
    """The actions ``rule`` would take on these facts ([] when it does not match).
    Actions that would change nothing (a label already there, the same priority) are
    left out, so the plan says what would really happen."""
    if not matches(rule, f):
        return []
    out: list[dict[str, Any]] = []
    for a in rule.actions:
        kind = a.get("type")
        if kind == "add_labels":
            labels = [x for x in a.get("labels", []) if x not in f.labels]
            if labels:
                out.append({**a, "labels": labels})
            f = replace(f, labels=f.labels | set(labels))
        elif kind == "remove_labels":
            labels = [x for x in a.get("labels", []) if x in f.labels]
            if labels:
                out.append({**a, "labels": labels})
            f = replace(f, labels=f.labels - set(labels))
        elif kind == "set_priority":
            if a.get("priority") != f.priority:
                out.append(dict(a))
        elif kind == "set_category":
            if a.get("category") != f.category:
                out.append(dict(a))
        elif kind == "set_team":
            if a.get("team_id") != f.team_id:
                out.append(dict(a))
        elif kind == "assign":
            if a.get("user_id") != f.assignee_id:
                out.append(dict(a))
        elif kind == "resolve":
            if f.status != "resolved":
                out.append(dict(a))
        else:
            out.append(dict(a))
    return out


def apply_effects(f: Facts, actions: list[dict[str, Any]]) -> Facts:
    """The facts after ``actions`` (what later rules on the same event see)."""
    for a in actions:
        kind = a.get("type")
        if kind == "add_labels":
            f = replace(f, labels=f.labels | set(a.get("labels", [])))
        elif kind == "remove_labels":
            f = replace(f, labels=f.labels - set(a.get("labels", [])))
        elif kind == "set_priority":
            f = replace(f, priority=int(a["priority"]))
        elif kind == "set_category":
            f = replace(f, category=a["category"])
        elif kind == "set_team":
            f = replace(f, team_id=a["team_id"], assignee_id=None)
        elif kind == "assign":
            f = replace(f, assignee_id=a["user_id"])
        elif kind == "resolve":
            f = replace(f, status="resolved", category=a.get("category") or f.category)
    return f


def run(rules: list[Any], f: Facts, *, skip: frozenset[int] = frozenset()) -> list[Planned]:
    """Every rule in order (``skip``: rules loop protection keeps out); the plans of
    those that match, each seeing the effects of the ones before."""
    out: list[Planned] = []
    for rule in sorted(rules, key=lambda r: (r.position, r.id or 0)):
        if rule.id in skip:
            continue
        actions = plan(rule, f)
        if matches(rule, f):
            out.append(Planned(rule.id or 0, rule.name, actions))
            f = apply_effects(f, actions)
    return out
