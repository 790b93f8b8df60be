"""Freezing: the audience becomes recipient rows, one page per transaction.

When a campaign starts (its timer fires, hub.campaigns.reactor), the segment is walked
in keyset pages of contact ids (``freeze_batch`` a page); each page's recipients are
inserted with their channel, address, language, due time (their time zone and quiet
hours applied) and coupon, or as ``excluded`` with the reason — and ``freeze_cursor``
moves past the page *in the same transaction*. A crash in the middle leaves a cursor
that matches the rows, so the next run continues exactly there: nobody twice, nobody
skipped, never the whole segment in memory. A list campaign's uploaded rows (status
``listed``) are matched to contacts by address the same way, page by page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.campaigns import audience, render
from hub.context import Hub
from hub.models import Campaign, CampaignCoupon, CampaignRecipient, Contact, Identity, User
from hub.projections import core
from hub.services.access import actor_for
from hub.services.contacts import contact_visible_clause
from hub.services.uow import UnitOfWork

_recipient = CampaignRecipient.__table__  # type: ignore[attr-defined]
_coupon = CampaignCoupon.__table__  # type: ignore[attr-defined]


async def _starter(uow: UnitOfWork, c: Campaign) -> Any:
    """The audience is what the person who started it may see (as of now)."""
    if c.started_by is None:
        return audience.audience_actor(c, None)
    user = await uow.session.get(User, c.started_by)
    if user is None or not user.active:
        return audience.audience_actor(c, None)
    return await actor_for(uow.session, user)


async def freeze_page(hub: Hub, uow: UnitOfWork, c: Campaign, now: datetime) -> bool:
    """Freeze the next page; True when the whole audience is frozen."""
    limit = hub.settings.campaigns.freeze_batch
    if c.audience_type == "list":
        return await _freeze_list_page(hub, uow, c, now, limit)
    s = uow.session
    f = await audience.segment_filter(s, c)
    members = (
        []
        if f is None
        else await audience.members_page(hub, s, f, await _starter(uow, c), c.freeze_cursor, limit)
    )
    decisions = await audience.decide(hub, s, c, members)
    rows = [_row(c, d, now) for d in decisions]
    given = await _give_coupons(uow, c, rows)
    if rows:
        insert = sqlite_insert if hub.db.is_sqlite else pg_insert
        await core(
            s,
            insert(_recipient).on_conflict_do_nothing(index_elements=["campaign_id", "contact_id"]),
            rows,
        )
        await _link_coupons(uow, c, given)
        c.freeze_cursor = members[-1].contact_id
    return len(members) < limit


def _row(c: Campaign, d: audience.Decision, now: datetime) -> dict[str, Any]:
    m = d.member
    return {
        "campaign_id": c.id,
        "contact_id": m.contact_id,
        "channel": d.channel,
        "address": d.address,
        "name": m.name[:200],
        "language": d.language[:10],
        "status": "pending" if d.reason is None else "excluded",
        "reason": d.reason,
        "test": False,
        "due_at": audience.due_time(c, m.timezone, now) if d.reason is None else None,
        "attempts": 0,
        "coupon": None,
        "created_at": now,
        "updated_at": now,
    }


async def _give_coupons(uow: UnitOfWork, c: Campaign, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Each eligible recipient takes the next free code, when the content uses one.
    The code is written on the recipient; the coupon row learns its recipient once the
    recipient row is written (``_link_coupons``). Returns the coupon ids given."""
    if c.kind == "survey" or not render.uses(c.content or {}, "coupon"):
        return []
    wanted = [r for r in rows if r["status"] == "pending"]
    if not wanted:
        return []
    k = _coupon.c
    codes = (
        await core(
            uow.session,
            sa.select(k.id, k.code)
            .where(k.campaign_id == c.id, k.recipient_id.is_(None), k.redeemed_at.is_(None))
            .order_by(k.id)
            .limit(len(wanted)),
        )
    ).all()
    for row, code in zip(wanted, codes, strict=False):
        row["coupon"] = code[1]
    for row in wanted[len(codes) :]:
        row["status"], row["reason"], row["due_at"] = "excluded", "no_coupon", None
    return [int(i) for i, _ in codes]


async def _link_coupons(uow: UnitOfWork, c: Campaign, given: list[int]) -> None:
    """Point the codes given in this transaction at their recipients (same transaction)."""
    if not given:
        return
    r, k = _recipient.c, _coupon.c
    sub = sa.select(r.id).where(r.campaign_id == c.id, r.coupon == k.code).scalar_subquery()
    await core(uow.session, sa.update(_coupon).where(k.id.in_(given)).values(recipient_id=sub))


async def _freeze_list_page(hub: Hub, uow: UnitOfWork, c: Campaign, now: datetime, limit: int) -> bool:
    s = uow.session
    r = _recipient.c
    listed = (
        await core(
            s,
            sa.select(r.id, r.address, r.name, r.language)
            .where(r.campaign_id == c.id, r.status == "listed", r.id > c.freeze_cursor)
            .order_by(r.id)
            .limit(limit),
        )
    ).all()
    if not listed:
        return True
    # Match each address to its contact (an address is one identity, one contact).
    addresses = sorted({str(row[1]) for row in listed})
    owners = dict(
        (
            await core(
                s,
                sa.select(col(Identity.address), col(Identity.contact_id)).where(
                    col(Identity.address).in_(addresses)
                ),
            )
        ).all()
    )
    # Only contacts the person who started it may see: a list is addresses to find,
    # not a way around the teams' walls (the others read as unknown).
    found = sorted({int(owners[a]) for a in addresses if a in owners})
    contact_ids = (
        [
            int(x)
            for x in (
                await core(
                    s,
                    sa.select(col(Contact.id)).where(
                        col(Contact.id).in_(found), contact_visible_clause(await _starter(uow, c))
                    ),
                )
            ).scalars()
        ]
        if found
        else []
    )
    owners = {a: o for a, o in owners.items() if int(o) in set(contact_ids)}
    taken = {
        int(x[0])
        for x in (
            await core(
                s,
                sa.select(r.contact_id).where(r.campaign_id == c.id, r.contact_id.in_(contact_ids)),
            )
        ).all()
    }
    members = await members_by_id(s, contact_ids)
    decisions = {d.member.contact_id: d for d in await audience.decide(hub, s, c, list(members.values()))}
    updates: list[dict[str, Any]] = []
    for rid, address, _name, language in listed:
        cid = owners.get(address)
        row: dict[str, Any] = {"rid": rid, "contact_id": None, "channel": "", "reason": None, "due_at": None}
        if cid is None:
            row.update(status="excluded", reason="unknown_contact")
        elif cid in taken:
            row.update(status="excluded", reason="duplicate")
        elif cid not in decisions:
            row.update(status="excluded", reason="erased")
        else:
            taken.add(cid)
            d = decisions[cid]
            row.update(
                contact_id=cid,
                channel=d.channel,
                address=d.address or address,
                language=(language or d.language)[:10],
                status="pending" if d.reason is None else "excluded",
                reason=d.reason,
                due_at=audience.due_time(c, d.member.timezone, now) if d.reason is None else None,
            )
        row.setdefault("address", address)
        row.setdefault("language", language)
        row["coupon"] = None
        updates.append(row)
    given = await _give_coupons(uow, c, updates)
    await core(
        s,
        sa.update(_recipient)
        .where(r.id == sa.bindparam("rid"))
        .values(
            contact_id=sa.bindparam("contact_id"),
            channel=sa.bindparam("channel"),
            address=sa.bindparam("address"),
            language=sa.bindparam("language"),
            status=sa.bindparam("status"),
            reason=sa.bindparam("reason"),
            due_at=sa.bindparam("due_at"),
            coupon=sa.bindparam("coupon"),
            updated_at=now,
        ),
        updates,
    )
    await _link_coupons(uow, c, given)
    c.freeze_cursor = int(listed[-1][0])
    return len(listed) < limit


async def members_by_id(s: AsyncSession, contact_ids: list[int]) -> dict[int, audience.Member]:
    """These contacts as audience members (erased and merged ones left out)."""
    if not contact_ids:
        return {}
    c = audience._contact.c
    f = audience._figures
    rows = (
        await core(
            s,
            sa.select(c.id, c.name, c.language, c.timezone, c.attributes, f.c.preferred_channel)
            .select_from(audience._contact.outerjoin(f, f.c.contact_id == c.id))
            .where(c.id.in_(contact_ids), c.erased_at.is_(None), c.merged_into_id.is_(None)),
        )
    ).all()
    return {
        int(r[0]): audience.Member(int(r[0]), str(r[1] or ""), r[2], r[3], r[4] or {}, r[5]) for r in rows
    }
