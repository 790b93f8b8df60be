"""Campaign sends: the outbox's third kind of row (``campaign_recipient``).

The outbox worker (hub.outbox) runs this pass after its replies, with the room the
reply claim left: conversation replies never queue behind a campaign. The rules are
the outbox's:

- a claim commits ``sending`` with a lease (``locked_until``) *before* the channel is
  called, so every attempt is on record; PostgreSQL claims with ``FOR UPDATE SKIP
  LOCKED``, SQLite has its one writer — several hub processes never claim one row twice;
- the per-channel rate holds cluster-wide: the claim transaction locks the channel's
  ``campaign_rate`` row, which keeps the sends of the last second, and takes only what
  still fits (a sliding window: no second ever sees more than the rate);
- consent is looked at again at the claim: someone who opted out after the freeze is
  excluded then, never sent;
- once the provider accepted, the row is ``sent`` with the provider id (a second,
  minimal write if the first fails); a failure is retried with the outbox's backoff,
  and after ``[outbox] max_attempts`` (or a final refusal) it is ``failed`` with the
  reason;
- a process killed between the provider's acceptance and the ``sent`` write leaves a
  ``sending`` row whose lease lapses; it is sent again with the same idempotency key
  ``campaign-<recipient id>`` (exactly once where the channel honours it, at least once
  otherwise: docs/campaigns.md).

A survey campaign's recipient is sent by creating the survey request and its question
(hub.services.surveys) in the claim transaction itself, with the recipient marked
``sent``: the question then leaves through the outbox like any survey, exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from channels.base import SendError, SendResult
from hub.campaigns import audience, render
from hub.context import Hub
from hub.domain import OutboundMessage
from hub.models import Campaign, CampaignRate, CampaignRecipient, Contact, ContactField, Team
from hub.projections import core
from hub.services import consent
from hub.services.uow import unit_of_work

log = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 30.0
FREEZE_POLL_SECONDS = 0.25  # how soon the worker looks again while an audience is being frozen
_recipient = CampaignRecipient.__table__  # type: ignore[attr-defined]
_rate = CampaignRate.__table__  # type: ignore[attr-defined]


def idempotency_key(recipient_id: int) -> str:
    return f"campaign-{recipient_id}"


@dataclass(frozen=True, slots=True)
class Claimed:
    rid: int
    campaign_id: int
    attempt: int
    channel: str
    address: str
    contact_id: int | None
    piece: render.Piece
    sender_name: str = ""
    unsubscribe_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# -- the rate -------------------------------------------------------------------------------


def window_of(rate: float) -> tuple[float, int]:
    """(window seconds, sends per window): one second, or longer for rates below 1/s."""
    seconds = max(1.0, 1.0 / rate)
    return seconds, max(1, int(rate * seconds + 1e-9))


async def _take(s: AsyncSession, hub: Hub, channel: str, now: datetime, want: int) -> tuple[int, list[Any]]:
    """How many sends fit in the channel's window now; the row stays locked until commit."""
    insert = sqlite_insert if hub.db.is_sqlite else pg_insert
    await core(
        s,
        insert(_rate)
        .values(channel=channel, window=[], updated_at=now)
        .on_conflict_do_nothing(index_elements=["channel"]),
    )
    stmt = sa.select(_rate.c.window).where(_rate.c.channel == channel)
    if not hub.db.is_sqlite:
        stmt = stmt.with_for_update()
    stored = (await core(s, stmt)).scalar() or []
    seconds, capacity = window_of(_rate_of(hub, channel))
    t = now.timestamp()
    window: list[Any] = [[float(ts), int(n)] for ts, n in stored if float(ts) > t - seconds]
    used = sum(int(n) for _, n in window)
    return max(0, min(want, capacity - used)), window


async def _spend(s: AsyncSession, channel: str, window: list[Any], now: datetime, n: int) -> None:
    if n:
        window = [*window, [now.timestamp(), n]]
    await core(s, sa.update(_rate).where(_rate.c.channel == channel).values(window=window, updated_at=now))


def _rate_of(hub: Hub, channel: str) -> float:
    cfg = hub.settings.campaigns
    return float(cfg.rates.get(channel, cfg.default_rate))


# -- claiming -------------------------------------------------------------------------------


def _due(now: datetime) -> list[Any]:
    r = _recipient.c
    return [
        r.status.in_(["pending", "sending"]),
        r.due_at <= now,
        sa.or_(r.locked_until.is_(None), r.locked_until < now),
    ]


def _live() -> Any:
    r = _recipient.c
    running = sa.select(col(Campaign.id)).where(col(Campaign.status) == "running")
    # A test send goes out whatever the campaign's state (but cancelled).
    tests = sa.select(col(Campaign.id)).where(col(Campaign.status) != "cancelled")
    return sa.or_(
        r.campaign_id.in_(running),
        sa.and_(r.test.is_(True), r.campaign_id.in_(tests)),
    )


async def due_channels(hub: Hub, now: datetime) -> list[str]:
    r = _recipient.c
    async with hub.db.session() as s:
        rows = (await core(s, sa.select(r.channel).where(*_due(now), _live()).distinct())).all()
    return sorted(str(x[0]) for x in rows)


async def claim(hub: Hub, room: int) -> tuple[list[Claimed], set[int]]:
    """The claimed sends, and the ids of every campaign touched (survey ones are sent here)."""
    now = hub.now()
    channels = await due_channels(hub, now)  # a look before taking the (SQLite: only) writer
    if not channels:
        return [], set()
    room = min(room, hub.settings.campaigns.send_batch)
    lease = now + timedelta(seconds=hub.settings.outbox.lease_seconds)
    r = _recipient.c
    async with hub.db.transaction() as s:
        picked: list[dict[str, Any]] = []
        for channel in channels:
            if len(picked) >= room:
                break
            allowed, window = await _take(s, hub, channel, now, room - len(picked))
            rows: list[Any] = []
            if allowed:
                stmt = (
                    sa.select(_recipient)
                    .where(*_due(now), _live(), r.channel == channel)
                    .order_by(r.due_at, r.id)
                    .limit(allowed)
                )
                if not hub.db.is_sqlite:
                    stmt = stmt.with_for_update(skip_locked=True, of=_recipient)
                rows = list((await core(s, stmt)).mappings().all())
            await _spend(s, channel, window, now, len(rows))
            picked.extend(dict(x) for x in rows)
        if not picked:
            return [], set()
        await core(
            s,
            sa.update(_recipient)
            .where(r.id.in_([p["id"] for p in picked]))
            .values(status="sending", locked_until=lease, attempts=r.attempts + 1, updated_at=now),
        )
        picked = await _recheck_consent(s, picked, now)
        claimed, surveys = await _prepare(hub, s, picked)
    if surveys:
        await _send_surveys(hub, surveys)
    return claimed, {int(p["campaign_id"]) for p in picked}


async def _recheck_consent(
    s: AsyncSession, picked: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Whoever opted out since the freeze is excluded now, never sent."""
    out: list[dict[str, Any]] = []
    by_channel: dict[str, list[int]] = {}
    for p in picked:
        if p["contact_id"] is not None and not p["test"]:
            by_channel.setdefault(p["channel"], []).append(int(p["contact_id"]))
    blocked: set[tuple[str, int]] = set()
    for channel, ids in by_channel.items():
        blocked |= {(channel, cid) for cid in await audience.marketing_blocked(s, ids, channel)}
    gone = [p["id"] for p in picked if (p["channel"], p["contact_id"]) in blocked]
    if gone:
        await core(
            s,
            sa.update(_recipient)
            .where(_recipient.c.id.in_(gone))
            .values(status="excluded", reason="opted_out", locked_until=None, updated_at=now),
        )
    out = [p for p in picked if p["id"] not in set(gone)]
    return out


async def _prepare(
    hub: Hub, s: AsyncSession, picked: list[dict[str, Any]]
) -> tuple[list[Claimed], list[dict[str, Any]]]:
    """Render each claimed row (one query per table for the whole batch)."""
    campaigns = {
        c.id: c
        for c in (
            await s.exec(select(Campaign).where(col(Campaign.id).in_({p["campaign_id"] for p in picked})))
        ).all()
    }
    k = Contact.__table__.c  # type: ignore[attr-defined]
    wanted = sorted({int(p["contact_id"]) for p in picked if p["contact_id"]})
    contacts = {
        int(row[0]): row
        for row in (
            await core(s, sa.select(k.id, k.name, k.attributes, k.erased_at).where(k.id.in_(wanted)))
        ).all()
    }
    links = {i: render.uses(c.content or {}, "unsubscribe_url") for i, c in campaigns.items()}
    team_ids = {c.team_id for c in campaigns.values() if c.team_id is not None}
    teams = dict((await s.exec(select(Team.id, Team.name).where(col(Team.id).in_(team_ids)))).all())
    keys = list((await s.exec(select(ContactField.key))).all())
    claimed: list[Claimed] = []
    surveys: list[dict[str, Any]] = []
    for p in picked:
        c = campaigns[p["campaign_id"]]
        if c.kind == "survey" and not p["test"]:
            surveys.append(p)
            continue
        contact = contacts.get(p["contact_id"])
        # A link costs a signature: made for email (its List-Unsubscribe) or when used.
        unsubscribe = _unsubscribe(hub, p, c) if p["channel"] == "email" or links[c.id] else None
        values = render.values_for(
            name=(contact[1] if contact is not None and contact[3] is None else p["name"]) or "",
            attributes=(contact[2] if contact is not None else {}) or {},
            custom_keys=keys,
            team_name=teams.get(c.team_id),
            campaign_name=c.name,
            coupon=p["coupon"] or ("TEST-COUPON" if p["test"] else None),
            unsubscribe_url=unsubscribe,
        )
        language = render.pick_language(c.content or {}, p["language"])
        claimed.append(
            Claimed(
                rid=p["id"],
                campaign_id=c.id,  # type: ignore[arg-type]
                attempt=int(p["attempts"]) + 1,
                channel=p["channel"],
                address=p["address"],
                contact_id=p["contact_id"],
                piece=render.piece(c.content or {}, language, values),
                sender_name=c.sender_name,
                unsubscribe_url=unsubscribe,
            )
        )
    return claimed, surveys


def _unsubscribe(hub: Hub, p: dict[str, Any], c: Campaign) -> str | None:
    if p["contact_id"] is None:
        return None
    token = consent.unsubscribe_token(hub.settings, int(p["contact_id"]), p["channel"], c.id)
    return str(consent.unsubscribe_url(hub.settings, token))


# -- sending --------------------------------------------------------------------------------


async def send_one(hub: Hub, c: Claimed) -> SendResult | SendError:
    """One attempt; every outcome is a value, never a raise."""
    try:
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
            if c.channel == "email":
                return await _send_email(hub, c)
            channel = hub.channels.get(c.channel)
            return await channel.send(outbound(c))
    except SendError as exc:
        return exc
    except TimeoutError:
        return SendError(f"send timed out after {SEND_TIMEOUT_SECONDS:.0f}s")
    except KeyError:
        return SendError(f"channel {c.channel} is not enabled", retryable=False)
    except Exception as exc:  # an adapter bug must not stop the others
        log.exception("campaign send raised", extra={"recipient_id": c.rid})
        return SendError(f"{type(exc).__name__}: {exc}")


def outbound(c: Claimed) -> OutboundMessage:
    meta: dict[str, Any] = {
        "campaign_id": c.campaign_id,
        "campaign_recipient_id": c.rid,
        "purpose": "marketing",
    }
    if c.channel == "whatsapp" and c.piece.template:
        meta.update(template=c.piece.template, variables=c.piece.variables)
    # No conversation yet: the message belongs to the campaign (ids 0), and the
    # idempotency key names the recipient, the same on every attempt.
    return OutboundMessage(
        message_id=0,
        conversation_id=0,
        channel=c.channel,
        to=c.address,
        subject=c.piece.subject,
        body=c.piece.body,
        author_name=c.sender_name,
        attempt=c.attempt,
        meta=meta,
        idempotency_key=idempotency_key(c.rid),
    )


def compose_email(hub: Hub, c: Claimed, cfg: Any) -> EmailMessage:
    """The campaign mail: text and HTML, RFC 8058 one-click unsubscribe headers."""
    from channels.email.ids import bracket
    from channels.email.send import from_display_name, text_to_html

    msg = EmailMessage()
    msg["From"] = Address(display_name=from_display_name(cfg, c.sender_name), addr_spec=cfg.address)
    msg["To"] = c.address
    msg["Subject"] = c.piece.subject
    msg["Date"] = format_datetime(hub.now())
    # The same on every attempt: a resend after a crash shows as one message.
    msg["Message-ID"] = bracket(f"sb.campaign.{c.campaign_id}.{c.rid}@{cfg.domain}")
    if c.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{c.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(c.piece.body or c.piece.subject)
    msg.add_alternative(c.piece.html or text_to_html(c.piece.body), subtype="html")
    return msg


async def _send_email(hub: Hub, c: Claimed) -> SendResult:
    from channels.email.send import smtp_send
    from hub.services.staff_mail import smtp_settings

    cfg = smtp_settings(hub)
    if cfg is None:
        raise SendError("the email channel is not enabled", retryable=False)
    mail = compose_email(hub, c, cfg)
    await smtp_send(cfg, mail, c.address)
    return SendResult(provider_message_id=str(mail["Message-ID"]).strip("<>"))


async def _send_surveys(hub: Hub, picked: list[dict[str, Any]]) -> None:
    """Survey campaigns: the survey request and its question (through the outbox) and
    the recipient's ``sent`` in one transaction each — exactly once."""
    from hub.care.outbound import conversation_for
    from hub.models import SurveyDefinition
    from hub.services import surveys
    from hub.services.errors import Conflict

    for p in picked:
        now = hub.now()
        async with unit_of_work(hub) as uow:
            s = uow.session
            row = await s.get(CampaignRecipient, p["id"])
            c = await s.get(Campaign, p["campaign_id"])
            contact = await s.get(Contact, p["contact_id"]) if p["contact_id"] else None
            if row is None or c is None or row.status != "sending":
                continue
            definition = await s.get(SurveyDefinition, c.survey_key or "")
            row.locked_until, row.updated_at = None, now
            if contact is None or definition is None:
                row.status, row.reason = "failed", "survey_unavailable"
                s.add(row)
                continue
            try:
                conv = await conversation_for(hub, uow, contact.id, row.channel, now, team_id=c.team_id)  # type: ignore[arg-type]
            except Conflict as exc:
                row.status, row.reason = "failed", exc.code
                s.add(row)
                continue
            req = surveys._new_request(definition, contact, row.channel, now, conversation=conv)
            req.team_id = c.team_id
            s.add(req)
            await s.flush()
            await surveys._send(hub, uow, req, now, definition=definition)
            row.status, row.sent_at, row.survey_id = "sent", now, req.id
            row.provider_id = None
            s.add(row)
        hub.outbox_wakeup.set()


# -- recording ------------------------------------------------------------------------------


async def record_sent(hub: Hub, sent: list[tuple[Claimed, SendResult]]) -> None:
    if not sent:
        return
    now = hub.now()
    r = _recipient.c
    params = [{"rid": c.rid, "pid": res.provider_message_id[:255]} for c, res in sent]
    stmt = (
        sa.update(_recipient)
        .where(r.id == sa.bindparam("rid"), r.status == "sending")
        .values(
            status="sent",
            provider_id=sa.bindparam("pid"),
            sent_at=now,
            locked_until=None,
            reason=None,
            updated_at=now,
        )
    )
    try:
        async with hub.db.transaction() as s:
            await core(s, stmt, params)
    except Exception:
        log.exception("recording %d campaign sends failed; recording each alone", len(params))
        for one in params:
            try:
                async with hub.db.transaction() as s:
                    await core(s, stmt, [one])
            except Exception:
                # Left ``sending``: its lease lapses and it is retried with its key.
                log.error("could not record a campaign send", extra={"recipient_id": one["rid"]})


async def record_failure(hub: Hub, c: Claimed, error: SendError, rng: random.Random | None) -> None:
    from hub.outbox import backoff_seconds

    cfg = hub.settings.outbox
    now = hub.now()
    final = not error.retryable or c.attempt >= cfg.max_attempts
    values: dict[str, Any] = {"locked_until": None, "updated_at": now, "reason": error.reason[:300]}
    if final:
        values["status"] = "failed"
    else:
        delay = backoff_seconds(c.attempt, cfg.backoff_base_seconds, cfg.backoff_max_seconds, rng)
        if error.retry_after is not None:
            delay = max(delay, error.retry_after)
        values.update(status="pending", due_at=now + timedelta(seconds=delay))
    async with hub.db.transaction() as s:
        await core(
            s,
            sa.update(_recipient)
            .where(_recipient.c.id == c.rid, _recipient.c.status == "sending")
            .values(**values),
        )
    log.warning(
        "campaign send failed (%s): %s",
        "final" if final else f"attempt {c.attempt}, will retry",
        error.reason,
        extra={"recipient_id": c.rid, "campaign_id": c.campaign_id, "channel": c.channel},
    )


async def run_once(hub: Hub, room: int, rng: random.Random | None = None) -> int:
    """Claim what is due (at most ``room``), send it concurrently, record the outcomes."""
    if room <= 0:
        return 0
    claimed, touched = await claim(hub, room)
    if not touched:
        return 0
    outcomes = await asyncio.gather(*(send_one(hub, c) for c in claimed))
    sent = [(c, o) for c, o in zip(claimed, outcomes, strict=True) if isinstance(o, SendResult)]
    failed = [(c, o) for c, o in zip(claimed, outcomes, strict=True) if isinstance(o, SendError)]
    await record_sent(hub, sent)
    for c, e in failed:
        try:
            await record_failure(hub, c, e, rng)
        except Exception:
            log.exception("recording a failed campaign send failed", extra={"recipient_id": c.rid})
    for c, _ in sent:
        hub.metrics.sent.labels(c.channel).inc()
    from hub.campaigns.reactor import after_sends

    try:
        await after_sends(hub, touched)
    except Exception:
        log.exception("campaign progress failed")
    return max(1, len(claimed))


async def next_due(hub: Hub) -> datetime | None:
    """The earliest time a campaign send could go: a due row, a lapsing lease, or —
    when a channel's window is full — the moment its window frees up."""
    r = _recipient.c
    now = hub.now()
    rows: list[tuple[str, datetime | None]] = []
    async with hub.db.session() as s:
        # Per channel, the first due row in the (status, due_at) index order: a read that
        # stops at once however many recipients wait (no scan of a 100,000-row campaign).
        for channel in audience.enabled_channels(hub):
            first = (
                await core(
                    s,
                    sa.select(r.due_at)
                    .where(r.status == "pending", r.channel == channel, _live())
                    .order_by(r.due_at)
                    .limit(1),
                )
            ).scalar()
            rows.append((channel, first))
        lapsing = (
            await core(
                s,
                sa.select(r.channel, sa.func.min(r.locked_until))
                .where(r.status == "sending", _live())
                .group_by(r.channel),
            )
        ).all()
        windows = dict((await core(s, sa.select(_rate.c.channel, _rate.c.window))).all())
        # A campaign being frozen commits new recipients page by page on the projection
        # runner, which cannot wake this worker after its commit: look again shortly.
        freezing = (
            await core(
                s,
                sa.select(col(Campaign.id))
                .where(col(Campaign.status) == "running", col(Campaign.frozen_at).is_(None))
                .limit(1),
            )
        ).first()
    rows += [(str(ch), at) for ch, at in lapsing]
    if freezing is not None:
        rows.append(("", now + timedelta(seconds=FREEZE_POLL_SECONDS)))
    out: list[datetime] = []
    for channel, due in rows:
        if due is None:
            continue
        if due.tzinfo is None:
            due = due.replace(tzinfo=now.tzinfo)
        seconds, capacity = window_of(_rate_of(hub, channel))
        t = now.timestamp()
        window = sorted(
            float(ts)
            for ts, n in (windows.get(channel) or [])
            for _ in range(int(n))
            if float(ts) > t - seconds
        )
        if len(window) >= capacity:
            # Full: it frees when the oldest sends leave the window.
            freed = datetime.fromtimestamp(window[len(window) - capacity] + seconds, tz=now.tzinfo)
            due = max(due, freed)
        out.append(due)
    return min(out, default=None)
