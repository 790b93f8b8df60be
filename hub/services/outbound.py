"""Start a conversation with a customer: an agent writes first, on a channel where the
customer has an address.

The conversation is created (or the open one on that address reused) assigned to the
agent, and the first message is an ordinary reply (:func:`hub.services.conversations.reply`):
the same group commit, the same outbox row, the same retries — nothing is sent from
here. What this module adds is the checks a first message needs before anything is
written: an address on the channel (Telegram: a chat the customer opened with the
bot), no service opt-out on the channel (SMS STOP, hub.services.consent), a subject
for email, WhatsApp's 24-hour window (outside it only an approved template), and that
the agent may work in the channel's team.

A marketing opt-out does not block: a first message from an agent is a service message.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.models import OPEN_STATUSES, Contact, Conversation, ConversationStatus, Identity, Message, Team
from hub.services import consent
from hub.services.access import Actor, require_view
from hub.services.contact_fields import invalid_fields
from hub.services.contacts import load_visible_contact
from hub.services.conversations import emit_conversation, reply
from hub.services.errors import Conflict, Forbidden, Invalid, NotFound
from hub.services.uow import unit_of_work

# Channels an agent may write first on; voice calls and web chat (the visitor must be
# on the page) are not among them.
OUTBOUND_CHANNELS = ("sms", "whatsapp", "email", "telegram", "loopback")
WHATSAPP_WINDOW = timedelta(hours=24)
MAX_SUBJECT = 300
MAX_TEMPLATE_VARIABLES = 20


@dataclass(frozen=True, slots=True)
class Template:
    """A WhatsApp template by its configured name (Twilio Content API) with variables."""

    name: str
    variables: dict[str, str]


@dataclass(frozen=True, slots=True)
class Started:
    conversation: Conversation
    message: Message
    reused: bool


def _templates(hub: Hub, channel: str) -> list[str]:
    if channel != "whatsapp" or channel not in hub.channels:
        return []
    config = getattr(hub.channels.get(channel), "config", None)
    return sorted(getattr(config, "templates", {}) or {})


def _address_kind(hub: Hub, channel: str) -> str:
    return str(getattr(hub.channels.get(channel), "address_kind", ""))


async def _identity(s: AsyncSession, contact_id: int, kind: str) -> Identity | None:
    """The contact's address of this kind, the verified (they wrote from it) first."""
    return (
        await s.exec(
            select(Identity)
            .where(Identity.contact_id == contact_id, Identity.kind == kind)
            .order_by(col(Identity.verified_at).is_(None), col(Identity.id).desc())
            .limit(1)
        )
    ).first()


async def _last_inbound(s: AsyncSession, contact_id: int, channel: str) -> datetime | None:
    return (
        await s.exec(
            select(sa.func.max(Conversation.last_inbound_at)).where(
                Conversation.contact_id == contact_id, Conversation.channel == channel
            )
        )
    ).first()


async def _telegram_chat(s: AsyncSession, contact_id: int, identity: Identity | None) -> str | None:
    """The private chat the customer opened with the bot, if they ever wrote to it.

    A Telegram bot may not write first: a typed-in (imported) Telegram id is no chat.
    """
    if identity is None:
        return None
    wrote = (
        await s.exec(
            select(Conversation.thread_key)
            .where(
                Conversation.contact_id == contact_id,
                Conversation.channel == "telegram",
                Conversation.thread_key == identity.address,
                col(Conversation.last_inbound_at).is_not(None),
            )
            .limit(1)
        )
    ).first()
    if wrote is None and identity.verified_at is None:
        return None
    return identity.address  # a private chat's id is the user's id


async def _channel_team(hub: Hub, s: AsyncSession, channel: str) -> Team | None:
    name = (hub.settings.channels.get(channel) or {}).get("team")
    if not isinstance(name, str) or not name:
        return None
    return (await s.exec(select(Team).where(Team.name == name))).first()


def _check_team(actor: Actor, team: Team | None) -> None:
    if team is None or actor.is_admin or team.id in actor.team_ids:
        return
    raise Forbidden(f"the {team.name} team answers this channel and you are not in it", code="not_your_team")


async def options(hub: Hub, actor: Actor, contact_id: int) -> list[dict[str, Any]]:
    """For the console's dialog: each channel an agent could write first on, and why not."""
    now = hub.now()
    out: list[dict[str, Any]] = []
    async with hub.db.session() as s:
        await _live_contact(s, actor, contact_id)
        for channel in OUTBOUND_CHANNELS:
            if channel not in hub.channels:
                continue
            identity = await _identity(s, contact_id, _address_kind(hub, channel))
            reason: str | None = None
            team = await _channel_team(hub, s, channel)
            window_open: bool | None = None
            if channel == "telegram" and await _telegram_chat(s, contact_id, identity) is None:
                reason = "no_telegram_chat"
            elif identity is None:
                reason = "no_address"
            elif await consent.service_blocked(s, contact_id, channel):
                reason = "opted_out"
            elif team is not None and not (actor.is_admin or team.id in actor.team_ids):
                reason = "not_your_team"
            if channel == "whatsapp":
                last = await _last_inbound(s, contact_id, channel)
                window_open = last is not None and now <= last + WHATSAPP_WINDOW
            out.append(
                {
                    "channel": channel,
                    "address": identity.address if identity is not None else None,
                    "allowed": reason is None,
                    "reason": reason,
                    "needs_subject": channel == "email",
                    "window_open": window_open,
                    "templates": _templates(hub, channel),
                }
            )
    return out


async def _live_contact(s: AsyncSession, actor: Actor, contact_id: int) -> Contact:
    contact = await load_visible_contact(s, actor, contact_id)
    if contact.merged_into_id is not None or contact.erased_at is not None:
        raise NotFound(f"contact {contact_id} not found", code="contact_not_found")
    return contact


def _check_input(
    hub: Hub, channel: str, body: str, subject: str, template: Template | None
) -> tuple[str, str, Template | None]:
    if channel not in OUTBOUND_CHANNELS:
        raise invalid_fields([("channel", "bad_channel", "one of " + ", ".join(OUTBOUND_CHANNELS))])
    if channel not in hub.channels:
        raise Conflict(f"the {channel} channel is not enabled on this hub", code="channel_disabled")
    text = body.strip()
    if template is not None:
        known = _templates(hub, channel)
        if template.name not in known:
            raise Invalid(
                f"no approved WhatsApp template {template.name!r} (known: {', '.join(known) or 'none'})",
                code="unknown_template",
                extra={
                    "fields": [{"field": "template.name", "code": "unknown_template", "message": "unknown"}]
                },
            )
        # WhatsApp refuses a variable with a line break, a tab or 4+ spaces in a row.
        template = Template(template.name, {k: " ".join(v.split()) for k, v in template.variables.items()})
        if not text:
            # What the thread shows: the customer receives the approved template.
            values = ", ".join(v for v in template.variables.values() if v)
            text = f"[{template.name}] {values}".strip()
    elif not text:
        raise Invalid("the message is empty", code="empty_body")
    if len(text) > hub.settings.max_body_chars:
        raise Invalid(f"the message exceeds {hub.settings.max_body_chars} characters", code="too_long")
    subject = " ".join(subject.split())
    if channel == "email" and not subject:
        raise Invalid(
            "an email needs a subject",
            code="subject_required",
            extra={"fields": [{"field": "subject", "code": "subject_required", "message": "required"}]},
        )
    return text, subject[:MAX_SUBJECT], template


async def start(
    hub: Hub,
    actor: Actor,
    contact_id: int,
    channel: str,
    body: str,
    *,
    subject: str = "",
    template: Template | None = None,
) -> Started:
    """Open (or reuse) the conversation on the contact's address and send the first
    message through the reply path; refusals come before anything is written."""
    text, subject, template = _check_input(hub, channel, body, subject, template)
    now = hub.now()
    reused = False
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        contact = await _live_contact(s, actor, contact_id)
        identity = await _identity(s, contact_id, _address_kind(hub, channel))
        thread_key = ""
        if channel == "telegram":
            chat = await _telegram_chat(s, contact_id, identity)
            if chat is None:
                raise Conflict(
                    "the customer has not written to the Telegram bot; a bot may not write first",
                    code="no_telegram_chat",
                )
            thread_key = chat
        elif identity is None:
            raise Conflict(f"the customer has no {channel} address", code="no_address")
        elif channel == "email":
            # A new subject is a new thread; the customer's answer finds it by our
            # Message-ID or the [#SB-n] token (channels/email/threads.py).
            thread_key = f"out-{secrets.token_hex(8)}"
        assert identity is not None
        if await consent.service_blocked(s, contact_id, channel):
            raise Conflict(
                f"the customer opted out of every message on {channel} (SMS: they replied STOP; "
                "they must reply START first)",
                code="opted_out",
            )
        if channel == "whatsapp" and template is None:
            last = await _last_inbound(s, contact_id, channel)
            if last is None or now > last + WHATSAPP_WINDOW:
                raise Conflict(
                    "outside WhatsApp's 24-hour window only an approved template may be sent",
                    code="whatsapp_window_closed",
                )
        team = await _channel_team(hub, s, channel)
        _check_team(actor, team)
        conv = (
            await s.exec(
                select(Conversation)
                .where(
                    Conversation.contact_id == contact_id,
                    Conversation.channel == channel,
                    Conversation.thread_key == thread_key,
                    col(Conversation.status).in_([str(x) for x in OPEN_STATUSES]),
                )
                .with_for_update()
            )
        ).first()
        if conv is not None:
            reused = True
            await _take(uow, actor, conv, now)
        else:
            conv = Conversation(
                contact_id=contact_id,
                channel=channel,
                contact_address=identity.address,
                thread_key=thread_key,
                subject=subject,
                status=ConversationStatus.assigned,
                team_id=team.id if team is not None else None,
                assignee_id=actor.user_id,
                language=contact.language,
                created_at=now,
                updated_at=now,
                first_assigned_at=now,
            )
            s.add(conv)
            try:
                await s.flush()
            except sa.exc.IntegrityError:
                # A customer's message opened it a moment ago: the agent tries again.
                raise Conflict(
                    "a conversation on this address was just opened; open it instead", code="thread_open"
                ) from None
            emit_conversation(uow, "conversation.created", conv, reason="outbound")
            emit_conversation(
                uow, "conversation.assigned", conv, previous_assignee_id=None, reason="outbound"
            )
    assert conv.id is not None
    message = await reply(
        hub,
        actor,
        conv.id,
        text,
        subject=subject if channel == "email" else "",
        template={"name": template.name, "variables": template.variables} if template else None,
    )
    return Started(conv, message, reused)


async def _take(uow: Any, actor: Actor, conv: Conversation, now: datetime) -> None:
    """Reuse the open conversation: the agent's own, or unassigned (then it becomes theirs)."""
    require_view(actor, conv)
    if conv.assignee_id == actor.user_id:
        return
    if conv.assignee_id is not None or conv.status == ConversationStatus.offered:
        if not actor.is_supervisor:
            raise Conflict(
                "the customer's open conversation on this channel is someone else's", code="already_assigned"
            )
        return  # a supervisor writes into it as in any conversation they can see
    conv.assignee_id = actor.user_id
    conv.status = ConversationStatus.assigned
    conv.updated_at = now
    conv.first_assigned_at = conv.first_assigned_at or now
    emit_conversation(uow, "conversation.assigned", conv, previous_assignee_id=None, reason="outbound")
