"""Tasks and follow-ups; shift hand-over (issue 18; docs/workflow.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import BodyId, Id, In, Out, Page, Position
from hub.context import Hub
from hub.services import handover, tasks
from hub.services.access import Actor

router = APIRouter(tags=["tasks"])

Priority = Literal["low", "normal", "high", "urgent"]
Recurrence = Literal["none", "daily", "weekly"]


class TaskOut(Out):
    id: int
    title: str
    description: str
    status: str
    priority: str
    assignee_user_id: int | None
    assignee_team_id: int | None
    due_at: datetime | None
    timezone: str
    remind_at: datetime | None
    reminded_at: datetime | None
    recurrence: str
    next_occurrence_at: datetime | None
    series_id: int | None
    contact_id: int | None
    conversation_id: int | None
    complaint_id: int | None
    source: str
    rule_id: int | None
    created_by: int | None
    completed_by: int | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    overdue: bool
    contact_name: str | None
    contact_phone: str | None


class TaskIn(In):
    title: str = Field(min_length=1, max_length=tasks.MAX_TITLE)
    description: str = Field(default="", max_length=tasks.MAX_DESCRIPTION)
    assignee_user_id: BodyId | None = None
    assignee_team_id: BodyId | None = None
    # With an offset: that moment. Without ("2026-01-06T09:00"): that wall-clock time in
    # ``timezone`` — by default the assignee's profile time zone, else yours, else UTC.
    due_at: datetime | None = None
    timezone: str | None = Field(default=None, max_length=64)
    priority: Priority = "normal"
    recurrence: Recurrence = "none"
    contact_id: BodyId | None = None
    conversation_id: BodyId | None = None
    complaint_id: BodyId | None = None


class TaskPatch(In):
    not_null = ("title", "description", "priority", "recurrence", "status", "timezone")
    title: str | None = Field(default=None, min_length=1, max_length=tasks.MAX_TITLE)
    description: str | None = Field(default=None, max_length=tasks.MAX_DESCRIPTION)
    assignee_user_id: BodyId | None = None
    assignee_team_id: BodyId | None = None
    due_at: datetime | None = None
    timezone: str | None = Field(default=None, max_length=64)
    priority: Priority | None = None
    recurrence: Recurrence | None = None
    status: Literal["open", "cancelled"] | None = None


class TeamOverdueOut(BaseModel):
    team_id: int | None
    team_name: str | None
    overdue: int
    items: list[TaskOut]


class HandoverIn(In):
    note: str = Field(default="", max_length=handover.MAX_NOTE)
    to: Literal["queue"] | BodyId
    conversation_ids: list[BodyId] = Field(min_length=1, max_length=handover.MAX_CONVERSATIONS)


class HandoverFailure(BaseModel):
    conversation_id: int
    code: str


class HandoverOut(BaseModel):
    moved: list[int]
    failed: list[HandoverFailure]
    presence: str


@router.get("/tasks", response_model=Page[TaskOut])
async def list_tasks(
    scope: Literal["mine", "team", "created", "all"] = Query(
        default="all", description="mine: assigned to me; team: my teams' and their members'; created: by me"
    ),
    status: Literal["open", "done", "cancelled", "any"] = Query(default="open"),
    team_id: Id | None = Query(default=None, description="a team's tasks and its members'"),
    assignee_user_id: Id | None = None,
    due_before: datetime | None = None,
    overdue: bool = Query(default=False, description="open and past the due time"),
    conversation_id: Id | None = None,
    contact_id: Id | None = None,
    limit: int = Query(default=50, ge=1, le=tasks.MAX_PAGE),
    cursor: Position | None = Query(default=None, description="next_cursor of the previous page"),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[TaskOut]:
    """Tasks you may see, soonest due first (those without a due time last)."""
    rows, next_cursor = await tasks.list_tasks(
        hub,
        actor,
        scope=scope,
        status=None if status == "any" else status,
        team_id=team_id,
        assignee_user_id=assignee_user_id,
        due_before=due_before,
        overdue=overdue,
        conversation_id=conversation_id,
        contact_id=contact_id,
        offset=cursor or 0,
        limit=limit,
    )
    return Page[TaskOut](items=[TaskOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/tasks", response_model=TaskOut, status_code=201)
async def create_task(
    body: TaskIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> TaskOut:
    return TaskOut.model_validate(await tasks.create_task(hub, actor, **body.model_dump()))


@router.get("/tasks/overdue-by-team", response_model=list[TeamOverdueOut])
async def overdue_by_team(
    actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> list[TeamOverdueOut]:
    """Open tasks past due per team you may see (the supervisor page)."""
    return [TeamOverdueOut.model_validate(g) for g in await tasks.overdue_by_team(hub, actor)]


@router.get("/tasks/{task_id}", response_model=TaskOut)
async def get_task(
    task_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> TaskOut:
    return TaskOut.model_validate(await tasks.get_task(hub, actor, task_id))


@router.patch("/tasks/{task_id}", response_model=TaskOut)
async def patch_task(
    task_id: Id, body: TaskPatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> TaskOut:
    return TaskOut.model_validate(
        await tasks.update_task(hub, actor, task_id, body.model_dump(exclude_unset=True))
    )


@router.post("/tasks/{task_id}/complete", response_model=TaskOut)
async def complete_task(
    task_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> TaskOut:
    return TaskOut.model_validate(await tasks.complete_task(hub, actor, task_id))


@router.post("/tasks/{task_id}/reopen", response_model=TaskOut)
async def reopen_task(
    task_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> TaskOut:
    return TaskOut.model_validate(await tasks.reopen_task(hub, actor, task_id))


@router.delete("/tasks/{task_id}", status_code=204)
async def delete_task(
    task_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await tasks.delete_task(hub, actor, task_id)
    return Response(status_code=204)


@router.post("/handover", response_model=HandoverOut)
async def hand_over(
    body: HandoverIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> HandoverOut:
    """Leave a note, send the conversations to the queue or a colleague, go offline."""
    result = await handover.hand_over(
        hub, actor, note=body.note, to=body.to, conversation_ids=body.conversation_ids
    )
    return HandoverOut.model_validate(result)
