"""Canned responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import MAX_ID, BodyId, Id, In, Out, Page
from hub.context import Hub
from hub.services import canned
from hub.services.access import Actor

router = APIRouter(prefix="/canned-responses", tags=["canned responses"])

# The body in the other language(s): {"ar": "..."} next to an English body.
Variants = dict[Literal["en", "ar"], Annotated[str, Field(max_length=20_000)]]


class CannedOut(Out):
    id: int
    shortcut: str
    title: str
    body: str
    language: str
    variants: dict[str, str]
    team_id: int | None
    updated_at: datetime


class CannedIn(In):
    shortcut: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)
    language: str = Field(default="en", pattern="^(en|ar)$")
    variants: Variants = Field(default_factory=dict)
    team_id: BodyId | None = None


class CannedPatch(In):
    not_null = ("title", "language", "variants")
    shortcut: str | None = Field(default=None, min_length=1, max_length=64)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=20_000)
    language: str | None = Field(default=None, pattern="^(en|ar)$")
    variants: Variants | None = None
    team_id: BodyId | None = None


@router.get("", response_model=Page[CannedOut])
async def list_canned(
    q: str = Query(
        default="", max_length=64, description="shortcut prefix (with or without /) or title words"
    ),
    language: str | None = Query(default=None, pattern="^(en|ar)$"),
    limit: int = Query(default=20, ge=1, le=200),
    cursor: int | None = Query(default=None, ge=0, le=MAX_ID, description="next_cursor of the previous page"),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[CannedOut]:
    # Paged by position in the shortcut order (the admin list; issue 16).
    offset = cursor or 0
    rows = await canned.search(hub, actor, q, language, limit + 1, offset=offset)
    more = len(rows) > limit
    return Page[CannedOut](
        items=[CannedOut.model_validate(r) for r in rows[:limit]],
        next_cursor=offset + limit if more else None,
    )


class SegmentOut(Out):
    text: str
    status: str  # text, filled, fallback, missing (known, no value here), unknown
    variable: str | None


class PreviewOut(Out):
    canned_id: int
    language: str  # the variant chosen
    text: str
    segments: list[SegmentOut]
    unknown: list[str]
    missing: list[str]


class VariablesOut(Out):
    items: list[str]


@router.get("/variables", response_model=VariablesOut)
async def list_variables(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> VariablesOut:
    """The names a canned answer may use: ``{{contact.name}}``, custom fields, ..."""
    return VariablesOut(items=await canned.variables(hub))


@router.get("/{canned_id}/preview", response_model=PreviewOut)
async def preview_canned(
    canned_id: Id,
    conversation_id: Id | None = None,
    contact_id: Id | None = None,
    language: str | None = Query(default=None, pattern="^(en|ar)$"),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> PreviewOut:
    """The answer as it would read in a conversation (or to a contact): the variant for
    its language, variables filled; unknown ones are left as written and listed."""
    out: dict[str, Any] = await canned.preview(
        hub, actor, canned_id, conversation_id=conversation_id, contact_id=contact_id, language=language
    )
    return PreviewOut.model_validate(out)


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
