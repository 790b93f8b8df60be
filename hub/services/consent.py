"""Consent per contact, channel and purpose: the one source of truth (docs/crm.md, "Consent").

Two purposes:

* **marketing** — campaigns and survey invitations: messages the customer did not ask for.
* **service** — messages about a conversation the customer is in (an agent's reply, an
  acknowledgement, a status answer). A marketing opt-out never blocks them.

A row per (contact, channel, purpose) holds ``opted_in`` or ``opted_out``; no row is
*unknown*. SMS STOP is carrier-level (Twilio itself blocks every message to the number
until START), so an opt-out keyword on SMS opts out both purposes on SMS; on every other
channel a keyword opts out of marketing only. Every change writes a
``contact.consent_changed`` event-log row in the same transaction: the audit trail.

The unsubscribe link (``/u/{token}``) carries a signed, stateless token naming the
contact, the channel and the campaign; see :func:`unsubscribe_token`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.config import Settings
from hub.context import Hub
from hub.events import ConsentChangedPayload, validate_payload
from hub.models import Contact, ContactConsent, EventLog
from hub.services.access import Actor
from hub.services.errors import NotFound
from hub.services.uow import UnitOfWork, unit_of_work

MARKETING = "marketing"
SERVICE = "service"
PURPOSES = (MARKETING, SERVICE)
OPTED_IN = "opted_in"
OPTED_OUT = "opted_out"
STATES = (OPTED_IN, OPTED_OUT)
SOURCES = ("keyword", "link", "import", "agent", "api", "widget", "campaign")
# The channels consent is recorded for (any other enabled channel kind is accepted too).
CHANNELS = ("sms", "whatsapp", "voice", "email", "telegram", "webchat")
# Where an opt-out keyword is carrier-level: it stops every message, not only marketing.
CARRIER_LEVEL = frozenset({"sms"})
# ``OutboundMessage.meta["consent"]`` of the message confirming a keyword: it is sent
# even though the customer just opted out (the one message they expect).
CONFIRMATION = "confirmation"
EVENT = "contact.consent_changed"
MAX_NOTE = 200
UNSUBSCRIBE_PURPOSE = "consent-unsubscribe"
_IN_CHUNK = 5_000


# -- storage -----------------------------------------------------------------------------


async def record(
    s: AsyncSession,
    *,
    contact_id: int,
    channel: str,
    purpose: str,
    state: str | None,
    source: str,
    now: datetime,
    actor_id: int | None = None,
    campaign_id: int | None = None,
    note: str | None = None,
    uow: UnitOfWork | None = None,
) -> bool:
    """Upsert one decision (``state`` None: back to unknown, the row removed) and write
    its ``contact.consent_changed`` event-log row, in the caller's transaction. True when
    the state changed (nothing is written otherwise). The caller commits; pass ``uow``
    to have the event published after the commit (without it the row is only logged)."""
    if purpose not in PURPOSES or (state is not None and state not in STATES) or source not in SOURCES:
        raise ValueError(f"bad consent decision: {purpose!r} {state!r} {source!r}")
    note = note[:MAX_NOTE] if note else None
    row = await _row(s, contact_id, channel, purpose)
    previous = row.state if row is not None else None
    if previous == state:
        return False
    if state is None:
        assert row is not None
        await s.delete(row)
    elif row is not None:
        row.state, row.source, row.actor_id = state, source, actor_id
        row.campaign_id, row.note, row.updated_at = campaign_id, note, now
        s.add(row)
    else:
        new = ContactConsent(
            contact_id=contact_id,
            channel=channel,
            purpose=purpose,
            state=state,
            source=source,
            actor_id=actor_id,
            campaign_id=campaign_id,
            note=note,
            updated_at=now,
        )
        try:
            async with s.begin_nested():
                s.add(new)
                await s.flush()
        except IntegrityError:
            # Another transaction inserted it first: update theirs instead.
            return await record(
                s,
                contact_id=contact_id,
                channel=channel,
                purpose=purpose,
                state=state,
                source=source,
                now=now,
                actor_id=actor_id,
                campaign_id=campaign_id,
                note=note,
                uow=uow,
            )
    payload = ConsentChangedPayload(
        contact_id=contact_id,
        channel=channel,
        purpose=purpose,
        state=state,
        previous=previous,
        source=source,
        campaign_id=campaign_id,
        note=note,
        changes={f"consent.{channel}.{purpose}": [previous, state]},
    )
    if uow is not None:
        uow.emit(EVENT, payload)
    else:
        s.add(EventLog(type=EVENT, ts=now, actor_id=actor_id, payload=validate_payload(EVENT, payload)))
    await s.flush()
    return True


async def _row(s: AsyncSession, contact_id: int, channel: str, purpose: str) -> ContactConsent | None:
    stmt = select(ContactConsent).where(
        ContactConsent.contact_id == contact_id,
        ContactConsent.channel == channel,
        ContactConsent.purpose == purpose,
    )
    return (await s.exec(stmt.with_for_update())).first()


async def rows_for(s: AsyncSession, contact_id: int) -> list[ContactConsent]:
    stmt = (
        select(ContactConsent)
        .where(ContactConsent.contact_id == contact_id)
        .order_by(col(ContactConsent.channel), col(ContactConsent.purpose))
    )
    return list((await s.exec(stmt)).all())


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    unique = sorted(set(ids))
    for i in range(0, len(unique), _IN_CHUNK):
        yield unique[i : i + _IN_CHUNK]


async def marketing_blocked(s: AsyncSession, contact_ids: Sequence[int], channel: str) -> dict[int, str]:
    """Contact id → ``"opted_out"`` for those who may NOT receive marketing on ``channel``:
    a marketing opt-out, or an opt-out of the whole channel (SMS STOP). One query (per
    5,000 ids)."""
    out: dict[int, str] = {}
    for chunk in _chunks(contact_ids):
        stmt = (
            select(ContactConsent.contact_id)
            .where(
                col(ContactConsent.contact_id).in_(chunk),
                ContactConsent.channel == channel,
                ContactConsent.state == OPTED_OUT,
            )
            .distinct()
        )
        out.update({cid: OPTED_OUT for cid in (await s.exec(stmt)).all()})
    return out


async def opted_in(
    s: AsyncSession, contact_ids: Sequence[int], channel: str, purpose: str = MARKETING
) -> set[int]:
    """Those with a recorded opt-in for ``purpose`` on ``channel`` (for opt-in-only sends)."""
    out: set[int] = set()
    for chunk in _chunks(contact_ids):
        stmt = select(ContactConsent.contact_id).where(
            col(ContactConsent.contact_id).in_(chunk),
            ContactConsent.channel == channel,
            ContactConsent.purpose == purpose,
            ContactConsent.state == OPTED_IN,
        )
        out.update((await s.exec(stmt)).all())
    return out


async def service_blocked(s: AsyncSession, contact_id: int, channel: str) -> bool:
    """The customer stopped every message on this channel (SMS STOP, or staff recorded
    a service opt-out): replies and new conversations are refused."""
    stmt = select(ContactConsent.id).where(
        ContactConsent.contact_id == contact_id,
        ContactConsent.channel == channel,
        ContactConsent.purpose == SERVICE,
        ContactConsent.state == OPTED_OUT,
    )
    return (await s.exec(stmt)).first() is not None


async def send_blocked(s: AsyncSession, contact_id: int, channel: str, meta: dict[str, Any]) -> bool:
    """May this outbound message (its ``meta``) not go out? The confirmation of a keyword
    always may; ``meta["purpose"] == "marketing"`` is held to marketing consent; anything
    else is a service message."""
    if meta.get("consent") == CONFIRMATION:
        return False
    if meta.get("purpose") == MARKETING:
        return bool(await marketing_blocked(s, [contact_id], channel))
    return await service_blocked(s, contact_id, channel)


def legacy_view(rows: Iterable[ContactConsent]) -> dict[str, Any]:
    """The contact API's ``consent`` field as before the table: marketing per channel,
    ``{"sms": {"granted": true, "at": "...", "source": "agent", "by": 3}}``."""
    return {
        r.channel: {
            "granted": r.state == OPTED_IN,
            "at": r.updated_at.isoformat(),
            "source": r.source,
            "by": r.actor_id,
        }
        for r in rows
        if r.purpose == MARKETING
    }


async def move_to(s: AsyncSession, source_id: int, target_id: int) -> None:
    """A merge: the source contact's decisions join the target's; where both decided on
    the same channel and purpose, the later decision wins (the customer's latest word)."""
    theirs = await rows_for(s, source_id)
    if not theirs:
        return
    ours = {(r.channel, r.purpose): r for r in await rows_for(s, target_id)}
    for row in theirs:
        mine = ours.get((row.channel, row.purpose))
        if mine is not None and mine.updated_at >= row.updated_at:
            await s.delete(row)
            continue
        if mine is not None:
            await s.delete(mine)
            await s.flush()
        row.contact_id = target_id
        s.add(row)
    await s.flush()


# -- the service (people and the API) ------------------------------------------------------


def check_channel(hub: Hub, channel: str) -> bool:
    return channel in CHANNELS or channel in hub.channels


async def set_consent(
    hub: Hub,
    actor: Actor,
    contact_id: int,
    channel: str,
    purpose: str,
    state: str | None,
    *,
    source: str = "agent",
    note: str | None = None,
) -> ContactConsent | None:
    """Staff or the API record a decision (``state`` None: unknown again). Allowed to
    whoever may edit the contact (who may see it: hub.services.contacts); audited.
    Returns the row (None when unknown)."""
    from hub.services.contact_fields import invalid_fields
    from hub.services.contacts import load_visible_contact

    problems = []
    if not check_channel(hub, channel):
        problems.append(("channel", "bad_channel", f"one of {', '.join(CHANNELS)}"))
    if purpose not in PURPOSES:
        problems.append(("purpose", "invalid_consent", "marketing or service"))
    if state is not None and state not in STATES:
        problems.append(("state", "invalid_consent", "opted_in, opted_out or null"))
    if note is not None and len(note) > MAX_NOTE:
        problems.append(("note", "too_long", f"at most {MAX_NOTE} characters"))
    if problems:
        raise invalid_fields(problems)
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        contact = await load_visible_contact(s, actor, contact_id)
        if contact.merged_into_id is not None:
            raise NotFound(f"contact {contact_id} was merged into contact {contact.merged_into_id}")
        await record(
            s,
            contact_id=contact_id,
            channel=channel,
            purpose=purpose,
            state=state,
            source=source,
            now=hub.now(),
            actor_id=actor.user_id,
            note=note,
            uow=uow,
        )
        row = await _row(s, contact_id, channel, purpose)
    return row


# -- the unsubscribe link ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnsubscribeRef:
    contact_id: int
    channel: str
    campaign_id: int | None


def _secret(settings: Settings) -> bytes:
    if settings.consent.link_secret:
        return settings.consent.link_secret.encode()
    webchat = settings.channels.get("webchat") or {}
    shared = webchat.get("token_secret")
    if isinstance(shared, str) and len(shared) >= 16:
        # Tokens carry a purpose label inside their MAC, so sharing the secret with the
        # widget's visitor tokens lets neither be replayed as the other.
        return shared.encode()
    return _key_file(str(Path(settings.data_dir).resolve() / "consent-link.key"))


@functools.lru_cache(maxsize=8)
def _key_file(path: str) -> bytes:
    """A random key made once in data_dir: written to a temporary file, then linked into
    place, so a process never reads a half-written key; the first link wins."""
    import secrets

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, target)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    return target.read_bytes().strip()


def unsubscribe_token(settings: Settings, contact_id: int, channel: str, campaign_id: int | None) -> str:
    """A signed, stateless token for the unsubscribe link: it names the contact, the
    channel and the campaign. It does not expire (a link in an old mail must work)."""
    from channels.webchat import tokens

    data: dict[str, Any] = {"c": contact_id, "ch": channel}
    if campaign_id is not None:
        data["k"] = campaign_id
    return tokens.sign(_secret(settings), UNSUBSCRIBE_PURPOSE, data)


def unsubscribe_url(settings: Settings, token: str) -> str:
    """The absolute public URL of the unsubscribe page for ``token``."""
    return f"{settings.base_url.rstrip('/')}/u/{token}"


def read_unsubscribe_token(settings: Settings, token: str) -> UnsubscribeRef | None:
    """The token's contents, or None for anything not signed by us."""
    from channels.webchat import tokens

    try:
        data = tokens.unsign(_secret(settings), UNSUBSCRIBE_PURPOSE, token)
    except tokens.TokenError:
        return None
    contact_id, channel, campaign_id = data.get("c"), data.get("ch"), data.get("k")
    if not isinstance(contact_id, int) or isinstance(contact_id, bool) or not isinstance(channel, str):
        return None
    if campaign_id is not None and (not isinstance(campaign_id, int) or isinstance(campaign_id, bool)):
        return None
    if not channel or len(channel) > 20:
        return None
    return UnsubscribeRef(contact_id, channel, campaign_id)


async def current_contact(s: AsyncSession, contact_id: int) -> Contact | None:
    """The contact, following merges to the one that holds the customer now."""
    contact = await s.get(Contact, contact_id)
    for _ in range(10):
        if contact is None or contact.merged_into_id is None:
            break
        contact = await s.get(Contact, contact.merged_into_id)
    return contact


async def unsubscribe(hub: Hub, ref: UnsubscribeRef) -> bool:
    """The link's page or a mail client's one-click POST: marketing opted out on the
    token's channel, source "link". Idempotent; False when the contact is gone."""
    async with unit_of_work(hub) as uow:
        s = uow.session
        contact = await current_contact(s, ref.contact_id)
        if contact is None or contact.id is None or contact.erased_at is not None:
            return False
        await record(
            s,
            contact_id=contact.id,
            channel=ref.channel,
            purpose=MARKETING,
            state=OPTED_OUT,
            source="link",
            now=hub.now(),
            campaign_id=ref.campaign_id,
            uow=uow,
        )
    return True


async def state_of(s: AsyncSession, contact_id: int, channel: str) -> dict[str, str]:
    """purpose → state on one channel (purposes with no row are absent)."""
    stmt = select(ContactConsent.purpose, ContactConsent.state).where(
        ContactConsent.contact_id == contact_id, ContactConsent.channel == channel
    )
    return {p: st for p, st in (await s.exec(stmt)).all()}


def any_opted_out(channel: str) -> Any:
    """SQL: the contact opted out of marketing (or all messages) on ``channel``."""
    return sa.exists(
        select(ContactConsent.id).where(
            ContactConsent.contact_id == Contact.id,
            ContactConsent.channel == channel,
            ContactConsent.state == OPTED_OUT,
        )
    )


def has_state(channel: str, purpose: str, state: str) -> Any:
    """SQL: the contact's ``purpose`` decision on ``channel`` is ``state``."""
    return sa.exists(
        select(ContactConsent.id).where(
            ContactConsent.contact_id == Contact.id,
            ContactConsent.channel == channel,
            ContactConsent.purpose == purpose,
            ContactConsent.state == state,
        )
    )
