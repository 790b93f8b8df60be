"""Conversation labels: the admin-managed list, and labels on a conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field, StrictBool

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import ConversationOut, Id, In, Out, Page, SmallInt
from hub.context import Hub
from hub.services import labels
from hub.services.access import Actor
from hub.services.live import enrich

router = APIRouter(tags=["labels"])

LabelKey = Annotated[
    str, Path(max_length=labels.MAX_TAG, description="the label's key (what Conversation.tags holds)")
]


class LabelOut(Out):
    key: str
    name_en: str
    name_ar: str
    color: str
    position: int
    active: bool
    created_at: datetime
    updated_at: datetime


class LabelIn(In):
    key: str = Field(max_length=100)
    name_en: str = Field(max_length=200)
    name_ar: str = Field(max_length=200)
    color: str = Field(default="#6b7280", max_length=20)
    position: SmallInt | None = None
    active: StrictBool = True


class LabelPatch(In):
    not_null = ("name_en", "name_ar", "color", "position", "active")
    name_en: str | None = Field(default=None, max_length=200)
    name_ar: str | None = Field(default=None, max_length=200)
    color: str | None = Field(default=None, max_length=20)
    position: SmallInt | None = None
    active: StrictBool | None = None


@router.get("/labels", response_model=Page[LabelOut])
async def list_labels(
    active: bool | None = Query(default=None, description="only active (true) or inactive (false) labels"),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[LabelOut]:
    rows = await labels.list_labels(hub, active=active)
    return Page[LabelOut](items=[LabelOut.model_validate(r) for r in rows])


@router.post("/labels", response_model=LabelOut, status_code=201)
async def create_label(
    body: LabelIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> LabelOut:
    data = body.model_dump(exclude_unset=True)
    if data.get("position") is None:
        data.pop("position", None)
    return LabelOut.model_validate(await labels.create(hub, actor, data))


@router.patch("/labels/{key}", response_model=LabelOut)
async def patch_label(
    key: LabelKey,
    body: LabelPatch,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> LabelOut:
    return LabelOut.model_validate(await labels.update(hub, actor, key, body.model_dump(exclude_unset=True)))


@router.delete("/labels/{key}", status_code=204)
async def delete_label(
    key: LabelKey, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await labels.delete(hub, actor, key)
    return Response(status_code=204)


@router.put("/conversations/{conversation_id}/labels/{key}", response_model=ConversationOut)
async def add_label(
    conversation_id: Id,
    key: LabelKey,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> ConversationOut:
    conv = await labels.add_to_conversation(hub, actor, conversation_id, key)
    return ConversationOut.model_validate((await enrich(hub, actor, [conv]))[0])


@router.delete("/conversations/{conversation_id}/labels/{key}", response_model=ConversationOut)
async def remove_label(
    conversation_id: Id,
    key: LabelKey,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> ConversationOut:
    conv = await labels.remove_from_conversation(hub, actor, conversation_id, key)
    return ConversationOut.model_validate((await enrich(hub, actor, [conv]))[0])
