"""Typed bus events. Payload schemas reject unknown fields: a stray key is a bug."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.timeutil import utcnow


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessagePayload(_Payload):
    conversation_id: int
    message_id: int
    channel: str
    direction: str
    author_type: str
    author_id: int | None = None
    kind: str
    body: str
    subject: str = ""
    delivery_status: str
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime


class MessageStatusPayload(_Payload):
    conversation_id: int
    message_id: int
    delivery_status: str
    error: str | None = None
    provider_message_id: str | None = None


class ConversationPayload(_Payload):
    conversation_id: int
    contact_id: int
    channel: str
    status: str
    team_id: int | None = None
    assignee_id: int | None = None
    previous_assignee_id: int | None = None
    previous_team_id: int | None = None
    priority: int = 0
    category: str | None = None
    reason: str | None = None


class PresencePayload(_Payload):
    user_id: int
    presence: str
    previous: str
    reason: str | None = None


class OutboxPayload(_Payload):
    outbox_id: int
    message_id: int
    channel: str


class OfferPayload(_Payload):
    offer_id: int
    conversation_id: int
    user_id: int
    expires_at: datetime | None = None
    status: str


class UserPayload(_Payload):
    user_id: int


class TeamPayload(_Payload):
    team_id: int


class ContactMergedPayload(_Payload):
    source_id: int
    target_id: int


PAYLOADS: dict[str, type[_Payload]] = {
    "message.received": MessagePayload,
    "message.created": MessagePayload,
    "message.status": MessageStatusPayload,
    "conversation.created": ConversationPayload,
    "conversation.queued": ConversationPayload,
    "conversation.assigned": ConversationPayload,
    "conversation.transferred": ConversationPayload,
    "conversation.resolved": ConversationPayload,
    "conversation.reopened": ConversationPayload,
    "conversation.updated": ConversationPayload,
    "presence.changed": PresencePayload,
    "user.updated": UserPayload,
    "team.updated": TeamPayload,
    "outbox.enqueued": OutboxPayload,
    "offer.created": OfferPayload,
    "offer.updated": OfferPayload,
    "contact.merged": ContactMergedPayload,
}


class Event(BaseModel):
    """A committed fact. ``id`` is the event-log row id: increasing, resumable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    type: str
    ts: datetime = Field(default_factory=utcnow)
    conversation_id: int | None = None
    team_id: int | None = None
    user_id: int | None = None
    actor_id: int | None = None
    payload: dict[str, Any]


def validate_payload(event_type: str, payload: _Payload | dict[str, Any]) -> dict[str, Any]:
    """Check ``payload`` against the schema of ``event_type``; return JSON-ready data."""
    schema = PAYLOADS.get(event_type)
    if schema is None:
        raise ValueError(f"unknown event type {event_type!r}")
    model = payload if isinstance(payload, schema) else schema.model_validate(payload)
    return model.model_dump(mode="json")
