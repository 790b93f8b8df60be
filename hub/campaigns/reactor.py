"""The campaigns reactor: starts campaigns on time, freezes them, links replies.

Timers: a campaign's ``due_at`` (its scheduled start, then "now" while its audience is
being frozen) is fired under the reactor's checkpoint lock — once cluster-wide — one
page of recipients per firing, so a large freeze never holds the runner long.

Events: a ``conversation.created`` (or a ``message.received`` in a conversation already
open) of a contact who was sent a campaign message within ``[campaigns]
reply_window_days`` links that conversation to the campaign (the
recipient's ``replied_at``, the conversation's ``campaign_id``, a system line in the
thread and ``campaign.replied``); an erased contact's address and name leave its
recipient rows; a marketing opt-out that names a campaign (its
unsubscribe link) or follows one of its messages (STOP) marks the recipient opted out.
Nothing of this runs in the ingest path: it reads the log after commit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.campaigns import freeze, service
from hub.context import Hub
from hub.events import CampaignPayload
from hub.models import (
    AuthorType,
    Campaign,
    CampaignRecipient,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
)
from hub.precompiled import PerDialect
from hub.projections import LoggedEvent, core
from hub.services.ingest import emit_message
from hub.services.uow import UnitOfWork, unit_of_work

PROGRESS_SECONDS = 1.0
FREEZE_SLICE = 0.5  # seconds of freezing before the other consumers get a turn
_recipient = CampaignRecipient.__table__  # type: ignore[attr-defined]


class CampaignsReactor:
    name = "campaigns"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._busy_since: float | None = None

    async def apply(self, uow: UnitOfWork, events: Sequence[LoggedEvent], now: datetime) -> None:
        # Nearly every inbound message is a possible reply, and nearly none is one: one
        # read per batch finds the writers who were sent a campaign message in the
        # window at all, and only their events look further (the same rules as before).
        recipients = await _recent_recipients(self.hub, uow.session, events, now)
        for e in events:
            if e.type == "conversation.created":
                if e.payload.get("contact_id") in recipients:
                    await link_reply(self.hub, uow, e, now)
            elif e.type == "message.received" and e.payload.get("author_type") == "contact":
                # The customer wrote into a conversation that was already open.
                if e.payload.get("author_id") in recipients:
                    await link_reply(self.hub, uow, e, now, contact_key="author_id")
            elif e.type == "contact.consent_changed" and e.payload.get("state") == "opted_out":
                await mark_opt_out(self.hub, uow, e.payload, now)
            elif e.type == "contact.erased" and isinstance(e.payload.get("contact_id"), int):
                # Personal data leaves the recipient rows too (counts stay).
                r = _recipient.c
                await core(
                    uow.session,
                    sa.update(_recipient)
                    .where(r.contact_id == e.payload["contact_id"])
                    .values(address="", name="", coupon=None, updated_at=now),
                )

    async def fire_due(self, uow: UnitOfWork, now: datetime, limit: int) -> int:
        s = uow.session
        due = (
            await s.exec(
                select(Campaign)
                .where(col(Campaign.due_at) <= now, col(Campaign.status).in_(["scheduled", "running"]))
                .order_by(col(Campaign.due_at), col(Campaign.id))
                .limit(limit)
            )
        ).all()
        for c in due:
            await step(self.hub, uow, c, now)
        # Still freezing: the runner fires again at once (a page per transaction) for up
        # to FREEZE_SLICE seconds, then gives the other consumers their turn.
        freezing = any(c.frozen_at is None and c.status == "running" for c in due)
        if not freezing:
            self._busy_since = None
            return len(due)
        started = self._busy_since = self._busy_since or time.monotonic()
        if time.monotonic() - started < FREEZE_SLICE:
            return limit
        self._busy_since = None
        return len(due)

    def next_due_columns(self, now: datetime) -> list[Any]:
        running = col(Campaign.status).in_(["scheduled", "running"])
        return [select(sa.func.min(Campaign.due_at)).where(running).scalar_subquery()]


async def step(hub: Hub, uow: UnitOfWork, c: Campaign, now: datetime) -> None:
    """One firing: start a scheduled campaign, freeze its next page, or finish it."""
    if c.status == "scheduled":
        c.status, c.started_at = "running", now
        service.emit(uow, "campaign.started", c, at=now)
    if c.frozen_at is None:
        done = await freeze.freeze_page(hub, uow, c, now)
        if done:
            c.frozen_at = now
    c.due_at = None if c.frozen_at is not None else now
    c.updated_at = now
    uow.session.add(c)
    if c.frozen_at is not None:
        await settle(uow, [c], now, force=True)
    hub.outbox_wakeup.set()


async def settle(
    uow: UnitOfWork, campaigns: Iterable[Campaign], now: datetime, *, force: bool = False
) -> None:
    """Complete the frozen campaigns with nothing left to send; otherwise report progress
    (at most once a second per campaign, across processes: ``progress_at``)."""
    s = uow.session
    for c in campaigns:
        if c.status != "running":
            continue
        r = _recipient.c
        open_rows = (
            await core(
                s,
                sa.select(r.id)
                .where(
                    r.campaign_id == c.id, r.status.in_(["pending", "sending", "listed"]), r.test.is_(False)
                )
                .limit(1),
            )
        ).first()
        if c.frozen_at is not None and open_rows is None:
            c.status, c.finished_at, c.due_at, c.updated_at = "completed", now, None, now
            s.add(c)
            service.emit(uow, "campaign.completed", c, results=await service.results(s, c))
            continue
        if force or c.progress_at is None or (now - c.progress_at).total_seconds() >= PROGRESS_SECONDS:
            c.progress_at = now
            s.add(c)
            service.emit(uow, "campaign.progress", c, results=await service.results(s, c))


async def after_sends(hub: Hub, campaign_ids: set[int]) -> None:
    """After a pass recorded sends: progress events and completion (the sender calls it)."""
    if not campaign_ids:
        return
    now = hub.now()
    async with unit_of_work(hub) as uow:
        # Locked: two processes finishing the same campaign complete it once.
        rows = (
            await uow.session.exec(
                select(Campaign)
                .where(col(Campaign.id).in_(sorted(campaign_ids)), Campaign.status == "running")
                .with_for_update()
            )
        ).all()
        await settle(uow, rows, now)


# -- replies and opt-outs ---------------------------------------------------------------------


def _reply_writer(e: LoggedEvent) -> int | None:
    """The contact whose event may be a reply to a campaign (see ``apply``)."""
    if e.type == "conversation.created":
        found = e.payload.get("contact_id")
    elif e.type == "message.received" and e.payload.get("author_type") == "contact":
        found = e.payload.get("author_id")
    else:
        return None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


async def _recent_recipients(
    hub: Hub, s: AsyncSession, events: Sequence[LoggedEvent], now: datetime
) -> set[int]:
    """Of the batch's possible repliers, those with a campaign message sent within the
    reply window of their earliest event: a superset of what ``_latest_recipient``
    can find for any of their events (its window starts later or at the same time)."""
    writers: dict[int, datetime] = {}
    for e in events:
        cid = _reply_writer(e)
        if cid is not None:
            at = e.ts or now
            writers[cid] = min(at, writers.get(cid, at))
    if not writers:
        return set()
    since = min(writers.values()) - timedelta(days=hub.settings.campaigns.reply_window_days)
    found: set[int] = set()
    ids = sorted(writers)
    for start in range(0, len(ids), 500):
        rows = await core(s, _RECENT_RECIPIENTS, {"ids": ids[start : start + 500], "since": since})
        found.update(rows.scalars())
    return found


_RECENT_RECIPIENTS = PerDialect(  # built once: read for every batch of inbound messages
    lambda one_of: (
        sa.select(_recipient.c.contact_id)
        .distinct()
        .where(
            one_of(_recipient.c.contact_id, "ids"),
            _recipient.c.sent_at >= sa.bindparam("since"),
            _recipient.c.status.in_(["sent", "delivered"]),
            _recipient.c.test.is_(False),
        )
    )
)


async def _latest_recipient(
    hub: Hub, s: AsyncSession, contact_id: int, now: datetime, channel: str | None = None
) -> CampaignRecipient | None:
    window = timedelta(days=hub.settings.campaigns.reply_window_days)
    stmt = select(CampaignRecipient).where(
        CampaignRecipient.contact_id == contact_id,
        col(CampaignRecipient.sent_at) >= now - window,
        col(CampaignRecipient.status).in_(["sent", "delivered"]),
        col(CampaignRecipient.test).is_(False),
    )
    if channel is not None:
        stmt = stmt.where(CampaignRecipient.channel == channel)
    return (await s.exec(stmt.order_by(col(CampaignRecipient.sent_at).desc()).limit(1))).first()


async def link_reply(
    hub: Hub, uow: UnitOfWork, e: LoggedEvent, now: datetime, *, contact_key: str = "contact_id"
) -> None:
    """The first conversation or message of a recipient after their campaign message
    (within the reply window) is their reply."""
    s = uow.session
    contact_id = e.payload.get(contact_key)
    conversation_id = e.payload.get("conversation_id")
    if not isinstance(contact_id, int) or not isinstance(conversation_id, int):
        return
    at = e.ts or now
    rec = await _latest_recipient(hub, s, contact_id, at)
    if rec is None or rec.replied_at is not None or (rec.sent_at is not None and rec.sent_at > at):
        return
    conv = await s.get(Conversation, conversation_id)
    c = await s.get(Campaign, rec.campaign_id)
    if conv is None or c is None:
        return
    rec.replied_at, rec.conversation_id, rec.updated_at = at, conv.id, now
    if conv.campaign_id is None:  # the conversation shows the first campaign it answered
        conv.campaign_id = c.id
        s.add(conv)
    s.add(rec)
    note = Message(
        conversation_id=conv.id,  # type: ignore[arg-type]
        channel=conv.channel,
        direction=Direction.internal,
        author_type=AuthorType.system,
        kind=MessageKind.event,
        body=f"Reply to campaign “{c.name}”",
        delivery_status=DeliveryStatus.received,
        meta={"campaign": {"id": c.id, "name": c.name}},
        created_at=now,
    )
    s.add(note)
    await s.flush()
    emit_message(uow, "message.created", conv, note)
    uow.emit(
        "campaign.replied",
        CampaignPayload(
            campaign_id=c.id,  # type: ignore[arg-type]
            name=c.name,
            team_id=c.team_id,
            status=c.status,
            recipient_id=rec.id,
            contact_id=contact_id,
            conversation_id=conv.id,
        ),
        conversation_id=conv.id,
        team_id=conv.team_id,
        user_id=conv.assignee_id,
    )


async def mark_opt_out(hub: Hub, uow: UnitOfWork, payload: dict[str, Any], now: datetime) -> None:
    s = uow.session
    contact_id = payload.get("contact_id")
    if not isinstance(contact_id, int):
        return
    campaign_id = payload.get("campaign_id")
    if isinstance(campaign_id, int):
        rec = (
            await s.exec(
                select(CampaignRecipient).where(
                    CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.contact_id == contact_id
                )
            )
        ).first()
    else:
        rec = await _latest_recipient(hub, s, contact_id, now, channel=payload.get("channel"))
    if rec is None or rec.opted_out_at is not None:
        return
    rec.opted_out_at, rec.updated_at = now, now
    s.add(rec)


async def names(s: AsyncSession, ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    """campaign id -> {id, name} for conversation JSON (``campaign``)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = (await s.exec(select(Campaign.id, Campaign.name).where(col(Campaign.id).in_(wanted)))).all()
    return {int(i): {"id": int(i), "name": n} for i, n in rows if i is not None}
