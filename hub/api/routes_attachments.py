"""Stored attachments, served only to users who may see the message's conversation.

Customer files are hostile by default: always a download (``Content-Disposition:
attachment``), never sniffed, sandboxed by CSP, and served as one of a few inert types
(anything else, HTML and SVG included, is ``application/octet-stream``). Only files
inside an attachment directory the hub configured are ever read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import Id, Position
from hub.context import Hub
from hub.files import attachment_roots
from hub.models import Conversation, Message
from hub.services.access import Actor, require_view
from hub.services.errors import NotFound

router = APIRouter(prefix="/messages", tags=["attachments"])

# Types a browser will not execute; everything else downloads as opaque bytes.
SAFE_TYPES = frozenset(
    {
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff", "image/heic",
        "application/pdf", "text/plain", "text/csv", "audio/mpeg", "audio/ogg", "audio/wav", "audio/mp4",
        "video/mp4", "video/webm", "video/quicktime", "application/zip",
    }
)  # fmt: skip


def safe_content_type(declared: str | None) -> str:
    ctype = (declared or "").split(";")[0].strip().lower()
    return ctype if ctype in SAFE_TYPES else "application/octet-stream"


def _stored_file(hub: Hub, path: str | None) -> Path | None:
    if not path:
        return None
    try:
        resolved = Path(path).resolve()
    except (OSError, ValueError):
        return None
    if not any(resolved.is_relative_to(root) for root in attachment_roots(hub)):
        return None
    return resolved if resolved.is_file() else None


@router.get("/{message_id}/attachments/{index}")
async def download_attachment(
    message_id: Id, index: Position, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> FileResponse:
    async with hub.db.session() as s:
        message = await s.get(Message, message_id)
        conv = await s.get(Conversation, message.conversation_id) if message is not None else None
    if message is None or conv is None:
        raise NotFound(f"message {message_id} not found")
    require_view(actor, conv)
    if not 0 <= index < len(message.attachments):
        raise NotFound(f"message {message_id} has no attachment {index}")
    return stored_download(hub, message.attachments[index], index)


def stored_download(hub: Hub, meta: dict[str, Any], index: int) -> FileResponse:
    """A stored customer file as a download: never sniffed, sandboxed, inert type."""
    file = _stored_file(hub, meta.get("path"))
    if file is None:
        raise NotFound("this attachment is not stored on this hub", code="attachment_not_stored")
    return FileResponse(
        file,
        media_type=safe_content_type(meta.get("content_type")),
        filename=str(meta.get("filename") or f"attachment-{index}"),
        content_disposition_type="attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
