"""Tasks and follow-ups (issue 18; docs/workflow.md, "Tasks").

A task has a title, a description, an assignee (a user, a team, or a user in a team),
a due time (stored in UTC with the time zone it was set in), a priority, a status
(open, done, cancelled) and links to a contact, a conversation and a complaint. People
create them (the console), so do rules (``source="rule"``), a low survey score and a
missed call (:class:`TasksReactor`, from the event log — never in the hot path).

Every change goes through a function here, which writes the task and its event-log row
in one transaction and publishes after the commit (``task.created|updated|completed|
deleted``). Who may see a task is one rule, used by the list (:func:`visible_clause`),
the single reads and writes, and the live events (hub.services.visibility).

Timers are columns with a due time, fired by the reactor's ``fire_due`` under the
projection runner's checkpoint lock — once cluster-wide, and exactly once across
restarts because clearing the column commits with the ``task.due`` event:

- ``remind_at``: at the due time the assignee (a team task: the team's members) gets
  a live notification (the notifications reactor turns ``task.due`` into ``task_due``
  notifications, with the bell).
- ``next_occurrence_at``: a recurring task (daily, weekly) makes its next occurrence
  when it falls due; the next due time is the same wall-clock time in the task's zone.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.events import TaskPayload
from hub.models import (
    Complaint,
    Contact,
    Conversation,
    Identity,
    Role,
    Task,
    Team,
    TeamMember,
    User,
    UserPreference,
)
from hub.projections import LoggedEvent
from hub.services import notifications
from hub.services.access import SYSTEM, Actor, require_view
from hub.services.complaints import visible_complaints
from hub.services.contact_fields import invalid_fields
from hub.services.contacts import contact_visible_clause
from hub.services.errors import Conflict, Forbidden, Invalid, NotFound
from hub.services.uow import UnitOfWork, unit_of_work
from hub.timeutil import ensure_utc, zone

log = logging.getLogger(__name__)

STATUSES = ("open", "done", "cancelled")
PRIORITIES = ("low", "normal", "high", "urgent")
RECURRENCES = ("none", "daily", "weekly")
SOURCES = ("manual", "rule", "survey", "missed_call", "recurring")
MAX_TITLE = 200
MAX_DESCRIPTION = 4000
MAX_PAGE = 200
CALLBACK_DUE = timedelta(hours=1)  # a missed call: call back within the hour
LOW_SCORE_DUE = timedelta(days=1)  # a low score: follow up within a day
_PERIOD = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
_EDITABLE = (
    "title",
    "description",
    "priority",
    "assignee_user_id",
    "assignee_team_id",
    "due_at",
    "recurrence",
)


# -- reading ---------------------------------------------------------------------------------
def _members_of(team_ids: Collection[int]) -> Any:
    return select(TeamMember.user_id).where(col(TeamMember.team_id).in_(sorted(team_ids)))


def visible_clause(actor: Actor) -> Any:
    """SQL condition on Task for what ``actor`` may see: admins all; everyone the tasks
    assigned to them or to their teams and those they created; supervisors also their
    teams' members' tasks and unassigned ones."""
    if actor.is_admin:
        return sa.true()
    parts: list[Any] = [col(Task.assignee_user_id) == actor.user_id, col(Task.created_by) == actor.user_id]
    if actor.team_ids:
        parts.append(col(Task.assignee_team_id).in_(sorted(actor.team_ids)))
    if actor.role == Role.supervisor:
        parts.append(sa.and_(col(Task.assignee_user_id).is_(None), col(Task.assignee_team_id).is_(None)))
        if actor.team_ids:
            parts.append(col(Task.assignee_user_id).in_(_members_of(actor.team_ids)))
    return sa.or_(*parts)


def to_dict(task: Task, now: datetime, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The task as the API returns it (``overdue``: open and past its due time)."""
    out = {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "priority": task.priority,
        "assignee_user_id": task.assignee_user_id,
        "assignee_team_id": task.assignee_team_id,
        "due_at": task.due_at,
        "timezone": task.timezone,
        "remind_at": task.remind_at,
        "reminded_at": task.reminded_at,
        "recurrence": task.recurrence,
        "next_occurrence_at": task.next_occurrence_at,
        "series_id": task.series_id,
        "contact_id": task.contact_id,
        "conversation_id": task.conversation_id,
        "complaint_id": task.complaint_id,
        "source": task.source,
        "rule_id": task.rule_id,
        "created_by": task.created_by,
        "completed_by": task.completed_by,
        "completed_at": task.completed_at,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "overdue": task.status == "open" and task.due_at is not None and task.due_at < now,
        "contact_name": None,
        "contact_phone": None,
    }
    out.update(extra or {})
    return out


async def _contact_facts(s: AsyncSession, tasks: Sequence[Task]) -> dict[int, dict[str, Any]]:
    """Each linked contact's name and phone number (the "Call back" button's tel: link)."""
    ids = sorted({t.contact_id for t in tasks if t.contact_id is not None})
    if not ids:
        return {}
    names = dict((await s.exec(select(Contact.id, Contact.name).where(col(Contact.id).in_(ids)))).all())
    phones: dict[int, str] = {}
    rows = await s.exec(
        select(Identity.contact_id, Identity.address)
        .where(col(Identity.contact_id).in_(ids), Identity.kind == "phone")
        .order_by(col(Identity.id))
    )
    for cid, address in rows.all():
        phones.setdefault(cid, address)
    return {i: {"contact_name": names.get(i) or None, "contact_phone": phones.get(i)} for i in ids}


async def present(s: AsyncSession, tasks: Sequence[Task], now: datetime) -> list[dict[str, Any]]:
    facts = await _contact_facts(s, tasks)
    return [to_dict(t, now, facts.get(t.contact_id or 0)) for t in tasks]


async def _visible_task(s: AsyncSession, actor: Actor, task_id: int, *, for_update: bool = False) -> Task:
    stmt = select(Task).where(Task.id == task_id, visible_clause(actor))
    if for_update:
        stmt = stmt.with_for_update()
    task = (await s.exec(stmt)).first()
    if task is None:
        raise NotFound(f"task {task_id} not found", code="task_not_found")
    return task


async def get_task(hub: Hub, actor: Actor, task_id: int) -> dict[str, Any]:
    async with hub.db.session() as s:
        task = await _visible_task(s, actor, task_id)
        return (await present(s, [task], hub.now()))[0]


async def list_tasks(
    hub: Hub,
    actor: Actor,
    *,
    scope: str = "all",
    status: str | None = "open",
    team_id: int | None = None,
    assignee_user_id: int | None = None,
    due_before: datetime | None = None,
    overdue: bool = False,
    conversation_id: int | None = None,
    contact_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int | None]:
    """Visible tasks, soonest due first (no due time last). ``scope``: ``mine``
    (assigned to me), ``team`` (to my teams or their members), ``created`` (by me),
    ``all`` (everything I may see). Returns (page, next offset)."""
    now = hub.now()
    stmt = select(Task).where(visible_clause(actor))
    if scope == "mine":
        stmt = stmt.where(col(Task.assignee_user_id) == actor.user_id)
    elif scope == "team":
        teams = sorted(actor.team_ids)
        stmt = stmt.where(
            sa.or_(col(Task.assignee_team_id).in_(teams), col(Task.assignee_user_id).in_(_members_of(teams)))
        )
    elif scope == "created":
        stmt = stmt.where(col(Task.created_by) == actor.user_id)
    if status is not None:
        stmt = stmt.where(col(Task.status) == status)
    if team_id is not None:
        stmt = stmt.where(
            sa.or_(
                col(Task.assignee_team_id) == team_id,
                col(Task.assignee_user_id).in_(_members_of([team_id])),
            )
        )
    if assignee_user_id is not None:
        stmt = stmt.where(col(Task.assignee_user_id) == assignee_user_id)
    if due_before is not None:
        stmt = stmt.where(col(Task.due_at) < ensure_utc(due_before))
    if overdue:
        stmt = stmt.where(col(Task.status) == "open", col(Task.due_at) < now)
    if conversation_id is not None:
        stmt = stmt.where(col(Task.conversation_id) == conversation_id)
    if contact_id is not None:
        stmt = stmt.where(col(Task.contact_id) == contact_id)
    limit = max(1, min(limit, MAX_PAGE))
    stmt = stmt.order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.id))
    async with hub.db.session() as s:
        rows = list((await s.exec(stmt.offset(offset).limit(limit + 1))).all())
        more = len(rows) > limit
        rows = rows[:limit]
        return await present(s, rows, now), (offset + limit if more else None)


async def overdue_by_team(hub: Hub, actor: Actor, *, per_team: int = 5) -> list[dict[str, Any]]:
    """The supervisor view: open tasks past due per team the viewer may see — a team's
    own tasks and its members' — with the count and the most overdue few."""
    now = hub.now()
    async with hub.db.session() as s:
        stmt = select(Task).where(visible_clause(actor), Task.status == "open", col(Task.due_at) < now)
        tasks = list((await s.exec(stmt.order_by(col(Task.due_at)).limit(2_000))).all())
        users = sorted({t.assignee_user_id for t in tasks if t.assignee_user_id is not None})
        memberships: dict[int, set[int]] = {}
        if users:
            rows = await s.exec(
                select(TeamMember.user_id, TeamMember.team_id).where(col(TeamMember.user_id).in_(users))
            )
            for uid, tid in rows.all():
                memberships.setdefault(uid, set()).add(tid)
        groups: dict[int | None, list[Task]] = {}
        for t in tasks:
            if t.assignee_team_id is not None:
                teams: set[int | None] = {t.assignee_team_id}
            elif t.assignee_user_id is not None:
                teams = set(memberships.get(t.assignee_user_id, set())) or {None}
            else:
                teams = {None}
            if not actor.is_admin:
                teams = {x for x in teams if x is None or x in actor.team_ids} or {None}
            for team in teams:
                groups.setdefault(team, []).append(t)
        names = dict((await s.exec(select(Team.id, Team.name))).all())
        out = []
        for team, items in sorted(groups.items(), key=lambda kv: (kv[0] is None, names.get(kv[0] or 0, ""))):
            out.append(
                {
                    "team_id": team,
                    "team_name": names.get(team) if team is not None else None,
                    "overdue": len(items),
                    "items": await present(s, items[:per_team], now),
                }
            )
        return out


# -- checking input ----------------------------------------------------------------------------
def _problem(problems: list[tuple[str, str, str]], field: str, code: str, message: str) -> None:
    problems.append((field, code, message))


def _check_text(values: dict[str, Any], problems: list[tuple[str, str, str]]) -> None:
    if "title" in values:
        title = " ".join(str(values["title"] or "").split())
        if not title:
            _problem(problems, "title", "required", "a task needs a title")
        elif len(title) > MAX_TITLE:
            _problem(problems, "title", "text_too_long", f"at most {MAX_TITLE} characters")
        values["title"] = title[:MAX_TITLE]
    if "description" in values:
        text = str(values["description"] or "").strip()
        if len(text) > MAX_DESCRIPTION:
            _problem(problems, "description", "text_too_long", f"at most {MAX_DESCRIPTION} characters")
        values["description"] = text[:MAX_DESCRIPTION]
    if "priority" in values and values["priority"] not in PRIORITIES:
        _problem(problems, "priority", "unknown_option", "low, normal, high or urgent")
    if "recurrence" in values and values["recurrence"] not in RECURRENCES:
        _problem(problems, "recurrence", "unknown_option", "none, daily or weekly")


async def _zone_for(s: AsyncSession, given: str | None, user_ids: Sequence[int | None]) -> str:
    """The zone a due time is set in: the one given, else the assignee's (the profile's
    time zone), else the creator's, else UTC."""
    if given:
        return given
    for uid in user_ids:
        if uid is not None:
            pref = await s.get(UserPreference, uid)
            if pref is not None and pref.timezone:
                return pref.timezone
    return "UTC"


def _due_in_zone(due_at: datetime, tz_name: str) -> datetime:
    """A due time without an offset is a wall-clock time in ``tz_name``."""
    if due_at.tzinfo is None:
        return due_at.replace(tzinfo=zone(tz_name)).astimezone(UTC)
    return ensure_utc(due_at)


async def _check_assignee(
    s: AsyncSession,
    actor: Actor,
    user_id: int | None,
    team_id: int | None,
    problems: list[tuple[str, str, str]],
) -> None:
    if team_id is not None:
        if await s.get(Team, team_id) is None:
            _problem(problems, "assignee_team_id", "not_found", f"team {team_id} not found")
        elif not actor.is_admin and team_id not in actor.team_ids:
            _problem(problems, "assignee_team_id", "not_your_team", "you may assign to your own teams only")
    if user_id is not None:
        user = await s.get(User, user_id)
        if user is None or not user.active:
            _problem(problems, "assignee_user_id", "not_found", f"user {user_id} not found or inactive")
            return
        theirs = set((await s.exec(select(TeamMember.team_id).where(TeamMember.user_id == user_id))).all())
        if team_id is not None and team_id not in theirs:
            _problem(problems, "assignee_user_id", "not_team_member", "not a member of the chosen team")
        elif not actor.is_admin and user_id != actor.user_id and not theirs & actor.team_ids:
            _problem(
                problems, "assignee_user_id", "not_your_team", "you may assign to colleagues of your teams"
            )


# -- events ------------------------------------------------------------------------------------
def _emit(uow: UnitOfWork, event_type: str, task: Task, **extra: Any) -> None:
    assert task.id is not None
    uow.emit(
        event_type,
        TaskPayload(
            task_id=task.id,
            title=task.title,
            status=task.status,
            priority=task.priority,
            assignee_user_id=task.assignee_user_id,
            assignee_team_id=task.assignee_team_id,
            due_at=task.due_at,
            timezone=task.timezone,
            recurrence=task.recurrence,
            contact_id=task.contact_id,
            conversation_id=task.conversation_id,
            complaint_id=task.complaint_id,
            source=task.source,
            created_by=task.created_by,
            **extra,
        ),
        conversation_id=task.conversation_id,
        team_id=task.assignee_team_id,
        user_id=task.assignee_user_id,
    )


# -- writing -----------------------------------------------------------------------------------
async def create_task(
    hub: Hub,
    actor: Actor,
    *,
    title: str,
    description: str = "",
    assignee_user_id: int | None = None,
    assignee_team_id: int | None = None,
    due_at: datetime | None = None,
    priority: str = "normal",
    contact_id: int | None = None,
    conversation_id: int | None = None,
    complaint_id: int | None = None,
    source: str = "manual",
    rule_id: int | None = None,
    timezone: str | None = None,
    recurrence: str = "none",
) -> dict[str, Any]:
    """Create a task in its own transaction (event ``task.created``, published after the
    commit); returns it as the API does. Works for people and for the system (rules,
    reactors: an Actor with role ``system``). A ``due_at`` without an offset is a time in
    ``timezone`` (default: the assignee's profile zone, else the creator's, else UTC).
    Bad input: 422 ``validation_error`` naming the fields."""
    async with unit_of_work(hub, actor.user_id) as uow:
        task = await create_in(
            uow,
            actor,
            {
                "title": title,
                "description": description,
                "assignee_user_id": assignee_user_id,
                "assignee_team_id": assignee_team_id,
                "due_at": due_at,
                "priority": priority,
                "contact_id": contact_id,
                "conversation_id": conversation_id,
                "complaint_id": complaint_id,
                "source": source,
                "rule_id": rule_id,
                "timezone": timezone,
                "recurrence": recurrence,
            },
        )
        assert task is not None
        out = (await present(uow.session, [task], hub.now()))[0]
    return out


async def create_in(
    uow: UnitOfWork, actor: Actor, values: dict[str, Any], *, source_key: str | None = None
) -> Task | None:
    """:func:`create_task` in the caller's unit of work. With ``source_key`` (a task made
    from an event) a task already made from it is left alone: None."""
    s = uow.session
    now = uow.hub.now()
    if source_key is not None:
        if (await s.exec(select(Task.id).where(Task.source_key == source_key))).first() is not None:
            return None
    values = dict(values)
    problems: list[tuple[str, str, str]] = []
    _check_text(values, problems)
    if values.get("source", "manual") not in SOURCES:
        _problem(problems, "source", "unknown_option", ", ".join(SOURCES))
    user_id, team_id = values.get("assignee_user_id"), values.get("assignee_team_id")
    await _check_assignee(s, actor, user_id, team_id, problems)
    conv = None
    if values.get("conversation_id") is not None:
        conv = await s.get(Conversation, values["conversation_id"])
        if conv is None:
            _problem(problems, "conversation_id", "not_found", "no such conversation")
        elif not actor.is_system:
            require_view(actor, conv)
    contact_id = values.get("contact_id") or (conv.contact_id if conv is not None else None)
    if contact_id is not None and not await _exists(s, actor, Contact, contact_id, contact_visible_clause):
        _problem(problems, "contact_id", "not_found", "no such contact")  # or not one you may see
    if values.get("complaint_id") is not None:
        if not await _exists(s, actor, Complaint, values["complaint_id"], visible_complaints):
            _problem(problems, "complaint_id", "not_found", "no such complaint")
        elif contact_id is None:
            complaint = await s.get(Complaint, values["complaint_id"])
            contact_id = complaint.contact_id if complaint is not None else None
    tz_name = await _zone_for(s, values.get("timezone"), [user_id, actor.user_id])
    try:
        zone(tz_name)
    except ValueError:
        _problem(problems, "timezone", "bad_timezone", f"unknown time zone {tz_name!r}")
        tz_name = "UTC"
    due = _due_in_zone(values["due_at"], tz_name) if values.get("due_at") is not None else None
    recurrence = values.get("recurrence") or "none"
    if recurrence != "none" and due is None:
        _problem(problems, "recurrence", "due_required", "a recurring task needs a due time")
    if problems:
        raise invalid_fields(problems)
    task = Task(
        title=values["title"],
        description=values.get("description", ""),
        priority=values.get("priority", "normal"),
        assignee_user_id=user_id,
        assignee_team_id=team_id,
        due_at=due,
        timezone=tz_name,
        remind_at=due,
        recurrence=recurrence,
        next_occurrence_at=due if recurrence != "none" else None,
        series_id=values.get("series_id"),
        contact_id=contact_id,
        conversation_id=conv.id if conv is not None else None,
        complaint_id=values.get("complaint_id"),
        source=values.get("source", "manual"),
        source_key=source_key,
        rule_id=values.get("rule_id"),
        created_by=values.get("created_by", actor.user_id),
        created_at=now,
        updated_at=now,
    )
    s.add(task)
    await s.flush()
    _emit(uow, "task.created", task)
    return task


async def _exists(s: AsyncSession, actor: Actor, model: Any, row_id: int, visible: Any) -> bool:
    """The row exists and ``actor`` may see it (a task shows its customer's name)."""
    stmt = select(model.id).where(model.id == row_id)
    if not actor.is_system:
        stmt = stmt.where(visible(actor))
    return (await s.exec(stmt)).first() is not None


def _may_delete(actor: Actor, task: Task) -> bool:
    return actor.is_supervisor or (actor.user_id is not None and task.created_by == actor.user_id)


async def update_task(hub: Hub, actor: Actor, task_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change what ``changes`` names (of title, description, priority, the assignees,
    due_at (+ timezone), recurrence, status ``cancelled``/``open``). Anyone who may see
    the task may change it. A new due time re-arms the reminder."""
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        task = await _visible_task(s, actor, task_id, for_update=True)
        values = {k: v for k, v in changes.items() if k in (*_EDITABLE, "timezone", "status")}
        problems: list[tuple[str, str, str]] = []
        _check_text(values, problems)
        if "status" in values and values["status"] not in ("open", "cancelled"):
            # done: POST /tasks/{id}/complete (who and when are recorded there)
            _problem(problems, "status", "unknown_option", "open or cancelled")
        user_id = values.get("assignee_user_id", task.assignee_user_id)
        team_id = values.get("assignee_team_id", task.assignee_team_id)
        moved = (user_id, team_id) != (task.assignee_user_id, task.assignee_team_id)
        if moved:
            await _check_assignee(s, actor, user_id, team_id, problems)
        tz_name = values.get("timezone") or task.timezone
        try:
            zone(tz_name)
        except ValueError:
            _problem(problems, "timezone", "bad_timezone", f"unknown time zone {tz_name!r}")
            tz_name = task.timezone
        due = task.due_at
        if "due_at" in values:
            due = _due_in_zone(values["due_at"], tz_name) if values["due_at"] is not None else None
        recurrence = values.get("recurrence", task.recurrence)
        if recurrence != "none" and due is None:
            _problem(problems, "recurrence", "due_required", "a recurring task needs a due time")
        if problems:
            raise invalid_fields(problems)
        now = hub.now()
        changed: list[str] = []
        previous = {"previous_assignee_id": task.assignee_user_id, "previous_team_id": task.assignee_team_id}
        for key in ("title", "description", "priority"):
            if key in values and values[key] != getattr(task, key):
                setattr(task, key, values[key])
                changed.append(key)
        if moved:
            task.assignee_user_id, task.assignee_team_id = user_id, team_id
            changed.append("assignee")
        if due != task.due_at or tz_name != task.timezone:
            task.due_at, task.timezone = due, tz_name
            task.remind_at = due if task.status == "open" else None
            task.reminded_at = None
            changed.append("due_at")
        if recurrence != task.recurrence or "due_at" in changed:
            task.recurrence = recurrence
            task.next_occurrence_at = due if recurrence != "none" else None
            changed.append("recurrence")
        status = values.get("status", task.status)
        if status != task.status:
            _set_status(task, status, actor, now)
            changed.append("status")
        if not changed:
            return (await present(s, [task], now))[0]
        task.updated_at = now
        s.add(task)
        await s.flush()
        _emit(uow, "task.updated", task, changes=sorted(set(changed)), **(previous if moved else {}))
        out = (await present(s, [task], now))[0]
    return out


def _set_status(task: Task, status: str, actor: Actor, now: datetime) -> None:
    task.status = status
    if status == "done":
        task.completed_by, task.completed_at = actor.user_id, now
        task.remind_at = None
    elif status == "cancelled":
        task.completed_by, task.completed_at = None, None
        task.remind_at = None
        task.next_occurrence_at = None  # a cancelled occurrence ends its series
    else:
        task.completed_by, task.completed_at = None, None
        if task.reminded_at is None:
            task.remind_at = task.due_at


async def complete_task(hub: Hub, actor: Actor, task_id: int) -> dict[str, Any]:
    return await _move(hub, actor, task_id, "done", "task.completed")


async def reopen_task(hub: Hub, actor: Actor, task_id: int) -> dict[str, Any]:
    return await _move(hub, actor, task_id, "open", "task.updated")


async def _move(hub: Hub, actor: Actor, task_id: int, status: str, event_type: str) -> dict[str, Any]:
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        task = await _visible_task(s, actor, task_id, for_update=True)
        now = hub.now()
        if task.status == status:
            raise Conflict(f"the task is {status} already", code="task_status")
        _set_status(task, status, actor, now)
        task.updated_at = now
        s.add(task)
        await s.flush()
        _emit(uow, event_type, task, changes=["status"])
        out = (await present(s, [task], now))[0]
    return out


async def delete_task(hub: Hub, actor: Actor, task_id: int) -> None:
    """Its creator or a supervisor who may see it (403 ``not_task_creator`` otherwise)."""
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        task = await _visible_task(s, actor, task_id, for_update=True)
        if not _may_delete(actor, task):
            raise Forbidden("only its creator or a supervisor may delete a task", code="not_task_creator")
        _emit(uow, "task.deleted", task)
        await s.delete(task)


# -- the reactor: tasks from events, reminders and recurrences ---------------------------------
def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _callback_task(uow: UnitOfWork, e: LoggedEvent) -> None:
    """The voice adapter tags a missed call (or a voicemail) ``callback``: call back."""
    conv = await uow.session.get(Conversation, e.conversation_id) if e.conversation_id else None
    if conv is None:
        return
    # The customer's name is not copied into the title: the task shows it from the
    # contact (``contact_name``), so erasing the contact erases it here too.
    values = {
        "title": "Call back",
        "description": "",
        "assignee_user_id": conv.assignee_id,
        "assignee_team_id": conv.team_id,
        "due_at": e.ts + CALLBACK_DUE,
        "priority": "high",
        "conversation_id": conv.id,
        "contact_id": conv.contact_id,
        "source": "missed_call",
    }
    await _made_by_system(uow, values, f"missed_call:{conv.id}")


async def _low_score_task(uow: UnitOfWork, e: LoggedEvent) -> None:
    p = e.payload
    survey_id = _int(p.get("survey_id"))
    if survey_id is None:
        return
    conv_id = _int(p.get("conversation_id"))
    conv = await uow.session.get(Conversation, conv_id) if conv_id is not None else None
    team_id = e.team_id
    if team_id is not None and await uow.session.get(Team, team_id) is None:
        team_id = None  # the team is gone
    values = {
        "title": f"Follow up a low score ({_int(p.get('score'))})",
        "description": "",  # the comment stays on the survey (erasure reaches it there)
        "assignee_team_id": team_id,
        "due_at": e.ts + LOW_SCORE_DUE,
        "priority": "high",
        "conversation_id": conv.id if conv is not None else None,
        "contact_id": _int(p.get("contact_id")),
        "complaint_id": _int(p.get("complaint_id")),
        "source": "survey",
    }
    await _made_by_system(uow, values, f"survey:{survey_id}")


async def _made_by_system(uow: UnitOfWork, values: dict[str, Any], key: str) -> None:
    """A task the hub makes from an event or a series. Nothing raised here may stop the
    reactor (it would retry the same batch for ever): an assignee who left becomes the
    team; anything else still refused is logged and skipped."""
    try:
        await create_in(uow, SYSTEM, values, source_key=key)
        return
    except Invalid as exc:
        first = exc
    try:
        await create_in(uow, SYSTEM, {**values, "assignee_user_id": None}, source_key=key)
    except Invalid:
        log.warning("task %s not made: %s", key, first.message)


def _next_due(due: datetime, tz_name: str, recurrence: str, now: datetime) -> datetime:
    """The next occurrence's due time: the same wall-clock time one period later in the
    task's zone (daylight saving keeps 09:00 at 09:00), skipping periods already past."""
    tz = zone(tz_name)
    local = due.astimezone(tz)
    step = _PERIOD[recurrence]
    while True:
        local = (local.replace(tzinfo=None) + step).replace(tzinfo=tz)
        out = local.astimezone(UTC)
        if out > now:
            return out


class TasksReactor:
    """Tasks from the event log (a missed call, a low score) and the tasks' timers."""

    name = "tasks"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def apply(self, uow: UnitOfWork, events: Sequence[LoggedEvent], now: datetime) -> None:
        for e in events:
            if e.type == "conversation.updated" and e.payload.get("reason") == "tag:callback":
                await _callback_task(uow, e)
            elif e.type == "survey.low_score":
                await _low_score_task(uow, e)

    async def fire_due(self, uow: UnitOfWork, now: datetime, limit: int) -> int:
        s = uow.session
        due = list(
            (
                await s.exec(
                    select(Task).where(col(Task.remind_at) <= now).order_by(col(Task.remind_at)).limit(limit)
                )
            ).all()
        )
        for task in due:
            task.remind_at = None
            if task.status == "open":
                task.reminded_at = now
                _emit(uow, "task.due", task)
            s.add(task)
        left = limit - len(due)
        series: list[Task] = []
        if left > 0:
            stmt = select(Task).where(col(Task.next_occurrence_at) <= now)
            series = list((await s.exec(stmt.order_by(col(Task.next_occurrence_at)).limit(left))).all())
        for task in series:
            task.next_occurrence_at = None
            s.add(task)
            if task.due_at is None or task.recurrence not in _PERIOD:
                continue
            head = task.series_id or task.id
            nxt = _next_due(task.due_at, task.timezone, task.recurrence, now)
            values = {
                "title": task.title,
                "description": task.description,
                "assignee_user_id": task.assignee_user_id,
                "assignee_team_id": task.assignee_team_id,
                "due_at": nxt,
                "timezone": task.timezone,
                "priority": task.priority,
                "contact_id": task.contact_id,
                "conversation_id": task.conversation_id,
                "complaint_id": task.complaint_id,
                "source": "recurring",
                "recurrence": task.recurrence,
                "series_id": head,
            }
            values["created_by"] = task.created_by  # the series' owner may still manage it
            await _made_by_system(uow, values, f"series:{head}:{nxt.isoformat()}")
        await s.flush()
        return len(due) + len(series)

    def next_due_columns(self, now: datetime) -> list[Any]:
        return [
            select(sa.func.min(Task.remind_at)).scalar_subquery(),
            select(sa.func.min(Task.next_occurrence_at)).scalar_subquery(),
        ]


# -- the reminder as a notification (the notifications reactor, from ``task.due``) -------------
async def _due_drafts(s: AsyncSession, e: LoggedEvent, actor_id: int | None) -> list[notifications.Draft]:
    p = e.payload
    task_id = _int(p.get("task_id"))
    if task_id is None:
        return []
    user_id, team_id = _int(p.get("assignee_user_id")), _int(p.get("assignee_team_id"))
    if user_id is not None:
        wanted = {user_id}
    elif team_id is not None:
        wanted = set((await s.exec(select(TeamMember.user_id).where(TeamMember.team_id == team_id))).all())
    else:
        wanted = set()
    creator = _int(p.get("created_by"))
    if not wanted and creator is not None:
        wanted = {creator}  # nobody assigned: its creator is reminded
    active = set(
        (
            await s.exec(select(User.id).where(col(User.id).in_(sorted(wanted)), col(User.active).is_(True)))
        ).all()
    )
    data = {"task_id": task_id, "title": str(p.get("title") or "")[:MAX_TITLE]}
    conv = _int(p.get("conversation_id"))
    return [
        notifications.Draft(uid, "task_due", conv, _int(p.get("complaint_id")), data=data)
        for uid in sorted(i for i in active if i is not None)
    ]


notifications.register("task.due", _due_drafts)
