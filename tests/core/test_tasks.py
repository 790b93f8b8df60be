"""Tasks and follow-ups (issue 18) on SQLite and PostgreSQL: the service interface
rules call (system actors), the API with its rights, reminders at the due time in the
task's zone (fake clock) exactly once with two runners and a new runner, recurring
tasks across a daylight-saving change, and tasks made from the event log — a missed
call (the voice adapter's ``callback`` tag) and a low survey score."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from channels.twilio import store as voice_store
from hub.app import build_projections
from hub.context import Hub
from hub.db import Database
from hub.events import Event
from hub.models import EventLog, Notification, Role, Task
from hub.services import SYSTEM
from hub.services.access import Actor
from hub.services.profile import update_profile
from hub.services.tasks import create_task
from hub.services.visibility import may_see
from tests.core.test_surveys import resolved, settle
from tests.core.test_surveys import setup as survey_setup
from tests.helpers import inbound, login, team, user


async def _world(app: Any) -> dict[str, Any]:
    hub = app.hub
    billing, tech = await team(hub, "Billing"), await team(hub, "Tech")
    w = {
        "billing": billing,
        "tech": tech,
        "ana": await user(hub, "ana@example.com", team_ids=(billing,), name="Ana Lima"),
        "ben": await user(hub, "ben@example.com", team_ids=(billing,), name="Ben Ode"),
        "tom": await user(hub, "tom@example.com", team_ids=(tech,), name="Tom Tech"),
        "sue": await user(hub, "sue@example.com", Role.supervisor, (billing,), name="Sue Boss"),
    }
    w["conv"] = (await inbound(app.client, "cust-1", "my bill is wrong", team="Billing"))["conversation_id"]
    return w


class _As:
    """One signed-in browser: its own cookie jar (logins do not replace each other)."""

    def __init__(self, client: Any, headers: dict[str, str]) -> None:
        self.client, self.h = client, headers

    async def get(self, path: str, **params: Any) -> Any:
        return await self.client.get(f"/api/v1{path}", params=params)

    async def send(self, method: str, path: str, body: Any = None) -> Any:
        return await self.client.request(method, f"/api/v1{path}", json=body, headers=self.h)


async def _as(app: Any, name: str) -> _As:
    c = app.new_client()
    return _As(c, await login(c, f"{name}@example.com"))


def _actor(uid: int, role: str = "agent", teams: tuple[int, ...] = ()) -> Actor:
    return Actor(user_id=uid, role=role, team_ids=frozenset(teams))


async def _notified(hub: Hub) -> list[tuple[int, int]]:
    async with hub.db.session() as s:
        rows = (await s.exec(select(Notification).where(Notification.kind == "task_due"))).all()
    return sorted((n.user_id, n.data["task_id"]) for n in rows)


async def _events(hub: Hub, event_type: str) -> list[EventLog]:
    async with hub.db.session() as s:
        return list((await s.exec(select(EventLog).where(EventLog.type == event_type))).all())


async def _tick(hub: Hub) -> None:
    await hub.projections.run_due()
    await hub.projections.catch_up()


async def test_the_rules_interface_and_the_api_with_rights(app: Any) -> None:
    w = await _world(app)
    hub = app.hub
    # A rule's actor (role system) and SYSTEM itself may assign anywhere.
    rule = Actor(user_id=None, role="system", name="rule 7")
    made = await create_task(
        hub,
        rule,
        title="  Check   the refund ",
        assignee_team_id=w["billing"],
        conversation_id=w["conv"],
        priority="urgent",
        source="rule",
        rule_id=7,
    )
    assert made["title"] == "Check the refund" and made["source"] == "rule" and made["rule_id"] == 7
    assert made["contact_id"] is not None and made["status"] == "open" and made["created_by"] is None
    (ev,) = await _events(hub, "task.created")
    assert (ev.team_id, ev.user_id, ev.payload["task_id"]) == (w["billing"], None, made["id"])

    ana = await _as(app, "ana")
    r = await ana.send(
        "POST",
        "/tasks",
        {"title": "Call the bank", "assignee_user_id": w["ben"], "due_at": "2026-01-05T12:00:00Z"},
    )
    assert r.status_code == 201, r.text
    mine = r.json()
    # Bad input names the field; another team's member or team is refused.
    for body, field, code in (
        ({"title": ""}, "body.title", "required"),
        ({"title": "x" * 201}, "body.title", "text_too_long"),
        ({"title": "x", "assignee_user_id": w["tom"]}, "assignee_user_id", "not_your_team"),
        ({"title": "x", "assignee_team_id": w["tech"]}, "assignee_team_id", "not_your_team"),
        ({"title": "x", "recurrence": "daily"}, "recurrence", "due_required"),
        ({"title": "x", "due_at": "2026-01-06T09:00", "timezone": "Europe"}, "timezone", "bad_timezone"),
    ):
        r = await ana.send("POST", "/tasks", body)
        assert r.status_code == 422, r.text
        assert {"field": field, "code": code} in [
            {k: f[k] for k in ("field", "code")} for f in r.json()["error"]["fields"]
        ], r.text

    people = {name: await _as(app, name) for name in ("ben", "tom", "sue")} | {"ana": ana}
    # Ben (assignee) and Ana (creator, same team) see both; Tom (another team) neither.
    for who, expected in (("ben", 2), ("ana", 2), ("tom", 0), ("sue", 2)):
        r = await people[who].get("/tasks")
        assert r.status_code == 200 and len(r.json()["items"]) == expected, (who, r.text)
    # Tom may not link a customer (or a conversation) he may not see: the task would show them.
    r = await people["tom"].send("POST", "/tasks", {"title": "x", "contact_id": made["contact_id"]})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "contact_id", r.text
    r = await people["tom"].send("POST", "/tasks", {"title": "x", "conversation_id": w["conv"]})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_team"), r.text
    r = await people["tom"].send("POST", f"/tasks/{mine['id']}/complete")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "task_not_found")

    ben = people["ben"]
    r = await ben.get("/tasks", scope="mine", overdue=True)
    assert r.json()["items"] == []  # due 12:00, the clock says 09:00
    r = await ben.get("/tasks", conversation_id=w["conv"])
    assert [t["id"] for t in r.json()["items"]] == [made["id"]]
    r = await ben.send("POST", f"/tasks/{mine['id']}/complete")
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["completed_by"] == w["ben"]
    r = await ben.send("POST", f"/tasks/{mine['id']}/complete")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "task_status")
    r = await ben.send("POST", f"/tasks/{mine['id']}/reopen")
    assert r.json()["status"] == "open" and r.json()["completed_at"] is None
    # Deleting: the creator or a supervisor, not the assignee.
    r = await ben.send("DELETE", f"/tasks/{mine['id']}")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "not_task_creator")
    r = await ana.send("DELETE", f"/tasks/{mine['id']}")
    assert r.status_code == 204
    assert [e.type for e in await _events(hub, "task.completed")] == ["task.completed"]

    # Live and replay: who receives a task event (the gateway and /events share may_see).
    ev_row = (await _events(hub, "task.created"))[1]
    event = Event.model_validate(ev_row, from_attributes=True)
    teams = {w["ben"]: frozenset({w["billing"]})}

    def sees(actor: Actor) -> bool:
        return may_see(actor, event, lambda uid: teams.get(uid, frozenset()))

    assert sees(_actor(w["ben"], teams=(w["billing"],)))  # the assignee
    assert sees(_actor(w["ana"], teams=(w["billing"],)))  # the creator
    assert sees(_actor(w["sue"], "supervisor", (w["billing"],)))  # the assignee's supervisor
    assert not sees(_actor(w["tom"], teams=(w["tech"],)))
    assert not sees(_actor(99, "supervisor", (w["tech"],)))


async def test_reminders_fire_at_the_due_time_in_the_assignees_zone_once(app: Any, clock: Any) -> None:
    w = await _world(app)
    hub = app.hub
    ben = _actor(w["ben"], teams=(w["billing"],))
    await update_profile(hub, ben, {"timezone": "Asia/Riyadh"})  # UTC+3
    # 09:00 on the wall: Ben's zone by default; New York given for Ana's; a team task.
    riyadh = await create_task(
        hub, ben, title="Riyadh", assignee_user_id=w["ben"], due_at=datetime(2026, 1, 6, 9, 0)
    )
    assert riyadh["due_at"] == datetime(2026, 1, 6, 6, 0, tzinfo=UTC) and riyadh["timezone"] == "Asia/Riyadh"
    york = await create_task(
        hub,
        ben,
        title="New York",
        assignee_user_id=w["ana"],
        due_at=datetime(2026, 1, 6, 9, 0),
        timezone="America/New_York",
    )
    assert york["due_at"] == datetime(2026, 1, 6, 14, 0, tzinfo=UTC)
    team_task = await create_task(
        hub,
        SYSTEM,
        title="Team",
        assignee_team_id=w["billing"],
        due_at=datetime(2026, 1, 6, 10, 0, tzinfo=UTC),
    )
    clock.now = datetime(2026, 1, 6, 5, 59, tzinfo=UTC)
    await _tick(hub)
    assert await _notified(hub) == []
    clock.now = datetime(2026, 1, 6, 6, 0, tzinfo=UTC)
    await _tick(hub)
    assert await _notified(hub) == [(w["ben"], riyadh["id"])]
    clock.now = datetime(2026, 1, 6, 13, 0, tzinfo=UTC)
    await _tick(hub)
    # The team's members (Ana, Ben, Sue), once each; nothing twice.
    assert await _notified(hub) == sorted(
        [(w["ben"], riyadh["id"]), *((u, team_task["id"]) for u in (w["ana"], w["ben"], w["sue"]))]
    )
    # Two runners on one database at New York's 09:00, then a runner started afresh.
    clock.now = datetime(2026, 1, 6, 14, 0, tzinfo=UTC)
    # SQLite is one process with one writer (docs/architecture.md): there the second
    # runner shares the hub's database and its write lock; PostgreSQL gets two pools.
    shared = hub.db.is_sqlite
    other_db = hub.db if shared else Database(app.hub.settings.async_database_url)
    other = Hub(
        settings=hub.settings,
        db=other_db,
        bus=hub.bus,
        channels=hub.channels,
        metrics=hub.metrics,
        clock=clock,
    )
    try:
        second = build_projections(other)
        await second.prepare()
        await asyncio.gather(hub.projections.run_due(), second.run_due(), hub.projections.run_due())
        await asyncio.gather(hub.projections.catch_up(), second.catch_up())
        third = build_projections(other)  # a restart: a new runner on the same database
        await third.prepare()
        assert await third.run_due() == 0
        await third.catch_up()
    finally:
        if not shared:
            await other_db.dispose()
    assert [(u, t) for u, t in await _notified(hub) if t == york["id"]] == [(w["ana"], york["id"])]
    assert len(await _events(hub, "task.due")) == 3
    # A new due time re-arms the reminder; completing disarms it.
    ana = await _as(app, "ana")
    r = await ana.send("PATCH", f"/tasks/{york['id']}", {"due_at": "2026-01-07T09:00:00-05:00"})
    assert r.status_code == 200 and r.json()["remind_at"] == "2026-01-07T14:00:00Z", r.text
    await ana.send("POST", f"/tasks/{york['id']}/complete")
    clock.now = datetime(2026, 1, 8, tzinfo=UTC)
    await _tick(hub)
    assert len(await _events(hub, "task.due")) == 3
    ana = await _as(app, "ana")  # signed in again: two days passed
    r = await ana.get("/tasks", overdue=True)
    assert {t["id"] for t in r.json()["items"]} == {team_task["id"]}
    r = await (await _as(app, "sue")).get("/tasks/overdue-by-team")
    (billing,) = r.json()
    assert billing["team_name"] == "Billing" and billing["overdue"] == 2  # Ben's and the team's


async def test_a_daily_task_keeps_its_wall_clock_time_across_daylight_saving(app: Any, clock: Any) -> None:
    w = await _world(app)
    hub = app.hub
    ben = _actor(w["ben"], teams=(w["billing"],))
    # Berlin moves to summer time on 29 March 2026: 09:00 is 08:00Z, then 07:00Z.
    first = await create_task(
        hub,
        ben,
        title="Morning check",
        assignee_user_id=w["ben"],
        due_at=datetime(2026, 3, 28, 9, 0),
        timezone="Europe/Berlin",
        recurrence="daily",
    )
    assert first["due_at"] == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    clock.now = datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    await _tick(hub)
    await _tick(hub)
    async with hub.db.session() as s:
        rows = list((await s.exec(select(Task).order_by(col(Task.id)))).all())
    assert [(t.due_at, t.source, t.series_id) for t in rows] == [
        (datetime(2026, 3, 28, 8, 0, tzinfo=UTC), "manual", None),
        (datetime(2026, 3, 29, 7, 0, tzinfo=UTC), "recurring", first["id"]),
    ]
    assert rows[1].created_by == w["ben"] and rows[1].recurrence == "daily"
    # Cancelling an occurrence ends the series.
    r = await (await _as(app, "ben")).send("PATCH", f"/tasks/{rows[1].id}", {"status": "cancelled"})
    assert r.status_code == 200 and r.json()["next_occurrence_at"] is None
    clock.now += timedelta(days=3)
    await _tick(hub)
    async with hub.db.session() as s:
        assert len((await s.exec(select(Task))).all()) == 2


async def test_a_missed_call_becomes_one_callback_task(app: Any) -> None:
    w = await _world(app)
    hub = app.hub
    # What channels/twilio/voice.py does for a call nobody answered (and a voicemail).
    assert await voice_store.add_tag(hub, w["conv"], voice_store_tag())
    await hub.projections.catch_up()
    await voice_store.add_tag(hub, w["conv"], voice_store_tag())  # tagged already: no event
    await hub.projections.catch_up()
    async with hub.db.session() as s:
        (task,) = (await s.exec(select(Task))).all()
    assert (task.source, task.conversation_id, task.assignee_team_id, task.priority) == (
        "missed_call",
        w["conv"],
        w["billing"],
        "high",
    )
    assert task.contact_id is not None and task.due_at == hub.now() + timedelta(hours=1)
    r = await (await _as(app, "ben")).get("/tasks", scope="team")
    assert [(t["id"], t["source"]) for t in r.json()["items"]] == [(task.id, "missed_call")]


def voice_store_tag() -> str:
    from channels.twilio.voice import CALLBACK_TAG

    return CALLBACK_TAG


async def test_a_low_survey_score_becomes_a_follow_up_task(app: Any, clock: Any) -> None:
    await survey_setup(app, delay_seconds=0)
    first = await resolved(app, "c-low")
    await inbound(app.client, "c-low", "1")
    await settle(app)
    async with app.hub.db.session() as s:
        (task,) = (await s.exec(select(Task))).all()
    assert (task.source, task.conversation_id, task.priority) == ("survey", first["conversation_id"], "high")
    assert task.assignee_team_id is not None and "(1)" in task.title
    await inbound(app.client, "c-low", "5")  # not another survey answer: nothing new
    await settle(app)
    async with app.hub.db.session() as s:
        assert len((await s.exec(select(Task))).all()) == 1
