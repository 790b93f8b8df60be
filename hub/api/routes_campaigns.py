"""Campaigns to a segment or a list (issue 17): docs/campaigns.md."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, Field, StringConstraints

from hub.api.deps import current_actor, get_hub
from hub.api.errors import ApiError
from hub.api.schemas import BodyId, Id, In, Position
from hub.campaigns import lists, presets, preview, service
from hub.context import Hub
from hub.crm.export import safe_cell
from hub.models import Campaign, Role
from hub.services.access import Actor, require_role
from hub.timeutil import ensure_utc

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

Channel = Literal["sms", "whatsapp", "email", "telegram", "loopback"]
HHMM = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Var = Annotated[str, StringConstraints(max_length=200)]
MAX_LIST_BYTES = 5 * 1024 * 1024


def _when(value: datetime) -> datetime:
    """A zone-less time is UTC; years outside 2000-2100 are no campaign's."""
    value = ensure_utc(value)
    if not 2000 <= value.year <= 2100:
        raise ValueError("a time between the years 2000 and 2100")
    return value


When = Annotated[datetime, AfterValidator(_when)]
StatusName = Annotated[str, StringConstraints(max_length=12)]


class ContentIn(In):
    body: str = Field(default="", max_length=4000)
    subject: str = Field(default="", max_length=300)
    html: str = Field(default="", max_length=100_000)
    template: str | None = Field(default=None, max_length=100)
    variables: dict[Annotated[str, StringConstraints(max_length=20)], Var] = Field(
        default_factory=dict, max_length=10
    )


class AudienceIn(In):
    type: Literal["segment", "list"] = "segment"
    segment_id: BodyId | None = None


class ScheduleIn(In):
    start_at: When | None = None
    local_time: bool = False
    quiet_start: HHMM | None = None
    quiet_end: HHMM | None = None


class CampaignIn(In):
    name: str = Field(min_length=1, max_length=120)
    team_id: BodyId | None = None
    kind: Literal["message", "survey"] = "message"
    audience: AudienceIn = Field(default_factory=AudienceIn)
    channel: Channel | Literal["preferred"] = "sms"
    fallback: list[Channel] | None = Field(default=None, max_length=5)
    content: dict[Literal["en", "ar"], ContentIn | None] = Field(default_factory=dict)
    sender_name: str = Field(default="", max_length=80)
    survey_key: str | None = Field(default=None, max_length=40)
    schedule: ScheduleIn | None = None


class CampaignPatch(In):
    not_null = ("name", "kind", "audience", "channel", "content", "sender_name")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    team_id: BodyId | None = None
    kind: Literal["message", "survey"] | None = None
    audience: AudienceIn | None = None
    channel: Channel | Literal["preferred"] | None = None
    fallback: list[Channel] | None = Field(default=None, max_length=5)
    content: dict[Literal["en", "ar"], ContentIn | None] | None = None
    sender_name: str | None = Field(default=None, max_length=80)
    survey_key: str | None = Field(default=None, max_length=40)
    schedule: ScheduleIn | None = None


class StartIn(In):
    at: When | None = None


class TestSendIn(In):
    address: str = Field(min_length=1, max_length=320)
    channel: Channel | None = None
    language: Literal["en", "ar"] = "en"


class CouponsIn(In):
    codes: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=10_000
    )


class RedemptionIn(In):
    code: str = Field(min_length=1, max_length=64)


class PresetIn(In):
    team_id: BodyId | None = None


async def out(hub: Hub, c: Campaign) -> dict[str, Any]:
    async with hub.db.session() as s:
        results = await service.results(s, c)
    return {
        "id": c.id,
        "name": c.name,
        "team_id": c.team_id,
        "kind": c.kind,
        "status": c.status,
        "audience": {"type": c.audience_type, "segment_id": c.segment_id},
        "channel": c.channel,
        "fallback": c.fallback,
        "content": c.content,
        "sender_name": c.sender_name,
        "survey_key": c.survey_key,
        "schedule": {
            "start_at": c.start_at,
            "local_time": c.local_time,
            "quiet_start": c.quiet_start,
            "quiet_end": c.quiet_end,
        },
        "created_by": c.created_by,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "started_at": c.started_at,
        "frozen_at": c.frozen_at,
        "finished_at": c.finished_at,
        "results": results,
    }


def _values(body: CampaignIn | CampaignPatch, *, partial: bool) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=partial)
    if "content" in values and values["content"] is not None:
        values["content"] = {k: v for k, v in values["content"].items() if v is not None}
    if "schedule" in values and values["schedule"] is not None:
        values["schedule"] = body.schedule.model_dump(exclude_unset=True) if body.schedule else {}
    return values


@router.get("")
async def list_campaigns(
    status: list[StatusName] = Query(default=[], max_length=8),
    team_id: Id | None = None,
    limit: int = Query(default=50, ge=1, le=100),
    cursor: Position | None = None,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> dict[str, Any]:
    async with hub.db.session() as s:
        rows, next_cursor = await service.list_campaigns(
            s, actor, statuses=status, team_id=team_id, limit=limit, cursor=cursor
        )
    return {"items": [await out(hub, c) for c in rows], "next_cursor": next_cursor}


@router.post("", status_code=201)
async def create_campaign(
    body: CampaignIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, Any]:
    return await out(hub, await service.create(hub, actor, _values(body, partial=False)))


@router.get("/options")
async def campaign_options(
    actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, Any]:
    from sqlmodel import select

    from hub.campaigns.render import CAMPAIGN_VARIABLES
    from hub.models import SurveyDefinition
    from hub.services.templating import custom_keys, variable_names

    require_role(actor, Role.supervisor)
    async with hub.db.session() as s:
        keys = await custom_keys(s)
        surveys = (await s.exec(select(SurveyDefinition).where(SurveyDefinition.active == True))).all()  # noqa: E712
    names = [n for n in variable_names(keys) if n not in ("agent.name", "conversation.reference")]
    return {
        **service.options(hub),
        "variables": [*names, *CAMPAIGN_VARIABLES],
        "surveys": [{"key": d.key, "kind": d.kind} for d in surveys],
    }


@router.get("/presets")
async def list_presets(actor: Actor = Depends(current_actor)) -> list[dict[str, Any]]:
    require_role(actor, Role.supervisor)
    return presets.listing()


@router.post("/presets/{key}", status_code=201)
async def apply_preset(
    key: Annotated[str, StringConstraints(max_length=40)],
    body: PresetIn,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> dict[str, Any]:
    c, segment_id = await presets.apply(hub, actor, key, body.team_id)
    return {"campaign": await out(hub, c), "segment_id": segment_id}


@router.get("/{campaign_id}")
async def get_campaign(
    campaign_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, Any]:
    async with hub.db.session() as s:
        c = await service.load(s, actor, campaign_id)
    return await out(hub, c)


@router.patch("/{campaign_id}")
async def update_campaign(
    campaign_id: Id, body: CampaignPatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, Any]:
    return await out(hub, await service.update(hub, actor, campaign_id, _values(body, partial=True)))


@router.delete("/{campaign_id}", status_code=204)
async def delete_campaign(
    campaign_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await service.delete(hub, actor, campaign_id)
    return Response(status_code=204)


@router.post("/{campaign_id}/preview")
async def preview_campaign(
    campaign_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, Any]:
    return await preview.preview(hub, actor, campaign_id)


@router.post("/{campaign_id}/test-send", status_code=202)
async def test_send(
    campaign_id: Id, body: TestSendIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, Any]:
    return await preview.test_send(
        hub, actor, campaign_id, address=body.address, channel=body.channel, language=body.language
    )


@router.post("/{campaign_id}/start")
async def start_campaign(
    campaign_id: Id,
    body: StartIn | None = None,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> dict[str, Any]:
    c = await service.start(hub, actor, campaign_id, body.at if body is not None else None)
    _wake(hub)
    return await out(hub, c)


def _wake(hub: Hub) -> None:
    if hub.projections is not None:
        hub.projections.wake()
    hub.outbox_wakeup.set()


@router.post("/{campaign_id}/pause")
async def pause_campaign(
    campaign_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, Any]:
    return await out(hub, await service.pause(hub, actor, campaign_id))


@router.post("/{campaign_id}/resume")
async def resume_campaign(
    campaign_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, Any]:
    c = await service.resume(hub, actor, campaign_id)
    _wake(hub)
    return await out(hub, c)


@router.post("/{campaign_id}/cancel")
async def cancel_campaign(
    campaign_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, Any]:
    return await out(hub, await service.cancel(hub, actor, campaign_id))


@router.get("/{campaign_id}/recipients")
async def recipients(
    campaign_id: Id,
    status: list[StatusName] = Query(default=[], max_length=8),
    limit: int = Query(default=100, ge=1, le=500),
    cursor: Position | None = None,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> dict[str, Any]:
    items, next_cursor = await lists.recipients_page(
        hub, actor, campaign_id, statuses=status, limit=limit, cursor=cursor
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get("/{campaign_id}/recipients.csv", response_class=StreamingResponse)
async def recipients_csv(
    campaign_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> StreamingResponse:
    async with hub.db.session() as s:
        await service.load(s, actor, campaign_id)

    async def rows() -> AsyncIterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(lists.COLUMNS)
        cursor: int | None = None
        while True:
            items, cursor = await lists.recipients_page(
                hub, actor, campaign_id, statuses=[], limit=1000, cursor=cursor
            )
            for item in items:
                writer.writerow([safe_cell(item[k]) for k in lists.COLUMNS])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
            if cursor is None:
                return

    stamp = hub.now().strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="campaign-{campaign_id}-{stamp}.csv"'},
    )


@router.post("/{campaign_id}/list")
async def upload_list(
    campaign_id: Id, request: Request, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, int]:
    async with hub.db.session() as s:
        await service.load(s, actor, campaign_id)  # rights first: nothing is read for a refusal
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_LIST_BYTES:
            raise ApiError(413, "too_large", "a list is at most 5 MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(422, "bad_csv", "the list must be UTF-8 text") from None
    if "\x00" in text:
        raise ApiError(422, "bad_csv", "the list holds a NUL character")
    return await lists.upload_list(hub, actor, campaign_id, text)


@router.post("/{campaign_id}/coupons")
async def add_coupons(
    campaign_id: Id, body: CouponsIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, int]:
    return await lists.add_coupons(hub, actor, campaign_id, body.codes)


@router.post("/{campaign_id}/redemptions")
async def redeem(
    campaign_id: Id, body: RedemptionIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> dict[str, Any]:
    return await lists.redeem(hub, actor, campaign_id, body.code)
