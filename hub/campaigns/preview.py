"""The dry run (counts, exclusions with reasons, a rendered sample per language, the
SMS cost) and the test send to the author. The preview writes nothing; it walks the
audience in the same keyset pages as the freeze, up to ``[campaigns] preview_limit``."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.addresses import normalize_email, normalize_phone
from hub.campaigns import audience, render, service, smsparts
from hub.context import Hub
from hub.models import Campaign, CampaignCoupon, CampaignRecipient, ContactField, Identity, Team
from hub.projections import core
from hub.services.access import Actor
from hub.services.contact_fields import invalid_fields
from hub.services.errors import Conflict, Invalid
from hub.services.uow import unit_of_work

SAMPLE_NAME = {"en": "Sample Customer", "ar": "عميل تجريبي"}
_recipient = CampaignRecipient.__table__  # type: ignore[attr-defined]


async def preview(hub: Hub, actor: Actor, campaign_id: int) -> dict[str, Any]:
    cfg = hub.settings.campaigns
    async with hub.db.session() as s:
        c = await service.load(s, actor, campaign_id)
        eligible = 0
        excluded: Counter[str] = Counter()
        by_channel: Counter[str] = Counter()
        by_language: Counter[str] = Counter()
        first: dict[str, audience.Decision] = {}
        seen = 0
        capped = False
        async for decisions, extra in _walk(hub, s, c, actor):
            excluded.update(extra)
            for d in decisions:
                seen += 1
                if d.reason is not None:
                    excluded[d.reason] += 1
                    continue
                eligible += 1
                by_channel[d.channel] += 1
                lang = render.pick_language(c.content or {}, d.language)
                by_language[lang] += 1
                first.setdefault(lang, d)
            if seen >= cfg.preview_limit:
                capped = True
                break
        samples, sms = await _samples(hub, s, c, first)
    return {
        "eligible": eligible,
        "excluded": dict(excluded),
        "by_channel": dict(by_channel),
        "by_language": dict(by_language),
        "samples": samples,
        "sms": sms,
        "capped": capped,
    }


async def _walk(hub: Hub, s: AsyncSession, c: Campaign, actor: Actor) -> Any:
    """Pages of decisions (and, for a list, exclusions found before deciding)."""
    batch = hub.settings.campaigns.freeze_batch
    if c.audience_type == "segment":
        f = await audience.segment_filter(s, c)
        if f is None:
            return
        after = 0
        while True:
            members = await audience.members_page(hub, s, f, actor, after, batch)
            if not members:
                return
            yield await audience.decide(hub, s, c, members), Counter()
            after = members[-1].contact_id
            if len(members) < batch:
                return
    r = _recipient.c
    after = 0
    taken: set[int] = set()
    while True:
        listed = (
            await core(
                s,
                sa.select(r.id, r.address)
                .where(r.campaign_id == c.id, r.status == "listed", r.id > after)
                .order_by(r.id)
                .limit(batch),
            )
        ).all()
        if not listed:
            return
        addresses = [str(x[1]) for x in listed]
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
        extra: Counter[str] = Counter()
        ids: list[int] = []
        for a in addresses:
            cid = owners.get(a)
            if cid is None:
                extra["unknown_contact"] += 1
            elif cid in taken:
                extra["duplicate"] += 1
            else:
                taken.add(int(cid))
                ids.append(int(cid))
        from hub.campaigns.freeze import members_by_id

        found = await members_by_id(s, ids)
        extra["erased"] += len(ids) - len(found)
        yield await audience.decide(hub, s, c, list(found.values())), +extra
        after = int(listed[-1][0])


async def _samples(
    hub: Hub, s: AsyncSession, c: Campaign, first: dict[str, audience.Decision]
) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = list((await s.exec(select(ContactField.key))).all())
    team = await s.get(Team, c.team_id) if c.team_id is not None else None
    coupon = (
        await s.exec(
            select(CampaignCoupon.code)
            .where(CampaignCoupon.campaign_id == c.id, col(CampaignCoupon.recipient_id).is_(None))
            .limit(1)
        )
    ).first()
    samples: dict[str, Any] = {}
    sms: dict[str, Any] = {}
    for lang, variant in (c.content or {}).items():
        if not variant or lang not in render.LANGUAGES:
            continue
        d = first.get(lang)
        member = d.member if d is not None else None
        values = render.values_for(
            name=member.name if member is not None else SAMPLE_NAME.get(lang, "Sample Customer"),
            attributes=member.attributes if member is not None else {},
            custom_keys=keys,
            team_name=team.name if team is not None else None,
            campaign_name=c.name,
            coupon=coupon or "COUPON",
            unsubscribe_url=f"{hub.settings.base_url}/u/…",
        )
        piece = render.piece(c.content or {}, lang, values)
        samples[lang] = {
            "contact_id": member.contact_id if member is not None else None,
            "channel": d.channel if d is not None else c.channel,
            "subject": piece.subject,
            "body": piece.body,
            "html": piece.html,
            "template": piece.template,
            "variables": piece.variables,
            "unknown": piece.unknown,
            "missing": piece.missing,
        }
        sms[lang] = smsparts.count(piece.body).as_dict()
    return samples, sms


# -- test send ------------------------------------------------------------------------------


def _normalize(channel: str, address: str, region: str | None) -> str:
    kind = audience.KINDS.get(channel)
    try:
        if kind == "phone":
            return normalize_phone(address, region)
        if kind == "email":
            value = normalize_email(address)
            if "@" not in value:
                raise Invalid("not an email address", code="bad_address")
            return value
    except Invalid:
        raise invalid_fields([("body.address", "bad_address", f"an address on {channel}")]) from None
    value = address.strip()
    if not value:
        raise invalid_fields([("body.address", "bad_address", f"an address on {channel}")])
    return value


async def test_send(
    hub: Hub, actor: Actor, campaign_id: int, *, address: str, channel: str | None, language: str
) -> dict[str, Any]:
    now = hub.now()
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        c = await service.load(s, actor, campaign_id, lock=True)
        if c.status == "cancelled":
            raise Conflict("the campaign is cancelled", code="bad_campaign_state")
        if c.kind == "survey":
            raise Conflict("a survey campaign sends the survey's own question", code="bad_campaign_state")
        candidates = audience.candidate_channels(hub, c)
        channel = channel or (candidates[0] if candidates else None)
        if channel is None or channel not in candidates:
            raise invalid_fields([("body.channel", "bad_channel", f"one of: {', '.join(candidates)}")])
        to = _normalize(channel, address, hub.settings.default_phone_region)
        if await service.count_tests(s, c) >= service.MAX_TESTS:
            raise Conflict(f"at most {service.MAX_TESTS} test sends a campaign", code="too_many_tests")
        row = CampaignRecipient(
            campaign_id=c.id,  # type: ignore[arg-type]
            contact_id=None,
            channel=channel,
            address=to,
            name=actor.name[:200],
            language=language,
            status="pending",
            test=True,
            due_at=now,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        await s.flush()
    hub.outbox_wakeup.set()
    return {"recipient_id": row.id, "channel": channel, "address": to}
