"""Canned responses."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import BodyId, Id, In, Out, Page
from hub.context import Hub
from hub.services import canned
from hub.services.access import Actor

router = APIRouter(prefix="/canned-responses", tags=["canned responses"])


class CannedOut(Out):
    id: int
    shortcut: str
    title: str
    body: str
    language: str
    team_id: int | None
    updated_at: datetime


class CannedIn(In):
    shortcut: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)
    language: str = Field(default="en", pattern="^(en|ar)$")
    team_id: BodyId | None = None


class CannedPatch(In):
    shortcut: str | None = Field(default=None, min_length=1, max_length=64)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=20_000)
    language: str | None = Field(default=None, pattern="^(en|ar)$")
    team_id: BodyId | None = None


@router.get("", response_model=Page[CannedOut])
async def list_canned(
    q: str = Query(
        default="", max_length=64, description="shortcut prefix (with or without /) or title words"
    ),
    language: str | None = Query(default=None, pattern="^(en|ar)$"),
    limit: int = Query(default=20, ge=1, le=200),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[CannedOut]:
    rows = await canned.search(hub, actor, q, language, limit)
    return Page[CannedOut](items=[CannedOut.model_validate(r) for r in rows])


@router.post("", response_model=CannedOut, status_code=201)
async def create_canned(
    body: CannedIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> CannedOut:
    return CannedOut.model_validate(await canned.create(hub, actor, body.model_dump()))


@router.patch("/{canned_id}", response_model=CannedOut)
async def patch_canned(
    canned_id: Id, body: CannedPatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> CannedOut:
    return CannedOut.model_validate(
        await canned.update(hub, actor, canned_id, body.model_dump(exclude_unset=True))
    )


@router.delete("/{canned_id}", status_code=204)
async def delete_canned(
    canned_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await canned.delete(hub, actor, canned_id)
    return Response(status_code=204)
