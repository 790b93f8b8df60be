"""The audit log (admins) and the first-run checklist (admins)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import MAX_ID, Out, Page
from hub.context import Hub
from hub.models import Role
from hub.services import audit_query
from hub.services.access import Actor, require_role
from hub.services.errors import NotFound
from hub.timeutil import ensure_utc

router = APIRouter(tags=["audit"])


class AuditEntryOut(Out):
    id: int
    ts: datetime
    type: str
    actor_id: int | None
    actor_name: str | None
    conversation_id: int | None
    team_id: int | None
    user_id: int | None
    changes: dict[str, list[Any]]
    payload: dict[str, Any]


@router.get("/audit", response_model=Page[AuditEntryOut])
async def list_audit(
    actor_id: int | None = Query(default=None, ge=1, le=MAX_ID, description="who did it"),
    kind: str | None = Query(
        default=None,
        max_length=64,
        pattern=r"^[a-z_]+(\.[a-z_]+)?$",
        description="an event kind (`user`, `team`, `conversation`…) or a whole type (`user.updated`)",
    ),
    entity: Literal["conversation", "team", "user"] | None = Query(
        default=None, description="what it concerns; with entity_id"
    ),
    entity_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    since: datetime | None = Query(default=None, description="from this time (inclusive)"),
    until: datetime | None = Query(default=None, description="up to this time (exclusive)"),
    cursor: int | None = Query(default=None, ge=1, le=MAX_ID, description="next_cursor of the previous page"),
    limit: int = Query(default=50, ge=1, le=audit_query.MAX_LIMIT),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[AuditEntryOut]:
    """Who changed what and when, newest first (admins). ``changes`` holds each changed
    field's ``[before, after]`` where the entry records them."""
    f = audit_query.AuditFilter(
        actor_id=actor_id,
        kind=kind,
        entity=entity,
        entity_id=entity_id,
        since=ensure_utc(since) if since else None,
        until=ensure_utc(until) if until else None,
    )
    items, next_cursor = await audit_query.list_entries(hub, actor, f, before=cursor, limit=limit)
    return Page[AuditEntryOut](items=[AuditEntryOut(**i) for i in items], next_cursor=next_cursor)


class ChecklistStep(Out):
    key: str
    done: bool
    count: int


class ChecklistOut(Out):
    steps: list[ChecklistStep]
    channels: list[str]
    complete: bool


@router.get("/setup/checklist", response_model=ChecklistOut)
async def setup_checklist(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> ChecklistOut:
    """What an empty hub still needs (admins): a team, agents, a connected channel."""
    return ChecklistOut(**await audit_query.checklist(hub, actor))


GUIDES_DIR = Path(__file__).resolve().parents[2] / "docs" / "channels"


@router.get("/setup/guides/{name}", response_class=PlainTextResponse)
async def channel_guide(
    name: Literal["webchat", "email", "telegram", "twilio"], actor: Actor = Depends(current_actor)
) -> PlainTextResponse:
    """A channel's setup guide (docs/channels/<name>.md) as plain text, for the
    checklist's links (admins)."""
    require_role(actor, Role.admin)
    path = GUIDES_DIR / f"{name}.md"
    if not path.is_file():
        raise NotFound(f"the guide {name!r} is not installed with this hub", code="not_found")
    return PlainTextResponse(path.read_text(encoding="utf-8"))
