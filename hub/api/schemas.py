"""Request and response bodies. Requests forbid unknown fields (422 names them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import annotated_types as at
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationInfo, field_validator, model_validator

from hub.events import AttachmentRef, public_attachment_field, public_payload
from hub.models import Category, Presence, Role
from hub.timeutil import ensure_utc

T = TypeVar("T")

MAX_ID = 2**31 - 1  # ids are INTEGER (32-bit signed) columns on PostgreSQL
#: The one id type for path and query parameters: 1..MAX_ID (422 validation_error otherwise).
Id = Annotated[int, at.Interval(ge=1, le=MAX_ID)]
#: Cursors and ``after=`` positions: 0..MAX_ID.
Position = Annotated[int, at.Interval(ge=0, le=MAX_ID)]
#: Ids in JSON bodies: strict (``true`` is not 1), 1..MAX_ID.
BodyId = Annotated[int, Strict(), at.Interval(ge=1, le=MAX_ID)]
#: Small numbers in JSON bodies (skills, capacities): strict, bounded.
SmallInt = Annotated[int, Strict(), at.Interval(ge=-1_000_000, le=1_000_000)]
Key = Annotated[str, at.MaxLen(100)]
Tag = Annotated[str, at.MaxLen(100)]


def _has_nul(value: Any, depth: int = 0) -> bool:
    if depth > 64:
        return False
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


class In(BaseModel):
    """Request bodies: unknown fields, NUL characters and ``null`` for non-nullable fields are 422."""

    model_config = ConfigDict(extra="forbid")
    #: PATCH fields that may be omitted but may not be ``null``.
    not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text may not contain NUL characters")
        if isinstance(data, dict):
            for name in cls.not_null:
                if name in data and data[name] is None:
                    raise ValueError(f"{name} may not be null")
        return data


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: int | None = None


# --- auth -----------------------------------------------------------------------------
class LoginIn(In):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class TokenIn(In):
    name: str = Field(min_length=1, max_length=120)
    # After this moment the token is refused (401). Omitted: valid until revoked.
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else ensure_utc(v)  # a zone-less time is UTC


class TokenOut(BaseModel):
    """The new token; ``token`` is shown this once."""

    id: int
    name: str
    token: str
    created_at: datetime
    expires_at: datetime | None


class TokenInfoOut(Out):
    """A token as listed: never the secret."""

    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None  # updated at most once a minute
    expires_at: datetime | None
    revoked_at: datetime | None


class PasswordChangeIn(In):
    current_password: str = Field(min_length=1, max_length=1024)
    # Checked by the password policy (weak_password with a reason), not by length here.
    new_password: str = Field(min_length=1, max_length=1024)
    revoke_tokens: bool = False


class PasswordChangedOut(BaseModel):
    sessions_revoked: int
    tokens_revoked: int


class ResetRequestIn(In):
    email: str = Field(min_length=3, max_length=320)


class ResetRequestedOut(BaseModel):
    """The same answer for every address, known or not."""

    accepted: bool = True


class ResetConfirmIn(In):
    token: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=1024)


class ForceResetIn(In):
    revoke_tokens: bool = False


class ForceResetOut(BaseModel):
    mailed: bool
    # Only when it was not mailed: the admin passes it on. Works once, until expires_at.
    reset_url: str | None
    expires_at: datetime
    mail_error: str | None = None


# --- users and teams --------------------------------------------------------------------
class UserOut(Out):
    id: int
    email: str
    name: str
    role: Role
    language: str
    active: bool
    presence: Presence
    presence_changed_at: datetime
    skills: dict[str, int]
    languages: list[str]
    capacity: dict[str, int]
    team_ids: list[int] = []


class MeOut(BaseModel):
    user: UserOut
    csrf_token: str | None
    # The time zone chosen on the profile page (IANA); null: the browser's.
    timezone: str | None = None


class UserIn(In):
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.agent
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    language: str = Field(default="en", pattern="^(en|ar)$")
    team_ids: list[BodyId] = Field(default=[], max_length=1000)
    skills: dict[Key, SmallInt] = Field(default={}, max_length=200)
    languages: list[Key] | None = Field(default=None, max_length=50)
    capacity: dict[Key, SmallInt] | None = Field(default=None, max_length=50)


class UserDefaultsOut(BaseModel):
    """What ``POST /users`` (and ``switchboard create-user``) applies to omitted fields."""

    capacity: dict[str, int]


class UserCreatedOut(BaseModel):
    user: UserOut
    generated_password: str | None


class UserPatch(In):
    not_null = ("name", "role", "language", "active", "team_ids", "skills", "languages", "capacity")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    language: str | None = Field(default=None, pattern="^(en|ar)$")
    active: bool | None = None
    team_ids: list[BodyId] | None = Field(default=None, max_length=1000)
    skills: dict[Key, SmallInt] | None = Field(default=None, max_length=200)
    languages: list[Key] | None = Field(default=None, max_length=50)
    capacity: dict[Key, SmallInt] | None = Field(default=None, max_length=50)


class PresenceIn(In):
    presence: Presence


class TeamOut(Out):
    id: int
    name: str
    description: str
    routing: dict[str, Any]
    business_hours: dict[str, Any]
    member_ids: list[int] = []


class TeamIn(In):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    routing: dict[str, Any] = {}
    business_hours: dict[str, Any] = {}


class TeamPatch(In):
    not_null = ("name", "description", "routing", "business_hours")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    routing: dict[str, Any] | None = None
    business_hours: dict[str, Any] | None = None


class MembersIn(In):
    user_ids: list[BodyId] = Field(max_length=1000)


# --- contacts ---------------------------------------------------------------------------
class IdentityOut(Out):
    id: int
    kind: str
    address: str
    verified_at: datetime | None = None


class IdentityIn(In):
    kind: str = Field(max_length=20, description="phone, email or telegram")
    address: str = Field(min_length=1, max_length=320)


class VerifyIn(In):
    verified: bool = True


class OrganizationRef(Out):
    id: int
    name: str


class FiguresOut(Out):
    """What the hub knows of a contact's history (kept by the contact_figures projection)."""

    conversations_30d: int
    conversations_90d: int
    conversations_365d: int
    conversations_total: int
    first_contact_at: datetime | None
    last_contact_at: datetime | None
    channels: list[str]
    preferred_channel: str | None
    csat_count: int
    csat_average: float | None = None
    last_low_csat_at: datetime | None
    open_complaints: int
    last_conversation_id: int | None
    last_category: str | None
    last_status: str | None
    tiers: list[str]


class ContactOut(Out):
    id: int
    name: str
    language: str | None
    timezone: str | None = None
    vip: bool
    tags: list[str]
    attributes: dict[str, Any]
    notes: str
    created_at: datetime
    updated_at: datetime | None = None
    erased_at: datetime | None = None
    owner_id: int | None = None
    organization_id: int | None = None
    organization: OrganizationRef | None = None
    consent: dict[str, Any] = {}
    identities: list[IdentityOut] = []
    figures: FiguresOut | None = None
    tiers: list[str] = []


class ContactSummary(Out):
    """A row of the contacts list."""

    id: int
    name: str
    language: str | None
    vip: bool
    tags: list[str]
    created_at: datetime
    identities: list[IdentityOut] = []
    tiers: list[str] = []
    last_contact_at: datetime | None = None
    conversations_90d: int = 0
    preferred_channel: str | None = None


class ContactPage(BaseModel):
    items: list[ContactSummary]
    next_cursor: str | None = None
    total: int | None = None  # only with count=true; at most 10,000
    total_capped: bool = False  # more than ``total`` match


class ContactPatch(In):
    not_null = ("name", "vip", "tags", "attributes", "notes")
    name: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=10)
    timezone: str | None = Field(default=None, max_length=64)
    owner_id: BodyId | None = None
    organization_id: BodyId | None = None
    # Per channel: true (granted), false (refused), null (forget)
    consent: dict[Annotated[str, at.MaxLen(20)], bool | None] | None = Field(default=None, max_length=10)
    vip: bool | None = None
    tags: list[Tag] | None = Field(default=None, max_length=100)
    attributes: dict[str, Any] | None = None
    notes: str | None = Field(default=None, max_length=20_000)


# --- conversations ----------------------------------------------------------------------
class ConversationOut(Out):
    id: int
    contact_id: int
    channel: str
    channel_account: str
    contact_address: str
    thread_key: str
    subject: str
    status: str
    team_id: int | None
    priority: int
    skills: dict[str, int]
    language: str | None
    assignee_id: int | None
    category: Category | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    queued_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    sla_due_at: datetime | None
    last_message_at: datetime | None
    csat_score: int | None
    csat_comment: str | None
    first_assigned_at: datetime | None = None
    last_inbound_at: datetime | None = None
    snoozed_until: datetime | None = None
    contact_name: str = ""
    contact_tiers: list[str] = []
    # Only on a single conversation: {conversations_30d, conversations_total,
    # preferred_channel, previous_category, previous_status, previous_at}
    contact_hint: dict[str, Any] | None = None
    unread_count: int = 0
    # A reply to a campaign opened it: {"id", "name"} (docs/campaigns.md).
    campaign_id: int | None = None
    campaign: dict[str, Any] | None = None


class MessageOut(Out):
    id: int
    conversation_id: int
    channel: str
    direction: str
    author_type: str
    author_id: int | None
    kind: str
    subject: str
    body: str
    #: Public refs only: the stored path stays on the server (see hub/events.py).
    attachments: list[AttachmentRef]
    provider_message_id: str | None
    delivery_status: str
    error: str | None
    meta: dict[str, Any]
    created_at: datetime

    @field_validator("attachments", mode="before")
    @classmethod
    def _public_attachments(cls, v: Any, info: ValidationInfo) -> Any:
        return public_attachment_field(v, "id", info)


class TemplateIn(In):
    name: str = Field(min_length=1, max_length=200)
    variables: dict[str, str] = {}


class ReplyIn(In):
    body: str = Field(default="", max_length=65_536)
    subject: str = Field(default="", max_length=998)
    template: TemplateIn | None = None


class NoteIn(In):
    body: str = Field(min_length=1, max_length=65_536)


class AssignIn(In):
    user_id: BodyId


class TransferIn(In):
    team_id: BodyId | None = None
    user_id: BodyId | None = None
    note: str = Field(default="", max_length=65_536)


class ResolveIn(In):
    category: Category | None = None


class PriorityIn(In):
    priority: int = Field(ge=-100, le=100, strict=True)


class EventOut(Out):
    id: int
    type: str
    ts: datetime
    actor_id: int | None
    conversation_id: int | None
    team_id: int | None
    user_id: int | None
    payload: dict[str, Any]

    @field_validator("payload", mode="before")
    @classmethod
    def _public(cls, v: Any) -> Any:
        return public_payload(v) if isinstance(v, dict) else v


# --- customer memory: custom fields and tiers ---------------------------------------------
class ContactFieldOut(Out):
    key: str
    label_en: str
    label_ar: str
    type: str
    options: list[str]
    required: bool
    show_in_panel: bool
    position: int


class ContactFieldIn(In):
    key: str = Field(min_length=1, max_length=64)
    label_en: str = Field(min_length=1, max_length=120)
    label_ar: str = Field(min_length=1, max_length=120)
    type: str = Field(max_length=16)
    options: list[Annotated[str, at.MaxLen(100)]] = Field(default_factory=list, max_length=100)
    required: bool = False
    show_in_panel: bool = True
    position: int = Field(default=0, ge=0, le=10_000)


class ContactFieldPatch(In):
    not_null = ("label_en", "label_ar", "options", "required", "show_in_panel", "position")
    label_en: str | None = Field(default=None, min_length=1, max_length=120)
    label_ar: str | None = Field(default=None, min_length=1, max_length=120)
    type: str | None = Field(default=None, max_length=16)
    options: list[Annotated[str, at.MaxLen(100)]] | None = Field(default=None, max_length=100)
    required: bool | None = None
    show_in_panel: bool | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)


class TierOut(Out):
    key: str
    label_en: str
    label_ar: str
    color: str
    rule: dict[str, Any]
    routing: dict[str, Any]
    position: int
    active: bool


class TierIn(In):
    key: str = Field(min_length=1, max_length=40)
    label_en: str = Field(min_length=1, max_length=60)
    label_ar: str = Field(min_length=1, max_length=60)
    color: str = Field(default="#6b7280", max_length=7)
    rule: dict[str, Any]
    routing: dict[str, Any] = Field(default_factory=dict)
    position: int = Field(default=0, ge=0, le=1000)
    active: bool = True


class TierPatch(In):
    not_null = ("label_en", "label_ar", "color", "rule", "routing", "position", "active")
    label_en: str | None = Field(default=None, min_length=1, max_length=60)
    label_ar: str | None = Field(default=None, min_length=1, max_length=60)
    color: str | None = Field(default=None, max_length=7)
    rule: dict[str, Any] | None = None
    routing: dict[str, Any] | None = None
    position: int | None = Field(default=None, ge=0, le=1000)
    active: bool | None = None


class SegmentIn(In):
    name: str = Field(min_length=1, max_length=120)
    # A contact filter: q, tag, tier, vip, language, preferred_channel, channel,
    # fields {key: value}, min_conversations_90d, last_contact_after/before.
    filter: dict[str, Any] = Field(default_factory=dict)
    shared: bool = True


class SegmentPatch(In):
    not_null = ("name", "filter", "shared")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    filter: dict[str, Any] | None = None
    shared: bool | None = None


class SegmentOut(Out):
    id: int
    name: str
    filter: dict[str, Any]
    shared: bool
    owner_id: int | None
    created_at: datetime
    count: int | None = None


class DuplicateOut(BaseModel):
    contact: ContactSummary
    reasons: list[str]  # same_phone, same_email, same_name


class MergeIn(In):
    source_id: BodyId


class MergePreview(BaseModel):
    identities: list[IdentityOut]  # move from the source to this contact
    conversations: int  # move too
    tags: list[str]  # the union
    attribute_clashes: dict[str, list[Any]]  # key: [this contact's value (kept), the source's]
    name: str
    blocking_conversations: list[int]  # open on the same thread on both: resolve first


class OrganizationIn(In):
    name: str = Field(min_length=1, max_length=200)
    domains: list[Annotated[str, at.MaxLen(253)]] = Field(default_factory=list, max_length=20)
    owner_id: BodyId | None = None
    notes: str = Field(default="", max_length=20_000)
    attributes: dict[str, Any] = Field(default_factory=dict)


class OrganizationPatch(In):
    not_null = ("name", "domains", "notes", "attributes")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    domains: list[Annotated[str, at.MaxLen(253)]] | None = Field(default=None, max_length=20)
    owner_id: BodyId | None = None
    notes: str | None = Field(default=None, max_length=20_000)
    attributes: dict[str, Any] | None = None


class OrganizationOut(Out):
    id: int
    name: str
    domains: list[str]
    owner_id: int | None
    notes: str
    attributes: dict[str, Any]
    created_at: datetime
    # Over all its contacts (only with the organisation itself, not in lists):
    contacts: int | None = None
    conversations: int | None = None
    open_complaints: int | None = None
    csat_average: float | None = None
    csat_count: int | None = None
