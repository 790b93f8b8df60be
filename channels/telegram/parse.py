"""Telegram Update JSON -> :class:`~hub.domain.InboundMessage` (pure: no I/O).

Media is not downloaded here. An attachment carries the reference
``telegram:file_id:<file_id>``: file ids stay valid for the bot, while the links getFile
hands out expire after an hour, so the reference is what must be stored. A later step can
fetch the bytes lazily (``bot.get_file(file_id)``) when someone opens the attachment, and
an agent can send a stored reference back to Telegram without downloading it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import Bot, Message, Update

from channels.telegram.config import KIND
from hub.domain import Attachment, InboundMessage

log = logging.getLogger(__name__)

FILE_REF_PREFIX = "telegram:file_id:"
_START_RE = re.compile(r"^/start(?:@\w+)?(?:\s+(?P<payload>\S+))?\s*$")
# Customer content with no text equivalent: shown as a placeholder rather than dropped,
# so an agent knows the customer did send something. Service messages (members joining,
# pinned messages, ...) are not in this list and are ignored.
_PLACEHOLDER_KINDS = ("poll", "dice", "game", "story", "invoice", "paid_media", "checklist", "giveaway")


class UpdateError(ValueError):
    """The body is JSON but not a Telegram Update (no integer ``update_id``)."""


class UnreadableUpdate(UpdateError):
    """A Telegram Update python-telegram-bot cannot read (e.g. a Bot API shape change)."""


@dataclass(slots=True)
class _Content:
    body: str
    attachments: tuple[Attachment, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


MAX_UPDATE_BYTES = 1_000_000
MAX_UPDATE_DEPTH = 32  # real Updates nest about 6 deep


def load_update(body: bytes) -> Any:
    """Parse a webhook body: size- and depth-bounded (no RecursionError), NUL characters removed.

    Raises ValueError for what is not acceptable JSON.
    """
    if len(body) > MAX_UPDATE_BYTES:
        raise ValueError("the update is too large")
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_UPDATE_DEPTH:
                raise ValueError("the update is nested too deeply")
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return strip_nul(json.loads(body))


def strip_nul(value: Any) -> Any:
    """The same value with NUL characters removed from every string (PostgreSQL cannot store them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {strip_nul(k): strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_nul(v) for v in value]
    return value


def update_type(raw: Mapping[str, Any]) -> str:
    """The Update's payload field (``message``, ``my_chat_member``, ...)."""
    return next((key for key in raw if key != "update_id"), "empty")


def parse_update(
    raw: dict[str, Any], *, bot_id: str, topics: Mapping[str, str], bot: Bot | None = None
) -> InboundMessage | None:
    """The message in ``raw``, or None for updates that carry no customer message."""
    update_id = raw.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise UpdateError("not a Telegram Update: expected an integer update_id")
    try:
        update = Update.de_json(raw, bot)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnreadableUpdate(
            f"telegram update {update_id} ({update_type(raw)}) could not be read: {type(exc).__name__}: {exc}"
        ) from None
    edited = update.message is None and update.edited_message is not None
    message = update.message or update.edited_message
    if message is None:
        return None
    content = _content(message)
    if content is None:
        return None
    sender, sender_name, language = _sender(message)
    meta = _meta(update.update_id, message, content, edited)
    team = _start_team(message.text or "", topics, meta)
    provider_id, received_at = _identity(message, edited)
    return InboundMessage(
        channel=KIND,
        provider_message_id=provider_id,
        address_kind="telegram",
        sender=sender,
        sender_name=sender_name,
        channel_account=bot_id,
        thread_key=str(message.chat.id),  # a group and a private chat with one person stay apart
        body=content.body,
        kind="media" if content.attachments else "text",
        attachments=content.attachments,
        team=team,
        language=language,
        received_at=received_at,
        meta=meta,
        raw=raw,
    )


def _identity(message: Message, edited: bool) -> tuple[str, datetime]:
    """The provider message id and when the customer wrote (or edited) it.

    A message id is unique within its chat; an edit keeps the id, so the edit time makes
    each edit its own message, while a redelivered update stays one.
    """
    provider_id = f"{message.chat.id}:{message.message_id}"
    if edited and message.edit_date is not None:
        return f"{provider_id}:edit:{int(message.edit_date.timestamp())}", message.edit_date
    return provider_id, message.date


def _meta(update_id: int, message: Message, content: _Content, edited: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "update_id": update_id,
        "message_id": message.message_id,
        "chat_type": str(message.chat.type),
        **content.meta,
    }
    if message.chat.title:
        meta["chat_title"] = message.chat.title
    if message.sender_chat is None and message.from_user is not None and message.from_user.username:
        meta["username"] = message.from_user.username
    if message.media_group_id:
        meta["media_group_id"] = message.media_group_id  # album parts arrive one by one
    if edited:
        meta["edited"] = True
    return meta


def _sender(message: Message) -> tuple[str, str, str | None]:
    # Sent on behalf of a chat (anonymous group admin, linked channel): `from` is then a
    # placeholder bot shared by every such chat, so the chat is the sender.
    if message.sender_chat is not None:
        return str(message.sender_chat.id), message.sender_chat.effective_name or "", None
    user = message.from_user
    if user is not None:
        name = " ".join(part for part in (user.first_name, user.last_name) if part)
        return str(user.id), name, user.language_code
    return str(message.chat.id), message.chat.effective_name or "", None


def _start_team(text: str, topics: Mapping[str, str], meta: dict[str, Any]) -> str | None:
    """``/start <topic>`` from a t.me deep link picks the team; None = channel default."""
    match = _START_RE.match(text)
    if match is None or not match.group("payload"):
        return None
    topic = match.group("payload")
    meta["start_payload"] = topic
    team = topics.get(topic)
    if team is None:
        log.info("telegram /start topic %r is not in channels.telegram.topics; using the default team", topic)
    return team


def _content(message: Message) -> _Content | None:
    lines = [message.text or message.caption or ""]
    attachments = _attachments(message)
    meta: dict[str, Any] = {}
    for describe in (_venue, _location, _contact):
        described = describe(message)
        if described is not None:
            line, key, details = described
            lines.append(line)
            meta[key] = details
    if message.sticker is not None and not lines[0]:
        lines[0] = message.sticker.emoji or ""  # the console cannot draw the sticker yet
    body = "\n".join(line for line in lines if line)
    if body or attachments or meta:
        return _Content(body, attachments, meta)
    for kind in _PLACEHOLDER_KINDS:
        if getattr(message, kind, None):
            return _Content(
                f"[Telegram {kind.replace('_', ' ')}: not supported here]", meta={"unsupported": kind}
            )
    return None


# Shared things without a file: a line for the agent to read and details for meta.
Described = tuple[str, str, dict[str, Any]]


def _venue(message: Message) -> Described | None:
    venue = message.venue
    if venue is None:
        return None
    return f"Venue: {venue.title}, {venue.address}", "venue", {"title": venue.title, "address": venue.address}


def _location(message: Message) -> Described | None:
    location = message.location  # also present on venues
    if location is None:
        return None
    lat, lon = location.latitude, location.longitude
    details: dict[str, Any] = {"latitude": lat, "longitude": lon}
    if location.horizontal_accuracy is not None:
        details["horizontal_accuracy"] = location.horizontal_accuracy
    return (
        f"Location: {lat}, {lon} (https://www.openstreetmap.org/?mlat={lat}&mlon={lon})",
        "location",
        details,
    )


def _contact(message: Message) -> Described | None:
    contact = message.contact
    if contact is None:
        return None
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    details = {
        "phone_number": contact.phone_number,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "user_id": contact.user_id,
    }
    return f"Contact: {name}, {contact.phone_number}", "contact", details


def _file_attachment(file: Any, filename: str, content_type: str) -> Attachment:
    return Attachment(
        filename=filename,
        content_type=content_type,
        size=file.file_size,
        url=f"{FILE_REF_PREFIX}{file.file_id}",
    )


def _sticker_format(sticker: Any) -> tuple[str, str]:
    if sticker.is_animated:
        return "tgs", "application/x-tgsticker"
    if sticker.is_video:
        return "webm", "video/webm"
    return "webp", "image/webp"


def _attachments(m: Message) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    if m.photo:
        # Telegram sends several sizes of one photo; keep the largest.
        p = max(m.photo, key=lambda s: (s.width * s.height, s.file_size or 0))
        found.append(_file_attachment(p, f"photo_{p.file_unique_id}.jpg", "image/jpeg"))
    if m.animation is not None:
        a = m.animation
        found.append(
            _file_attachment(
                a, a.file_name or f"animation_{a.file_unique_id}.mp4", a.mime_type or "video/mp4"
            )
        )
    elif m.document is not None:  # an animation also fills in `document`; keep one copy
        d = m.document
        found.append(
            _file_attachment(
                d, d.file_name or f"document_{d.file_unique_id}", d.mime_type or "application/octet-stream"
            )
        )
    if m.voice is not None:
        v = m.voice
        found.append(_file_attachment(v, f"voice_{v.file_unique_id}.ogg", v.mime_type or "audio/ogg"))
    if m.audio is not None:
        au = m.audio
        found.append(
            _file_attachment(
                au, au.file_name or f"audio_{au.file_unique_id}.mp3", au.mime_type or "audio/mpeg"
            )
        )
    if m.video is not None:
        vi = m.video
        found.append(
            _file_attachment(
                vi, vi.file_name or f"video_{vi.file_unique_id}.mp4", vi.mime_type or "video/mp4"
            )
        )
    if m.video_note is not None:
        vn = m.video_note
        found.append(_file_attachment(vn, f"video_note_{vn.file_unique_id}.mp4", "video/mp4"))
    if m.sticker is not None:
        ext, content_type = _sticker_format(m.sticker)
        found.append(_file_attachment(m.sticker, f"sticker_{m.sticker.file_unique_id}.{ext}", content_type))
    return tuple(found)
