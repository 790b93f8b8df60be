"""Mail to staff, durable: the outbox's second kind of row (``staff_mail``).

The outbox proper (:mod:`hub.outbox`) delivers *messages of conversations* through
their channel; a scheduled report mailed to a supervisor belongs to no conversation,
so it is a ``staff_mail`` row instead, queued in the transaction that decides to send
it and delivered by the same worker, pass by pass, with the same rules:

- a claim commits ``sending`` with a lease before SMTP is called, so every attempt is
  on record; several hub processes claim with ``FOR UPDATE SKIP LOCKED``;
- a retryable failure backs off like the outbox (``[outbox]`` settings), a final one
  (or ``max_attempts``) leaves the row ``dead`` with the reason;
- the row holds the whole message as composed, so a retry after a crash between the
  server's acceptance and the ``sent`` write is the same mail with the same Message-ID:
  at-least-once in that one window, like the email channel's replies
  (docs/architecture.md), and mail clients show one message.

The SMTP server is the email channel's (:func:`hub.services.staff_mail.smtp_settings`):
without ``[channels.email]`` nothing can be mailed and the row is dead at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.models import OutboxStatus, StaffMail
from hub.projections import core

log = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 30.0
_table = StaffMail.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ClaimedMail:
    id: int
    attempt: int
    to: str
    mime: str


async def enqueue(
    s: AsyncSession,
    *,
    key: str,
    user_id: int | None,
    to: str,
    message: EmailMessage,
    now: datetime,
    kind: str = "report",
    is_sqlite: bool,
) -> bool:
    """Queue ``message`` in the caller's transaction; False when ``key`` was queued before."""
    insert = sqlite_insert if is_sqlite else pg_insert
    stmt = (
        insert(_table)
        .values(
            key=key,
            kind=kind,
            user_id=user_id,
            to_address=to,
            subject=str(message["Subject"] or "")[:300],
            mime=message.as_string(policy=policy.SMTP),
            status=OutboxStatus.pending.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    result = await core(s, stmt)
    return bool(result.rowcount)


def _due(now: datetime) -> list[Any]:
    return [
        col(StaffMail.status).in_([OutboxStatus.pending, OutboxStatus.sending]),
        col(StaffMail.next_attempt_at) <= now,
        or_(col(StaffMail.locked_until).is_(None), col(StaffMail.locked_until) < now),
    ]


async def claim(hub: Hub) -> list[ClaimedMail]:
    cfg = hub.settings.outbox
    now = hub.now()
    # Every outbox pass comes here: look before taking the (SQLite: only) writer.
    async with hub.db.session() as s:
        if (await s.exec(select(StaffMail.id).where(*_due(now)).limit(1))).first() is None:
            return []
    async with hub.db.transaction() as s:
        stmt = (
            select(StaffMail)
            .where(*_due(now))
            .order_by(col(StaffMail.next_attempt_at), col(StaffMail.id))
            .limit(cfg.batch_size)
        )
        if not hub.db.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = (await s.exec(stmt)).all()
        lease = now + timedelta(seconds=cfg.lease_seconds)
        out = []
        for row in rows:
            row.status = OutboxStatus.sending
            row.locked_until = lease
            row.attempts += 1
            row.updated_at = now
            s.add(row)
            out.append(ClaimedMail(row.id, row.attempts, row.to_address, row.mime))  # type: ignore[arg-type]
    return out


async def _send(hub: Hub, mail: ClaimedMail) -> None:
    """One attempt; raises :class:`channels.base.SendError` on failure."""
    from channels.base import SendError
    from hub.services.staff_mail import smtp_settings

    cfg = smtp_settings(hub)
    if cfg is None:
        raise SendError("no [channels.email] is configured to mail staff", retryable=False)
    from channels.email.send import smtp_send

    message = message_from_string(mail.mime, policy=policy.SMTP)
    assert isinstance(message, EmailMessage)
    async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
        await smtp_send(cfg, message, mail.to)


async def _deliver(hub: Hub, mail: ClaimedMail, rng: random.Random | None) -> None:
    """Send one claimed mail and record the outcome; never raises for the mail's own failure."""
    from channels.base import SendError
    from hub.outbox import backoff_seconds

    error: SendError | None = None
    try:
        await _send(hub, mail)
    except SendError as exc:
        error = exc
    except TimeoutError:
        error = SendError(f"SMTP timed out after {SEND_TIMEOUT_SECONDS:.0f}s")
    except Exception as exc:  # a bug must not leave the others unsent
        log.exception("staff mail send raised", extra={"staff_mail_id": mail.id})
        error = SendError(f"{type(exc).__name__}: {exc}")
    cfg = hub.settings.outbox
    now = hub.now()
    values: dict[str, object] = {"locked_until": None, "updated_at": now}
    if error is None:
        values.update(status=OutboxStatus.sent.value, last_error=None)
    elif not error.retryable or mail.attempt >= cfg.max_attempts:
        values.update(status=OutboxStatus.dead.value, last_error=error.reason[:1000])
    else:
        delay = backoff_seconds(mail.attempt, cfg.backoff_base_seconds, cfg.backoff_max_seconds, rng)
        if error.retry_after is not None:
            delay = max(delay, error.retry_after)
        values.update(
            status=OutboxStatus.pending.value,
            last_error=error.reason[:1000],
            next_attempt_at=now + timedelta(seconds=delay),
        )
    async with hub.db.transaction() as s:
        await core(s, sa.update(_table).where(_table.c.id == mail.id).values(**values))
    if error is None:
        log.info("mailed staff mail", extra={"staff_mail_id": mail.id})
    else:
        log.warning("staff mail failed: %s", error.reason, extra={"staff_mail_id": mail.id})


async def run_once(hub: Hub, rng: random.Random | None = None) -> int:
    """Claim what is due and mail it (concurrently); returns how many were attempted."""
    claimed = await claim(hub)
    if claimed:
        await asyncio.gather(*(_deliver(hub, m, rng) for m in claimed))
    return len(claimed)


async def next_due(hub: Hub) -> datetime | None:
    """The earliest pending attempt or lapsing claim, in one read."""
    when = sa.case(
        (col(StaffMail.status) == OutboxStatus.pending, col(StaffMail.next_attempt_at)),
        else_=col(StaffMail.locked_until),
    )
    async with hub.db.session() as s:
        found: datetime | None = (
            await s.exec(
                select(sa.func.min(when)).where(
                    col(StaffMail.status).in_([OutboxStatus.pending, OutboxStatus.sending])
                )
            )
        ).first()
    return found
