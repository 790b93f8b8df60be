"""Who gets a campaign, on which channel and address, when — and who does not, and why.

The same decisions serve the preview (counted, nothing written) and the freeze (written
as recipient rows). Both walk the audience in keyset pages of contact ids, so a
100,000-member segment is never in memory: per page one query for the contacts (with
their preferred channel), one for their identities and one consent query per channel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.crm.contact_query import ContactFilter, where_clauses
from hub.models import Campaign, Contact, ContactFigures, Identity, Segment
from hub.projections import core
from hub.services import consent
from hub.services.access import Actor
from hub.services.surveys import after_quiet
from hub.timeutil import zone as tz_zone

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# The channels a campaign can send on, and the identity kind each one writes to.
KINDS = {
    "sms": "phone",
    "whatsapp": "phone",
    "email": "email",
    "telegram": "telegram",
    "loopback": "loopback",
}
DEFAULT_FALLBACK = ("whatsapp", "sms", "email", "telegram")
# When a contact can be reached on no channel, the reason shown is the most telling one.
_REASON_ORDER = ("opted_out", "no_consent", "no_telegram_chat", "invalid_number", "no_identity")

_contact = Contact.__table__  # type: ignore[attr-defined]
_figures = ContactFigures.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Member:
    contact_id: int
    name: str
    language: str | None
    timezone: str | None
    attributes: Mapping[str, Any]
    preferred_channel: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    member: Member
    channel: str
    address: str
    language: str
    reason: str | None  # None: send


def enabled_channels(hub: Hub) -> list[str]:
    return [k for k in KINDS if k in hub.channels]


def channel_can_carry(campaign: Campaign, channel: str) -> bool:
    """Whether the content has what ``channel`` needs (a WhatsApp template, an email subject)."""
    if campaign.kind == "survey":
        return True  # the survey's own question, shown each channel's way
    variants = [v for v in (campaign.content or {}).values() if isinstance(v, Mapping)]
    if channel == "whatsapp":
        return any(v.get("template") for v in variants)
    if channel == "email":
        return any(v.get("subject") and (v.get("body") or v.get("html")) for v in variants)
    return any(v.get("body") for v in variants)


def candidate_channels(hub: Hub, campaign: Campaign) -> list[str]:
    """The channels tried for each contact, in order (the preferred one is put first per contact)."""
    enabled = enabled_channels(hub)
    if campaign.channel != "preferred":
        return [campaign.channel] if campaign.channel in enabled else []
    order = [c for c in (campaign.fallback or DEFAULT_FALLBACK) if c in enabled]
    return [c for c in order if channel_can_carry(campaign, c)]


# -- the audience's members, page by page --------------------------------------------------


def audience_actor(campaign: Campaign, starter: Actor | None) -> Actor:
    """Members are those the starter may see; a timer started by nobody in particular
    (the scheduled start) takes the campaign's team's view."""
    if starter is not None:
        return starter
    if campaign.team_id is None:
        return Actor(user_id=None, role="admin")
    return Actor(user_id=None, role="supervisor", team_ids=frozenset({campaign.team_id}))


async def segment_filter(s: AsyncSession, campaign: Campaign) -> ContactFilter | None:
    if campaign.segment_id is None:
        return None
    seg = await s.get(Segment, campaign.segment_id)
    if seg is None:
        return None
    return ContactFilter.model_validate(seg.filter or {})


async def members_page(
    hub: Hub, s: AsyncSession, f: ContactFilter, actor: Actor, after: int, limit: int
) -> list[Member]:
    c = _contact.c
    stmt = (
        sa.select(c.id, c.name, c.language, c.timezone, c.attributes, _figures.c.preferred_channel)
        .select_from(_contact.outerjoin(_figures, _figures.c.contact_id == c.id))
        .where(
            *where_clauses(
                f, actor, is_sqlite=hub.db.is_sqlite, region=hub.settings.default_phone_region, now=hub.now()
            ),
            c.id > after,
        )
        .order_by(c.id)
        .limit(limit)
    )
    rows = (await core(s, stmt)).all()
    return [
        Member(int(r[0]), str(r[1] or ""), r[2], r[3], r[4] if isinstance(r[4], dict) else {}, r[5])
        for r in rows
    ]


async def identities(s: AsyncSession, contact_ids: Sequence[int]) -> dict[int, list[tuple[str, str, bool]]]:
    """contact id -> [(kind, address, verified)], verified first."""
    out: dict[int, list[tuple[str, str, bool]]] = {}
    if not contact_ids:
        return out
    rows = (
        await core(
            s,
            sa.select(
                col(Identity.contact_id), col(Identity.kind), col(Identity.address), col(Identity.verified_at)
            )
            .where(col(Identity.contact_id).in_(list(contact_ids)))
            .order_by(col(Identity.verified_at).is_(None), col(Identity.id)),
        )
    ).all()
    for contact_id, kind, address, verified in rows:
        out.setdefault(int(contact_id), []).append((str(kind), str(address), verified is not None))
    return out


# -- consent ----------------------------------------------------------------------------


async def marketing_blocked(s: AsyncSession, contact_ids: Sequence[int], channel: str) -> dict[int, str]:
    if not contact_ids:
        return {}
    return await consent.marketing_blocked(s, list(contact_ids), channel)


async def opted_in(s: AsyncSession, contact_ids: Sequence[int], channel: str) -> set[int]:
    return await consent.opted_in(s, list(contact_ids), channel, consent.MARKETING)


# -- decisions --------------------------------------------------------------------------


def _address_on(channel: str, ids: list[tuple[str, str, bool]]) -> tuple[str | None, str | None]:
    """(address, None) or (None, reason) for one contact on one channel."""
    kind = KINDS[channel]
    found = [(a, v) for k, a, v in ids if k == kind]
    if not found:
        return None, "no_identity"
    address, verified = found[0]
    if channel == "telegram" and not verified:
        return None, "no_telegram_chat"  # a bot may only write to those who wrote to it
    if kind == "phone" and not E164.match(address):
        return None, "invalid_number"
    return address, None


async def decide(hub: Hub, s: AsyncSession, campaign: Campaign, members: Sequence[Member]) -> list[Decision]:
    """Each member's channel, address and language, or why they are excluded."""
    channels = candidate_channels(hub, campaign)
    ids = await identities(s, [m.contact_id for m in members])
    everyone = [m.contact_id for m in members]
    blocked = {ch: await marketing_blocked(s, everyone, ch) for ch in channels}
    allowed_in: dict[str, set[int]] | None = None
    if hub.settings.campaigns.require_opt_in:
        allowed_in = {ch: await opted_in(s, everyone, ch) for ch in channels}
    out = []
    for m in members:
        order = list(channels)
        if campaign.channel == "preferred" and m.preferred_channel in order:
            order.remove(m.preferred_channel)  # type: ignore[arg-type]
            order.insert(0, m.preferred_channel)  # type: ignore[arg-type]
        reasons: list[str] = []
        chosen: tuple[str, str] | None = None
        for ch in order:
            address, reason = _address_on(ch, ids.get(m.contact_id, []))
            if reason is None and m.contact_id in blocked[ch]:
                reason = "opted_out"
            if reason is None and allowed_in is not None and m.contact_id not in allowed_in[ch]:
                reason = "no_consent"
            if reason is None and address is not None:
                chosen = (ch, address)
                break
            reasons.append(reason or "no_identity")
        language = (m.language or "en").split("-")[0].lower()
        if chosen is None:
            reason = min(reasons, key=_REASON_ORDER.index) if reasons else "no_identity"
            out.append(Decision(m, order[0] if order else campaign.channel, "", language, reason))
        else:
            out.append(Decision(m, chosen[0], chosen[1], language, None))
    return out


# -- when -------------------------------------------------------------------------------


def _zone(name: str | None) -> ZoneInfo:
    try:
        return tz_zone(name or "UTC")
    except ValueError:
        return ZoneInfo("UTC")


def quiet_hours(campaign: Campaign) -> tuple[time, time] | None:
    if not campaign.quiet_start or not campaign.quiet_end:
        return None
    return time.fromisoformat(campaign.quiet_start), time.fromisoformat(campaign.quiet_end)


def due_time(campaign: Campaign, timezone: str | None, now: datetime) -> datetime:
    """When this contact's message is due: the start (in their own time with
    ``local_time``), moved out of the quiet hours in their time zone."""
    zone = _zone(timezone)
    at = now
    if campaign.start_at is not None and campaign.local_time:
        wall = campaign.start_at.replace(tzinfo=None)
        at = max(now, wall.replace(tzinfo=zone).astimezone(now.tzinfo))
    quiet = quiet_hours(campaign)
    if quiet is not None:
        at = after_quiet(at, zone, *quiet)
    return at
