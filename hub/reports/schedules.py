"""Scheduled report mails (docs/reports.md, "Scheduled report mails").

A schedule mails the headline figures of the previous local day (daily) or the previous
Monday–Sunday (weekly) to chosen supervisors and admins, at a local hour in its time
zone. Each recipient gets only the teams they may see: the figures come from
:func:`hub.reports.query.summary` scoped with the recipient as the actor.

Exactly once, cluster-wide:

- the timer is ``report_schedule.next_run_at``, fired by :class:`ReportMailer`, a
  reactor on the projection runner, so it runs under the runner's checkpoint lock
  (``FOR UPDATE SKIP LOCKED``): one process fires it, the others skip;
- in *one* transaction the firing queues one ``staff_mail`` row per recipient (unique
  key: schedule, period, recipient), records the period as mailed
  (``last_period_start``) and advances ``next_run_at``. A crash before the commit
  leaves nothing behind and the timer fires again; after it, the mails are durable and
  the timer is past. The outbox worker then delivers them (hub.staff_outbox);
- a hub that was down past one or more run times fires once on start, for the latest
  period that has ended, never once per missed day.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.models import ReportSchedule, Role, Team, User
from hub.reports import query, report_mail
from hub.services.access import Actor, actor_for, require_role
from hub.services.contact_fields import invalid_fields
from hub.services.errors import Conflict, Forbidden, NotFound
from hub.timeutil import ensure_utc

log = logging.getLogger(__name__)
RETRY_AFTER = timedelta(minutes=5)
FREQUENCIES = ("daily", "weekly")
LANGUAGES = ("en", "ar")
MAX_RECIPIENTS = 50


# -- the schedule's calendar ----------------------------------------------------------------
def zone_of(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """``hour``:00 local on ``day`` as UTC. A time skipped by a DST change (02:30 on the
    spring-forward night) resolves with the offset before the change, i.e. an hour later
    on the clock; a repeated one (the autumn night) is its first occurrence."""
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def _runs_on(day: date, frequency: str, weekday: int | None) -> bool:
    return frequency == "daily" or day.weekday() == weekday


def next_run(frequency: str, weekday: int | None, hour: int, timezone: str, after: datetime) -> datetime:
    """The first run strictly after ``after``."""
    zone = zone_of(timezone)
    day = ensure_utc(after).astimezone(zone).date() - timedelta(days=1)
    for i in range(10):
        d = day + timedelta(days=i)
        if _runs_on(d, frequency, weekday):
            at = _at(d, hour, zone)
            if at > after:
                return at
    raise AssertionError("a weekly schedule runs within 8 days")


def last_run(frequency: str, weekday: int | None, hour: int, timezone: str, now: datetime) -> datetime:
    """The latest run at or before ``now``."""
    zone = zone_of(timezone)
    day = ensure_utc(now).astimezone(zone).date() + timedelta(days=1)
    for i in range(10):
        d = day - timedelta(days=i)
        if _runs_on(d, frequency, weekday):
            at = _at(d, hour, zone)
            if at <= now:
                return at
    raise AssertionError("a weekly schedule ran within 8 days")


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime  # UTC, local midnight
    until: datetime
    before_since: datetime  # the period before, for the change column
    first_day: date
    last_day: date

    def label(self) -> str:
        if self.first_day == self.last_day:
            return self.first_day.isoformat()
        return f"{self.first_day.isoformat()} – {self.last_day.isoformat()}"


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def period_for(frequency: str, timezone: str, run_at: datetime) -> Period:
    """Daily: the local day before the run. Weekly: the Monday–Sunday before the run's
    week. Bounds are local midnights, so a DST day is 23 or 25 hours long."""
    zone = zone_of(timezone)
    day = ensure_utc(run_at).astimezone(zone).date()
    if frequency == "daily":
        first, length = day - timedelta(days=1), 1
    else:
        first, length = day - timedelta(days=day.weekday() + 7), 7
    end = first + timedelta(days=length)
    return Period(
        since=_midnight(first, zone),
        until=_midnight(end, zone),
        before_since=_midnight(first - timedelta(days=length), zone),
        first_day=first,
        last_day=end - timedelta(days=1),
    )


# -- the figures of one recipient ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Figures:
    current: dict[str, Any]
    previous: dict[str, Any]
    volume: list[tuple[str, int]]
    teams: list[str] | None  # None: all teams


async def figures_for(
    s: AsyncSession, actor: Actor, sched: ReportSchedule, period: Period, team_names: Mapping[int, str]
) -> Figures:
    """Raises Forbidden when the recipient may not see the schedule's team."""
    scope = query.scope_for(actor, period.since, period.until, team_id=sched.team_id)
    before = query.scope_for(actor, period.before_since, period.since, team_id=sched.team_id)
    group = "hour" if sched.frequency == "daily" else "day"
    series = await query.timeseries(s, scope, "conversations", group, sched.timezone)
    return Figures(
        current=await query.summary(s, scope),
        previous=await query.summary(s, before),
        volume=_filled(series, period, group, zone_of(sched.timezone)),
        teams=None if scope.team_ids is None else sorted(team_names.get(t, f"#{t}") for t in scope.team_ids),
    )


def _filled(
    series: Sequence[Mapping[str, Any]], period: Period, group: str, zone: ZoneInfo
) -> list[tuple[str, int]]:
    """Every hour (or day) of the period, with 0 where nothing happened."""
    got = {str(p["start"]): int(p["value"] or 0) for p in series}
    out: list[tuple[str, int]] = []
    step = timedelta(hours=1) if group == "hour" else timedelta(days=1)
    if group == "hour":
        at = period.since
        while at < period.until:
            local = at.astimezone(zone)
            out.append((f"{local.hour:02d}", got.get(local.isoformat(), 0)))
            at += step
    else:
        day = period.first_day
        while day <= period.last_day:
            local = datetime.combine(day, time(0), tzinfo=zone)
            out.append((day.strftime("%m-%d"), got.get(local.isoformat(), 0)))
            day += step
    return out


# -- firing -------------------------------------------------------------------------------
@dataclass
class Outcome:
    queued: int = 0
    skipped: list[str] | None = None

    def status(self) -> str:
        text = f"queued {self.queued}"
        if self.skipped:
            text += f"; skipped {', '.join(self.skipped)}"
        return text[:300]


async def queue_mails(
    hub: Hub, s: AsyncSession, sched: ReportSchedule, period: Period, now: datetime, *, key_prefix: str
) -> Outcome:
    """One mail per recipient in the caller's transaction (hub.staff_outbox)."""
    from hub import staff_outbox
    from hub.services.staff_mail import smtp_settings

    outcome = Outcome(skipped=[])
    assert outcome.skipped is not None
    cfg = smtp_settings(hub)
    if cfg is None:
        outcome.skipped.append("all (no [channels.email] to mail with)")
        return outcome
    team_names = {t.id: t.name for t in (await s.exec(select(Team))).all() if t.id is not None}
    users = {
        u.id: u
        for u in (await s.exec(select(User).where(col(User.id).in_(list(sched.recipients or []))))).all()
    }
    cache: dict[tuple[int, ...] | None, Figures] = {}
    for user_id in sched.recipients or []:
        user = users.get(user_id)
        if user is None or not user.active or str(user.role) not in (Role.supervisor, Role.admin):
            outcome.skipped.append(f"user {user_id} (not an active supervisor or admin)")
            continue
        actor = await actor_for(s, user)
        try:
            key = query.scope_for(actor, period.since, period.until, team_id=sched.team_id).team_ids
        except Forbidden:
            outcome.skipped.append(f"user {user_id} (may not see the team)")
            continue
        if key not in cache:
            cache[key] = await figures_for(s, actor, sched, period, team_names)
        fig = cache[key]
        report = report_mail.Report(
            lang=sched.language if sched.language in LANGUAGES else "en",
            frequency=sched.frequency,
            schedule_name=sched.name,
            recipient_name=user.name,
            period=period.label(),
            timezone=sched.timezone,
            teams=fig.teams,
            current=fig.current,
            previous=fig.previous,
            volume=fig.volume,
        )
        message = report_mail.compose(
            report, sender=cfg.address, company=cfg.company_name, to=user.email, now=now
        )
        if await staff_outbox.enqueue(
            s,
            key=f"{key_prefix}:{user_id}",
            user_id=user_id,
            to=user.email,
            message=message,
            now=now,
            is_sqlite=hub.db.is_sqlite,
        ):
            outcome.queued += 1
    return outcome


async def fire(hub: Hub, s: AsyncSession, sched: ReportSchedule, now: datetime) -> None:
    """The timer of one schedule, in the caller's (locked) transaction."""
    run_at = last_run(sched.frequency, sched.weekday, sched.hour, sched.timezone, now)
    period = period_for(sched.frequency, sched.timezone, run_at)
    already = sched.last_period_start is not None and ensure_utc(sched.last_period_start) == period.since
    if not already:
        outcome = await queue_mails(
            hub, s, sched, period, now, key_prefix=f"report:{sched.id}:{period.since.isoformat()}"
        )
        sched.last_period_start = period.since
        sched.last_run_at = now
        sched.last_status = outcome.status()
    sched.next_run_at = next_run(sched.frequency, sched.weekday, sched.hour, sched.timezone, now)
    s.add(sched)


class ReportMailer:
    """The reactor that fires report schedules (it acts on time alone, not on events)."""

    name = "report_mail"
    timers_only = True  # the runner only fires its timers (under its checkpoint lock)

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def apply(self, uow: Any, events: Sequence[Any], now: datetime) -> None:
        return None

    async def fire_due(self, uow: Any, now: datetime, limit: int) -> int:
        s: AsyncSession = uow.session
        due = (
            await s.exec(
                select(ReportSchedule)
                .where(col(ReportSchedule.enabled).is_(True), col(ReportSchedule.next_run_at) <= now)
                .order_by(col(ReportSchedule.next_run_at), col(ReportSchedule.id))
                .limit(limit)
            )
        ).all()
        for sched in due:
            try:
                await fire(self.hub, s, sched, now)
            except Exception as exc:
                # One broken schedule must not hold up the others (nor be retried in a
                # tight loop): it is tried again in a while, for the same period. Mails
                # it queued before failing stay queued; their keys keep them single.
                log.exception("report schedule %s failed; retrying", sched.id)
                sched.last_status = f"failed ({type(exc).__name__}); retrying"
                sched.next_run_at = now + RETRY_AFTER
                s.add(sched)
        return len(due)

    def next_due_columns(self, now: datetime) -> list[Any]:
        enabled = col(ReportSchedule.enabled).is_(True)
        return [select(sa.func.min(ReportSchedule.next_run_at)).where(enabled).scalar_subquery()]


# -- admin CRUD ----------------------------------------------------------------------------
FIELDS = ("name", "frequency", "weekday", "hour", "timezone", "team_id", "recipients", "language", "enabled")


async def _check(s: AsyncSession, v: Mapping[str, Any]) -> None:
    """Field errors with stable codes (docs/protocol.md), all of them at once."""
    problems: list[tuple[str, str, str]] = []
    if not v["name"]:
        problems.append(("name", "required", "a name"))
    if v["frequency"] not in FREQUENCIES:
        problems.append(("frequency", "bad_frequency", "daily or weekly"))
    hour = v["hour"]
    if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
        problems.append(("hour", "bad_hour", "a whole hour from 0 to 23"))
    weekday = v["weekday"]
    if v["frequency"] == "weekly" and (
        not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6
    ):
        problems.append(("weekday", "bad_weekday", "0 (Monday) to 6 (Sunday) for a weekly report"))
    try:
        zone_of(str(v["timezone"]))
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a directory
        problems.append(("timezone", "invalid_timezone", "an IANA time zone like Asia/Riyadh"))
    team = None
    if v["team_id"] is not None:
        team = await s.get(Team, v["team_id"])
        if team is None:
            problems.append(("team_id", "unknown_team", "no such team"))
    recipients = list(v["recipients"] or [])
    if not recipients:
        problems.append(("recipients", "no_recipients", "choose at least one supervisor or admin"))
    users = {u.id: u for u in (await s.exec(select(User).where(col(User.id).in_(recipients)))).all()}
    for user_id in recipients:
        user = users.get(user_id)
        if user is None:
            problems.append(("recipients", "unknown_recipient", f"no user {user_id}"))
        elif not user.active or str(user.role) not in (Role.supervisor, Role.admin):
            problems.append(
                (
                    "recipients",
                    "recipient_not_supervisor",
                    f"{user.name} is not an active supervisor or admin",
                )
            )
        elif team is not None and str(user.role) == Role.supervisor:
            actor = await actor_for(s, user)
            if team.id not in actor.team_ids:
                problems.append(("recipients", "recipient_not_in_team", f"{user.name} is not in {team.name}"))
    if problems:
        raise invalid_fields(problems)


def _normalise(values: dict[str, Any]) -> dict[str, Any]:
    values["name"] = str(values["name"]).strip()
    values["recipients"] = sorted(set(values["recipients"] or []))
    if values["frequency"] == "daily":
        values["weekday"] = None
    return values


def _schedule_timer(sched: ReportSchedule, now: datetime) -> None:
    sched.next_run_at = (
        next_run(sched.frequency, sched.weekday, sched.hour, sched.timezone, now) if sched.enabled else None
    )


async def list_schedules(hub: Hub, actor: Actor) -> list[ReportSchedule]:
    require_role(actor, Role.admin)
    async with hub.db.session() as s:
        return list((await s.exec(select(ReportSchedule).order_by(col(ReportSchedule.id)))).all())


async def create_schedule(hub: Hub, actor: Actor, values: Mapping[str, Any]) -> ReportSchedule:
    require_role(actor, Role.admin)
    v = _normalise({**{"weekday": None, "team_id": None, "language": "en", "enabled": True}, **values})
    now = hub.now()
    async with hub.db.transaction() as s:
        await _check(s, v)
        sched = ReportSchedule(
            **{k: v[k] for k in FIELDS}, created_by=actor.user_id, created_at=now, updated_at=now
        )
        _schedule_timer(sched, now)
        s.add(sched)
        await s.flush()
        await s.refresh(sched)
    return sched


async def _get(s: AsyncSession, schedule_id: int) -> ReportSchedule:
    sched = await s.get(ReportSchedule, schedule_id)
    if sched is None:
        raise NotFound("no such report schedule", code="schedule_not_found")
    return sched


async def update_schedule(
    hub: Hub, actor: Actor, schedule_id: int, patch: Mapping[str, Any]
) -> ReportSchedule:
    require_role(actor, Role.admin)
    now = hub.now()
    async with hub.db.transaction() as s:
        sched = await _get(s, schedule_id)
        v = _normalise({**{k: getattr(sched, k) for k in FIELDS}, **patch})
        await _check(s, v)
        timing = ("frequency", "weekday", "hour", "timezone", "enabled")
        retime = any(v[k] != getattr(sched, k) for k in timing)
        for k in FIELDS:
            setattr(sched, k, v[k])
        if retime:
            # From now on; a period already mailed is not mailed again (last_period_start).
            _schedule_timer(sched, now)
        sched.updated_at = now
        s.add(sched)
        await s.flush()
        await s.refresh(sched)
    return sched


async def delete_schedule(hub: Hub, actor: Actor, schedule_id: int) -> None:
    require_role(actor, Role.admin)
    async with hub.db.transaction() as s:
        await s.delete(await _get(s, schedule_id))


async def send_now(hub: Hub, actor: Actor, schedule_id: int) -> dict[str, Any]:
    """A test send of the latest ended period to the recipients, now. The timer and the
    record of mailed periods are left alone: the scheduled mail still goes out."""
    from hub.services.staff_mail import smtp_settings

    require_role(actor, Role.admin)
    if smtp_settings(hub) is None:
        raise Conflict("no [channels.email] is configured to mail with", code="mail_not_configured")
    now = hub.now()
    async with hub.db.transaction() as s:
        sched = await _get(s, schedule_id)
        period = period_for(sched.frequency, sched.timezone, now)
        outcome = await queue_mails(hub, s, sched, period, now, key_prefix=f"test:{sched.id}:{uuid4().hex}")
    hub.outbox_wakeup.set()
    return {"queued": outcome.queued, "skipped": outcome.skipped or [], "period_start": period.since}
