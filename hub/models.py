"""Storage models (SQLModel tables).

Only functions in :mod:`hub.services` write these; everything else reads them.
JSON columns hold small, schemaless-by-nature data (skills with levels, capacity per
channel, tags, provider metadata); anything queried by value has its own column.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Column, Field, SQLModel

from hub.timeutil import ensure_utc, utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always returns aware datetimes (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = ensure_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else ensure_utc(value)

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        """On SQLite, :meth:`process_bind_param` and SQLite's ``DATETIME`` storage format
        in one step: the same text (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC; a test holds the
        two equal), from ``isoformat`` rather than a ``%``-format of a seven-key dict,
        which with the zone's conversion was a sixth of the ingest lane's CPU."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_utc_text

    def result_processor(self, dialect: sa.Dialect, coltype: Any) -> Any:
        """On SQLite, the stored text to the aware UTC value in one step: what the
        ``DATETIME`` processor (``fromisoformat``) and :meth:`process_result_value` make
        of it (a test holds the two equal), without the two calls around them — every
        timestamp the log consumers read, several an event."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _sqlite_utc_value


def _sqlite_utc_value(value: str | None) -> datetime | None:
    if value is None:
        return None
    if len(value) in (26, 19):  # the hub's text, or CURRENT_TIMESTAMP's: no zone in either
        # Parsed with its zone, not parsed and then given one: ``replace`` cost ~5×
        # the parse.
        return datetime.fromisoformat(value + "+00:00")
    return ensure_utc(datetime.fromisoformat(value))


# The SQLite text of recent UTC (and naive) timestamps: a message's one time is bound
# four or five times in its batch (the message, its conversation's touch, its event).
# Aware values in other zones are converted first: the keys are UTC or naive, whose
# equality is the text's (a zone's ambiguous hour compares equal across ``fold``).
_UTC_TEXT: dict[datetime, str] = {}
_UTC_TEXT_MAX = 4096


def _sqlite_utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC and value.tzinfo is not None:
        value = value.astimezone(UTC)
    text = _UTC_TEXT.get(value)
    if text is None:
        if len(_UTC_TEXT) >= _UTC_TEXT_MAX:
            _UTC_TEXT.clear()
        # 26 characters: a datetime's year is 1-9999, written with four digits; an aware
        # value's "+00:00" is cut off (SQLite's storage has no zone).
        text = _UTC_TEXT[value] = value.isoformat(" ", "microseconds")[:26]
    return text


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _now_col(index: bool = False) -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=index))


def _json(default: Any) -> Any:
    factory = (lambda: dict(default)) if isinstance(default, dict) else (lambda: list(default))
    return Field(default_factory=factory, sa_column=Column(sa.JSON(), nullable=False))


class Role(StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    admin = "admin"


class Presence(StrEnum):
    available = "available"
    busy = "busy"
    away = "away"
    offline = "offline"
    wrap_up = "wrap_up"


class ConversationStatus(StrEnum):
    queued = "queued"
    offered = "offered"
    assigned = "assigned"
    waiting_on_customer = "waiting_on_customer"
    snoozed = "snoozed"
    resolved = "resolved"
    abandoned = "abandoned"


OPEN_STATUSES = (
    ConversationStatus.queued,
    ConversationStatus.offered,
    ConversationStatus.assigned,
    ConversationStatus.waiting_on_customer,
    ConversationStatus.snoozed,
)
CLOSED_STATUSES = (ConversationStatus.resolved, ConversationStatus.abandoned)


class Category(StrEnum):
    inquiry = "inquiry"
    complaint = "complaint"
    suggestion = "suggestion"
    order = "order"
    other = "other"


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"
    internal = "internal"


class AuthorType(StrEnum):
    contact = "contact"
    agent = "agent"
    bot = "bot"
    system = "system"


class MessageKind(StrEnum):
    text = "text"
    media = "media"
    note = "note"
    call = "call"
    event = "event"


class DeliveryStatus(StrEnum):
    received = "received"
    pending = "pending"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


class OutboxStatus(StrEnum):
    pending = "pending"
    # Claimed and handed to the channel; the outcome is not recorded yet. A lease that
    # runs out in this state means the process died mid-send: the retry carries the
    # same idempotency key, so channels that honour one deliver exactly once.
    sending = "sending"
    sent = "sent"
    dead = "dead"


class OfferStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"
    expired = "expired"
    cancelled = "cancelled"


# --- people -------------------------------------------------------------------------


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(sa.String(120), unique=True, nullable=False))
    description: str = ""
    # Routing policy knobs (strategy, SLA per channel, overflow, ...): see docs/routing.md.
    routing: dict[str, Any] = _json({})
    business_hours: dict[str, Any] = _json({})
    created_at: datetime = _now_col()


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(sa.String(320), unique=True, nullable=False))
    name: str
    role: Role = Field(sa_column=Column(sa.String(20), nullable=False))
    password_hash: str | None = None
    language: str = "en"
    active: bool = True
    presence: Presence = Field(default=Presence.offline, sa_column=Column(sa.String(20), nullable=False))
    presence_changed_at: datetime = _now_col()
    skills: dict[str, int] = _json({})
    languages: list[str] = _json([])
    capacity: dict[str, int] = _json({})
    created_at: datetime = _now_col()


class TeamMember(SQLModel, table=True):
    team_id: int = Field(foreign_key="team.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True, ondelete="CASCADE")


class AuthSession(SQLModel, table=True):
    # The cookie carries a random token; we store only its SHA-256.
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _now_col()
    expires_at: datetime = _now_col(index=True)


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str
    token_hash: str = Field(sa_column=Column(sa.String(64), unique=True, nullable=False))
    created_at: datetime = _now_col()
    # Written at most once a minute per token (see hub.auth.token_user).
    last_used_at: datetime | None = _ts(nullable=True)
    revoked_at: datetime | None = _ts(nullable=True)
    expires_at: datetime | None = _ts(nullable=True)  # None: until revoked


class PasswordReset(SQLModel, table=True):
    """A mailed (or admin-handed) password reset link: only the SHA-256 of its random
    token is stored. Single use: ``used_at`` is set in the transaction that sets the
    new password, and every other open link of the user dies with it."""

    __tablename__ = "password_reset"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(sa_column=Column(sa.String(64), unique=True, nullable=False))
    created_at: datetime = _now_col()
    expires_at: datetime = _now_col()
    used_at: datetime | None = _ts(nullable=True)


# --- customers ----------------------------------------------------------------------


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = ""
    language: str | None = None
    timezone: str | None = Field(default=None, max_length=64)  # IANA name, e.g. Asia/Riyadh
    vip: bool = False
    tags: list[str] = _json([])
    attributes: dict[str, Any] = _json({})
    notes: str = ""
    merged_into_id: int | None = Field(default=None, foreign_key="contact.id")
    erased_at: datetime | None = _ts(nullable=True)  # personal data removed (hub.services.privacy)
    # The account manager: the employee who owns the relationship.
    owner_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="SET NULL")
    organization_id: int | None = Field(
        default=None, foreign_key="organization.id", index=True, ondelete="SET NULL"
    )
    # Consent lives in its own table (ContactConsent, hub.services.consent); the API's
    # contact ``consent`` field is derived from it.
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


class Organization(SQLModel, table=True):
    """A customer company (B2B): its contacts, an account manager, email domains whose
    senders join it automatically, and fields of its own."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(sa.String(200), nullable=False, index=True))
    domains: list[str] = _json([])  # lower-case; one domain belongs to one organisation
    owner_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    attributes: dict[str, Any] = _json({})
    notes: str = ""
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


class OrganizationDomain(SQLModel, table=True):
    """domain -> organisation, unique: the lookup an incoming email uses."""

    __tablename__ = "organization_domain"
    domain: str = Field(primary_key=True, max_length=253)
    organization_id: int = Field(foreign_key="organization.id", index=True, ondelete="CASCADE")


class Identity(SQLModel, table=True):
    """(kind, address) -> contact. One phone identity serves SMS, voice and WhatsApp."""

    __table_args__ = (sa.UniqueConstraint("kind", "address", name="uq_identity_kind_address"),)
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=20)
    address: str = Field(max_length=320)
    created_at: datetime = _now_col()
    # Proven to be this customer (they wrote from it, or staff checked it); None: typed in.
    verified_at: datetime | None = _ts(nullable=True)


# --- conversations ------------------------------------------------------------------

_OPEN_SQL = "status NOT IN ('resolved', 'abandoned')"
INBOUND_SQL = "direction = 'inbound'"
_OUTBOUND_SQL = "direction = 'outbound'"


class Conversation(SQLModel, table=True):
    __table_args__ = (
        # At most one open conversation per contact, channel and thread: the database,
        # not application code, settles concurrent first messages.
        sa.Index(
            "uq_conversation_open_thread",
            "contact_id",
            "channel",
            "thread_key",
            unique=True,
            sqlite_where=sa.text(_OPEN_SQL),
            postgresql_where=sa.text(_OPEN_SQL),
        ),
        sa.Index("ix_conversation_status_team", "status", "team_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(max_length=20)
    channel_account: str = ""  # the provider-side address the customer wrote to
    contact_address: str = ""  # the customer's normalized address on this channel
    thread_key: str = ""  # "" when the channel has one thread per contact
    subject: str = ""
    status: ConversationStatus = Field(
        default=ConversationStatus.queued, sa_column=Column(sa.String(24), nullable=False)
    )
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    priority: int = 0
    skills: dict[str, int] = _json({})
    language: str | None = None
    assignee_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    category: Category | None = Field(default=None, sa_column=Column(sa.String(20), nullable=True))
    tags: list[str] = _json([])
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()
    queued_at: datetime | None = _ts(nullable=True)
    first_assigned_at: datetime | None = _ts(nullable=True)  # service level: answered in time?
    first_response_at: datetime | None = _ts(nullable=True)
    resolved_at: datetime | None = _ts(nullable=True)
    snoozed_until: datetime | None = _ts(nullable=True)
    sla_due_at: datetime | None = _ts(nullable=True)
    last_message_at: datetime | None = _ts(nullable=True, index=True)
    last_inbound_at: datetime | None = _ts(nullable=True)
    csat_score: int | None = None
    csat_comment: str | None = None
    csat_at: datetime | None = _ts(nullable=True)  # when the customer answered
    # Abandonment (docs/reports.md): when the customer left before any agent answered,
    # and when a web-chat visitor who went away counts as gone (a timer, cleared when
    # they come back).
    abandoned_at: datetime | None = _ts(nullable=True)
    abandon_due_at: datetime | None = _ts(nullable=True, index=True)
    campaign_id: int | None = None  # a reply to this campaign opened it (hub.campaigns.reactor)


class Message(SQLModel, table=True):
    __table_args__ = (
        # Idempotency of provider retries: the same inbound provider id on the same
        # channel is the same message. Outbound ids are only looked up (status
        # callbacks): a provider reusing one must never make recording a send fail.
        sa.Index(
            "uq_message_inbound_provider_id",
            "channel",
            "provider_message_id",
            unique=True,
            sqlite_where=sa.text(INBOUND_SQL),
            postgresql_where=sa.text(INBOUND_SQL),
        ),
        sa.Index(
            "ix_message_outbound_provider_id",
            "channel",
            "provider_message_id",
            sqlite_where=sa.text(_OUTBOUND_SQL),
            postgresql_where=sa.text(_OUTBOUND_SQL),
        ),
        sa.Index("ix_message_conversation_id_id", "conversation_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    channel: str = Field(max_length=20)
    direction: Direction = Field(sa_column=Column(sa.String(10), nullable=False))
    author_type: AuthorType = Field(sa_column=Column(sa.String(10), nullable=False))
    author_id: int | None = None
    kind: MessageKind = Field(default=MessageKind.text, sa_column=Column(sa.String(10), nullable=False))
    subject: str = ""
    body: str = ""
    attachments: list[dict[str, Any]] = _json([])
    provider_message_id: str | None = Field(default=None, max_length=255)
    delivery_status: DeliveryStatus = Field(sa_column=Column(sa.String(12), nullable=False))
    error: str | None = None
    meta: dict[str, Any] = _json({})
    raw: dict[str, Any] = _json({})
    created_at: datetime = _now_col()


# The direction as a literal, not a bound parameter: SQLite (and PostgreSQL's generic
# plans) use a partial index only when the query's WHERE visibly implies the index's.
MESSAGE_INBOUND = Message.__table__.c.direction == sa.literal_column("'inbound'")  # type: ignore[attr-defined]
MESSAGE_OUTBOUND = Message.__table__.c.direction == sa.literal_column("'outbound'")  # type: ignore[attr-defined]


class ConversationRead(SQLModel, table=True):
    """How far each staff member has read a conversation (for unread counts)."""

    __tablename__ = "conversation_read"
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True, ondelete="CASCADE")
    last_read_message_id: int = 0
    updated_at: datetime = _now_col()


class CannedResponse(SQLModel, table=True):
    """A saved answer, inserted in the composer by typing ``/shortcut``."""

    __tablename__ = "canned_response"
    __table_args__ = (sa.UniqueConstraint("shortcut", "language", name="uq_canned_shortcut_language"),)
    id: int | None = Field(default=None, primary_key=True)
    shortcut: str = Field(max_length=64, index=True)
    title: str = Field(max_length=200)
    body: str
    language: str = Field(default="en", max_length=10)
    # Outbound and canned variants (issue 16): the body in the other languages,
    # {"ar": "..."}; chosen by the conversation's language (hub.services.canned.pick).
    variants: dict[str, str] = _json({})
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="CASCADE")
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


class Offer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    status: OfferStatus = Field(default=OfferStatus.pending, sa_column=Column(sa.String(12), nullable=False))
    created_at: datetime = _now_col()
    expires_at: datetime | None = _ts(nullable=True)
    responded_at: datetime | None = _ts(nullable=True)


class EventLog(SQLModel, table=True):
    """Append-only audit trail; its id is the event id the bus and consoles see."""

    __tablename__ = "event_log"
    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=64, index=True)
    ts: datetime = _now_col()
    actor_id: int | None = None
    conversation_id: int | None = Field(default=None, index=True)
    team_id: int | None = None
    user_id: int | None = None
    payload: dict[str, Any] = _json({})


class OutboxItem(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", unique=True)
    channel: str = Field(max_length=20)
    status: OutboxStatus = Field(
        default=OutboxStatus.pending, sa_column=Column(sa.String(10), nullable=False)
    )
    attempts: int = 0
    next_attempt_at: datetime = _now_col()
    locked_until: datetime | None = _ts(nullable=True)
    last_error: str | None = None
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


# --- customer memory (docs/crm.md) ---------------------------------------------------


class ContactField(SQLModel, table=True):
    """An admin-defined custom field; values live in ``Contact.attributes[key]``."""

    __tablename__ = "contact_field"
    key: str = Field(primary_key=True, max_length=64)
    label_en: str = Field(max_length=120)
    label_ar: str = Field(max_length=120)
    type: str = Field(max_length=16)  # hub.crm.fields.FIELD_TYPES
    options: list[str] = _json([])  # the allowed values of "choice" and "multi_choice"
    required: bool = False
    show_in_panel: bool = True
    position: int = 0
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


class Tier(SQLModel, table=True):
    """A recognition tier: a rule over a contact's figures and fields (hub.crm.tiers)."""

    key: str = Field(primary_key=True, max_length=40)
    label_en: str = Field(max_length=60)
    label_ar: str = Field(max_length=60)
    color: str = Field(default="#6b7280", max_length=7)
    rule: dict[str, Any] = _json({})
    # {"boost": int, "teams": {"<team id>": int}, "sticky_wait": seconds | null}
    routing: dict[str, Any] = _json({})
    position: int = 0
    active: bool = True
    updated_at: datetime = _now_col()


class ContactFigures(SQLModel, table=True):
    """Per-contact figures kept by the ``contact_figures`` projection (hub.projections).

    Never written by services: a rebuild recomputes every row from conversations.
    ``due_at`` is when time alone next changes a figure or a tier (a conversation
    leaving the 30-day window, a lapse threshold): a timer row, claimed like the outbox.
    """

    __tablename__ = "contact_figures"
    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    conversations_30d: int = 0
    conversations_90d: int = 0
    conversations_365d: int = 0
    conversations_total: int = 0
    first_contact_at: datetime | None = _ts(nullable=True)
    last_contact_at: datetime | None = _ts(nullable=True, index=True)
    channels: list[str] = _json([])
    preferred_channel: str | None = Field(default=None, max_length=20, index=True)
    csat_count: int = 0
    csat_sum: int = 0
    last_low_csat_at: datetime | None = _ts(nullable=True)
    open_complaints: int = 0
    last_conversation_id: int | None = None
    last_category: str | None = Field(default=None, max_length=20)
    last_status: str | None = Field(default=None, max_length=24)
    tiers: list[str] = _json([])  # also one ContactTier row each, for filters and counts
    due_at: datetime | None = _ts(nullable=True, index=True)
    updated_at: datetime = _now_col()


class ContactTier(SQLModel, table=True):
    """A contact's membership of a tier (mirrors ``ContactFigures.tiers``)."""

    __tablename__ = "contact_tier"
    tier: str = Field(primary_key=True, max_length=40)
    contact_id: int = Field(foreign_key="contact.id", primary_key=True, index=True, ondelete="CASCADE")


class ContactSearch(SQLModel, table=True):
    """The normalised text a contact is found by (hub.textnorm), kept by a projection.

    Indexed for substring search: SQLite FTS5 trigram table ``contact_search_fts``
    (external content, kept by triggers), PostgreSQL ``pg_trgm`` GIN index; both made
    by migration 0006 and invisible to the models.
    """

    __tablename__ = "contact_search"
    contact_id: int = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    text: str = Field(default="", sa_column=Column(sa.String(2000), nullable=False))


class Segment(SQLModel, table=True):
    """A saved contact filter (hub.crm.contact_query.ContactFilter): counted, listed,
    exported, and later targeted by campaigns. Private ones are their owner's."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    filter: dict[str, Any] = _json({})
    shared: bool = True
    owner_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="SET NULL")
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


class ImportJob(SQLModel, table=True):
    """A CSV import of contacts (hub.crm.importer): the uploaded file, a dry run or the
    real run, its progress and its report (counts and the first errors per row)."""

    __tablename__ = "import_job"
    id: int | None = Field(default=None, primary_key=True)
    dry_run: bool = True
    status: str = Field(default="queued", max_length=12)  # queued, running, done, failed
    filename: str = Field(default="", max_length=255)
    path: str = Field(default="", max_length=1000)  # under data_dir/imports
    total_bytes: int = Field(default=0, sa_column=Column(sa.BigInteger(), nullable=False, default=0))
    processed_bytes: int = Field(default=0, sa_column=Column(sa.BigInteger(), nullable=False, default=0))
    rows: int = 0
    created: int = 0  # new contacts
    matched: int = 0  # found by an identity, nothing to change
    updated: int = 0  # found by an identity, its data merged in
    skipped: int = 0  # rows with errors
    errors: list[dict[str, Any]] = _json([])  # the first errors: {row, field, code, message}
    source_job_id: int | None = None  # the dry run this real run follows
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = _now_col()
    finished_at: datetime | None = _ts(nullable=True)


class ProjectionCheckpoint(SQLModel, table=True):
    """How far a projection has applied the event log, written in the same transaction
    as its effects; ``gaps`` are ids below ``position`` not yet seen (transactions
    still in flight when the projection passed them)."""

    __tablename__ = "projection_checkpoint"
    name: str = Field(primary_key=True, max_length=64)
    position: int = Field(default=0, sa_column=Column(sa.BigInteger(), nullable=False, default=0))
    gaps: dict[str, Any] = _json({})
    # While rebuilding: the last key (contact id) recomputed from rows; None when done.
    rebuild_cursor: int | None = Field(default=None, sa_column=Column(sa.BigInteger(), nullable=True))
    updated_at: datetime = _now_col()


# --- complaints (docs/complaints.md) --------------------------------------------------


class ComplaintStatus(StrEnum):
    new = "new"
    acknowledged = "acknowledged"
    investigating = "investigating"
    waiting_on_customer = "waiting_on_customer"
    waiting_on_third_party = "waiting_on_third_party"
    resolved = "resolved"
    closed = "closed"
    reopened = "reopened"


OPEN_COMPLAINT = (
    "new",
    "acknowledged",
    "investigating",
    "waiting_on_customer",
    "waiting_on_third_party",
    "reopened",
)


class ComplaintOption(SQLModel, table=True):
    """An admin-defined choice of the complaints register: a category (``parent`` set:
    a sub-category of that category), a severity level with its targets, a root cause."""

    __tablename__ = "complaint_option"
    kind: str = Field(primary_key=True, max_length=16)  # category, severity, root_cause
    key: str = Field(primary_key=True, max_length=40)
    parent: str | None = Field(default=None, max_length=40)  # sub-categories: the category key
    label_en: str = Field(max_length=120)
    label_ar: str = Field(max_length=120)
    # Severities: response and resolution targets in business hours, the warning point
    # (share of the target elapsed) and whom to escalate to.
    response_hours: float | None = None
    resolution_hours: float | None = None
    warn_ratio: float | None = None
    escalate_team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="SET NULL")
    color: str = Field(default="#6b7280", max_length=7)
    position: int = 0
    active: bool = True
    updated_at: datetime = _now_col()


class ReferenceCounter(SQLModel, table=True):
    """Per-scope sequence for human references (``C-2026-000123``): a row locked and
    incremented in the transaction that uses the number, so a number is never reused."""

    __tablename__ = "reference_counter"
    scope: str = Field(primary_key=True, max_length=40)
    value: int = Field(default=0, sa_column=Column(sa.BigInteger(), nullable=False, default=0))


class Complaint(SQLModel, table=True):
    __table_args__ = (sa.Index("ix_complaint_status_team", "status", "team_id"),)
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(sa_column=Column(sa.String(40), unique=True, nullable=False))
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(max_length=20)  # where it was opened: acknowledgements go there
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    source: str = Field(default="agent", max_length=16)  # agent, keyword, widget, page, api
    language: str = Field(default="en", max_length=10)
    status: ComplaintStatus = Field(
        default=ComplaintStatus.new, sa_column=Column(sa.String(24), nullable=False)
    )
    category: str | None = Field(default=None, max_length=40)
    subcategory: str | None = Field(default=None, max_length=40)
    severity: str | None = Field(default=None, max_length=40)
    product_ref: str = Field(default="", max_length=200)
    description: str = Field(default="", sa_column=Column(sa.String(8000), nullable=False, default=""))
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    assignee_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    root_cause: str | None = Field(default=None, max_length=40)
    resolution: str = Field(default="", sa_column=Column(sa.String(8000), nullable=False, default=""))
    remedy: str = Field(default="", max_length=2000)
    attachments: list[dict[str, Any]] = _json([])
    notify_customer: bool = True  # push status changes that matter to the customer
    response_due_at: datetime | None = _ts(nullable=True)
    resolution_due_at: datetime | None = _ts(nullable=True)
    acknowledged_at: datetime | None = _ts(nullable=True)
    responded_at: datetime | None = _ts(nullable=True)
    resolved_at: datetime | None = _ts(nullable=True)
    closed_at: datetime | None = _ts(nullable=True)
    reopen_until: datetime | None = _ts(nullable=True)
    # Escalations done, by target: {"response": {"warned": ts, "missed": ts}, ...}.
    escalations: dict[str, Any] = _json({})
    escalated_at: datetime | None = _ts(nullable=True)
    # The next instant time alone changes something (a warning, a missed target, the
    # end of the reopening period): a timer row, claimed like the outbox.
    due_at: datetime | None = _ts(nullable=True, index=True)
    satisfaction: int | None = None  # the customer's rating of how it was handled (1-5)
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = _now_col(index=True)
    updated_at: datetime = _now_col()


class ComplaintConversation(SQLModel, table=True):
    """The conversations about a complaint (many to many)."""

    __tablename__ = "complaint_conversation"
    complaint_id: int = Field(foreign_key="complaint.id", primary_key=True, ondelete="CASCADE")
    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True, index=True)


class ComplaintEntry(SQLModel, table=True):
    """A complaint's history: every change (who, when, old and new values), internal
    notes, escalations and messages sent to the customer."""

    __tablename__ = "complaint_entry"
    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)  # opened, changed, note, escalated, notified, linked
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    changes: dict[str, Any] = _json({})
    body: str = Field(default="", sa_column=Column(sa.String(8000), nullable=False, default=""))
    attachments: list[dict[str, Any]] = _json([])
    created_at: datetime = _now_col()


# --- surveys (docs/surveys.md) ----------------------------------------------------------


class SurveyDefinition(SQLModel, table=True):
    """A question set: CSAT (1-5), NPS (0-10) or CES (1-7), with its texts per language.
    Editing texts bumps ``version``; answers keep the version they answered."""

    __tablename__ = "survey_definition"
    key: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=8)  # csat, nps, ces
    version: int = 1
    # {"en": {"question": ..., "comment": ..., "thanks": ...}, "ar": {...}}
    texts: dict[str, Any] = _json({})
    active: bool = True
    updated_at: datetime = _now_col()


class SurveyPolicy(SQLModel, table=True):
    """When to ask after a resolution, per team and channel (None: any). The most
    specific enabled-or-not policy wins: (team, channel) > (team) > (channel) > default."""

    __tablename__ = "survey_policy"
    __table_args__ = (sa.UniqueConstraint("team_id", "channel", name="uq_survey_policy_scope"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="CASCADE")
    channel: str | None = Field(default=None, max_length=20)
    enabled: bool = True
    survey_key: str = Field(default="csat", max_length=40)
    delay_seconds: int = 60
    min_days_between: int = 7  # not more than once per N days per contact
    expiry_hours: int = 72
    quiet_start: str | None = Field(default=None, max_length=5)  # "21:00" customer's time
    quiet_end: str | None = Field(default=None, max_length=5)  # "09:00"
    ask_comment: bool = True
    low_score_threshold: int = 2  # scores at or below: the team's supervisors are told
    low_score_action: str = Field(default="notify", max_length=16)  # notify, follow_up, complaint
    updated_at: datetime = _now_col()


class SurveyRequest(SQLModel, table=True):
    """One survey put to one customer: scheduled (a timer row), sent, answered or
    expired. The answer lives here, linked to conversation, agent, team and channel."""

    __tablename__ = "survey_request"
    __table_args__ = (sa.Index("ix_survey_request_pending", "contact_id", "channel", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(sa_column=Column(sa.String(43), unique=True, nullable=False))
    survey_key: str = Field(max_length=40)
    kind: str = Field(max_length=8)
    version: int = 1
    contact_id: int = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id")
    channel: str = Field(max_length=20)
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="SET NULL")
    agent_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    language: str = Field(default="en", max_length=10)
    status: str = Field(default="scheduled", max_length=12)  # scheduled, sent, answered, expired, skipped
    skip_reason: str | None = Field(default=None, max_length=40)
    send_at: datetime = _now_col()
    expires_at: datetime | None = _ts(nullable=True)
    sent_at: datetime | None = _ts(nullable=True)
    message_id: int | None = None  # the question as sent
    score: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(sa.String(2000), nullable=True))
    comment_until: datetime | None = _ts(nullable=True)  # the comment question's window
    answered_at: datetime | None = _ts(nullable=True, index=True)
    answered_via: str | None = Field(default=None, max_length=16)  # reply, button, link, widget, keypad
    low_score: bool = False
    due_at: datetime | None = _ts(nullable=True, index=True)  # send_at, then expires_at
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = _now_col()


# --- reports (docs/reports.md) ----------------------------------------------------------

SLOT_SECONDS = 1800  # report rollups are per half hour: day boundaries of every whole- and half-hour zone


class ReportSums(SQLModel):
    """The figures kept per rollup row (``report_slot``, ``report_day``)."""

    conversations: int = 0
    inbound: int = 0
    outbound: int = 0
    agent_replies: int = 0
    resolved: int = 0
    reopened: int = 0
    transfers: int = 0
    surveys_sent: int = 0
    abandoned: int = 0  # customers who left before an agent answered
    abandoned_late: int = 0  # ... after the service-level target had passed
    offers: int = 0  # conversations offered to the agent
    offers_missed: int = 0  # offers the agent rejected or let expire
    handled: int = 0  # assignments that ended (resolved, transferred, released)
    # Seconds inside the half hour (an interval spanning slots is split between them):
    handle_s: float = 0.0  # conversations assigned to the agent, summed (concurrency counts)
    busy_s: float = 0.0  # the agent had at least one conversation
    signed_in_s: float = 0.0  # presence other than offline
    available_s: float = 0.0
    busy_state_s: float = 0.0  # presence "busy"
    away_s: float = 0.0
    wrap_up_s: float = 0.0
    # Count and sums of each duration sample attributed here (fat, frt, res, handle,
    # aban; seconds and business-hours seconds), kept with the samples by the same fold:
    # averages read these, never the samples. answered_in_sl: fat samples in target;
    # first_contact: res samples resolved at first contact.
    fat_count: int = 0
    fat_sum: float = 0.0
    fat_bh_sum: float = 0.0
    frt_count: int = 0
    frt_sum: float = 0.0
    frt_bh_sum: float = 0.0
    res_count: int = 0
    res_sum: float = 0.0
    res_bh_sum: float = 0.0
    handle_count: int = 0
    handle_sum: float = 0.0
    handle_bh_sum: float = 0.0
    aban_count: int = 0
    aban_sum: float = 0.0
    aban_bh_sum: float = 0.0
    answered_in_sl: int = 0
    first_contact: int = 0
    # Survey answers (``survey.answered``, not a later comment), folded once each by the
    # slot of ``answered_at`` and the survey's team, channel and agent: CSAT (1-5) count,
    # sum of scores and 4-5 answers; NPS (0-10) count, promoters (9-10) and detractors
    # (0-6); CES (1-7) count and sum of scores.
    csat_count: int = 0
    csat_sum: int = 0
    csat_satisfied: int = 0
    nps_count: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    ces_count: int = 0
    ces_sum: int = 0


class ReportSlot(ReportSums, table=True):
    """Counts per half hour × team × channel × agent (0: none), folded from the event
    log by the ``reports`` projection (hub.reports.rollup) exactly once per event."""

    __tablename__ = "report_slot"
    __table_args__ = (
        sa.UniqueConstraint("slot", "team_id", "channel", "agent_id", name="uq_report_slot_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    slot: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))  # seconds since epoch ÷ 1800
    team_id: int = 0
    channel: str = Field(default="", max_length=20)
    agent_id: int = 0


class ReportDay(ReportSums, table=True):
    """The same figures per UTC day × team × channel (every agent), kept by the same
    fold: reports over long ranges read whole days here and the part-days at the ends
    from ``report_slot`` (a report by agent or by half hour reads ``report_slot``)."""

    __tablename__ = "report_day"
    __table_args__ = (sa.UniqueConstraint("day", "team_id", "channel", name="uq_report_day_key"),)
    id: int | None = Field(default=None, primary_key=True)
    day: int  # slot ÷ 48: UTC days since the epoch
    team_id: int = 0
    channel: str = Field(default="", max_length=20)


class ReportHour(ReportSums, table=True):
    """The same figures per UTC hour × team × channel (every agent), kept by the same
    fold: a time series or heat map in a zone whose day and hour boundaries fall on whole
    UTC hours reads whole hours here instead of half hours × agents."""

    __tablename__ = "report_hour"
    __table_args__ = (sa.UniqueConstraint("hour", "team_id", "channel", name="uq_report_hour_key"),)
    id: int | None = Field(default=None, primary_key=True)
    hour: int  # slot ÷ 2: UTC hours since the epoch
    team_id: int = 0
    channel: str = Field(default="", max_length=20)


class ReportSample(SQLModel, table=True):
    """One duration per conversation and metric: ``fat`` (first assignment) and ``frt``
    (first response), recomputed from the conversation's row when it changes; ``res``
    (a resolution), folded once per ``conversation.resolved`` event. Exact percentiles
    and averages over any range read these."""

    __tablename__ = "report_sample"
    __table_args__ = (
        sa.Index("ix_report_sample_metric_slot", "metric", "slot"),
        sa.Index("ix_report_sample_conversation", "conversation_id", "metric"),
    )
    id: int | None = Field(default=None, primary_key=True)
    metric: str = Field(max_length=8)  # frt, fat, res
    slot: int = Field(sa_column=Column(sa.BigInteger(), nullable=False))
    team_id: int = 0
    channel: str = Field(default="", max_length=20)
    agent_id: int = 0
    conversation_id: int
    seconds: float
    business_seconds: float
    in_target: bool = False  # fat: answered in target; res: first contact; aban: after the target
    bucket: int = 0  # duration bucket of ``seconds`` (hub.reports.histogram)
    bh_bucket: int = 0  # ... of ``business_seconds``


class ReportHistogram(SQLModel, table=True):
    """Duration samples counted per UTC day × team × channel × metric × log-spaced bucket
    (hub.reports.histogram), kept with the samples by the same fold: the median and 90th
    percentile of a long range read these (~2 % relative error). Four levels per sample:
    team_id -1 = every team, channel "*" = every channel."""

    __tablename__ = "report_histogram"
    __table_args__ = (
        sa.UniqueConstraint("metric", "team_id", "channel", "day", "bucket", name="uq_report_histogram_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    metric: str = Field(max_length=8)
    day: int  # slot ÷ 48: UTC days since the epoch
    team_id: int = -1
    channel: str = Field(default="*", max_length=20)
    bucket: int = 0
    n: int = 0  # samples whose seconds fall in the bucket
    n_bh: int = 0  # samples whose business-hours seconds fall in it


class ReportAgentState(SQLModel, table=True):
    """Where each agent's open intervals stand, for the ``reports`` fold: the presence
    since when, and how many conversations they hold since when. Folded from the event
    log (rebuilt with the rollups); the open part of an interval is added at report time."""

    __tablename__ = "report_agent_state"
    agent_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    presence: str = Field(default="offline", max_length=20)
    presence_since: datetime | None = _ts(nullable=True)
    load: int = 0
    busy_since: datetime | None = _ts(nullable=True)


class ReportConversationState(SQLModel, table=True):
    """An open conversation as the ``reports`` fold sees it: who holds it since when,
    and whether it was transferred or reopened (first-contact resolution)."""

    __tablename__ = "report_conversation_state"
    conversation_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    agent_id: int = 0  # 0: nobody holds it
    since: datetime | None = _ts(nullable=True)
    team_id: int = 0
    channel: str = Field(default="", max_length=20)
    transfers: int = 0
    reopened: bool = False


# --- scheduled report mails (docs/reports.md, "Scheduled report mails") -----------------


class ReportSchedule(SQLModel, table=True):
    """A daily or weekly summary mailed to chosen supervisors and admins.

    ``next_run_at`` is the timer (hub.reports.schedules.ReportMailer fires it under its
    checkpoint lock, once cluster-wide); ``last_period_start`` is the period last mailed,
    written in the transaction that queues its mails, so a period is never mailed twice."""

    __tablename__ = "report_schedule"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    frequency: str = Field(default="daily", max_length=8)  # daily, weekly
    weekday: int | None = None  # weekly: 0 Monday … 6 Sunday
    hour: int = 8  # local hour of the send, 0-23
    timezone: str = Field(default="UTC", max_length=64)  # IANA
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="CASCADE")  # None: all
    recipients: list[int] = _json([])  # user ids: active supervisors and admins
    language: str = Field(default="en", max_length=2)  # en, ar
    enabled: bool = True
    next_run_at: datetime | None = _ts(nullable=True, index=True)  # None while disabled
    last_run_at: datetime | None = _ts(nullable=True)
    last_period_start: datetime | None = _ts(nullable=True)
    last_status: str | None = Field(default=None, max_length=300)
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


class StaffMail(SQLModel, table=True):
    """A mail to a staff member, durable like the outbox and delivered by its worker
    (hub.staff_outbox): the whole message is stored as composed, so a retry is the same
    mail with the same Message-ID. ``key`` is unique: one mail per report period and
    recipient, however often the timer that queued it runs."""

    __tablename__ = "staff_mail"
    __table_args__ = (sa.Index("ix_staff_mail_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(sa.String(160), unique=True, nullable=False))
    kind: str = Field(default="report", max_length=20)
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    mime: str = Field(sa_column=Column(sa.Text(), nullable=False))
    status: OutboxStatus = Field(
        default=OutboxStatus.pending, sa_column=Column(sa.String(10), nullable=False)
    )
    attempts: int = 0
    next_attempt_at: datetime = _now_col()
    locked_until: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


class Label(SQLModel, table=True):
    """A conversation label an admin manages: ``key`` is what ``Conversation.tags``
    holds (one list for labels and system tags such as the voice channel's
    ``callback``); names per language and a colour for the console's chips."""

    key: str = Field(primary_key=True, max_length=40)
    name_en: str = Field(max_length=60)
    name_ar: str = Field(max_length=60)
    color: str = Field(default="#6b7280", max_length=7)  # #rrggbb
    position: int = 0
    active: bool = True
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


# -- notifications and profile (issue 16) -------------------------------------------------
class Notification(SQLModel, table=True):
    """One in-app notification for one staff member, derived from one committed event
    by the notifications reactor (hub.services.notifications). ``(user_id, event_id,
    kind)`` is unique: however often an event is looked at, it notifies once. ``data``
    holds small, bounded facts (a note's excerpt, a complaint reference), shown as text."""

    __table_args__ = (
        sa.UniqueConstraint("user_id", "event_id", "kind", name="uq_notification_source"),
        sa.Index("ix_notification_user_unread", "user_id", "read_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=20)  # mention, assigned, transferred, offer_missed, escalated, low_score
    event_id: int  # the event-log row it comes from
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", ondelete="CASCADE")
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", ondelete="CASCADE")
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    data: dict[str, Any] = _json({})
    created_at: datetime = _now_col()
    read_at: datetime | None = _ts(nullable=True)


class UserPreference(SQLModel, table=True):
    """A staff member's own settings from the profile page: time zone, which kinds of
    notification they get, and whether the browser may show them (offers and mentions,
    while the console's tab is hidden). No row: the defaults."""

    __tablename__ = "user_preference"
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    timezone: str | None = Field(default=None, max_length=64)  # IANA; None: the browser's
    notify_off: list[str] = _json([])  # notification kinds turned off
    browser_notifications: bool = False
    updated_at: datetime = _now_col()


# --- conversation search and saved views (docs/console.md, "Search and views") ---------


class MessageSearch(SQLModel, table=True):
    """A message's normalised text (subject and body, hub.textnorm), kept by the
    ``message_search`` projection (hub.services.search_index), never by services.

    Indexed for substring search like ``contact_search``: SQLite FTS5 trigram table
    ``message_search_fts`` (external content, kept by triggers), PostgreSQL ``pg_trgm``
    GIN index; both made by migration 0012 and invisible to the models.
    """

    __tablename__ = "message_search"
    message_id: int = Field(
        foreign_key="message.id",
        primary_key=True,
        ondelete="CASCADE",
        sa_column_kwargs={"autoincrement": False},
    )
    conversation_id: int = Field(index=True)
    text: str = Field(default="", sa_column=Column(sa.String(8000), nullable=False))


class SavedView(SQLModel, table=True):
    """A saved conversation search (hub.services.views): its filters and text as
    validated JSON (hub.services.search.ConversationFilter). ``scope`` personal: its
    owner's; team: the team's members; everyone: all staff. Counted for the viewer,
    so a shared view never widens anyone's view."""

    __tablename__ = "saved_view"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    scope: str = Field(default="personal", max_length=10)  # personal, team, everyone
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True, ondelete="CASCADE")
    owner_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    filters: dict[str, Any] = _json({})
    position: int = 0
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


# -- supervision and admin (issue 16): the audit log page filters the event log by who
# did it and by time, newest first.
sa.Index("ix_event_log_actor_id_id", EventLog.__table__.c.actor_id, EventLog.__table__.c.id)  # type: ignore[attr-defined]
sa.Index("ix_event_log_ts", EventLog.__table__.c.ts)  # type: ignore[attr-defined]


# --- consent per contact and channel (issue 17) ---------------------------------------------------
# (section reserved: consent)
class ContactConsent(SQLModel, table=True):
    """One consent decision per contact, channel and purpose (hub.services.consent).

    ``purpose`` marketing (campaigns, survey invitations) or service (messages about a
    conversation the customer is in); ``state`` opted_in or opted_out, no row is
    unknown. ``source`` how it was recorded: keyword, link, import, agent, api,
    widget, campaign. ``campaign_id`` names the campaign whose link or message led to it
    (no foreign key: campaigns are a later table)."""

    __tablename__ = "contact_consent"
    __table_args__ = (sa.UniqueConstraint("contact_id", "channel", "purpose", name="uq_contact_consent"),)
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=20)
    purpose: str = Field(max_length=12)
    state: str = Field(max_length=12)
    source: str = Field(max_length=12)
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    campaign_id: int | None = None
    note: str | None = Field(default=None, max_length=200)
    updated_at: datetime = _now_col()


# --- campaigns (issue 17) ---------------------------------------------------
# (section reserved: campaigns)
class Campaign(SQLModel, table=True):
    """One outreach campaign (hub.campaigns): what to send, to whom, when. ``due_at`` is
    its timer (the scheduled start; while recipients are being frozen, now), fired by
    the campaigns reactor; ``freeze_cursor`` is the last contact (or list row) frozen,
    committed with the rows it froze, so a restart continues where it stopped."""

    __tablename__ = "campaign"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True, ondelete="SET NULL")
    kind: str = Field(default="message", max_length=10)  # message, survey
    status: str = Field(default="draft", max_length=12, index=True)
    audience_type: str = Field(default="segment", max_length=10)  # segment, list
    segment_id: int | None = Field(default=None, foreign_key="segment.id", ondelete="SET NULL")
    channel: str = Field(max_length=20)  # a channel kind, or "preferred"
    fallback: list[str] = _json([])
    content: dict[str, Any] = _json({})  # {"en": {"body", "subject", "html", "template", "variables"}}
    sender_name: str = Field(default="", max_length=80)
    survey_key: str | None = Field(default=None, max_length=40)
    start_at: datetime | None = _ts(nullable=True)
    local_time: bool = False
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)
    due_at: datetime | None = _ts(nullable=True, index=True)
    freeze_cursor: int = 0
    frozen_at: datetime | None = _ts(nullable=True)
    started_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    tests: int = 0
    progress_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()
    started_at: datetime | None = _ts(nullable=True)
    finished_at: datetime | None = _ts(nullable=True)


class CampaignRecipient(SQLModel, table=True):
    """One recipient of a campaign: the third kind of outbox row (hub.campaigns.sender).
    ``listed`` rows are uploaded and not yet matched; ``pending`` ones are due at
    ``due_at``; ``sending`` is claimed with a lease (``locked_until``)."""

    __tablename__ = "campaign_recipient"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "contact_id", name="uq_campaign_recipient_contact"),
        sa.Index("ix_campaign_recipient_due", "status", "due_at"),
        sa.Index("ix_campaign_recipient_campaign_status", "campaign_id", "status"),
        sa.Index("ix_campaign_recipient_contact_sent", "contact_id", "sent_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    contact_id: int | None = Field(default=None, foreign_key="contact.id", ondelete="SET NULL")
    channel: str = Field(default="", max_length=20)
    address: str = Field(default="", max_length=320)
    name: str = Field(default="", max_length=200)
    language: str = Field(default="en", max_length=10)
    status: str = Field(default="pending", max_length=10)
    reason: str | None = Field(default=None, max_length=300)
    test: bool = False
    due_at: datetime | None = _ts(nullable=True)
    locked_until: datetime | None = _ts(nullable=True)
    attempts: int = 0
    provider_id: str | None = Field(default=None, max_length=255, index=True)
    coupon: str | None = Field(default=None, max_length=64)
    survey_id: int | None = None
    conversation_id: int | None = None  # the conversation the reply opened
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()
    sent_at: datetime | None = _ts(nullable=True)
    delivered_at: datetime | None = _ts(nullable=True)
    replied_at: datetime | None = _ts(nullable=True)
    opted_out_at: datetime | None = _ts(nullable=True)


class CampaignCoupon(SQLModel, table=True):
    """An uploaded coupon code, given to one recipient when they are frozen."""

    __tablename__ = "campaign_coupon"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "code", name="uq_campaign_coupon_code"),
        sa.Index("ix_campaign_coupon_free", "campaign_id", "recipient_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", ondelete="CASCADE")
    code: str = Field(max_length=64)
    recipient_id: int | None = None
    redeemed_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _now_col()


class CampaignRate(SQLModel, table=True):
    """Per channel, the campaign sends of the last second: ``window`` is a list of
    [epoch seconds, count] claimed, updated in the claim transaction (row locked), so
    the rate holds across every hub process."""

    __tablename__ = "campaign_rate"
    channel: str = Field(primary_key=True, max_length=20)
    window: list[Any] = _json([])
    updated_at: datetime = _now_col()


# --- tasks and shift hand-over (issue 18) ---------------------------------------------------
# (section reserved: tasks)
class Task(SQLModel, table=True):
    """A task or follow-up (hub.services.tasks): assigned to a user, a team, or a user
    in a team; due at ``due_at`` (UTC) as set in ``timezone``. Two timers are columns:
    ``remind_at`` (the reminder, cleared when it fires; ``reminded_at`` says when) and
    ``next_occurrence_at`` (a recurring task's next copy is made then — this one's due
    time — and the column cleared). ``source_key`` makes a task made from an event
    (a missed call, a low score, a series' next occurrence) unique."""

    __table_args__ = (
        sa.Index("ix_task_assignee_user_status", "assignee_user_id", "status"),
        sa.Index("ix_task_assignee_team_status", "assignee_team_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(sa.String(4000), nullable=False))
    status: str = Field(default="open", max_length=10)  # open, done, cancelled
    priority: str = Field(default="normal", max_length=10)  # low, normal, high, urgent
    assignee_user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    assignee_team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="SET NULL")
    due_at: datetime | None = _ts(nullable=True, index=True)
    timezone: str = Field(default="UTC", max_length=64)  # IANA: the zone the due time was set in
    remind_at: datetime | None = _ts(nullable=True, index=True)
    reminded_at: datetime | None = _ts(nullable=True)
    recurrence: str = Field(default="none", max_length=10)  # none, daily, weekly
    next_occurrence_at: datetime | None = _ts(nullable=True, index=True)
    series_id: int | None = Field(default=None, index=True)  # the first task of a recurring series
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True, ondelete="SET NULL")
    conversation_id: int | None = Field(
        default=None, foreign_key="conversation.id", index=True, ondelete="SET NULL"
    )
    complaint_id: int | None = Field(
        default=None, foreign_key="complaint.id", index=True, ondelete="SET NULL"
    )
    source: str = Field(default="manual", max_length=20)  # manual, rule, survey, missed_call, recurring
    source_key: str | None = Field(default=None, sa_column=Column(sa.String(80), unique=True, nullable=True))
    rule_id: int | None = None
    created_by: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="SET NULL")
    completed_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    completed_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


# --- automation rules and macros (issue 18) ---------------------------------------------------
# (section reserved: rules_and_macros)
class AutomationRule(SQLModel, table=True):
    """An automation rule (hub.rules): when ``trigger`` happens (``trigger_params``: the
    minutes of a wait), if every condition holds, do the actions — in ``position`` order
    among the active rules. ``team_id``: only conversations of that team. Conditions and
    actions are small JSON lists checked by hub.rules.schema (≤ 20 and ≤ 10)."""

    __tablename__ = "automation_rule"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    position: int = Field(default=0, index=True)
    active: bool = True
    trigger: str = Field(max_length=30)
    trigger_params: dict[str, Any] = _json({})
    conditions: list[dict[str, Any]] = _json([])
    actions: list[dict[str, Any]] = _json([])
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="CASCADE")
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


class RuleFiring(SQLModel, table=True):
    """One rule looked at for one triggering event (hub.rules.executor). ``(rule_id,
    event_id)`` is unique: a rule acts at most once per event, however many processes
    run. ``outcome``: pending → running → fired / partial / failed, or no_match / loop /
    skipped. ``actions`` the plan with each action's result; ``done`` how many ran (a
    retry after a crash resumes there); ``chain`` the rules whose actions led to the
    event (loop protection); ``caused`` the trigger events the actions produced."""

    __tablename__ = "rule_firing"
    __table_args__ = (
        sa.UniqueConstraint("rule_id", "event_id", name="uq_rule_firing_event"),
        sa.Index("ix_rule_firing_outcome_event", "outcome", "event_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="automation_rule.id", index=True, ondelete="CASCADE")
    event_id: int
    trigger: str = Field(max_length=30)
    conversation_id: int | None = Field(
        default=None, foreign_key="conversation.id", index=True, ondelete="CASCADE"
    )
    contact_id: int | None = Field(default=None, foreign_key="contact.id", ondelete="CASCADE")
    outcome: str = Field(default="pending", max_length=12)
    chain: list[int] = _json([])
    actions: list[dict[str, Any]] = _json([])
    caused: list[int] = _json([])
    done: int = 0
    lease_until: datetime | None = _ts(nullable=True)
    at: datetime = _now_col()
    finished_at: datetime | None = _ts(nullable=True)


class RuleTimer(SQLModel, table=True):
    """A "waiting longer than X" wait: the customer wrote (``event_id``) and nobody from
    staff has answered; at ``due_at`` the rule is looked at. One per rule and
    conversation; an agent's reply or a resolution removes it."""

    __tablename__ = "rule_timer"
    __table_args__ = (sa.UniqueConstraint("rule_id", "conversation_id", name="uq_rule_timer"),)
    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="automation_rule.id", ondelete="CASCADE")
    conversation_id: int = Field(foreign_key="conversation.id", index=True, ondelete="CASCADE")
    event_id: int
    due_at: datetime = _ts(index=True)


class Macro(SQLModel, table=True):
    """A named bundle of actions an agent applies with one click (hub.services.macros):
    ``scope`` personal (``owner_id``), team (``team_id``) or everyone."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    scope: str = Field(default="personal", max_length=10)
    owner_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="CASCADE")
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="CASCADE")
    actions: list[dict[str, Any]] = _json([])
    position: int = 0
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = _now_col()
    updated_at: datetime = _now_col()


# --- internal messages between staff (issue 18) ---------------------------------------------------
# (section reserved: internal_messages)


class ChatRoom(SQLModel, table=True):
    """A room of internal messages between staff (hub.services.chat): ``team`` (one per
    team, its members and admins) or ``dm`` (two staff members, ``user_a_id`` <
    ``user_b_id``, unique: one direct-message room per pair, seen by them alone)."""

    __tablename__ = "chat_room"
    __table_args__ = (
        sa.UniqueConstraint("team_id", name="uq_chat_room_team"),
        sa.UniqueConstraint("user_a_id", "user_b_id", name="uq_chat_room_dm"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # team, dm
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="CASCADE")
    user_a_id: int | None = Field(default=None, foreign_key="user.id", ondelete="CASCADE")
    user_b_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = _now_col()
    last_message_id: int | None = None  # newest message (room list order, unread shortcut)


class ChatMessage(SQLModel, table=True):
    """One internal message. ``search`` is the body in hub.textnorm's search form (the
    room's history is searched by substring within the caller's rooms); ``mentions``
    are user ids named with ``@``; ``refs`` conversation ids named with ``#123`` or a
    console link (cards are resolved per viewer, never stored)."""

    __tablename__ = "chat_message"
    __table_args__ = (
        sa.Index("ix_chat_message_room_id_id", "room_id", "id"),
        sa.Index("ix_chat_message_author_created", "author_id", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(foreign_key="chat_room.id", ondelete="CASCADE")
    author_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    body: str = Field(sa_column=Column(sa.String(4000), nullable=False))
    search: str = Field(default="", sa_column=Column(sa.String(8000), nullable=False))
    mentions: list[int] = _json([])
    refs: list[int] = _json([])
    created_at: datetime = _now_col()


class ChatRead(SQLModel, table=True):
    """How far one staff member has read one room (unread = newer messages by others)."""

    __tablename__ = "chat_read"
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    room_id: int = Field(foreign_key="chat_room.id", primary_key=True, index=True, ondelete="CASCADE")
    last_read_message_id: int = 0
    updated_at: datetime = _now_col()
