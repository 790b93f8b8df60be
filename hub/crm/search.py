"""Contact search: the ``contact_search`` projection and the query side.

Each live contact has one row of normalised text (hub.textnorm): name, organisation
name, addresses (a phone in international and national digits), tags and custom field
values. It is
indexed for substring search — an FTS5 trigram table on SQLite, a ``pg_trgm`` GIN index
on PostgreSQL (migration 0006) — so ``LIKE '%term%'`` is an index lookup for terms of
three characters or more on a million contacts. Shorter terms fall back to a scan.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.crm.figures import CONTACT_EVENTS
from hub.models import Contact, ContactSearch, Identity, Organization
from hub.projections import LoggedEvent, core
from hub.textnorm import normalize, phone_forms, phone_query

MAX_TEXT = 2000
MAX_TERMS = 6
_search = ContactSearch.__table__  # type: ignore[attr-defined]


def search_text(contact: Contact, identities: Iterable[Identity], organization: str = "") -> str:
    parts: list[str] = [contact.name or "", organization]
    for identity in identities:
        if identity.kind == "phone":
            parts.extend(phone_forms(identity.address))
        else:
            parts.append(identity.address)
    parts.extend(contact.tags or [])
    for value in (contact.attributes or {}).values():
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            parts.append(str(value))
    return normalize(" ".join(p for p in parts if p))[:MAX_TEXT]


class ContactSearchProjection:
    name = "contact_search"

    async def affected(self, s: AsyncSession, events: Sequence[LoggedEvent]) -> set[int]:
        keys: set[int] = set()
        renamed: set[int] = set()
        for e in events:
            if e.type == "conversation.created" and isinstance(e.payload.get("contact_id"), int):
                keys.add(e.payload["contact_id"])
            elif e.type == "contact.merged":
                keys |= {e.payload["source_id"], e.payload["target_id"]}
            elif e.type in CONTACT_EVENTS:
                keys.add(e.payload["contact_id"])
            elif e.type == "organization.updated":
                renamed.add(e.payload["organization_id"])
        if renamed:  # its name is in its contacts' search text
            rows = await s.exec(select(Contact.id).where(col(Contact.organization_id).in_(list(renamed))))
            keys |= {r for r in rows.all() if r is not None}
        return keys

    async def keys_after(self, s: AsyncSession, after: int, limit: int) -> list[int]:
        rows = await s.exec(
            select(Contact.id).where(col(Contact.id) > after).order_by(col(Contact.id)).limit(limit)
        )
        return [r for r in rows.all() if r is not None]

    async def due(self, s: AsyncSession, now: datetime, limit: int) -> list[int]:
        return []

    def next_due_columns(self, now: datetime) -> list[Any]:
        return []  # no timers

    async def recompute(self, s: AsyncSession, keys: Collection[int], now: datetime) -> None:
        keys = sorted(set(keys))
        if not keys:
            return
        contacts = (
            await s.exec(
                select(Contact).where(col(Contact.id).in_(keys), col(Contact.merged_into_id).is_(None))
            )
        ).all()
        identities: dict[int, list[Identity]] = {}
        for i in (await s.exec(select(Identity).where(col(Identity.contact_id).in_(keys)))).all():
            identities.setdefault(i.contact_id, []).append(i)
        org_ids = {c.organization_id for c in contacts if c.organization_id is not None}
        names = (
            dict(
                (
                    await s.exec(
                        select(Organization.id, Organization.name).where(
                            col(Organization.id).in_(list(org_ids))
                        )
                    )
                ).all()
            )
            if org_ids
            else {}
        )
        await core(s, sa.delete(_search).where(_search.c.contact_id.in_(keys)))
        rows = [
            {
                "contact_id": c.id,
                "text": search_text(c, identities.get(c.id or 0, []), names.get(c.organization_id or 0, "")),
            }
            for c in contacts
        ]
        if rows:
            await core(s, sa.insert(_search), rows)


def terms(query: str, default_region: str | None = None) -> list[str]:
    """What a query looks for: one phone number's digits, or its normalised words."""
    phone = phone_query(query, default_region)
    if phone is not None:
        return [phone]
    words = [w.replace("%", "") for w in normalize(query).split(" ")]
    return [w for w in words if w][:MAX_TERMS]


def matching_ids(query: str, *, is_sqlite: bool, default_region: str | None = None) -> Any:
    """A subquery of the ids of contacts matching ``query`` (every term, as a substring)."""
    found = terms(query, default_region)
    if not found:
        return sa.select(_search.c.contact_id).where(sa.false())
    if is_sqlite and all(len(t) >= 3 for t in found):
        fts = sa.table("contact_search_fts", sa.column("rowid"), sa.column("text"))
        return sa.select(fts.c.rowid).where(*[fts.c.text.like(f"%{t}%") for t in found])
    return sa.select(_search.c.contact_id).where(*[_search.c.text.like(f"%{t}%") for t in found])
