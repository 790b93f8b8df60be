"""Typed bus events. Payload schemas reject unknown fields: a stray key is a bug."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from hub.timeutil import utcnow


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachmentRef(BaseModel):
    """An attachment as staff clients see it: where the stored file lives on the server
    (``path``) and the provider's media reference stay server-side; ``url`` is the hub's
    download route, which checks access. ``index`` is its key within the message."""

    model_config = ConfigDict(extra="forbid")

    index: int
    filename: str
    content_type: str
    size: int | None = None
    url: str


def attachment_url(message_id: int, index: int) -> str:
    return f"/api/v1/messages/{message_id}/attachments/{index}"


def public_attachments(message_id: int, stored: Sequence[Mapping[str, Any]]) -> list[AttachmentRef]:
    """The public view of a message's stored attachments (idempotent on public ones)."""
    out = []
    for i, a in enumerate(stored):
        size = a.get("size")
        out.append(
            AttachmentRef(
                index=i,
                filename=str(a.get("filename") or f"attachment-{i + 1}"),
                content_type=str(a.get("content_type") or "application/octet-stream"),
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                url=attachment_url(message_id, i),
            )
        )
    return out


def public_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """An event payload as clients see it. Rows written before attachments were made
    public carry stored paths and provider references; newer rows pass unchanged."""
    stored = payload.get("attachments")
    message_id = payload.get("message_id")
    if not stored or not isinstance(stored, list) or not isinstance(message_id, int):
        return payload
    refs = public_attachments(message_id, [a if isinstance(a, Mapping) else {} for a in stored])
    return {**payload, "attachments": [r.model_dump() for r in refs]}


def public_attachment_field(value: Any, id_field: str, info: ValidationInfo) -> Any:
    """Before-validator: stored attachment dicts (with ``path``) → public refs."""
    message_id = info.data.get(id_field)
    if not isinstance(value, (list, tuple)) or not isinstance(message_id, int):
        return value
    items = [a.model_dump() if isinstance(a, BaseModel) else a for a in value]
    return public_attachments(message_id, [a if isinstance(a, Mapping) else {} for a in items])


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
    attachments: list[AttachmentRef] = Field(default_factory=list)
    created_at: datetime
    whisper: bool = False  # a supervisor's note from the watch view (issue 16: supervision)

    @field_validator("attachments", mode="before")
    @classmethod
    def _public_attachments(cls, v: Any, info: ValidationInfo) -> Any:
        return public_attachment_field(v, "message_id", info)


def message_payload_json(
    *,
    conversation_id: int,
    message_id: int,
    channel: str,
    direction: str,
    author_type: str,
    author_id: int | None,
    kind: str,
    body: str,
    subject: str,
    delivery_status: str,
    created_at: datetime,
) -> dict[str, Any] | None:
    """A message event's payload for a message without attachments, JSON-ready: what
    :func:`validate_payload` makes of the :class:`MessagePayload` with these fields (a
    test holds the two equal), without building and dumping the model, which cost the
    ingest lane ~15 % of its CPU, one per message. None when ``created_at`` is not in UTC:
    then the model writes it."""
    if created_at.utcoffset() != _ZERO:
        return None
    at = created_at.isoformat()
    return {
        "conversation_id": conversation_id,
        "message_id": message_id,
        "channel": channel,
        "direction": direction,
        "author_type": author_type,
        "author_id": author_id,
        "kind": kind,
        "body": body,
        "subject": subject,
        "delivery_status": delivery_status,
        "attachments": [],
        "created_at": at[:-6] + "Z",  # pydantic writes UTC as "Z"
        "whisper": False,
    }


_ZERO = timedelta(0)


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
    # conversation.abandoned: how long the customer waited, and whether past the target
    waited_seconds: float | None = None
    late: bool | None = None


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
    # The audit log (issue 16: admin): field -> [before, after] of an admin's change;
    # secrets are never recorded (a password change reads ["***", "***"]).
    changes: dict[str, list[Any]] = Field(default_factory=dict)
    reason: str | None = None  # created, updated, members, deleted


class TeamPayload(_Payload):
    team_id: int
    changes: dict[str, list[Any]] = Field(default_factory=dict)
    reason: str | None = None


class ContactMergedPayload(_Payload):
    source_id: int
    target_id: int


class ContactUpdatedPayload(_Payload):
    """A profile edit: which fields changed, with their old and new values (the
    timeline shows who changed what). Values are the stored JSON values."""

    contact_id: int
    changes: dict[str, list[Any]] = Field(default_factory=dict)  # field -> [old, new]
    reason: str | None = None


class ContactPayload(_Payload):
    """A fact about one contact: made by staff or an import (channels' first messages
    make contacts inside ``conversation.created``), exported, erased."""

    contact_id: int
    reason: str | None = None


class OrganizationPayload(_Payload):
    organization_id: int
    domains: list[str] = Field(default_factory=list)


class TiersChangedPayload(_Payload):
    keys: list[str]


class TierChangedPayload(_Payload):
    """``contact.tier_changed``: a contact's tiers after a recompute differ from before
    (hub.crm.figures); ``conversation_id`` is their newest open conversation, if any."""

    contact_id: int
    tiers: list[str]
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    conversation_id: int | None = None


class ComplaintPayload(_Payload):
    complaint_id: int
    reference: str
    contact_id: int
    status: str
    severity: str | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    conversation_id: int | None = None
    reason: str | None = None
    changes: dict[str, list[Any]] = Field(default_factory=dict)  # field -> [old, new]
    escalated_to: int | None = None  # complaint.escalated: the team told


class SurveyPayload(_Payload):
    survey_id: int
    kind: str
    contact_id: int
    channel: str
    status: str
    conversation_id: int | None = None
    complaint_id: int | None = None
    team_id: int | None = None
    agent_id: int | None = None
    score: int | None = None
    comment: str | None = None
    low_score: bool = False
    reason: str | None = None


class NotificationPayload(_Payload):
    """``notification.created`` (one row, as ``GET /notifications`` lists it) and
    ``notification.read`` (``ids`` read, or ``all``) — for the one user it is about."""

    notification_id: int | None = None
    kind: str | None = None
    conversation_id: int | None = None
    complaint_id: int | None = None
    actor_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None
    ids: list[int] = Field(default_factory=list)
    all: bool = False
    unread: int = 0


# -- internal messages between staff (issue 18: hub.services.chat) ------------------------
class ChatMessagePayload(_Payload):
    """``chat.message``: one message in a room. ``member_ids``: a direct message's two
    members (who alone receive it); ``conversation_ids``: conversations it names (each
    viewer asks for the cards they may see: ``GET /chat/cards``)."""

    message_id: int
    room_id: int
    room_kind: str
    team_id: int | None = None
    member_ids: list[int] = Field(default_factory=list)
    author_id: int | None = None
    body: str
    mentions: list[int] = Field(default_factory=list)
    conversation_ids: list[int] = Field(default_factory=list)
    created_at: datetime


class ChatReadPayload(_Payload):
    """``chat.read``: the reader's own consoles move their unread marker."""

    room_id: int
    last_read_message_id: int
    unread: int = 0


# -- tasks and follow-ups (issue 18: hub.services.tasks) --------------------------------------
class TaskPayload(_Payload):
    """``task.created|updated|completed|deleted`` and ``task.due`` (its reminder fired).
    The envelope's ``user_id``/``team_id`` are the assignees (hub.services.visibility)."""

    task_id: int
    title: str
    status: str
    priority: str
    assignee_user_id: int | None = None
    assignee_team_id: int | None = None
    due_at: datetime | None = None
    timezone: str = "UTC"
    recurrence: str = "none"
    contact_id: int | None = None
    conversation_id: int | None = None
    complaint_id: int | None = None
    source: str = "manual"
    created_by: int | None = None
    previous_assignee_id: int | None = None  # the names the console gateway indexes
    previous_team_id: int | None = None
    changes: list[str] = Field(default_factory=list)


# -- consent per contact and channel (issue 17) ---------------------------------------
class ConsentChangedPayload(_Payload):
    """A consent decision recorded (hub.services.consent): ``state`` opted_in,
    opted_out or None (back to unknown), ``previous`` what it was. ``changes`` in the
    form contact.updated uses, so the timeline and audit log read it alike."""

    contact_id: int
    channel: str = Field(max_length=20)
    purpose: str = Field(max_length=12)
    state: str | None = None
    previous: str | None = None
    source: str = Field(max_length=12)
    campaign_id: int | None = None
    note: str | None = Field(default=None, max_length=200)
    changes: dict[str, list[Any]] = Field(default_factory=dict)


# -- campaigns (issue 17) ------------------------------------------------------------
class CampaignPayload(_Payload):
    """A campaign's lifecycle (``campaign.created`` … ``.completed``), its throttled
    ``campaign.progress`` (``results``: counts by outcome) and ``campaign.replied`` (a
    reply opened ``conversation_id``). hub.campaigns."""

    campaign_id: int
    name: str = Field(default="", max_length=120)
    team_id: int | None = None
    status: str = Field(default="", max_length=12)
    results: dict[str, Any] | None = None
    at: datetime | None = None
    recipient_id: int | None = None
    contact_id: int | None = None
    conversation_id: int | None = None


# -- automation rules and macros (issue 18) --------------------------------------------
class RuleFiredPayload(_Payload):
    """``rule.fired``: a rule acted on a conversation (hub.rules.executor). ``actions``
    what it did, each ``{"type", "ok", ...its settings, "error"?}``; ``notify`` the users
    its notify actions tell (the notifications reactor turns them into ``rule``
    notifications)."""

    rule_id: int
    rule_name: str
    firing_id: int
    trigger: str
    outcome: str
    actions: list[dict[str, Any]] = Field(default_factory=list)
    notify: list[int] = Field(default_factory=list)
    text: str = ""


class RuleChangedPayload(_Payload):
    """``rule.changed`` (created, updated, deleted, reordered) and ``macro.changed``: an
    audit fact for admins (a macro's also for its owner)."""

    id: int | None = None
    name: str = ""
    change: str
    scope: str | None = None
    owner_id: int | None = None


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
    "conversation.abandoned": ConversationPayload,
    "conversation.updated": ConversationPayload,
    "presence.changed": PresencePayload,
    "user.updated": UserPayload,
    "team.updated": TeamPayload,
    "outbox.enqueued": OutboxPayload,
    "offer.created": OfferPayload,
    "offer.updated": OfferPayload,
    "contact.merged": ContactMergedPayload,
    "contact.updated": ContactUpdatedPayload,
    "contact.created": ContactPayload,
    "contact.exported": ContactPayload,
    "contact.erased": ContactPayload,
    "tiers.changed": TiersChangedPayload,
    "contact.tier_changed": TierChangedPayload,
    "organization.updated": OrganizationPayload,
    "complaint.opened": ComplaintPayload,
    "complaint.updated": ComplaintPayload,
    "complaint.escalated": ComplaintPayload,
    "survey.sent": SurveyPayload,
    "survey.answered": SurveyPayload,
    "survey.low_score": SurveyPayload,
    "survey.closed": SurveyPayload,
    "notification.created": NotificationPayload,  # issue 16: notifications
    "notification.read": NotificationPayload,
    # (reserved: consent)
    "contact.consent_changed": ConsentChangedPayload,
    # (reserved: campaigns)
    "campaign.created": CampaignPayload,
    "campaign.updated": CampaignPayload,
    "campaign.deleted": CampaignPayload,
    "campaign.started": CampaignPayload,
    "campaign.paused": CampaignPayload,
    "campaign.resumed": CampaignPayload,
    "campaign.cancelled": CampaignPayload,
    "campaign.completed": CampaignPayload,
    "campaign.progress": CampaignPayload,
    "campaign.replied": CampaignPayload,
    # (reserved: tasks)
    "task.created": TaskPayload,
    "task.updated": TaskPayload,
    "task.completed": TaskPayload,
    "task.deleted": TaskPayload,
    "task.due": TaskPayload,
    # (reserved: rules)
    "rule.fired": RuleFiredPayload,
    "rule.changed": RuleChangedPayload,
    "macro.changed": RuleChangedPayload,
    # (reserved: chat)
    "chat.message": ChatMessagePayload,
    "chat.read": ChatReadPayload,
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
