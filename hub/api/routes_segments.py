"""Segments: saved contact filters with live counts, member lists, CSV export and the
"which channel does each segment prefer" table (supervisors and admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse

from hub.api.deps import current_actor, get_hub
from hub.api.routes_contacts import contact_page, csv_response
from hub.api.schemas import ContactPage, Id, SegmentIn, SegmentOut, SegmentPatch
from hub.context import Hub
from hub.crm.contact_query import Sort, count_query, preference_query
from hub.services import segments
from hub.services.access import Actor

router = APIRouter(prefix="/segments", tags=["segments"])


async def _out(hub: Hub, actor: Actor, seg: Any, *, with_count: bool = True) -> SegmentOut:
    count = None
    if with_count:
        f = segments.parse_filter(seg.filter)
        async with hub.db.session() as s:
            conn = await s.connection()
            stmt = count_query(f, actor, is_sqlite=hub.db.is_sqlite, region=hub.settings.default_phone_region)
            count = (await conn.execute(stmt)).scalar()
    return SegmentOut.model_validate(seg).model_copy(update={"count": count})


@router.get("", response_model=list[SegmentOut])
async def list_segments(
    counts: bool = Query(default=True, description="count each segment's members"),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> list[SegmentOut]:
    async with hub.db.session() as s:
        rows = await segments.list_segments(s, actor)
    return [await _out(hub, actor, r, with_count=counts) for r in rows]


@router.post("", response_model=SegmentOut, status_code=201)
async def create_segment(
    body: SegmentIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> SegmentOut:
    return await _out(hub, actor, await segments.create_segment(hub, actor, body.model_dump()))


@router.get("/channel-preferences")
async def channel_preferences(
    actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> list[dict[str, Any]]:
    """For each segment: its members counted by their preferred channel (the one they
    used most in the last 90 days; ``none``: no conversation in 90 days)."""
    async with hub.db.session() as s:
        rows = await segments.list_segments(s, actor)
        conn = await s.connection()
        out = []
        for seg in rows:
            f = segments.parse_filter(seg.filter)
            stmt = preference_query(
                f, actor, is_sqlite=hub.db.is_sqlite, region=hub.settings.default_phone_region
            )
            counts = {str(ch or "none"): int(n) for ch, n in (await conn.execute(stmt)).all()}
            out.append(
                {"segment_id": seg.id, "name": seg.name, "total": sum(counts.values()), "by_channel": counts}
            )
    return out


@router.get("/{segment_id}", response_model=SegmentOut)
async def get_segment(
    segment_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> SegmentOut:
    async with hub.db.session() as s:
        seg = await segments.load_segment(s, actor, segment_id)
    return await _out(hub, actor, seg)


@router.patch("/{segment_id}", response_model=SegmentOut)
async def update_segment(
    segment_id: Id, body: SegmentPatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> SegmentOut:
    seg = await segments.update_segment(hub, actor, segment_id, body.model_dump(exclude_unset=True))
    return await _out(hub, actor, seg)


@router.delete("/{segment_id}", status_code=204)
async def delete_segment(
    segment_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await segments.delete_segment(hub, actor, segment_id)
    return Response(status_code=204)


@router.get("/{segment_id}/contacts", response_model=ContactPage)
async def segment_contacts(
    segment_id: Id,
    sort: Sort = "created",
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=400),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> ContactPage:
    async with hub.db.session() as s:
        seg = await segments.load_segment(s, actor, segment_id)
    f = segments.parse_filter(seg.filter)
    return await contact_page(hub, actor, f, sort=sort, limit=limit, cursor=cursor, count=False)


@router.get("/{segment_id}/export.csv", response_class=StreamingResponse)
async def export_segment(
    segment_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> StreamingResponse:
    async with hub.db.session() as s:
        seg = await segments.load_segment(s, actor, segment_id)
    return await csv_response(hub, actor, segments.parse_filter(seg.filter), f"segment-{segment_id}")
