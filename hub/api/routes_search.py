"""Conversation search: text and filters over every conversation the caller may see
(hub.services.search), newest activity first, keyset-paged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import ConversationOut, Id
from hub.context import Hub
from hub.models import Category, ConversationStatus
from hub.services import search, views
from hub.services.access import Actor
from hub.services.contact_fields import invalid_fields
from hub.services.live import enrich

router = APIRouter(prefix="/search", tags=["search"])

MAX_TOTAL = 1000  # ``count=true`` counts up to here ("1000+")
Priority = Annotated[int, Query(ge=-search.MAX_PRIORITY, le=search.MAX_PRIORITY)]


class MatchOut(BaseModel):
    """Where the words are: an excerpt of the best matching message."""

    message_id: int
    kind: str  # text, note, call, …
    direction: str  # inbound, outbound, internal
    created_at: datetime
    text: str  # whitespace collapsed, "…" where cut
    marks: list[tuple[int, int]]  # [start, end) of each word found, in ``text``'s characters


class SearchHitOut(ConversationOut):
    # None when only the customer's details matched (or there was no text).
    match: MatchOut | None = None


class SearchPage(BaseModel):
    items: list[SearchHitOut]
    next_cursor: str | None = None
    total: int | None = None  # only with count=true; at most 1,000
    total_capped: bool = False  # more than ``total`` match
    # The event-log position the text indexes had applied before this page was read:
    # the words found include every message of the events up to here.
    indexed_through: int = 0


@router.get("/conversations", response_model=SearchPage)
async def search_conversations(
    q: str = Query(default="", max_length=200, description="words, each looked for as a substring"),
    status: list[ConversationStatus] = Query(default=[]),
    channel: list[str] = Query(default=[], max_length=20),
    team_id: list[Id] = Query(default=[]),
    assignee: str | None = Query(
        default=None, pattern=r"^(me|unassigned|[1-9][0-9]{0,9})$", description="me, unassigned or a user id"
    ),
    label: str | None = Query(default=None, min_length=1, max_length=100),
    category: list[Category] = Query(default=[]),
    priority_min: Priority | None = None,
    priority_max: Priority | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    active_after: datetime | None = Query(default=None, description="last activity at or after"),
    active_before: datetime | None = Query(default=None, description="last activity before"),
    view_id: Id | None = Query(default=None, description="a saved view's filters instead of the above"),
    limit: int = Query(default=50, ge=1, le=100),
    cursor: str | None = Query(default=None, max_length=200, description="next_cursor of the previous page"),
    count: bool = Query(default=False, description="also count the matches (up to 1,000)"),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> SearchPage:
    given: dict[str, Any] = {
        "q": q,
        "status": status,
        "channel": channel,
        "team_id": team_id,
        "assignee": int(assignee) if assignee and assignee.isdigit() else assignee,
        "label": label,
        "category": category,
        "priority_min": priority_min,
        "priority_max": priority_max,
        "created_after": created_after,
        "created_before": created_before,
        "active_after": active_after,
        "active_before": active_before,
    }
    given = {k: v for k, v in given.items() if v not in (None, "", [])}
    region = hub.settings.default_phone_region
    async with hub.db.session() as s:
        indexed = await search.indexed_through(s)
        if view_id is not None:
            if given:
                raise invalid_fields([("view_id", "view_and_filters", "give view_id or filters, not both")])
            f = search.parse_filter((await views.load_view(s, actor, view_id)).filters, prefix="filters.")
        else:
            f = search.parse_filter(given, prefix="query.")
        try:
            rows, next_cursor = await search.page(
                s, f, actor, limit=limit, cursor=cursor, is_sqlite=hub.db.is_sqlite, region=region
            )
        except search.BadCursor as exc:
            raise invalid_fields([("query.cursor", "bad_cursor", str(exc))]) from None
        found = await search.matches(s, [r.id for r in rows if r.id is not None], f.q, region)
        total = None
        if count:
            total = await search.count(s, f, actor, cap=MAX_TOTAL, is_sqlite=hub.db.is_sqlite, region=region)
    items = []
    for row in await enrich(hub, actor, rows):
        hit = found.get(row["id"])
        items.append(
            SearchHitOut.model_validate(
                {**row, "match": MatchOut.model_validate(hit, from_attributes=True) if hit else None}
            )
        )
    return SearchPage(
        items=items,
        next_cursor=next_cursor,
        total=min(total, MAX_TOTAL) if total is not None else None,
        total_capped=total is not None and total > MAX_TOTAL,
        indexed_through=indexed,
    )
