"""What is uploaded to a campaign: a recipient list (CSV), coupon codes; and coupon
redemptions recorded afterwards. Each is bounded, and a list or code seen twice is
counted, never stored twice."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select

from hub.addresses import normalize_email, normalize_phone
from hub.campaigns import service
from hub.context import Hub
from hub.models import CampaignCoupon, CampaignRecipient
from hub.projections import core
from hub.services.access import Actor
from hub.services.contact_fields import invalid_fields
from hub.services.errors import Conflict, Invalid, NotFound
from hub.services.uow import unit_of_work

MAX_LIST_ROWS = 200_000
MAX_COUPONS = 200_000
_recipient = CampaignRecipient.__table__  # type: ignore[attr-defined]
_coupon = CampaignCoupon.__table__  # type: ignore[attr-defined]


def _address(raw: str, region: str | None) -> str | None:
    """An email address, a phone number (E.164), or another channel's id as written
    (a Telegram chat id); None when it is none of them."""
    raw = raw.strip()
    if not raw or len(raw) > 320:
        return None
    try:
        if "@" in raw:
            value = normalize_email(raw)
            return value if "@" in value else None
        if raw.startswith("+"):
            return normalize_phone(raw, region)
    except Invalid:
        return None
    if region is not None and raw[:1].isdigit():
        try:
            return normalize_phone(raw, region)
        except Invalid:
            pass
    return raw if not any(ch.isspace() for ch in raw) else None


async def upload_list(hub: Hub, actor: Actor, campaign_id: int, text: str) -> dict[str, int]:
    """A CSV with a header naming ``address`` (and optionally ``name``, ``language``)."""
    now = hub.now()
    added = invalid = duplicates = 0
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        c = await service.load(s, actor, campaign_id, lock=True)  # rights before the content
        if c.status != "draft":
            raise Conflict("only a draft's list can be changed", code="campaign_not_draft")
        if c.audience_type != "list":
            raise invalid_fields([("body.audience", "not_a_list", "a campaign whose audience is a list")])
        reader = csv.DictReader(io.StringIO(text))
        try:
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
        except csv.Error as exc:
            raise Invalid(f"the CSV cannot be read: {exc}", code="bad_csv") from None
        if "address" not in header:
            raise Invalid("the CSV needs a header row with an address column", code="bad_csv")
        reader.fieldnames = header
        r = _recipient.c
        seen = {
            str(a)
            for (a,) in (
                await core(s, sa.select(r.address).where(r.campaign_id == c.id, r.test.is_(False)))
            ).all()
        }
        if len(seen) >= MAX_LIST_ROWS:
            raise Conflict(f"a list holds at most {MAX_LIST_ROWS} rows", code="list_too_long")
        rows: list[dict[str, Any]] = []
        try:
            lines = list(reader)
        except csv.Error as exc:
            raise Invalid(f"the CSV cannot be read: {exc}", code="bad_csv") from None
        for line in lines:
            if len(seen) + len(rows) >= MAX_LIST_ROWS:
                raise Conflict(f"a list holds at most {MAX_LIST_ROWS} rows", code="list_too_long")
            address = _address(str(line.get("address") or ""), hub.settings.default_phone_region)
            if address is None:
                invalid += 1
                continue
            if address in seen:
                duplicates += 1
                continue
            seen.add(address)
            language = str(line.get("language") or "").strip().lower()[:10]
            rows.append(
                {
                    "campaign_id": c.id,
                    "contact_id": None,
                    "channel": "",
                    "address": address,
                    "name": str(line.get("name") or "").strip()[:200],
                    "language": language or "en",
                    "status": "listed",
                    "test": False,
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        if rows:
            await core(s, sa.insert(_recipient), rows)
            added = len(rows)
        c.updated_at = now
        s.add(c)
        service.emit(uow, "campaign.updated", c)
    return {"added": added, "invalid": invalid, "duplicates": duplicates, "total": len(seen)}


async def add_coupons(hub: Hub, actor: Actor, campaign_id: int, codes: Sequence[str]) -> dict[str, int]:
    now = hub.now()
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        c = await service.load(s, actor, campaign_id, lock=True)
        if c.status not in ("draft", "scheduled", "paused", "running"):
            raise Conflict(f"a {c.status} campaign takes no more codes", code="bad_campaign_state")
        k = _coupon.c
        total = int((await core(s, sa.select(sa.func.count()).where(k.campaign_id == c.id))).scalar() or 0)
        wanted = list(dict.fromkeys(x.strip() for x in codes if x.strip()))
        if total + len(wanted) > MAX_COUPONS:
            raise invalid_fields([("body.codes", "too_many", f"at most {MAX_COUPONS} codes a campaign")])
        insert = sqlite_insert if hub.db.is_sqlite else pg_insert
        added = 0
        if wanted:
            result = await core(
                s,
                insert(_coupon)
                .values([{"campaign_id": c.id, "code": code, "created_at": now} for code in wanted])
                .on_conflict_do_nothing(index_elements=["campaign_id", "code"]),
            )
            added = int(result.rowcount or 0)
    return {"added": added, "duplicates": len(codes) - added, "total": total + added}


async def redeem(hub: Hub, actor: Actor, campaign_id: int, code: str) -> dict[str, Any]:
    now = hub.now()
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        c = await service.load(s, actor, campaign_id)
        coupon = (
            await s.exec(
                select(CampaignCoupon)
                .where(CampaignCoupon.campaign_id == c.id, CampaignCoupon.code == code.strip())
                .with_for_update()
            )
        ).first()
        if coupon is None:
            raise NotFound("no such code in this campaign", code="coupon_not_found")
        already = coupon.redeemed_at is not None
        if not already:
            coupon.redeemed_at = now
            s.add(coupon)
        contact_id = None
        if coupon.recipient_id:
            contact_id = (
                await s.exec(
                    select(CampaignRecipient.contact_id).where(CampaignRecipient.id == coupon.recipient_id)
                )
            ).first()
    return {
        "code": coupon.code,
        "recipient_id": coupon.recipient_id or None,
        "contact_id": contact_id,
        "redeemed_at": coupon.redeemed_at,
        "already": already,
    }


# -- the recipients ----------------------------------------------------------------------------


async def recipients_page(
    hub: Hub, actor: Actor, campaign_id: int, *, statuses: list[str], limit: int, cursor: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    from hub.models import Contact

    async with hub.db.session() as s:
        c = await service.load(s, actor, campaign_id)
        r = _recipient.c
        contact = Contact.__table__  # type: ignore[attr-defined]
        stmt = (
            sa.select(_recipient, contact.c.name.label("contact_name"))
            .select_from(_recipient.outerjoin(contact, contact.c.id == r.contact_id))
            .where(r.campaign_id == c.id)
        )
        if statuses:
            stmt = stmt.where(r.status.in_(statuses))
        if cursor is not None:
            stmt = stmt.where(r.id > cursor)
        rows = [dict(x) for x in (await core(s, stmt.order_by(r.id).limit(limit + 1))).mappings().all()]
    more = len(rows) > limit
    rows = rows[:limit]
    return [_public(x) for x in rows], (rows[-1]["id"] if more and rows else None)


COLUMNS = (
    "id",
    "contact_id",
    "contact_name",
    "channel",
    "address",
    "language",
    "status",
    "reason",
    "test",
    "due_at",
    "sent_at",
    "delivered_at",
    "replied_at",
    "opted_out_at",
    "conversation_id",
    "coupon",
    "attempts",
    "provider_id",
)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row.get(k) for k in COLUMNS}
    out["contact_name"] = row.get("contact_name") or row.get("name") or ""
    return out
