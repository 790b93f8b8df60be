"""CSV import of contacts (admins): upload → dry run report → import, with progress.

``POST /contacts/imports`` takes the CSV as the request body (``text/csv``), stores it,
and starts a dry run; ``POST /contacts/imports/{id}/run`` imports the same file for
real; ``GET /contacts/imports/{id}`` is polled for progress and the report.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlmodel import col, select

from hub.api.deps import current_actor, get_hub
from hub.api.errors import ApiError
from hub.api.schemas import Id
from hub.context import Hub
from hub.models import ImportJob, Role
from hub.services.access import Actor, require_role
from hub.services.errors import Conflict, NotFound

router = APIRouter(prefix="/contacts/imports", tags=["contacts"])
MAX_BYTES = 200 * 1024 * 1024


class ImportOut(BaseModel):
    id: int
    dry_run: bool
    status: str
    filename: str
    total_bytes: int
    processed_bytes: int
    progress: float
    rows: int
    created: int
    matched: int
    updated: int
    skipped: int
    errors: list[dict[str, Any]]
    source_job_id: int | None
    created_at: datetime
    finished_at: datetime | None


def _out(job: ImportJob) -> ImportOut:
    data = job.model_dump()
    data["progress"] = round(job.processed_bytes / job.total_bytes, 4) if job.total_bytes else 1.0
    return ImportOut.model_validate(data)


@router.post("", response_model=ImportOut, status_code=202)
async def upload(
    request: Request,
    filename: str = Query(default="contacts.csv", max_length=255),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> ImportOut:
    """Store the CSV body and start a dry run (nothing is written to contacts)."""
    require_role(actor, Role.admin)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("text/csv", "application/csv", "application/octet-stream", "text/plain"):
        raise ApiError(415, "unsupported_media_type", "send the CSV file as the body (text/csv)")
    folder = hub.settings.data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    size = 0
    out = await asyncio.to_thread(path.open, "wb")
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BYTES:
                raise ApiError(413, "too_large", f"at most {MAX_BYTES // (1024 * 1024)} MB per import")
            await asyncio.to_thread(out.write, chunk)
    except BaseException:
        out.close()
        path.unlink(missing_ok=True)
        raise
    await asyncio.to_thread(out.close)
    if size == 0:
        path.unlink(missing_ok=True)
        raise ApiError(422, "empty_file", "the file is empty")
    return await _create(hub, actor, path=str(path), filename=filename, size=size, dry_run=True)


async def _create(
    hub: Hub, actor: Actor, *, path: str, filename: str, size: int, dry_run: bool, source: int | None = None
) -> ImportOut:
    async with hub.db.transaction() as s:
        job = ImportJob(
            dry_run=dry_run,
            filename=filename,
            path=path,
            total_bytes=size,
            created_by=actor.user_id,
            created_at=hub.now(),
            source_job_id=source,
        )
        s.add(job)
        await s.flush()
    assert job.id is not None
    hub.imports.start(job.id)
    return _out(job)


@router.post("/{job_id}/run", response_model=ImportOut, status_code=202)
async def run(job_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> ImportOut:
    """Import for real the file a finished dry run checked."""
    require_role(actor, Role.admin)
    async with hub.db.session() as s:
        dry = await s.get(ImportJob, job_id)
    if dry is None:
        raise NotFound(f"import {job_id} not found")
    if not dry.dry_run or dry.status != "done":
        raise Conflict("run the import after its dry run has finished", code="not_dry_run")
    return await _create(
        hub, actor, path=dry.path, filename=dry.filename, size=dry.total_bytes, dry_run=False, source=dry.id
    )


@router.get("/{job_id}", response_model=ImportOut)
async def get_import(
    job_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ImportOut:
    require_role(actor, Role.admin)
    async with hub.db.session() as s:
        job = await s.get(ImportJob, job_id)
    if job is None:
        raise NotFound(f"import {job_id} not found")
    return _out(job)


@router.get("", response_model=list[ImportOut])
async def list_imports(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> list[ImportOut]:
    require_role(actor, Role.admin)
    async with hub.db.session() as s:
        rows = (await s.exec(select(ImportJob).order_by(col(ImportJob.id).desc()).limit(50))).all()
    return [_out(j) for j in rows]
