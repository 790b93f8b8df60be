"""One contact filter, used by the contacts list, exports and (later) segments.

A :class:`ContactFilter` becomes one SQL query over ``contact`` joined to its figures;
sorts are keyset-paged (an opaque cursor holds the last row's sort value and id), so
the millionth page costs what the first does.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col

from hub.crm.search import matching_ids
from hub.models import Contact, ContactConsent, ContactFigures, ContactTier, UTCDateTime
from hub.services.access import Actor

Sort = Literal["recent", "name", "created", "last_contact", "conversations"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_figures = ContactFigures.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_consent = ContactConsent.__table__  # type: ignore[attr-defined]


class ContactFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(default=None, max_length=200)
    tag: str | None = Field(default=None, max_length=100)
    tier: str | None = Field(default=None, max_length=40)
    vip: bool | None = None
    language: str | None = Field(default=None, max_length=10)
    preferred_channel: str | None = Field(default=None, max_length=20)
    channel: str | None = Field(default=None, max_length=20)  # used at least once
    # custom field equality: {"plan": "gold"}
    fields: dict[str, str] = Field(default_factory=dict, max_length=10)
    organization_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    owner_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    min_conversations_90d: int | None = Field(default=None, ge=0, le=1_000_000)
    last_contact_after: datetime | None = None
    last_contact_before: datetime | None = None
    first_contact_after: datetime | None = None
    first_contact_before: datetime | None = None
    min_csat_average: float | None = Field(default=None, ge=1, le=5)
    max_csat_average: float | None = Field(default=None, ge=1, le=5)
    open_complaint: bool | None = None  # has (true) or has no (false) open complaint
    consent: str | None = Field(default=None, max_length=20)  # granted on this channel
    # Relative to now (a saved segment stays current): the last contact at least / at
    # most this many days ago — e.g. 90 and 365 for "lapsed customers" (campaigns).
    last_contact_days_min: int | None = Field(default=None, ge=0, le=36_500)
    last_contact_days_max: int | None = Field(default=None, ge=0, le=36_500)


class BadCursor(ValueError):
    pass


def json_list_has(column: Any, value: str, is_sqlite: bool) -> Any:
    """A condition: the JSON list in ``column`` holds ``value`` (SQLite and PostgreSQL)."""
    if is_sqlite:
        each = sa.func.json_each(column).table_valued("value")
        return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == value))
    return sa.cast(column, sa.dialects.postgresql.JSONB).contains([value])


def contact_visible_clause(actor: Actor) -> Any:
    from hub.services.contacts import contact_visible_clause as visible

    return visible(actor)


def where_clauses(
    f: ContactFilter, actor: Actor, *, is_sqlite: bool, region: str | None, now: datetime | None = None
) -> list[Any]:
    c = _contact.c
    out: list[Any] = [c.merged_into_id.is_(None), c.erased_at.is_(None), contact_visible_clause(actor)]
    if f.q and f.q.strip():
        # One indexed condition (the organisation's name is in the search text): an OR
        # here would make SQLite collect every match before it can sort and stop at 50.
        out.append(c.id.in_(matching_ids(f.q, is_sqlite=is_sqlite, default_region=region)))
    if f.organization_id is not None:
        out.append(c.organization_id == f.organization_id)
    if f.owner_id is not None:
        out.append(c.owner_id == f.owner_id)
    if f.tag:
        out.append(json_list_has(c.tags, f.tag, is_sqlite))
    if f.tier:
        out.append(c.id.in_(sa.select(col(ContactTier.contact_id)).where(col(ContactTier.tier) == f.tier)))
    if f.vip is not None:
        out.append(c.vip == f.vip)
    if f.language:
        out.append(c.language == f.language)
    if f.preferred_channel:
        out.append(_figures.c.preferred_channel == f.preferred_channel)
    if f.channel:
        out.append(json_list_has(_figures.c.channels, f.channel, is_sqlite))
    for key, value in f.fields.items():
        out.append(c.attributes[key].as_string() == value)
    if f.min_conversations_90d is not None:
        out.append(sa.func.coalesce(_figures.c.conversations_90d, 0) >= f.min_conversations_90d)
    if f.last_contact_after is not None:
        out.append(_figures.c.last_contact_at >= f.last_contact_after)
    if f.last_contact_before is not None:
        out.append(_figures.c.last_contact_at < f.last_contact_before)
    if f.first_contact_after is not None:
        out.append(_figures.c.first_contact_at >= f.first_contact_after)
    if f.first_contact_before is not None:
        out.append(_figures.c.first_contact_at < f.first_contact_before)
    if f.min_csat_average is not None:
        out.append(_figures.c.csat_count > 0)
        out.append(_figures.c.csat_sum >= f.min_csat_average * _figures.c.csat_count)
    if f.max_csat_average is not None:
        out.append(_figures.c.csat_count > 0)
        out.append(_figures.c.csat_sum <= f.max_csat_average * _figures.c.csat_count)
    if f.open_complaint is not None:
        has = sa.func.coalesce(_figures.c.open_complaints, 0) > 0
        out.append(has if f.open_complaint else sa.not_(has))
    if f.last_contact_days_min is not None or f.last_contact_days_max is not None:
        at = now or datetime.now(UTC)
        if f.last_contact_days_min is not None:
            out.append(_figures.c.last_contact_at < at - timedelta(days=f.last_contact_days_min))
        if f.last_contact_days_max is not None:
            out.append(_figures.c.last_contact_at >= at - timedelta(days=f.last_contact_days_max))
    if f.consent:
        # Marketing consent recorded as opted in on this channel (hub.services.consent).
        out.append(
            sa.exists(
                sa.select(_consent.c.id).where(
                    _consent.c.contact_id == c.id,
                    _consent.c.channel == f.consent,
                    _consent.c.purpose == "marketing",
                    _consent.c.state == "opted_in",
                )
            )
        )
    return out


def _sort_key(sort: Sort) -> tuple[Any, bool]:
    """(expression, descending) of a sort; ties are broken by id the same way."""
    if sort == "name":
        return sa.func.lower(_contact.c.name), False
    if sort in ("recent", "last_contact"):
        return sa.func.coalesce(_figures.c.last_contact_at, sa.literal(EPOCH, UTCDateTime())), True
    if sort == "conversations":
        return sa.func.coalesce(_figures.c.conversations_90d, 0), True
    return _contact.c.id, True


def encode_cursor(sort: Sort, value: Any, contact_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort, value, contact_id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: Sort, cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_sort, value, contact_id = json.loads(raw)
        if got_sort != sort or not isinstance(contact_id, int):
            raise ValueError
        if sort in ("recent", "last_contact"):
            value = datetime.fromisoformat(value)
        elif sort == "conversations" and not isinstance(value, int):
            raise ValueError
        elif sort == "name" and not isinstance(value, str):
            raise ValueError
        return value, contact_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise BadCursor("the cursor does not belong to this list") from exc


def list_query(
    f: ContactFilter,
    actor: Actor,
    *,
    sort: Sort,
    limit: int,
    cursor: str | None,
    is_sqlite: bool,
    region: str | None,
) -> Any:
    """Rows of (contact columns..., sort_value) for one page (``limit + 1`` rows)."""
    key, desc = _sort_key(sort)
    stmt = (
        sa.select(_contact, key.label("sort_value"))
        .select_from(_contact.outerjoin(_figures, _figures.c.contact_id == _contact.c.id))
        .where(*where_clauses(f, actor, is_sqlite=is_sqlite, region=region))
    )
    if cursor:
        value, after_id = decode_cursor(sort, cursor)
        if sort == "created":
            stmt = stmt.where(_contact.c.id < after_id)
        elif desc:
            stmt = stmt.where(sa.or_(key < value, sa.and_(key == value, _contact.c.id < after_id)))
        else:
            stmt = stmt.where(sa.or_(key > value, sa.and_(key == value, _contact.c.id > after_id)))
    if sort == "created":
        order = [_contact.c.id.desc()]
    elif desc:
        order = [key.desc(), _contact.c.id.desc()]
    else:
        order = [key.asc(), _contact.c.id.asc()]
    return stmt.order_by(*order).limit(limit + 1)


FIGURE_FILTERS = (
    "last_contact_days_min",
    "last_contact_days_max",
    "preferred_channel",
    "channel",
    "min_conversations_90d",
    "last_contact_after",
    "last_contact_before",
    "first_contact_after",
    "first_contact_before",
    "min_csat_average",
    "max_csat_average",
    "open_complaint",
)


def reads_figures(f: ContactFilter) -> bool:
    return any(getattr(f, name) not in (None, "") for name in FIGURE_FILTERS)


def count_query(
    f: ContactFilter, actor: Actor, *, is_sqlite: bool, region: str | None, cap: int | None = None
) -> Any:
    """How many contacts match; with ``cap``, counting stops at ``cap + 1`` (a search box
    says "10,000+" rather than counting 120,000 matches on every keystroke)."""
    # The figures are joined only when a filter reads them: a count of every contact
    # must not hash-join a million figures rows it never looks at.
    source = (
        _contact.outerjoin(_figures, _figures.c.contact_id == _contact.c.id) if reads_figures(f) else _contact
    )
    base = (
        sa.select(_contact.c.id)
        .select_from(source)
        .where(*where_clauses(f, actor, is_sqlite=is_sqlite, region=region))
    )
    if cap is not None:
        base = base.limit(cap + 1)
    return sa.select(sa.func.count()).select_from(base.subquery())


def preference_query(f: ContactFilter, actor: Actor, *, is_sqlite: bool, region: str | None) -> Any:
    """Members counted by preferred channel (None: no conversation in 90 days)."""
    return (
        sa.select(_figures.c.preferred_channel, sa.func.count())
        .select_from(_contact.outerjoin(_figures, _figures.c.contact_id == _contact.c.id))
        .where(*where_clauses(f, actor, is_sqlite=is_sqlite, region=region))
        .group_by(_figures.c.preferred_channel)
    )
