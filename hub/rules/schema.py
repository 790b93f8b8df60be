"""What a rule (or a macro) may say: triggers, conditions and actions, checked on save.

Everything is small and bounded: at most ``MAX_CONDITIONS`` conditions and
``MAX_ACTIONS`` actions, lists of at most ``MAX_VALUES`` values, texts of bounded
length, a pattern that compiles. Problems come back as ``(field, code, message)`` for
:func:`hub.services.contact_fields.invalid_fields` — the admin page shows each next to
its field (``conditions.2.values``).
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

from hub.models import Category

TRIGGERS = (
    "message_received",
    "conversation_created",
    "assigned",
    "resolved",
    "waiting",
    "survey_answered",
    "complaint_overdue",
    "tier_changed",
)
# event type -> trigger (the waiting trigger is a timer, not an event)
EVENT_TRIGGERS = {
    "message.received": "message_received",
    "conversation.created": "conversation_created",
    "conversation.assigned": "assigned",
    "conversation.resolved": "resolved",
    "survey.answered": "survey_answered",
    "complaint.escalated": "complaint_overdue",
    "contact.tier_changed": "tier_changed",
}
# field -> the operators it takes
CONDITIONS: dict[str, tuple[str, ...]] = {
    "channel": ("in", "not_in"),
    "team": ("in", "not_in"),
    "language": ("in", "not_in"),
    "business_hours": ("open", "closed"),
    "text": ("contains_any", "contains_none", "matches"),
    "tier": ("in", "not_in"),
    "segment": ("in", "not_in"),
    "contact_field": ("eq", "neq", "set", "unset"),
    "label": ("has_any", "has_all", "has_none"),
    "priority": ("gte", "lte"),
    "category": ("in", "not_in"),
}
RULE_ACTIONS = (
    "set_team",
    "set_priority",
    "set_category",
    "add_labels",
    "remove_labels",
    "assign",
    "canned_reply",
    "create_task",
    "open_complaint",
    "notify",
    "add_note",
    "resolve",
)
# What an agent may bundle in a macro: each done as that agent (their own rights).
MACRO_ACTIONS = (
    "add_labels",
    "remove_labels",
    "canned_reply",
    "add_note",
    "set_priority",
    "resolve",
    "assign_self",
)
TASK_PRIORITIES = ("low", "normal", "high", "urgent")

MAX_CONDITIONS = 20
MAX_ACTIONS = 10
MAX_VALUES = 20
MAX_VALUE = 100  # characters of one value (a word, a label key, a field value)
MAX_PATTERN = 200
MAX_TEXT = 2000  # a note, a notification's text, a task's description
MAX_TITLE = 200
MAX_WAIT_MINUTES = 60 * 24 * 30
INT_VALUES = ("team", "segment")
NESTED_QUANTIFIER = re.compile(r"[+*}?]\)[+*{?]")

Problem = tuple[str, str, str]


def _int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def check_trigger(trigger: Any, params: Any) -> tuple[list[Problem], dict[str, Any]]:
    if trigger not in TRIGGERS:
        return [("trigger", "bad_trigger", "one of " + ", ".join(TRIGGERS))], {}
    if trigger != "waiting":
        return [], {}
    minutes = (params or {}).get("minutes") if isinstance(params, dict) else None
    if not _int(minutes) or not 1 <= minutes <= MAX_WAIT_MINUTES:
        return [("trigger_params.minutes", "out_of_range", f"1 to {MAX_WAIT_MINUTES} minutes")], {}
    return [], {"minutes": minutes}


def _values(raw: Any, where: str, *, ints: bool) -> tuple[list[Problem], list[Any]]:
    if not isinstance(raw, list) or not raw:
        return [(where, "required", "at least one value")], []
    if len(raw) > MAX_VALUES:
        return [(where, "too_many", f"at most {MAX_VALUES} values")], []
    out: list[Any] = []
    for v in raw:
        if ints:
            if not _int(v):
                return [(where, "not_valid", "expected ids")], []
            out.append(v)
        else:
            if not isinstance(v, str) or not v.strip() or len(v) > MAX_VALUE:
                return [(where, "not_valid", f"texts of 1 to {MAX_VALUE} characters")], []
            out.append(v.strip())
    return [], out


def check_conditions(raw: Any) -> tuple[list[Problem], list[dict[str, Any]]]:
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [("conditions", "not_valid", "a list of conditions")], []
    if len(raw) > MAX_CONDITIONS:
        return [("conditions", "too_many", f"at most {MAX_CONDITIONS} conditions")], []
    problems: list[Problem] = []
    out: list[dict[str, Any]] = []
    for i, c in enumerate(raw):
        where = f"conditions.{i}"
        if not isinstance(c, dict) or c.get("field") not in CONDITIONS:
            problems.append((f"{where}.field", "not_valid", "one of " + ", ".join(CONDITIONS)))
            continue
        field, op = c["field"], c.get("op")
        if op not in CONDITIONS[field]:
            problems.append((f"{where}.op", "not_valid", "one of " + ", ".join(CONDITIONS[field])))
            continue
        cond: dict[str, Any] = {"field": field, "op": op}
        if field == "business_hours":
            pass
        elif field == "priority":
            v = c.get("value")
            if not _int(v) or not -100 <= v <= 100:
                problems.append((f"{where}.value", "out_of_range", "-100 to 100"))
                continue
            cond["value"] = v
        elif field == "text" and op == "matches":
            v = c.get("value")
            if not isinstance(v, str) or not v.strip() or len(v) > MAX_PATTERN:
                problems.append(
                    (f"{where}.value", "not_valid", f"a pattern of 1 to {MAX_PATTERN} characters")
                )
                continue
            if NESTED_QUANTIFIER.search(v):
                # (a+)+ and the like can take exponential time on a hostile message.
                problems.append((f"{where}.value", "not_valid", "no repeated group that repeats inside"))
                continue
            try:
                re.compile(v)
            except re.error as exc:
                problems.append((f"{where}.value", "not_valid", str(exc)[:200]))
                continue
            cond["value"] = v
        elif field == "contact_field":
            key = c.get("key")
            if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", key):
                problems.append((f"{where}.key", "not_valid", "a contact field key"))
                continue
            cond["key"] = key
            if op in ("eq", "neq"):
                v = c.get("value")
                if not isinstance(v, str) or len(v) > MAX_VALUE:
                    problems.append(
                        (f"{where}.value", "not_valid", f"a text of at most {MAX_VALUE} characters")
                    )
                    continue
                cond["value"] = v
        else:
            got, values = _values(c.get("values"), f"{where}.values", ints=field in INT_VALUES)
            if got:
                problems.extend(got)
                continue
            if field == "category" and any(v not in {x.value for x in Category} for v in values):
                problems.append((f"{where}.values", "not_valid", "conversation categories"))
                continue
            cond["values"] = values
        out.append(cond)
    return problems, out


def _text(
    a: dict[str, Any], key: str, where: str, limit: int, *, required: bool
) -> tuple[list[Problem], str]:
    v = a.get(key, "")
    if v is None:
        v = ""
    if not isinstance(v, str) or len(v) > limit:
        return [(f"{where}.{key}", "text_too_long", f"at most {limit} characters")], ""
    if required and not v.strip():
        return [(f"{where}.{key}", "required", "required")], ""
    return [], v.strip()


def _id(
    a: dict[str, Any], key: str, where: str, *, required: bool = True
) -> tuple[list[Problem], int | None]:
    v = a.get(key)
    if v is None and not required:
        return [], None
    if not _int(v) or v < 1:
        return [(f"{where}.{key}", "required", "choose one")], None
    return [], v


def check_actions(
    raw: Any, allowed: tuple[str, ...] = RULE_ACTIONS
) -> tuple[list[Problem], list[dict[str, Any]]]:
    if not isinstance(raw, list) or not raw:
        return [("actions", "required", "at least one action")], []
    if len(raw) > MAX_ACTIONS:
        return [("actions", "too_many", f"at most {MAX_ACTIONS} actions")], []
    problems: list[Problem] = []
    out: list[dict[str, Any]] = []
    for i, a in enumerate(raw):
        where = f"actions.{i}"
        kind = a.get("type") if isinstance(a, dict) else None
        if kind not in allowed:
            problems.append((f"{where}.type", "not_valid", "one of " + ", ".join(allowed)))
            continue
        assert isinstance(a, dict)
        act: dict[str, Any] = {"type": kind}
        got: list[Problem] = []
        if kind == "set_team":
            got, act["team_id"] = _id(a, "team_id", where)
        elif kind == "set_priority":
            v = a.get("priority")
            if not _int(v) or not -100 <= v <= 100:
                got = [(f"{where}.priority", "out_of_range", "-100 to 100")]
            act["priority"] = v
        elif kind in ("add_labels", "remove_labels"):
            got, act["labels"] = _values(a.get("labels"), f"{where}.labels", ints=False)
        elif kind == "assign":
            got, act["user_id"] = _id(a, "user_id", where)
        elif kind == "canned_reply":
            got, act["canned_id"] = _id(a, "canned_id", where)
        elif kind == "create_task":
            got, act["title"] = _text(a, "title", where, MAX_TITLE, required=True)
            more, act["assignee_user_id"] = _id(a, "assignee_user_id", where, required=False)
            got += more
            more, act["assignee_team_id"] = _id(a, "assignee_team_id", where, required=False)
            got += more
            due = a.get("due_minutes")
            if due is not None and (not _int(due) or not 1 <= due <= MAX_WAIT_MINUTES):
                got.append((f"{where}.due_minutes", "out_of_range", f"1 to {MAX_WAIT_MINUTES} minutes"))
            act["due_minutes"] = due
            prio = a.get("priority") or "normal"
            if prio not in TASK_PRIORITIES:
                got.append((f"{where}.priority", "not_valid", "one of " + ", ".join(TASK_PRIORITIES)))
            act["priority"] = prio
        elif kind == "open_complaint":
            pass
        elif kind == "notify":
            more, act["user_id"] = _id(a, "user_id", where, required=False)
            got += more
            more, act["team_id"] = _id(a, "team_id", where, required=False)
            got += more
            if act["user_id"] is None and act["team_id"] is None:
                got.append((f"{where}.user_id", "required", "a user or a team"))
            more, act["text"] = _text(a, "text", where, MAX_VALUE * 2, required=False)
            got += more
        elif kind == "add_note":
            got, act["body"] = _text(a, "body", where, MAX_TEXT, required=True)
        elif kind == "set_category":
            cat = a.get("category")
            if cat not in {x.value for x in Category}:
                got = [(f"{where}.category", "not_valid", "a conversation category")]
            act["category"] = cat
        elif kind == "resolve":
            cat = a.get("category")
            if cat is not None and cat not in {x.value for x in Category}:
                got = [(f"{where}.category", "not_valid", "a conversation category")]
            act["category"] = cat
        problems.extend(got)
        if not got:
            out.append(act)
    return problems, out
