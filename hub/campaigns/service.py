"""A campaign's lifecycle: create and edit a draft, start, pause, resume, cancel.

Every change goes through a unit of work that writes the event-log row (with the
actor: the audit trail) in the same transaction; events are published after commit.
Supervisors manage the campaigns of their teams, admins all; agents none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.campaigns import audience
from hub.context import Hub
from hub.events import CampaignPayload
from hub.models import (
    Campaign,
    CampaignCoupon,
    CampaignRecipient,
    Role,
    SurveyDefinition,
    SurveyRequest,
    Team,
)
from hub.projections import core
from hub.services.access import Actor, require_role
from hub.services.contact_fields import invalid_fields
from hub.services.errors import Conflict, NotFound
from hub.services.segments import load_segment
from hub.services.uow import UnitOfWork, unit_of_work

EDITABLE = (
    "name",
    "team_id",
    "kind",
    "audience",
    "channel",
    "fallback",
    "content",
    "sender_name",
    "survey_key",
    "schedule",
)
LIVE = ("scheduled", "running", "paused")
MAX_TESTS = 20
MAX_AHEAD = timedelta(days=366)
_recipient = CampaignRecipient.__table__  # type: ignore[attr-defined]


# -- access -----------------------------------------------------------------------------


def may_manage(actor: Actor, c: Campaign) -> bool:
    return actor.is_admin or (c.team_id is not None and c.team_id in actor.team_ids)


async def load(s: AsyncSession, actor: Actor, campaign_id: int, *, lock: bool = False) -> Campaign:
    require_role(actor, Role.supervisor)
    c = await s.get(Campaign, campaign_id, with_for_update=lock or None)
    if c is None or not may_manage(actor, c):
        raise NotFound(f"campaign {campaign_id} not found", code="campaign_not_found")
    return c


def visible_clause(actor: Actor) -> Any:
    if actor.is_admin:
        return sa.true()
    return col(Campaign.team_id).in_(sorted(actor.team_ids)) if actor.team_ids else sa.false()


async def list_campaigns(
    s: AsyncSession,
    actor: Actor,
    *,
    statuses: list[str],
    team_id: int | None,
    limit: int,
    cursor: int | None,
) -> tuple[list[Campaign], int | None]:
    require_role(actor, Role.supervisor)
    stmt = select(Campaign).where(visible_clause(actor))
    if statuses:
        stmt = stmt.where(col(Campaign.status).in_(statuses))
    if team_id is not None:
        stmt = stmt.where(Campaign.team_id == team_id)
    if cursor is not None:
        stmt = stmt.where(col(Campaign.id) < cursor)
    rows = list((await s.exec(stmt.order_by(col(Campaign.id).desc()).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


# -- checks -----------------------------------------------------------------------------


def _quiet(value: Any) -> bool:
    if value is None:
        return True
    try:
        time.fromisoformat(str(value))
    except ValueError:
        return False
    return len(str(value)) == 5


async def check(hub: Hub, s: AsyncSession, actor: Actor, c: Campaign) -> None:
    """Field-level refusals for what the campaign says now (422 validation_error)."""
    problems: list[tuple[str, str, str]] = []
    if not actor.is_admin and (c.team_id is None or c.team_id not in actor.team_ids):
        problems.append(("body.team_id", "not_your_team", "one of your teams"))
    elif c.team_id is not None and await s.get(Team, c.team_id) is None:
        problems.append(("body.team_id", "team_not_found", "an existing team"))
    if c.audience_type == "segment":
        try:
            if c.segment_id is None:
                raise NotFound("no segment")
            await load_segment(s, actor, c.segment_id)
        except NotFound:
            problems.append(("body.audience.segment_id", "segment_not_found", "a segment you may see"))
    enabled = audience.enabled_channels(hub)
    if c.channel != "preferred" and c.channel not in enabled:
        problems.append(("body.channel", "bad_channel", f"one of: preferred, {', '.join(enabled)}"))
    for ch in c.fallback or []:
        if ch not in audience.KINDS:
            problems.append(("body.fallback", "bad_channel", f"channels among {', '.join(audience.KINDS)}"))
            break
    if not (_quiet(c.quiet_start) and _quiet(c.quiet_end)) or (c.quiet_start is None) != (
        c.quiet_end is None
    ):
        problems.append(("body.schedule.quiet_start", "bad_quiet_hours", "both HH:MM, or both null"))
    if c.kind == "survey":
        definition = await s.get(SurveyDefinition, c.survey_key or "")
        if definition is None or not definition.active:
            problems.append(("body.survey_key", "unknown_survey", "an active survey"))
    else:
        problems += _content_problems(hub, c)
    if problems:
        raise invalid_fields(problems)


def _content_problems(hub: Hub, c: Campaign) -> list[tuple[str, str, str]]:
    content = c.content or {}
    variants = {k: v for k, v in content.items() if isinstance(v, Mapping) and v}
    if not variants:
        return [("body.content", "empty_body", "the message in English or Arabic")]
    problems = []
    channel = c.channel
    for lang, v in variants.items():
        where = f"body.content.{lang}"
        if channel == "whatsapp":
            templates = _whatsapp_templates(hub)
            if not v.get("template"):
                problems.append((f"{where}.template", "template_required", "an approved WhatsApp template"))
            elif v["template"] not in templates:
                problems.append((f"{where}.template", "unknown_template", f"one of: {', '.join(templates)}"))
        elif channel == "email":
            if not v.get("subject"):
                problems.append((f"{where}.subject", "subject_required", "a subject for email"))
            if not (v.get("body") or v.get("html")):
                problems.append((f"{where}.body", "empty_body", "the text"))
        elif channel == "preferred":
            if not (v.get("body") or v.get("template")):
                problems.append((f"{where}.body", "empty_body", "the text"))
        elif not v.get("body"):
            problems.append((f"{where}.body", "empty_body", "the text"))
    if channel == "preferred" and not audience.candidate_channels(hub, c):
        problems.append(("body.fallback", "bad_channel", "an enabled channel the content can go on"))
    return problems


def _whatsapp_templates(hub: Hub) -> list[str]:
    if "whatsapp" not in hub.channels:
        return []
    config = getattr(hub.channels.get("whatsapp"), "config", None)
    return sorted(getattr(config, "templates", {}) or {})


def options(hub: Hub) -> dict[str, Any]:
    cfg = hub.settings.campaigns
    channels = audience.enabled_channels(hub)
    return {
        "channels": channels,
        "whatsapp_templates": _whatsapp_templates(hub),
        "rates": {ch: rate_of(hub, ch) for ch in channels},
        "quiet_start": cfg.quiet_start or None,
        "quiet_end": cfg.quiet_end or None,
    }


def rate_of(hub: Hub, channel: str) -> float:
    cfg = hub.settings.campaigns
    return float(cfg.rates.get(channel, cfg.default_rate))


# -- drafts -----------------------------------------------------------------------------


def _apply(hub: Hub, c: Campaign, values: Mapping[str, Any]) -> None:
    if "name" in values:
        c.name = str(values["name"]).strip()
    if "team_id" in values:
        c.team_id = values["team_id"]
    if "kind" in values:
        c.kind = values["kind"]
    if "audience" in values:
        a = values["audience"] or {}
        c.audience_type = a.get("type", "segment")
        c.segment_id = a.get("segment_id") if c.audience_type == "segment" else None
    if "channel" in values:
        c.channel = values["channel"]
    if "fallback" in values:
        c.fallback = list(values["fallback"] or audience.DEFAULT_FALLBACK)
    if "content" in values:
        c.content = {k: dict(v) for k, v in (values["content"] or {}).items() if v is not None}
    if "sender_name" in values:
        c.sender_name = values["sender_name"] or ""
    if "survey_key" in values:
        c.survey_key = values["survey_key"]
    if "schedule" in values:
        sch = values["schedule"] or {}
        c.start_at = sch.get("start_at")
        c.local_time = bool(sch.get("local_time", False))
        cfg = hub.settings.campaigns
        c.quiet_start = sch.get("quiet_start", cfg.quiet_start or None)
        c.quiet_end = sch.get("quiet_end", cfg.quiet_end or None)


def emit(uow: UnitOfWork, event_type: str, c: Campaign, **extra: Any) -> None:
    uow.emit(
        event_type,
        CampaignPayload(campaign_id=c.id, name=c.name, team_id=c.team_id, status=c.status, **extra),  # type: ignore[arg-type]
        team_id=c.team_id,
    )


async def create(hub: Hub, actor: Actor, values: Mapping[str, Any]) -> Campaign:
    require_role(actor, Role.supervisor)
    now = hub.now()
    cfg = hub.settings.campaigns
    async with unit_of_work(hub, actor.user_id) as uow:
        c = Campaign(
            name="",
            channel="sms",
            fallback=list(audience.DEFAULT_FALLBACK),
            quiet_start=cfg.quiet_start or None,
            quiet_end=cfg.quiet_end or None,
            created_by=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        _apply(hub, c, values)
        await check(hub, uow.session, actor, c)
        uow.session.add(c)
        await uow.session.flush()
        emit(uow, "campaign.created", c)
    return c


async def update(hub: Hub, actor: Actor, campaign_id: int, changes: Mapping[str, Any]) -> Campaign:
    async with unit_of_work(hub, actor.user_id) as uow:
        c = await load(uow.session, actor, campaign_id, lock=True)
        _require_draft(c)
        _apply(hub, c, changes)
        await check(hub, uow.session, actor, c)
        c.updated_at = hub.now()
        uow.session.add(c)
        emit(uow, "campaign.updated", c)
    return c


async def delete(hub: Hub, actor: Actor, campaign_id: int) -> None:
    async with unit_of_work(hub, actor.user_id) as uow:
        c = await load(uow.session, actor, campaign_id, lock=True)
        _require_draft(c)
        emit(uow, "campaign.deleted", c)
        await core(uow.session, sa.delete(_recipient).where(_recipient.c.campaign_id == c.id))
        await core(
            uow.session,
            sa.delete(CampaignCoupon.__table__).where(  # type: ignore[attr-defined]
                col(CampaignCoupon.campaign_id) == c.id
            ),
        )
        await uow.session.delete(c)


def _require_draft(c: Campaign) -> None:
    if c.status != "draft":
        raise Conflict(f"the campaign is {c.status}; only a draft can be changed", code="campaign_not_draft")


# -- lifecycle --------------------------------------------------------------------------


async def start(hub: Hub, actor: Actor, campaign_id: int, at: datetime | None) -> Campaign:
    now = hub.now()
    if at is not None and at > now + MAX_AHEAD:
        raise invalid_fields([("body.at", "out_of_range", "at most a year ahead")])
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        c = await load(s, actor, campaign_id, lock=True)
        _require_draft(c)
        await check(hub, s, actor, c)
        at = at if at is not None else c.start_at  # the draft's own start time
        if c.audience_type == "list":
            listed = (
                await s.exec(
                    select(CampaignRecipient.id)
                    .where(CampaignRecipient.campaign_id == c.id, col(CampaignRecipient.test).is_(False))
                    .limit(1)
                )
            ).first()
            if listed is None:
                raise Conflict("upload the list of recipients first", code="no_audience")
        if at is not None and at > now:
            c.start_at = at
            c.status = "scheduled"
            # In each contact's own time: freeze before the earliest zone (UTC+14)
            # reaches that wall-clock time; each recipient is due at theirs.
            c.due_at = max(now, at - timedelta(hours=14)) if c.local_time else at
        else:
            c.start_at = c.start_at if c.local_time else None
            c.status = "running"
            c.due_at = now
            c.started_at = now
        c.started_by = actor.user_id
        c.updated_at = now
        s.add(c)
        emit(uow, "campaign.started", c, at=c.start_at or now)
    return c


async def pause(hub: Hub, actor: Actor, campaign_id: int) -> Campaign:
    async with unit_of_work(hub, actor.user_id) as uow:
        c = await load(uow.session, actor, campaign_id, lock=True)
        if c.status not in ("scheduled", "running"):
            raise Conflict(f"a {c.status} campaign cannot be paused", code="bad_campaign_state")
        c.status = "paused"
        c.updated_at = hub.now()
        uow.session.add(c)
        emit(uow, "campaign.paused", c)
    return c


async def resume(hub: Hub, actor: Actor, campaign_id: int) -> Campaign:
    now = hub.now()
    async with unit_of_work(hub, actor.user_id) as uow:
        c = await load(uow.session, actor, campaign_id, lock=True)
        if c.status != "paused":
            raise Conflict(f"a {c.status} campaign cannot be resumed", code="bad_campaign_state")
        if c.started_at is None and c.start_at is not None and c.start_at > now:
            c.status, c.due_at = "scheduled", c.start_at
        else:
            c.status = "running"
            c.started_at = c.started_at or now
            # Still freezing, or every recipient done while paused: the timer decides.
            c.due_at = now
        c.updated_at = now
        uow.session.add(c)
        emit(uow, "campaign.resumed", c)
    hub.outbox_wakeup.set()
    return c


async def cancel(hub: Hub, actor: Actor, campaign_id: int) -> Campaign:
    now = hub.now()
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        c = await load(s, actor, campaign_id, lock=True)
        if c.status in ("completed", "cancelled"):
            raise Conflict(f"the campaign is already {c.status}", code="bad_campaign_state")
        c.status = "cancelled"
        c.due_at = None
        c.finished_at = now
        c.updated_at = now
        s.add(c)
        r = _recipient.c
        # Not yet handed to a provider: never will be. A send in flight finishes.
        await core(
            s,
            sa.update(_recipient)
            .where(
                r.campaign_id == c.id,
                sa.or_(
                    r.status.in_(["pending", "listed"]),
                    sa.and_(r.status == "sending", r.locked_until < now),
                ),
            )
            .values(status="cancelled", locked_until=None, updated_at=now),
        )
        emit(uow, "campaign.cancelled", c, results=await results(s, c))
    return c


# -- results ----------------------------------------------------------------------------


async def results(s: AsyncSession, c: Campaign) -> dict[str, Any]:
    r = _recipient.c
    real = sa.and_(r.campaign_id == c.id, r.test.is_(False))
    out: dict[str, Any] = {
        "recipients": 0,
        "pending": 0,
        "sending": 0,
        "sent": 0,
        "delivered": 0,
        "failed": 0,
        "failed_by_reason": {},
        "excluded": 0,
        "excluded_by_reason": {},
        "cancelled": 0,
        "replied": 0,
        "opted_out": 0,
        "survey_answers": 0,
        "coupons": 0,
        "coupons_assigned": 0,
        "redemptions": 0,
    }
    rows = (
        await core(
            s,
            sa.select(r.status, r.reason, sa.func.count())
            .where(real, r.status.in_(["excluded", "failed"]))
            .group_by(r.status, r.reason),
        )
    ).all()
    for status, reason, n in rows:
        key = f"{status}_by_reason"
        out[key][reason or "unknown"] = out[key].get(reason or "unknown", 0) + int(n)
    for status, n in (
        await core(s, sa.select(r.status, sa.func.count()).where(real).group_by(r.status))
    ).all():
        if status in out:
            out[status] = int(n)
        if status != "listed":
            out["recipients"] += int(n)
    out["recipients"] -= out["excluded"]
    row = (
        await core(
            s,
            sa.select(
                sa.func.count(r.replied_at),
                sa.func.count(r.opted_out_at),
            ).where(real),
        )
    ).one()
    out["replied"], out["opted_out"] = int(row[0]), int(row[1])
    out["survey_answers"] = int(
        (
            await core(
                s,
                sa.select(sa.func.count())
                .select_from(_recipient.join(SurveyRequest.__table__, SurveyRequest.id == r.survey_id))  # type: ignore[attr-defined]
                .where(real, col(SurveyRequest.answered_at).is_not(None)),
            )
        ).scalar()
        or 0
    )
    k = CampaignCoupon.__table__.c  # type: ignore[attr-defined]
    row = (
        await core(
            s,
            sa.select(sa.func.count(), sa.func.count(k.recipient_id), sa.func.count(k.redeemed_at)).where(
                k.campaign_id == c.id
            ),
        )
    ).one()
    out["coupons"], out["coupons_assigned"], out["redemptions"] = (int(x) for x in row)
    return out


async def count_tests(s: AsyncSession, c: Campaign) -> int:
    r = _recipient.c
    n = (await core(s, sa.select(sa.func.count()).where(r.campaign_id == c.id, r.test.is_(True)))).scalar()
    return int(n or 0)
