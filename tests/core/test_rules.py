"""Automation rules (issue 18) on SQLite and PostgreSQL: triggers, conditions and
actions through the services, recorded on the conversation as "Rule X …"; rule order
(a later rule sees an earlier one's label) and loop protection; the waiting timer on
the fake clock; at most once per event; the dry run plans what live execution does."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import func, select

from hub.app import build_projections
from hub.context import Hub
from hub.db import Database
from hub.events import ComplaintPayload, SurveyPayload
from hub.models import (
    CannedResponse,
    Complaint,
    Contact,
    ContactTier,
    Conversation,
    EventLog,
    Label,
    Message,
    Notification,
    OutboxItem,
    RuleFiring,
    Task,
)
from hub.rules import executor, facts
from hub.services import SYSTEM, consent, rules
from hub.services.access import Actor
from hub.services.conversations import assign, reply, resolve
from hub.services.errors import Invalid
from hub.services.segments import create_segment
from hub.services.uow import unit_of_work
from hub.timeutil import ensure_utc
from tests.helpers import inbound, statements, team, user

ADMIN = Actor(user_id=None, role="admin", name="Admin")


async def settle(hub: Any) -> None:
    """Apply the log and run the firings until nothing new happens (what the actions
    caused is looked at again, as the running hub does)."""
    reactor = hub.projections.projections["rules"]
    top = -1
    for _ in range(10):
        await hub.projections.catch_up()
        await reactor.idle()
        await executor.drain(hub)
        async with hub.db.session() as s:
            now_top = (await s.exec(select(func.max(EventLog.id)))).one() or 0
        if now_top == top:
            return
        top = now_top
    raise AssertionError("rules did not settle")


async def _rows(hub: Any, model: Any, *where: Any) -> list[Any]:
    async with hub.db.session() as s:
        return list((await s.exec(select(model).where(*where).order_by(model.id))).all())


async def _conv(hub: Any, cid: int) -> Conversation:
    async with hub.db.session() as s:
        conv = await s.get(Conversation, cid)
    assert conv is not None
    return conv


async def _labels(hub: Any, *keys: str) -> None:
    async with unit_of_work(hub) as uow:
        for k in keys:
            uow.session.add(Label(key=k, name_en=k, name_ar=k))


async def test_message_rules_act_in_order_each_once_and_are_recorded(app: Any) -> None:
    hub = app.hub
    billing, tech = await team(hub, "Billing"), await team(hub, "Tech")
    ana = await user(hub, "ana@example.com", team_ids=(tech,), name="Ana")
    await _labels(hub, "billing", "refund")
    async with unit_of_work(hub) as uow:
        canned = CannedResponse(
            shortcut="ack", title="Ack", body="We got your message, {{contact.name}}.", language="en"
        )
        uow.session.add(canned)
    first = await rules.create_rule(
        hub,
        ADMIN,
        {
            "name": "Invoices",
            "trigger": "message_received",
            # Arabic-normalised: "الفاتوره" (haa) finds "الفاتورة" (taa marbuta) and أ/ا.
            "conditions": [
                {"field": "text", "op": "contains_any", "values": ["الفاتوره", "invoice"]},
                {"field": "channel", "op": "in", "values": ["loopback"]},
                {"field": "team", "op": "in", "values": [billing]},
            ],
            "actions": [
                {"type": "add_labels", "labels": ["billing"]},
                {"type": "set_priority", "priority": 50},
                {"type": "add_note", "body": "Invoice question"},
                {
                    "type": "create_task",
                    "title": "Check the invoice",
                    "assignee_user_id": ana,
                    "priority": "high",
                },
                {"type": "notify", "user_id": ana, "text": "invoice"},
                {"type": "canned_reply", "canned_id": canned.id},
            ],
        },
    )
    # Watches the label the first one sets: fires on the same message, once.
    second = await rules.create_rule(
        hub,
        ADMIN,
        {
            "name": "Billing to Tech",
            "trigger": "message_received",
            "conditions": [{"field": "label", "op": "has_any", "values": ["billing"]}],
            "actions": [{"type": "set_team", "team_id": tech}],
        },
    )
    never = await rules.create_rule(
        hub,
        ADMIN,
        {
            "name": "Refunds",
            "trigger": "message_received",
            "conditions": [{"field": "text", "op": "contains_any", "values": ["refund"]}],
            "actions": [{"type": "add_labels", "labels": ["refund"]}],
        },
    )
    cid = (await inbound(app.client, "cust-1", "أريد الفاتورة من فضلك", team="Billing"))["conversation_id"]
    await settle(hub)

    conv = await _conv(hub, cid)
    assert conv.tags == ["billing"] and conv.priority == 50 and conv.team_id == tech
    firings = await _rows(hub, RuleFiring)
    assert [(f.rule_id, f.outcome) for f in firings] == [(first["id"], "fired"), (second["id"], "fired")]
    assert never["id"] not in {f.rule_id for f in firings}
    notes = await _rows(hub, Message, Message.conversation_id == cid, Message.kind == "note")
    assert [(n.body, n.author_type) for n in notes] == [("Invoice question", "system")]
    (task,) = await _rows(hub, Task)
    assert (task.title, task.source, task.rule_id, task.conversation_id) == (
        "Check the invoice",
        "rule",
        first["id"],
        cid,
    )
    (told,) = await _rows(hub, Notification, Notification.kind == "rule")
    assert told.user_id == ana and told.data["rule"] == "Invoices" and told.conversation_id == cid
    sent = await _rows(hub, Message, Message.conversation_id == cid, Message.direction == "outbound")
    assert (
        len(sent) == 1 and sent[0].body.startswith("We got your message") and sent[0].author_type == "system"
    )
    assert len(await _rows(hub, OutboxItem)) == 1
    # The thread's record: "Rule Invoices …", with each action and its result.
    fired = await _rows(hub, EventLog, EventLog.type == "rule.fired")
    assert [(e.payload["rule_name"], e.conversation_id) for e in fired] == [
        ("Invoices", cid),
        ("Billing to Tech", cid),
    ]
    assert [a["type"] for a in fired[0].payload["actions"]] == [
        "add_labels",
        "set_priority",
        "add_note",
        "create_task",
        "notify",
        "canned_reply",
    ]
    assert all(a["ok"] for a in fired[0].payload["actions"])
    assert fired[1].payload["actions"] == [{"type": "set_team", "team_id": tech, "status": "ok", "ok": True}]

    # The same event again (a replay, another process) records nothing new.
    async with hub.db.transaction() as s:
        again = await executor.record(
            s,
            is_sqlite=hub.db.is_sqlite,
            rule_ids=[first["id"], second["id"]],
            trigger="message_received",
            event_id=firings[0].event_id,
            conversation_id=cid,
            contact_id=conv.contact_id,
            now=hub.now(),
        )
    assert again == 0
    await settle(hub)
    assert len(await _rows(hub, RuleFiring)) == 2


async def test_loop_protection_stops_rules_that_feed_each_other(app: Any) -> None:
    hub = app.hub
    billing = await team(hub, "Billing")
    ana = await user(hub, "ana@example.com", team_ids=(billing,))
    ben = await user(hub, "ben@example.com", team_ids=(billing,))
    cat = await user(hub, "cat@example.com", team_ids=(billing,))
    to_ben = await rules.create_rule(
        hub, ADMIN, {"name": "To Ben", "trigger": "assigned", "actions": [{"type": "assign", "user_id": ben}]}
    )
    to_ana = await rules.create_rule(
        hub, ADMIN, {"name": "To Ana", "trigger": "assigned", "actions": [{"type": "assign", "user_id": ana}]}
    )
    cid = (await inbound(app.client, "cust-1", "hello", team="Billing"))["conversation_id"]
    await assign(hub, SYSTEM, cid, cat)
    await settle(hub)

    firings = await _rows(hub, RuleFiring)
    # Each event is looked at by both rules once; a rule never acts on an event its own
    # action led to (directly or through the other rule), so the exchange ends.
    for f in firings:
        if f.outcome == "fired":
            assert f.rule_id not in f.chain
            assert f.event_id not in f.caused
    assigned = await _rows(hub, EventLog, EventLog.type == "conversation.assigned")
    assert len(assigned) == 4  # Cat (a person), then Ben, Ana, Ben by the rules
    outcomes = {(f.rule_id, f.event_id): f.outcome for f in firings}
    e1, e2, e3, e4 = (e.id for e in assigned)
    assert outcomes == {
        (to_ben["id"], e1): "fired",
        (to_ana["id"], e1): "fired",  # sees Ben (the rule before it), assigns Ana
        (to_ben["id"], e2): "loop",
        (to_ana["id"], e2): "unchanged",  # already Ana's
        (to_ana["id"], e3): "loop",
        (to_ben["id"], e3): "fired",
        (to_ben["id"], e4): "loop",
        (to_ana["id"], e4): "loop",
    }
    assert (await _conv(hub, cid)).assignee_id == ben
    reasons = [e.payload["reason"] for e in assigned]
    assert reasons == ["manual", "rule", "rule", "rule"]


async def test_each_trigger_fires_its_rules(app: Any) -> None:
    hub = app.hub
    billing = await team(hub, "Billing")
    await _labels(hub, "new", "answered", "overdue", "done")
    made = {}
    for trigger, label in (
        ("conversation_created", "new"),
        ("survey_answered", "answered"),
        ("complaint_overdue", "overdue"),
    ):
        more = [{"type": "open_complaint"}] if trigger == "survey_answered" else []
        made[trigger] = await rules.create_rule(
            hub,
            ADMIN,
            {
                "name": trigger,
                "trigger": trigger,
                "actions": [{"type": "add_labels", "labels": [label]}, *more],
            },
        )
    await rules.create_rule(
        hub,
        ADMIN,
        {
            "name": "Thanks",
            "trigger": "resolved",
            "actions": [
                {"type": "add_note", "body": "closed by a person"},
                {"type": "remove_labels", "labels": ["new"]},
            ],
        },
    )
    cid = (await inbound(app.client, "cust-1", "hello", team="Billing"))["conversation_id"]
    await settle(hub)
    assert (await _conv(hub, cid)).tags == ["new"]
    conv = await _conv(hub, cid)
    async with unit_of_work(hub) as uow:  # as the survey and complaint timers write them
        uow.emit(
            "survey.answered",
            SurveyPayload(
                survey_id=1,
                kind="csat",
                contact_id=conv.contact_id,
                channel="loopback",
                status="answered",
                conversation_id=cid,
                score=2,
            ),
            team_id=billing,
        )
        uow.emit(
            "complaint.escalated",
            ComplaintPayload(
                complaint_id=1,
                reference="C-1",
                contact_id=conv.contact_id,
                status="open",
                conversation_id=cid,
                reason="response",
                escalated_to=billing,
            ),
            team_id=billing,
        )
    await settle(hub)
    assert (await _conv(hub, cid)).tags == ["answered", "new", "overdue"]
    (complaint,) = await _rows(hub, Complaint)
    assert complaint.contact_id == conv.contact_id
    await resolve(hub, SYSTEM, cid)
    await settle(hub)
    notes = await _rows(hub, Message, Message.conversation_id == cid, Message.kind == "note")
    assert [n.body for n in notes] == ["closed by a person"]
    assert (await _conv(hub, cid)).tags == ["answered", "overdue"]


async def test_waiting_longer_than_x_fires_on_the_clock_unless_answered(app: Any, clock: Any) -> None:
    hub = app.hub
    billing = await team(hub, "Billing")
    ana = await user(hub, "ana@example.com", team_ids=(billing,))
    await _labels(hub, "late")
    rule = await rules.create_rule(
        hub,
        ADMIN,
        {
            "name": "Late",
            "trigger": "waiting",
            "trigger_params": {"minutes": 30},
            "actions": [{"type": "add_labels", "labels": ["late"]}, {"type": "set_priority", "priority": 80}],
        },
    )
    answered = (await inbound(app.client, "cust-1", "hello", team="Billing"))["conversation_id"]
    waiting = (await inbound(app.client, "cust-2", "hello?", team="Billing"))["conversation_id"]
    await settle(hub)
    clock.advance(10 * 60)
    await inbound(app.client, "cust-2", "anyone?", team="Billing")  # the clock runs from the first
    await assign(hub, SYSTEM, answered, ana)
    await reply(hub, Actor(user_id=ana, role="agent", team_ids=frozenset({billing})), answered, "Hi!")
    await settle(hub)
    clock.advance(19 * 60)
    await hub.projections.run_due()
    await settle(hub)
    assert (await _conv(hub, waiting)).tags == []  # 29 minutes
    clock.advance(2 * 60)
    await hub.projections.run_due()
    await settle(hub)
    assert (await _conv(hub, waiting)).tags == ["late"] and (await _conv(hub, waiting)).priority == 80
    assert (await _conv(hub, answered)).tags == []
    (f,) = await _rows(hub, RuleFiring)
    assert (f.rule_id, f.conversation_id, f.outcome, f.trigger) == (rule["id"], waiting, "fired", "waiting")
    clock.advance(3600)
    await hub.projections.run_due()
    await settle(hub)
    assert len(await _rows(hub, RuleFiring)) == 1  # once per wait


async def test_waits_in_one_batch_follow_the_order_of_its_events(app: Any, clock: Any) -> None:
    """The reactor clears ended waits together, once per batch: an answer and the
    customer's next message in the same batch still start a new wait from that message,
    and an answer after the last message leaves none."""
    from hub.models import RuleTimer

    hub = app.hub
    billing = await team(hub, "Billing")
    ana = await user(hub, "ana@example.com", team_ids=(billing,))
    agent = Actor(user_id=ana, role="agent", team_ids=frozenset({billing}))
    await rules.create_rule(
        hub,
        ADMIN,
        {
            "name": "Late",
            "trigger": "waiting",
            "trigger_params": {"minutes": 30},
            "actions": [{"type": "set_priority", "priority": 80}],
        },
    )
    await hub.projections.stop()  # one batch: nothing applied until settle() below
    again = (await inbound(app.client, "cust-1", "hello", team="Billing"))["conversation_id"]
    done = (await inbound(app.client, "cust-2", "hello", team="Billing"))["conversation_id"]
    await assign(hub, SYSTEM, again, ana)
    await assign(hub, SYSTEM, done, ana)
    clock.advance(5 * 60)
    await reply(hub, agent, again, "Hi!")
    await reply(hub, agent, done, "Hi!")
    clock.advance(5 * 60)
    second = clock.now
    await inbound(app.client, "cust-1", "one more thing", team="Billing")
    with statements(hub, "DELETE FROM rule_timer") as deletes:
        await settle(hub)
    assert len(deletes) == 1  # both answers' waits in one statement, not one per answer
    timers = await _rows(hub, RuleTimer)
    assert [(t.conversation_id, ensure_utc(t.due_at)) for t in timers] == [
        (again, second + timedelta(minutes=30))
    ]


async def test_dry_run_plans_what_live_execution_does(app: Any) -> None:
    hub = app.hub
    billing, tech = await team(hub, "Billing"), await team(hub, "Tech")
    await _labels(hub, "vip", "urgent")
    bodies = ["URGENT: my card", "urgent please", "just a question", "عاجل جدا", "nothing here"]
    convs = []
    for i, body in enumerate(bodies):
        convs.append(
            (await inbound(app.client, f"cust-{i}", body, team="Tech" if i % 2 else "Billing"))[
                "conversation_id"
            ]
        )
    await settle(hub)
    # A rule before it (active) sets vip on Tech's conversations: the dry run sees it too.
    await rules.create_rule(
        hub,
        ADMIN,
        {
            "name": "Tech is vip",
            "trigger": "assigned",
            "conditions": [{"field": "team", "op": "in", "values": [tech]}],
            "actions": [{"type": "add_labels", "labels": ["vip"]}],
        },
    )
    body = {
        "name": "Urgent",
        "trigger": "assigned",
        "conditions": [{"field": "text", "op": "contains_any", "values": ["urgent", "عاجل"]}],
        "actions": [
            {"type": "add_labels", "labels": ["urgent", "vip"]},
            {"type": "set_priority", "priority": 40},
        ],
    }
    preview = await rules.dry_run(hub, ADMIN, body=body)
    assert preview["looked_at"] == len(convs)
    planned = {m["conversation_id"]: m["actions"] for m in preview["matched"]}
    assert set(planned) == {convs[0], convs[1], convs[3]}
    # convs[1] is Tech's: "vip" is already there by the rule before, so only "urgent".
    assert planned[convs[1]] == [
        {"type": "add_labels", "labels": ["urgent"]},
        {"type": "set_priority", "priority": 40},
    ]
    saved = await rules.create_rule(hub, ADMIN, body)
    assert {
        m["conversation_id"]: m["actions"]
        for m in (await rules.dry_run(hub, ADMIN, rule_id=saved["id"]))["matched"]
    } == planned
    agent = await user(hub, "ana@example.com", team_ids=(billing, tech))
    for cid in convs:
        await assign(hub, SYSTEM, cid, agent)
    await settle(hub)
    live = {
        f.conversation_id: [{k: v for k, v in a.items() if k != "status"} for a in f.actions]
        for f in await _rows(hub, RuleFiring, RuleFiring.rule_id == saved["id"])
    }
    assert live == planned
    assert (await _conv(hub, convs[3])).tags == ["urgent", "vip"]


async def test_facts_from_the_database_and_a_canned_reply_respects_consent(app: Any, clock: Any) -> None:
    hub = app.hub
    # Open Monday 09:00–17:00 UTC; the fake clock is Monday 09:00.
    hours = {"timezone": "UTC", "days": {"mon": [["09:00", "17:00"]]}}
    billing = await team(hub, "Billing", business_hours=hours)
    cid = (await inbound(app.client, "cust-1", "Hello", team="Billing"))["conversation_id"]
    conv = await _conv(hub, cid)
    await settle(hub)  # the figures projection has looked at the contact (it owns its tiers)
    async with unit_of_work(hub) as uow:
        contact = await uow.session.get(Contact, conv.contact_id)
        assert contact is not None
        contact.attributes = {"plan": "pro"}
        uow.session.add(contact)
        uow.session.add(ContactTier(tier="gold", contact_id=conv.contact_id))
        canned = CannedResponse(shortcut="ack", title="Ack", body="Thanks", language="en")
        uow.session.add(canned)
    pro = await create_segment(hub, ADMIN, {"name": "Pro", "filter": {"fields": {"plan": "pro"}}})
    basic = await create_segment(hub, ADMIN, {"name": "Basic", "filter": {"fields": {"plan": "basic"}}})
    async with hub.db.session() as s:
        f = await facts.load(
            s,
            trigger="message_received",
            conversation_id=cid,
            segments={pro.id or 0, basic.id or 0},
            now=hub.now(),
            is_sqlite=hub.db.is_sqlite,
        )
        late = await facts.load(
            s,
            trigger="assigned",
            conversation_id=cid,
            now=hub.now() + timedelta(hours=9),  # 18:00: closed
            is_sqlite=hub.db.is_sqlite,
        )
    assert f is not None and late is not None
    assert (f.team_id, f.channel, f.text, f.business_open, late.business_open) == (
        billing,
        "loopback",
        "hello",
        True,
        False,
    )
    assert (f.tiers, f.segments, f.fields) == (frozenset({"gold"}), frozenset({pro.id}), {"plan": "pro"})

    # The customer stopped service messages on the channel: the rule's canned answer is
    # not sent, and the firing says why; its other action still runs.
    async with hub.db.transaction() as s:
        await consent.record(
            s,
            contact_id=conv.contact_id,
            channel="loopback",
            purpose=consent.SERVICE,
            state=consent.OPTED_OUT,
            source="agent",
            now=hub.now(),
        )
    await rules.create_rule(
        hub,
        ADMIN,
        {
            "name": "Ack",
            "trigger": "message_received",
            "conditions": [{"field": "contact_field", "key": "plan", "op": "eq", "value": "pro"}],
            "actions": [
                {"type": "canned_reply", "canned_id": canned.id},
                {"type": "set_priority", "priority": 5},
            ],
        },
    )
    await inbound(app.client, "cust-1", "Hello again", team="Billing")
    await settle(hub)
    (firing,) = await _rows(hub, RuleFiring)
    assert firing.outcome == "partial"
    assert [(a["type"], a["status"], a.get("error")) for a in firing.actions] == [
        ("canned_reply", "error", "opted_out"),
        ("set_priority", "ok", None),
    ]
    assert await _rows(hub, Message, Message.direction == "outbound") == []


async def test_exactly_once_with_two_processes_on_one_database(app: Any, settings: Any, clock: Any) -> None:
    hub = app.hub
    await team(hub, "Billing")
    await rules.create_rule(
        hub,
        ADMIN,
        {"name": "Seen", "trigger": "message_received", "actions": [{"type": "add_note", "body": "seen"}]},
    )
    other_db = Database(settings.async_database_url)
    other = Hub(
        settings=settings, db=other_db, bus=hub.bus, channels=hub.channels, metrics=hub.metrics, clock=clock
    )
    runners = [hub.projections, build_projections(other)]
    await runners[1].prepare()
    try:
        for n in range(3):
            writes = [inbound(app.client, f"cust-{i}", f"round {n}", team="Billing") for i in range(3)]
            await asyncio.gather(
                *writes,
                *(r.catch_up(wait=False) for r in runners),
                executor.drain(hub),
                executor.drain(other),
            )
        for _ in range(2):
            await asyncio.gather(*(r.catch_up() for r in runners))
            await asyncio.gather(executor.drain(hub), executor.drain(other))
            await asyncio.gather(*(r.projections["rules"].idle() for r in runners))
        await settle(hub)
    finally:
        await other_db.dispose()
    firings = await _rows(hub, RuleFiring)
    received = await _rows(hub, EventLog, EventLog.type == "message.received")
    assert len(received) == 9
    assert sorted(f.event_id for f in firings) == sorted(e.id for e in received)
    assert {f.outcome for f in firings} == {"fired"}
    notes = await _rows(hub, Message, Message.kind == "note")
    assert len(notes) == 9  # one per message, none twice


async def test_a_tier_change_fires_on_the_contacts_open_conversation(app: Any) -> None:
    """The figures projection records contact.tier_changed when a contact's tiers differ
    after a recompute; a rule on it acts on the contact's newest open conversation."""
    from hub.services.tiers import create_tier

    hub = app.hub
    await _labels(hub, "regular")
    await create_tier(
        hub,
        SYSTEM,
        {
            "key": "regular",
            "label_en": "Regular",
            "label_ar": "منتظم",
            "rule": {"all": [{"field": "conversations_90d", "op": ">=", "value": 2}]},
        },
    )
    await rules.create_rule(
        hub,
        ADMIN,
        {
            "name": "Welcome back",
            "trigger": "tier_changed",
            "conditions": [{"field": "tier", "op": "in", "values": ["regular"]}],
            "actions": [{"type": "add_labels", "labels": ["regular"]}],
        },
    )
    first = (await inbound(app.client, "cust-t", "hello"))["conversation_id"]
    await settle(hub)
    await resolve(hub, SYSTEM, first)
    second = (await inbound(app.client, "cust-t", "me again"))["conversation_id"]
    await settle(hub)
    changed = await _rows(hub, EventLog, EventLog.type == "contact.tier_changed")
    assert [(e.payload["added"], e.payload["conversation_id"]) for e in changed] == [(["regular"], second)]
    assert (await _conv(hub, second)).tags == ["regular"]
    assert (await _conv(hub, first)).tags == []
    # Nothing changes on a third message: no new event, the rule does not fire again.
    await inbound(app.client, "cust-t", "still here")
    await settle(hub)
    assert len(await _rows(hub, EventLog, EventLog.type == "contact.tier_changed")) == 1


async def test_a_rule_sets_the_category_which_resolving_keeps(app: Any) -> None:
    hub = app.hub
    await rules.create_rule(
        hub,
        ADMIN,
        {
            "name": "Orders",
            "trigger": "message_received",
            "conditions": [{"field": "text", "op": "contains_any", "values": ["order"]}],
            "actions": [{"type": "set_category", "category": "order"}],
        },
    )
    bad = rules.create_rule(
        hub,
        ADMIN,
        {"name": "Bad", "trigger": "resolved", "actions": [{"type": "set_category", "category": "x"}]},
    )
    with pytest.raises(Invalid) as refused:
        await bad
    assert [f["field"] for f in refused.value.extra["fields"]] == ["actions.0.category"]
    cid = (await inbound(app.client, "cust-c", "where is my order?"))["conversation_id"]
    await settle(hub)
    assert (await _conv(hub, cid)).category == "order"
    updated = await _rows(hub, EventLog, EventLog.type == "conversation.updated")
    assert [e.payload.get("category") for e in updated if e.payload.get("reason") == "category"] == ["order"]
    await resolve(hub, SYSTEM, cid)
    assert (await _conv(hub, cid)).category == "order"  # kept: no other category was chosen
