"""Saved views (hub.services.views): the console sidebar's named searches, each with
the number of conversations it selects for the caller.

Counts are asked for, not pushed: a console re-reads ``GET /views`` (debounced) when
events that can change them arrive, and each answer is one capped ``COUNT`` per view
(docs/console.md, "Search and views")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import BodyId, Id, In, Out, SmallInt
from hub.context import Hub
from hub.models import SavedView
from hub.services import search, views
from hub.services.access import Actor

router = APIRouter(prefix="/views", tags=["views"])

MAX_COUNT = 999  # a view's count stops here: the sidebar says "999+"


class ViewIn(In):
    name: str = Field(max_length=200, description="1-60 characters once spaces are collapsed")
    scope: Literal["personal", "team", "everyone"] = "personal"
    team_id: BodyId | None = Field(default=None, description="the team of a team view")
    # A ConversationFilter: q, status, channel, team_id, assignee (me, unassigned or an
    # id), label, category, priority_min/max, created_/active_ after/before.
    filters: dict[str, Any] = Field(default_factory=dict)
    position: SmallInt | None = None


class ViewPatch(In):
    not_null = ("name", "scope", "filters", "position")
    name: str | None = Field(default=None, max_length=200)
    scope: Literal["personal", "team", "everyone"] | None = None
    team_id: BodyId | None = None
    filters: dict[str, Any] | None = None
    position: SmallInt | None = None


class ViewOut(Out):
    id: int
    name: str
    scope: str
    team_id: int | None
    owner_id: int
    filters: dict[str, Any]
    position: int
    created_at: datetime
    updated_at: datetime
    editable: bool = False  # the caller may change or delete it
    count: int | None = None  # conversations it selects for the caller, up to 999
    count_capped: bool = False  # more than ``count``


class ViewPage(BaseModel):
    items: list[ViewOut]
    # The event-log position the text indexes had applied before the counts were taken:
    # a count with words in it includes every message of the events up to here.
    indexed_through: int = 0


async def _out(hub: Hub, actor: Actor, rows: list[SavedView], *, counts: bool) -> list[ViewOut]:
    out = []
    async with hub.db.session() as s:
        for view in rows:
            n = None
            if counts:
                f = search.parse_filter(view.filters, prefix="filters.")
                n = await search.count(
                    s,
                    f,
                    actor,
                    cap=MAX_COUNT,
                    is_sqlite=hub.db.is_sqlite,
                    region=hub.settings.default_phone_region,
                )
            item = ViewOut.model_validate(view).model_copy(
                update={
                    "editable": views.may_change(actor, view),
                    "count": min(n, MAX_COUNT) if n is not None else None,
                    "count_capped": n is not None and n > MAX_COUNT,
                }
            )
            out.append(item)
    return out


@router.get("", response_model=ViewPage)
async def list_views(
    counts: bool = Query(default=True, description="count each view's conversations"),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> ViewPage:
    """Your personal views, then your teams' and everyone's, each with its count."""
    async with hub.db.session() as s:
        indexed = await search.indexed_through(s)
        rows = await views.list_views(s, actor)
    return ViewPage(items=await _out(hub, actor, rows, counts=counts), indexed_through=indexed)


@router.post("", response_model=ViewOut, status_code=201)
async def create_view(
    body: ViewIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ViewOut:
    view = await views.create_view(hub, actor, body.model_dump())
    return (await _out(hub, actor, [view], counts=True))[0]


@router.get("/{view_id}", response_model=ViewOut)
async def get_view(
    view_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ViewOut:
    async with hub.db.session() as s:
        view = await views.load_view(s, actor, view_id)
    return (await _out(hub, actor, [view], counts=True))[0]


@router.patch("/{view_id}", response_model=ViewOut)
async def update_view(
    view_id: Id, body: ViewPatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ViewOut:
    view = await views.update_view(hub, actor, view_id, body.model_dump(exclude_unset=True))
    return (await _out(hub, actor, [view], counts=True))[0]


@router.delete("/{view_id}", status_code=204)
async def delete_view(
    view_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await views.delete_view(hub, actor, view_id)
    return Response(status_code=204)
