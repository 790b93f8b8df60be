"""The complaints register (docs/complaints.md): the board, one complaint with its
history, changes, notes, linked conversations, and the admin's options."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from sqlmodel import col, select

from hub.api.deps import current_actor, get_hub
from hub.api.errors import ApiError
from hub.api.routes_attachments import stored_download
from hub.api.schemas import Id, Position
from hub.api.schemas_care import (
    ComplaintDetail,
    ComplaintIn,
    ComplaintOut,
    ComplaintPage,
    ComplaintPatch,
    EntryOut,
    LinkIn,
    NoteIn,
    OptionIn,
    OptionOut,
)
from hub.context import Hub
from hub.models import OPEN_COMPLAINT, Complaint, ComplaintConversation, Contact
from hub.services import complaints
from hub.services.access import Actor
from hub.services.errors import NotFound

router = APIRouter(tags=["complaints"])


def _out(c: Complaint, hub: Hub, contact_name: str = "") -> ComplaintOut:
    files = [
        {
            "index": i,
            "filename": str(a.get("filename") or f"attachment-{i}"),
            "content_type": str(a.get("content_type") or "application/octet-stream"),
            "size": a.get("size"),
            "url": f"/api/v1/complaints/{c.id}/attachments/{i}",
        }
        for i, a in enumerate(c.attachments or [])
    ]
    return ComplaintOut.model_validate(c).model_copy(
        update={
            "overdue": complaints.is_overdue(c, hub.now()),
            "contact_name": contact_name,
            "attachments": files,
        }
    )


@router.get("/complaints", response_model=ComplaintPage)
async def list_complaints(
    status: list[str] = Query(default=[], max_length=10, description="open: every open status"),
    severity: str | None = Query(default=None, max_length=40),
    category: str | None = Query(default=None, max_length=40),
    team_id: Id | None = None,
    assignee_id: Id | None = None,
    mine: bool = False,
    overdue: bool = False,
    escalated: bool = False,
    attention: bool = Query(default=False, description="open and escalated or overdue"),
    contact_id: Id | None = None,
    conversation_id: Id | None = None,
    min_age_days: int | None = Query(default=None, ge=0, le=3650),
    before: Position | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> ComplaintPage:
    now = hub.now()
    stmt = select(Complaint, Contact.name).join(Contact, col(Contact.id) == Complaint.contact_id)
    stmt = stmt.where(complaints.visible_complaints(actor))
    statuses = [s for s in status if s != "open"] + (list(OPEN_COMPLAINT) if "open" in status else [])
    if statuses:
        stmt = stmt.where(col(Complaint.status).in_(statuses))
    for column, value in (
        (Complaint.severity, severity),
        (Complaint.category, category),
        (Complaint.team_id, team_id),
        (Complaint.assignee_id, assignee_id),
        (Complaint.contact_id, contact_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if mine:
        stmt = stmt.where(Complaint.assignee_id == actor.user_id)
    if overdue:
        stmt = stmt.where(
            col(Complaint.status).in_(OPEN_COMPLAINT),
            sa.or_(
                sa.and_(col(Complaint.responded_at).is_(None), col(Complaint.response_due_at) <= now),
                col(Complaint.resolution_due_at) <= now,
            ),
        )
    if escalated:
        stmt = stmt.where(col(Complaint.escalated_at).is_not(None))
    if attention:
        stmt = stmt.where(
            col(Complaint.status).in_(OPEN_COMPLAINT),
            sa.or_(
                col(Complaint.escalated_at).is_not(None),
                sa.and_(col(Complaint.responded_at).is_(None), col(Complaint.response_due_at) <= now),
                col(Complaint.resolution_due_at) <= now,
            ),
        )
    if conversation_id is not None:
        linked = select(ComplaintConversation.complaint_id).where(
            ComplaintConversation.conversation_id == conversation_id
        )
        stmt = stmt.where(col(Complaint.id).in_(linked))
    if min_age_days is not None:
        from datetime import timedelta

        stmt = stmt.where(col(Complaint.created_at) <= now - timedelta(days=min_age_days))
    if before is not None:
        stmt = stmt.where(col(Complaint.id) < before)
    stmt = stmt.order_by(col(Complaint.id).desc()).limit(limit + 1)
    async with hub.db.session() as s:
        rows = (await s.exec(stmt)).all()
    items = [_out(c, hub, name) for c, name in rows[:limit]]
    return ComplaintPage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)


@router.post("/complaints", response_model=ComplaintOut, status_code=201)
async def open_complaint(
    body: ComplaintIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ComplaintOut:
    c = await complaints.open_complaint(
        hub,
        actor,
        complaints.NewComplaint(**body.model_dump()),
        source="agent" if body.conversation_id else "api",
    )
    return _out(c, hub)


@router.get("/complaints/{complaint_id}", response_model=ComplaintDetail)
async def get_complaint(
    complaint_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ComplaintDetail:
    async with hub.db.session() as s:
        c = await complaints.get_complaint(s, actor, complaint_id)
        contact = await s.get(Contact, c.contact_id)
        links = await complaints.linked_conversations(s, complaint_id)
        entries = await complaints.history(s, complaint_id)
    base = _out(c, hub, contact.name if contact else "")
    return ComplaintDetail(
        **base.model_dump(),
        conversations=links,
        history=[EntryOut.model_validate(e) for e in entries],
    )


@router.patch("/complaints/{complaint_id}", response_model=ComplaintOut)
async def update_complaint(
    complaint_id: Id, body: ComplaintPatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ComplaintOut:
    patch = body.model_dump(exclude_unset=True)
    return _out(await complaints.update_complaint(hub, actor, complaint_id, patch), hub)


@router.post("/complaints/{complaint_id}/notes", response_model=EntryOut, status_code=201)
async def add_note(
    complaint_id: Id, body: NoteIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> EntryOut:
    return EntryOut.model_validate(await complaints.add_note(hub, actor, complaint_id, body.body))


@router.post("/complaints/{complaint_id}/conversations", response_model=ComplaintOut)
async def link_conversation(
    complaint_id: Id, body: LinkIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ComplaintOut:
    return _out(await complaints.link_conversation(hub, actor, complaint_id, body.conversation_id), hub)


MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


@router.post("/complaints/{complaint_id}/attachments", response_model=ComplaintOut, status_code=201)
async def upload_attachment(
    complaint_id: Id,
    request: Request,
    filename: str = Query(default="file", min_length=1, max_length=255),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> ComplaintOut:
    """The file is the request body (its Content-Type is kept as declared, and served
    back only as a download)."""
    async with hub.db.session() as s:
        await complaints.get_complaint(s, actor, complaint_id)  # rights before reading the body
    folder = Path(hub.settings.data_dir) / "attachments" / "complaints"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / uuid.uuid4().hex
    size = 0
    out = await asyncio.to_thread(path.open, "wb")
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_ATTACHMENT_BYTES:
                raise ApiError(
                    413, "too_large", f"at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB per file"
                )
            await asyncio.to_thread(out.write, chunk)
    except BaseException:
        out.close()
        path.unlink(missing_ok=True)
        raise
    await asyncio.to_thread(out.close)
    if size == 0:
        path.unlink(missing_ok=True)
        raise ApiError(422, "empty_file", "the file is empty")
    stored = {
        "filename": Path(filename).name[:255] or "file",
        "content_type": request.headers.get("content-type", "application/octet-stream")[:100],
        "size": size,
        "path": str(path),
    }
    try:
        c = await complaints.add_attachment(hub, actor, complaint_id, stored)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return _out(c, hub)


@router.get("/complaints/{complaint_id}/attachments/{index}")
async def download_attachment(
    complaint_id: Id, index: Position, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> FileResponse:
    async with hub.db.session() as s:
        c = await complaints.get_complaint(s, actor, complaint_id)
    if not 0 <= index < len(c.attachments or []):
        raise NotFound(f"complaint {complaint_id} has no attachment {index}")
    return stored_download(hub, c.attachments[index], index)


@router.get("/complaint-options", response_model=list[OptionOut])
async def list_options(
    kind: str | None = Query(default=None, max_length=16),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> list[Any]:
    async with hub.db.session() as s:
        return await complaints.list_options(s, kind)


@router.put("/complaint-options/{kind}/{key}", response_model=OptionOut)
async def save_option(
    kind: str, key: str, body: OptionIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Any:
    return await complaints.save_option(hub, actor, kind, key, body.model_dump())
