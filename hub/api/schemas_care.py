"""Request and response bodies of the complaints register and surveys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from hub.api.schemas import BodyId, In, Out

OptionKey = Field(default=None, max_length=40)


class ComplaintIn(In):
    contact_id: BodyId | None = None
    conversation_id: BodyId | None = None
    channel: str | None = Field(default=None, max_length=20)
    category: str | None = OptionKey
    subcategory: str | None = OptionKey
    severity: str | None = OptionKey
    product_ref: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=8000)
    team_id: BodyId | None = None
    assignee_id: BodyId | None = None
    language: str | None = Field(default=None, max_length=10)
    notify_customer: bool = True
    acknowledge: bool = True


class ComplaintPatch(In):
    not_null = ("status", "product_ref", "description", "resolution", "remedy", "notify_customer")
    status: str | None = Field(default=None, max_length=24)
    category: str | None = OptionKey
    subcategory: str | None = OptionKey
    severity: str | None = OptionKey
    root_cause: str | None = OptionKey
    product_ref: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=8000)
    resolution: str | None = Field(default=None, max_length=8000)
    remedy: str | None = Field(default=None, max_length=2000)
    team_id: BodyId | None = None
    assignee_id: BodyId | None = None
    notify_customer: bool | None = None


class NoteIn(In):
    body: str = Field(max_length=8000)


class LinkIn(In):
    conversation_id: BodyId


class ComplaintOut(Out):
    id: int
    reference: str
    contact_id: int
    contact_name: str = ""
    channel: str
    conversation_id: int | None
    source: str
    language: str
    status: str
    category: str | None
    subcategory: str | None
    severity: str | None
    product_ref: str
    description: str
    team_id: int | None
    assignee_id: int | None
    root_cause: str | None
    resolution: str
    remedy: str
    notify_customer: bool
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    acknowledged_at: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_until: datetime | None
    escalated_at: datetime | None
    satisfaction: int | None
    created_at: datetime
    updated_at: datetime
    overdue: bool = False
    # Where the hub stores a file never leaves the server: ``url`` is the download route.
    attachments: list[dict[str, Any]] = Field(default_factory=list)


class EntryOut(Out):
    id: int
    kind: str
    actor_id: int | None
    changes: dict[str, Any]
    body: str
    created_at: datetime


class ComplaintDetail(ComplaintOut):
    conversations: list[int] = Field(default_factory=list)
    history: list[EntryOut] = Field(default_factory=list)


class ComplaintPage(BaseModel):
    items: list[ComplaintOut]
    next_cursor: int | None = None


class OptionIn(In):
    parent: str | None = OptionKey
    label_en: str = Field(max_length=120)
    label_ar: str = Field(max_length=120)
    color: str = Field(default="#6b7280", max_length=7)
    position: int = Field(default=0, ge=0, le=10_000)
    active: bool = True
    response_hours: float | None = Field(default=None, ge=0, le=8760)
    resolution_hours: float | None = Field(default=None, ge=0, le=8760)
    warn_ratio: float | None = Field(default=None, ge=0, le=1)
    escalate_team_id: BodyId | None = None


class OptionOut(Out):
    kind: str
    key: str
    parent: str | None
    label_en: str
    label_ar: str
    color: str
    position: int
    active: bool
    response_hours: float | None
    resolution_hours: float | None
    warn_ratio: float | None
    escalate_team_id: int | None


class SurveyTexts(In):
    question: str = Field(max_length=1000)
    comment: str = Field(default="", max_length=1000)
    thanks: str = Field(default="", max_length=1000)


class DefinitionIn(In):
    kind: str = Field(max_length=8)
    texts: dict[str, SurveyTexts]
    active: bool = True


class DefinitionOut(Out):
    key: str
    kind: str
    version: int
    texts: dict[str, Any]
    active: bool


class PolicyIn(In):
    team_id: BodyId | None = None
    channel: str | None = Field(default=None, max_length=20)
    enabled: bool = True
    survey_key: str = Field(default="csat", max_length=40)
    delay_seconds: int = Field(default=60, ge=0, le=7 * 86_400)
    min_days_between: int = Field(default=7, ge=0, le=365)
    expiry_hours: int = Field(default=72, ge=1, le=720)
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)
    ask_comment: bool = True
    low_score_threshold: int = Field(default=2, ge=0, le=10)
    low_score_action: str = Field(default="notify", max_length=16)


class PolicyOut(Out):
    id: int
    team_id: int | None
    channel: str | None
    enabled: bool
    survey_key: str
    delay_seconds: int
    min_days_between: int
    expiry_hours: int
    quiet_start: str | None
    quiet_end: str | None
    ask_comment: bool
    low_score_threshold: int
    low_score_action: str


class SendSurveyIn(In):
    survey_key: str = Field(max_length=40)
    channel: str = Field(max_length=20)


class SurveyOut(Out):
    id: int
    contact_name: str = ""
    survey_key: str
    kind: str
    version: int
    contact_id: int
    conversation_id: int | None
    complaint_id: int | None
    channel: str
    team_id: int | None
    agent_id: int | None
    language: str
    status: str
    skip_reason: str | None
    send_at: datetime
    sent_at: datetime | None
    expires_at: datetime | None
    score: int | None
    comment: str | None
    answered_at: datetime | None
    answered_via: str | None
    low_score: bool
