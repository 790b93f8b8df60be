"""The pure rule engine and the rule schema: every condition and operator, rule order
with effects seen by later rules, plans that leave out what would change nothing, and
the bounds a rule is checked against on save. No database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.rules import schema
from hub.rules.engine import Facts, condition_holds, run
from hub.textnorm import normalize

FACTS = Facts(
    trigger="message_received",
    conversation_id=1,
    contact_id=2,
    channel="whatsapp",
    team_id=7,
    language="ar-SA",
    priority=20,
    labels=frozenset({"vip", "billing"}),
    category="order",
    text=normalize("أريد إلغاء الطلب رقم ١٢٣"),
    business_open=False,
    tiers=frozenset({"gold"}),
    segments=frozenset({4}),
    fields={"plan": "pro", "city": ""},
)


def test_every_condition_and_operator() -> None:
    cases: list[tuple[dict[str, Any], bool]] = [
        ({"field": "channel", "op": "in", "values": ["whatsapp", "sms"]}, True),
        ({"field": "channel", "op": "not_in", "values": ["whatsapp"]}, False),
        ({"field": "team", "op": "in", "values": [7]}, True),
        ({"field": "team", "op": "not_in", "values": [8]}, True),
        ({"field": "language", "op": "in", "values": ["ar"]}, True),  # the language, not the region
        ({"field": "business_hours", "op": "open"}, False),
        ({"field": "business_hours", "op": "closed"}, True),
        # Arabic-normalised: alef forms, taa marbuta, Arabic-Indic digits.
        ({"field": "text", "op": "contains_any", "values": ["الغاء", "refund"]}, True),
        ({"field": "text", "op": "contains_any", "values": ["123"]}, True),
        ({"field": "text", "op": "contains_none", "values": ["إلغاء"]}, False),
        ({"field": "text", "op": "matches", "value": r"رقم \d+"}, True),
        ({"field": "text", "op": "matches", "value": r"^refund"}, False),
        ({"field": "tier", "op": "in", "values": ["gold", "silver"]}, True),
        ({"field": "tier", "op": "not_in", "values": ["gold"]}, False),
        ({"field": "segment", "op": "in", "values": [4]}, True),
        ({"field": "segment", "op": "not_in", "values": [5]}, True),
        ({"field": "contact_field", "key": "plan", "op": "eq", "value": "pro"}, True),
        ({"field": "contact_field", "key": "plan", "op": "neq", "value": "pro"}, False),
        ({"field": "contact_field", "key": "city", "op": "set"}, False),
        ({"field": "contact_field", "key": "missing", "op": "unset"}, True),
        ({"field": "label", "op": "has_any", "values": ["vip", "x"]}, True),
        ({"field": "label", "op": "has_all", "values": ["vip", "x"]}, False),
        ({"field": "label", "op": "has_none", "values": ["x"]}, True),
        ({"field": "priority", "op": "gte", "value": 20}, True),
        ({"field": "priority", "op": "lte", "value": 19}, False),
        ({"field": "category", "op": "in", "values": ["order"]}, True),
        ({"field": "category", "op": "not_in", "values": ["order"]}, False),
    ]
    assert [condition_holds(c, FACTS) for c, _ in cases] == [want for _, want in cases]
    assert set(schema.CONDITIONS) == {c["field"] for c, _ in cases}


@dataclass
class R:
    id: int
    position: int
    name: str
    trigger: str = "message_received"
    conditions: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    team_id: int | None = None


def test_rules_run_in_order_and_see_the_effects_of_earlier_ones() -> None:
    tag = R(2, 1, "tag", actions=[{"type": "add_labels", "labels": ["urgent", "vip"]}])
    watch = R(
        1,
        2,
        "watch",
        conditions=[{"field": "label", "op": "has_any", "values": ["urgent"]}],
        actions=[{"type": "set_priority", "priority": 20}, {"type": "set_team", "team_id": 9}],
    )
    other_team = R(3, 3, "scoped", team_id=7, actions=[{"type": "resolve"}])
    timer = R(4, 0, "timer", trigger="waiting", actions=[{"type": "resolve"}])
    plans = run([watch, other_team, tag, timer], FACTS)
    # "vip" is there already and the priority is 20 already: only what changes is planned;
    # the team moved to 9, so the rule scoped to team 7 does not match any more.
    assert [(p.rule_name, p.actions) for p in plans] == [
        ("tag", [{"type": "add_labels", "labels": ["urgent"]}]),
        ("watch", [{"type": "set_team", "team_id": 9}]),
    ]
    assert [p.rule_name for p in run([watch, tag], FACTS, skip=frozenset({2}))] == []


def test_the_schema_bounds_what_a_rule_may_say() -> None:
    problems, _ = schema.check_conditions([{"field": "text", "op": "contains_any", "values": ["x"]}] * 21)
    assert problems == [("conditions", "too_many", "at most 20 conditions")]
    problems, _ = schema.check_actions([{"type": "resolve"}] * 11)
    assert problems[0][:2] == ("actions", "too_many")
    problems, _ = schema.check_conditions([{"field": "text", "op": "matches", "value": "(a+)+$"}])
    assert problems[0][:2] == ("conditions.0.value", "not_valid")
    problems, _ = schema.check_conditions([{"field": "label", "op": "has_any", "values": ["x" * 101]}])
    assert problems[0][:2] == ("conditions.0.values", "not_valid")
    problems, clean = schema.check_actions(
        [{"type": "create_task", "title": " Call back ", "due_minutes": 60, "priority": "high", "extra": 1}]
    )
    assert problems == [] and clean == [
        {
            "type": "create_task",
            "title": "Call back",
            "assignee_user_id": None,
            "assignee_team_id": None,
            "due_minutes": 60,
            "priority": "high",
        }
    ]
    problems, _ = schema.check_actions([{"type": "assign", "user_id": 3}], schema.MACRO_ACTIONS)
    assert problems[0][:2] == ("actions.0.type", "not_valid")
    assert schema.check_trigger("waiting", {"minutes": 0})[0][0][:2] == (
        "trigger_params.minutes",
        "out_of_range",
    )
    assert schema.check_trigger("waiting", {"minutes": 45}) == ([], {"minutes": 45})
