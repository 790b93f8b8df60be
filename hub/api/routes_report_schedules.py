"""Scheduled report mails (docs/reports.md, "Scheduled report mails"): admins list,
create, change and delete schedules, and send one now as a test."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import annotated_types as at
from fastapi import APIRouter, Depends, Response
from pydantic import Field, Strict

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import BodyId, Id, In, Out, Page
from hub.context import Hub
from hub.reports import schedules
from hub.services.access import Actor

router = APIRouter(prefix="/reports/schedules", tags=["reports"])

# Bounds are checked by the service, which answers each with its own field code
# (bad_hour, bad_weekday): the admin page shows them next to the field, translated.
Number = Annotated[int, Strict(), at.Interval(ge=-1000, le=1000)]
Recipients = Annotated[list[BodyId], at.MaxLen(schedules.MAX_RECIPIENTS)]


class ScheduleOut(Out):
    id: int
    name: str
    frequency: str
    weekday: int | None
    hour: int
    timezone: str
    team_id: int | None
    recipients: list[int]
    language: str
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_period_start: datetime | None
    last_status: str | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class ScheduleIn(In):
    name: str = Field(min_length=1, max_length=120)
    frequency: str = Field(default="daily", max_length=8, description="daily or weekly")
    weekday: Number | None = Field(default=None, description="weekly: 0 Monday … 6 Sunday")
    hour: Number = Field(default=8, description="local hour of the send, 0-23")
    timezone: str = Field(default="UTC", max_length=64, description="IANA time zone")
    team_id: BodyId | None = Field(
        default=None, description="one team; null: every team the recipient may see"
    )
    recipients: Recipients = Field(description="user ids of active supervisors and admins")
    language: str = Field(default="en", pattern="^(en|ar)$")
    enabled: bool = True


class SchedulePatch(In):
    not_null = ("name", "frequency", "hour", "timezone", "recipients", "language", "enabled")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    frequency: str | None = Field(default=None, max_length=8)
    weekday: Number | None = None
    hour: Number | None = None
    timezone: str | None = Field(default=None, max_length=64)
    team_id: BodyId | None = None
    recipients: Recipients | None = None
    language: str | None = Field(default=None, pattern="^(en|ar)$")
    enabled: bool | None = None


class SendNowOut(Out):
    queued: int
    skipped: list[str]
    period_start: datetime


@router.get("", response_model=Page[ScheduleOut])
async def list_schedules(
    actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Page[ScheduleOut]:
    rows = await schedules.list_schedules(hub, actor)
    return Page[ScheduleOut](items=[ScheduleOut.model_validate(r) for r in rows])


@router.post("", response_model=ScheduleOut, status_code=201)
async def create_schedule(
    body: ScheduleIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ScheduleOut:
    return ScheduleOut.model_validate(await schedules.create_schedule(hub, actor, body.model_dump()))


@router.patch("/{schedule_id}", response_model=ScheduleOut)
async def update_schedule(
    schedule_id: Id, body: SchedulePatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ScheduleOut:
    patch: dict[str, Any] = body.model_dump(exclude_unset=True)
    return ScheduleOut.model_validate(await schedules.update_schedule(hub, actor, schedule_id, patch))


@router.delete("/{schedule_id}", status_code=204)
async def delete_schedule(
    schedule_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await schedules.delete_schedule(hub, actor, schedule_id)
    return Response(status_code=204)


@router.post("/{schedule_id}/send-now", response_model=SendNowOut, status_code=202)
async def send_now(
    schedule_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> SendNowOut:
    """Mail the latest ended period to the recipients now (a test); the schedule is unchanged."""
    return SendNowOut.model_validate(await schedules.send_now(hub, actor, schedule_id))
