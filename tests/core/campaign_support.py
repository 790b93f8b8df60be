"""Helpers for the campaign tests: contacts in bulk (Core statements), a segment, a
campaign started through the API, and the passes that move it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from hub.models import Contact, Identity
from hub.projections import core

_contact = Contact.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]


async def bulk_contacts(
    hub: Any,
    n: int,
    *,
    prefix: str = "c",
    kind: str = "loopback",
    address: Any = None,
    timezone: str | None = None,
    language: str | None = None,
    verified: bool = True,
) -> list[int]:
    """``n`` contacts with one identity each, in two statements."""
    now = hub.now()
    tag = f"{prefix}-{n}-{now.timestamp()}"
    rows = [
        {
            "name": f"{prefix} {i}",
            "language": language,
            "timezone": timezone,
            "vip": False,
            "tags": [],
            "attributes": {"batch": tag},
            "notes": "",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    async with hub.db.transaction() as s:
        await core(s, sa.insert(_contact), rows)
        ids = [
            int(x[0])
            for x in (
                await core(
                    s,
                    sa.select(_contact.c.id)
                    .where(_contact.c.attributes["batch"].as_string() == tag)
                    .order_by(_contact.c.id),
                )
            ).all()
        ]
        make = address or (lambda i, cid: f"{prefix}-{cid}")
        await core(
            s,
            sa.insert(_identity),
            [
                {
                    "contact_id": cid,
                    "kind": kind,
                    "address": make(i, cid),
                    "created_at": now,
                    "verified_at": now if verified else None,
                }
                for i, cid in enumerate(ids)
            ],
        )
    return ids


async def segment(client: Any, headers: dict[str, str], name: str, f: dict[str, Any]) -> int:
    r = await client.post("/api/v1/segments", json={"name": name, "filter": f}, headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def create(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Offer")
    body.setdefault("channel", "loopback")
    body.setdefault(
        "content", {"en": {"body": "Hi {{contact.name}}"}, "ar": {"body": "مرحبا {{contact.name}}"}}
    )
    r = await client.post("/api/v1/campaigns", json=body, headers=headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def freeze(hub: Any) -> None:
    """Fire the campaigns reactor's timers until nothing is due (each firing freezes a page)."""
    while await hub.projections.run_due():
        pass


async def drain(app: Any, *, limit: int = 10_000) -> int:
    """Outbox passes until one sends nothing; returns the passes that sent."""
    passes = 0
    while await app.worker.run_once():
        passes += 1
        assert passes < limit
    return passes


async def statuses(hub: Any, campaign_id: int) -> dict[str, int]:
    from hub.models import CampaignRecipient

    t = CampaignRecipient.__table__  # type: ignore[attr-defined]
    async with hub.db.session() as s:
        rows = (
            await core(
                s,
                sa.select(t.c.status, sa.func.count())
                .where(t.c.campaign_id == campaign_id)
                .group_by(t.c.status),
            )
        ).all()
    return {str(k): int(v) for k, v in rows}


def keys(sent: Sequence[Any]) -> list[str]:
    return [m.idempotency_key for m in sent]
