"""The ``organization_join`` projection: a contact with an email address at an
organisation's domain joins it, unless staff already chose one for them.

It runs off the request path like every projection and writes its change the way a
person would be recorded: the contact row and a ``contact.updated`` event (actor: the
system, reason ``domain``) in the same transaction as its checkpoint. A domain added to
an organisation re-examines every contact (a rebuild, in batches).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.crm.figures import CONTACT_EVENTS
from hub.events import validate_payload
from hub.models import Contact, EventLog, Identity, OrganizationDomain
from hub.projections import ALL, LoggedEvent, core

_contact = Contact.__table__  # type: ignore[attr-defined]
_event = EventLog.__table__  # type: ignore[attr-defined]


class OrganizationJoinProjection:
    name = "organization_join"

    async def affected(self, s: AsyncSession, events: Sequence[LoggedEvent]) -> set[int]:
        keys: set[int] = set()
        for e in events:
            if e.type == "organization.updated" and e.payload.get("domains"):
                return {ALL}
            if e.type in ("conversation.created", *CONTACT_EVENTS) and isinstance(
                e.payload.get("contact_id"), int
            ):
                # Our own writes come back as contact.updated (reason "domain"): harmless,
                # the contact then has an organisation and is left alone.
                keys.add(e.payload["contact_id"])
            elif e.type == "contact.merged":
                keys.add(e.payload["target_id"])
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
        if not keys:
            return
        loose = select(Contact.id).where(
            col(Contact.id).in_(list(keys)),
            col(Contact.organization_id).is_(None),
            col(Contact.merged_into_id).is_(None),
            col(Contact.erased_at).is_(None),
        )
        emails = (
            await s.exec(
                select(Identity.contact_id, Identity.address)
                .where(col(Identity.contact_id).in_(loose), Identity.kind == "email")
                .order_by(col(Identity.id))
            )
        ).all()
        if not emails:
            return
        domains = {address.rpartition("@")[2] for _cid, address in emails}
        owner = dict(
            (
                await s.exec(
                    select(OrganizationDomain.domain, OrganizationDomain.organization_id).where(
                        col(OrganizationDomain.domain).in_(domains)
                    )
                )
            ).all()
        )
        joins: dict[int, int] = {}
        for contact_id, address in emails:
            org = owner.get(address.rpartition("@")[2])
            if org is not None and contact_id not in joins:
                joins[contact_id] = org  # the first email identity decides
        for contact_id, org in joins.items():
            await core(
                s,
                sa.update(_contact)
                .where(_contact.c.id == contact_id, _contact.c.organization_id.is_(None))
                .values(organization_id=org, updated_at=now),
            )
        if joins:
            await core(
                s,
                sa.insert(_event),
                [
                    {
                        "type": "contact.updated",
                        "ts": now,
                        "actor_id": None,
                        "conversation_id": None,
                        "team_id": None,
                        "user_id": None,
                        "payload": validate_payload(
                            "contact.updated",
                            {
                                "contact_id": cid,
                                "changes": {"organization_id": [None, org]},
                                "reason": "domain",
                            },
                        ),
                    }
                    for cid, org in joins.items()
                ],
            )
