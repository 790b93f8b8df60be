"""Satisfaction surveys on every channel: schedule, send, read the answer, follow up.

A survey request is a row: *scheduled* (a timer row: ``due_at`` is when to send),
*sent* (``due_at`` is when it expires), *answered*, *expired* or *skipped* (with why:
opted out, asked too recently, the conversation reopened...). The care consumer
(:mod:`hub.care.consumer`) schedules one when a conversation is resolved and fires
the timers under its checkpoint lock, so a survey is sent once however many hub
processes run. The question leaves through the outbox like any reply; each channel
shows it its own way from ``meta["survey"]`` (buttons, links, a keyboard).

Answers come back as a reply ("5", "٥ شكرا", "⭐⭐⭐⭐"), a button (Telegram's callback
query), the hosted page (email links), or the web widget's form. A reply is taken as
an answer only while a survey to that customer on that channel waits for one, and only
if it reads as a score (:func:`hub.care.parse.parse_answer`); anything else is a
message and opens or continues a conversation as usual.
"""

from __future__ import annotations

import secrets
import time as _time
from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.care import parse, texts
from hub.care.outbound import conversation_for, system_message
from hub.context import Hub
from hub.domain import InboundMessage
from hub.events import SurveyPayload
from hub.models import (
    OPEN_STATUSES,
    AuthorType,
    Complaint,
    Contact,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Identity,
    Message,
    MessageKind,
    Role,
    SurveyDefinition,
    SurveyPolicy,
    SurveyRequest,
    Team,
)
from hub.services import consent
from hub.services.access import Actor, require_role
from hub.services.batch_rows import conversation_payload
from hub.services.contact_fields import invalid_fields
from hub.services.contacts import load_visible_contact
from hub.services.errors import Conflict, Invalid, NotFound
from hub.services.ingest import emit_message
from hub.services.uow import UnitOfWork, unit_of_work
from hub.timeutil import zone as tz_zone

KINDS = parse.SCALES
MAX_COMMENT = 2000
LOW_SCORE_ACTIONS = ("notify", "follow_up", "complaint")
POLICY_FIELDS = (
    "enabled",
    "survey_key",
    "delay_seconds",
    "min_days_between",
    "expiry_hours",
    "quiet_start",
    "quiet_end",
    "ask_comment",
    "low_score_threshold",
    "low_score_action",
)
# Channels that take a survey by message. Voice asks on the call (keypad), if at all.
MESSAGING = frozenset({"sms", "whatsapp", "telegram", "email", "webchat", "loopback"})


# -- definitions and policies (admin) --------------------------------------------------


async def list_definitions(s: AsyncSession) -> list[SurveyDefinition]:
    return list((await s.exec(select(SurveyDefinition).order_by(col(SurveyDefinition.key)))).all())


async def save_definition(hub: Hub, actor: Actor, key: str, values: Mapping[str, Any]) -> SurveyDefinition:
    require_role(actor, Role.admin)
    problems: list[tuple[str, str, str]] = []
    kind = values.get("kind")
    if kind not in KINDS:
        problems.append(("kind", "bad_kind", "csat, nps or ces"))
    raw = values.get("texts")
    texts_in: dict[str, dict[str, str]] = {}
    if not isinstance(raw, dict) or not raw:
        problems.append(("texts", "required", "the question in English and Arabic"))
    else:
        for lang in ("en", "ar"):
            entry = raw.get(lang) if isinstance(raw.get(lang), dict) else None
            if entry is None or not str(entry.get("question") or "").strip():
                problems.append((f"texts.{lang}.question", "required", "the question"))
                continue
            texts_in[lang] = {}
            for part in ("question", "comment", "thanks"):
                value = str(entry.get(part) or "").strip()
                if len(value) > 1000:
                    problems.append((f"texts.{lang}.{part}", "too_long", "at most 1000 characters"))
                texts_in[lang][part] = value
    if not key or len(key) > 40 or not key.replace("_", "").replace("-", "").isalnum() or not key.isascii():
        problems.append(("key", "invalid_key", "letters, digits, _ and -, at most 40"))
    if problems:
        raise invalid_fields(problems)
    async with unit_of_work(hub, actor.user_id) as uow:
        row = await uow.session.get(SurveyDefinition, key)
        if row is None:
            row = SurveyDefinition(key=key, kind=str(kind), texts=texts_in)
        elif row.texts != texts_in or row.kind != kind:
            row.version += 1  # answers keep the version they answered
            row.kind, row.texts = str(kind), texts_in
        row.active = bool(values.get("active", True))
        row.updated_at = hub.now()
        uow.session.add(row)
    return row


async def list_policies(s: AsyncSession) -> list[SurveyPolicy]:
    rows = await s.exec(
        select(SurveyPolicy).order_by(
            col(SurveyPolicy.team_id).is_not(None), col(SurveyPolicy.team_id), col(SurveyPolicy.channel)
        )
    )
    return list(rows.all())


async def save_policy(
    hub: Hub, actor: Actor, team_id: int | None, channel: str | None, values: Mapping[str, Any]
) -> SurveyPolicy:
    """Create or replace the policy of one scope (team or any, channel or any)."""
    require_role(actor, Role.admin)
    problems: list[tuple[str, str, str]] = []
    ranges = {
        "delay_seconds": (0, 7 * 86_400),
        "min_days_between": (0, 365),
        "expiry_hours": (1, 30 * 24),
        "low_score_threshold": (0, 10),
    }
    for field, (lo, hi) in ranges.items():
        v = values.get(field)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi):
            problems.append((field, "out_of_range", f"a whole number from {lo} to {hi}"))
    for field in ("quiet_start", "quiet_end"):
        v = values.get(field)
        if v not in (None, ""):
            try:
                time.fromisoformat(str(v))
            except ValueError:
                problems.append((field, "bad_time", "a time like 21:00"))
    if values.get("low_score_action") not in (None, *LOW_SCORE_ACTIONS):
        problems.append(("low_score_action", "bad_action", "notify, follow_up or complaint"))
    if channel is not None and channel not in MESSAGING | {"voice"}:
        problems.append(("channel", "bad_channel", "a messaging channel"))
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        key = values.get("survey_key")
        if key is not None and await s.get(SurveyDefinition, key) is None:
            problems.append(("survey_key", "unknown_survey", "an existing survey"))
        if team_id is not None and await s.get(Team, team_id) is None:
            problems.append(("team_id", "team_not_found", "an existing team"))
        if problems:
            raise invalid_fields(problems)
        row = (
            await s.exec(
                select(SurveyPolicy).where(
                    _is(SurveyPolicy.team_id, team_id), _is(SurveyPolicy.channel, channel)
                )
            )
        ).first() or SurveyPolicy(team_id=team_id, channel=channel)
        for field in POLICY_FIELDS:
            if field in values:
                v = values[field]
                setattr(row, field, (v or None) if field in ("quiet_start", "quiet_end") else v)
        row.updated_at = hub.now()
        s.add(row)
    return row


def _is(column: Any, value: Any) -> Any:
    return col(column).is_(None) if value is None else column == value


async def policy_for(s: AsyncSession, team_id: int | None, channel: str) -> SurveyPolicy | None:
    """The most specific policy: (team, channel) > (team) > (channel) > the default."""
    rows = (
        await s.exec(
            select(SurveyPolicy).where(
                sa.or_(col(SurveyPolicy.team_id).is_(None), col(SurveyPolicy.team_id) == team_id),
                sa.or_(col(SurveyPolicy.channel).is_(None), col(SurveyPolicy.channel) == channel),
            )
        )
    ).all()
    if not rows:
        return None
    return max(rows, key=lambda p: (p.team_id is not None, p.channel is not None))


# -- scheduling --------------------------------------------------------------------------


async def opted_out(s: AsyncSession, contact: Contact, channel: str) -> bool:
    """A survey invitation is marketing: not to a customer who opted out of marketing
    (or of everything, SMS STOP) on this channel (hub.services.consent)."""
    return contact.id is not None and bool(await consent.marketing_blocked(s, [contact.id], channel))


async def after_resolution(
    hub: Hub, uow: UnitOfWork, conversation_id: int, now: datetime
) -> SurveyRequest | None:
    """On ``conversation.resolved``: schedule the team's survey for this channel, or
    record why not. At most one survey per conversation."""
    s = uow.session
    conv = await s.get(Conversation, conversation_id)
    if conv is None or conv.status != ConversationStatus.resolved or "notice" in (conv.tags or []):
        return None
    if conv.csat_score is not None or conv.channel not in MESSAGING:
        return None
    if (await s.exec(select(SurveyRequest.id).where(SurveyRequest.conversation_id == conv.id))).first():
        return None
    policy = await policy_for(s, conv.team_id, conv.channel)
    if policy is None or not policy.enabled:
        return None
    contact = await s.get(Contact, conv.contact_id)
    if contact is None or contact.erased_at is not None:
        return None
    definition = await s.get(SurveyDefinition, policy.survey_key)
    if definition is None or not definition.active:
        return None
    req = _new_request(definition, contact, conv.channel, now, conversation=conv)
    if not (contact.language or conv.language):
        req.language = await _written_language(s, conv.id)  # type: ignore[arg-type]
    req.send_at = await _send_time(
        s, policy, contact, conv.team_id, now + timedelta(seconds=policy.delay_seconds)
    )
    reason = await _skip_reason(s, contact, conv.channel, policy, now)
    if reason is not None:
        req.status, req.skip_reason, req.due_at = "skipped", reason, None
    else:
        req.due_at = req.send_at
    s.add(req)
    await s.flush()
    return req


async def _written_language(s: AsyncSession, conversation_id: int) -> str:
    """The language the customer wrote in, when nobody recorded one (email carries
    none): Arabic when their latest message uses Arabic script."""
    body = (
        await s.exec(
            select(Message.body)
            .where(Message.conversation_id == conversation_id, col(Message.direction) == Direction.inbound)
            .order_by(col(Message.id).desc())
            .limit(1)
        )
    ).first()
    return "ar" if body and any("\u0600" <= ch <= "\u06ff" for ch in body) else "en"


def _new_request(
    definition: SurveyDefinition,
    contact: Contact,
    channel: str,
    now: datetime,
    *,
    conversation: Conversation | None = None,
    complaint: Complaint | None = None,
    created_by: int | None = None,
) -> SurveyRequest:
    return SurveyRequest(
        token=secrets.token_urlsafe(32),
        survey_key=definition.key,
        kind=definition.kind,
        version=definition.version,
        contact_id=contact.id,  # type: ignore[arg-type]
        conversation_id=conversation.id if conversation is not None else None,
        complaint_id=complaint.id if complaint is not None else None,
        channel=channel,
        team_id=(
            conversation.team_id if conversation is not None else complaint.team_id if complaint else None
        ),
        agent_id=(
            conversation.assignee_id
            if conversation is not None
            else complaint.assignee_id
            if complaint
            else None
        ),
        language=texts.language_of(
            contact.language or (conversation.language if conversation is not None else None)
        ),
        status="scheduled",
        send_at=now,
        created_by=created_by,
        created_at=now,
    )


async def _skip_reason(
    s: AsyncSession, contact: Contact, channel: str, policy: SurveyPolicy | None, now: datetime
) -> str | None:
    if await opted_out(s, contact, channel):
        return "opted_out"
    days = policy.min_days_between if policy is not None else 0
    if days > 0:
        recent = (
            await s.exec(
                select(SurveyRequest.id).where(
                    SurveyRequest.contact_id == contact.id,
                    col(SurveyRequest.status).in_(["scheduled", "sent", "answered", "expired"]),
                    col(SurveyRequest.send_at) > now - timedelta(days=days),
                )
            )
        ).first()
        if recent is not None:
            return "asked_recently"
    return None


async def _send_time(
    s: AsyncSession, policy: SurveyPolicy | None, contact: Contact, team_id: int | None, at: datetime
) -> datetime:
    """``at``, moved past the quiet hours in the customer's time zone."""
    if policy is None or not policy.quiet_start or not policy.quiet_end:
        return at
    zone_name = contact.timezone
    if not zone_name and team_id is not None:
        team = await s.get(Team, team_id)
        zone_name = (team.business_hours or {}).get("timezone") if team is not None else None
    try:
        zone = tz_zone(zone_name or "UTC")
    except ValueError:
        zone = ZoneInfo("UTC")
    return after_quiet(at, zone, time.fromisoformat(policy.quiet_start), time.fromisoformat(policy.quiet_end))


def after_quiet(at: datetime, zone: ZoneInfo, start: time, end: time) -> datetime:
    local = at.astimezone(zone)
    t = local.time()
    quiet = (start <= t or t < end) if start > end else (start <= t < end)
    if not quiet:
        return at
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, zone).astimezone(at.tzinfo)


async def send_now(hub: Hub, actor: Actor, contact_id: int, survey_key: str, channel: str) -> SurveyRequest:
    """Put a survey (NPS, CES, CSAT) to one customer now (supervisors)."""
    require_role(actor, Role.supervisor)
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        contact = await load_visible_contact(s, actor, contact_id)
        if contact.merged_into_id is not None or contact.erased_at is not None:
            raise NotFound(f"contact {contact_id} not found", code="contact_not_found")
        definition = await s.get(SurveyDefinition, survey_key)
        if definition is None or not definition.active:
            raise invalid_fields([("survey_key", "unknown_survey", "an active survey")])
        if channel not in MESSAGING or channel not in hub.channels:
            raise invalid_fields([("channel", "bad_channel", "an enabled messaging channel")])
        if await opted_out(s, contact, channel):
            raise Conflict("the customer opted out of this channel", code="opted_out")
        now = hub.now()
        req = _new_request(definition, contact, channel, now, created_by=actor.user_id)
        s.add(req)
        await s.flush()
        await _send(hub, uow, req, now, definition=definition)
    return req


KEYPAD_SECONDS = 300  # a keypad question unanswered this long has expired


async def start_keypad(hub: Hub, conversation_id: int) -> str | None:
    """The post-call keypad question (voice): the token of the survey to ask now, or
    None. Only a policy for the voice channel itself turns it on (the default policy
    does not), and only CSAT fits one key. Repeated calls (Twilio's retries) get the
    same survey while it waits."""
    async with unit_of_work(hub) as uow:
        s = uow.session
        now = hub.now()
        conv = await s.get(Conversation, conversation_id)
        if conv is None:
            return None
        existing = (
            await s.exec(select(SurveyRequest).where(SurveyRequest.conversation_id == conversation_id))
        ).first()
        if existing is not None:
            waiting = (
                existing.status == "sent" and existing.expires_at is not None and existing.expires_at > now
            )
            return existing.token if waiting else None
        rows = (
            await s.exec(
                select(SurveyPolicy).where(
                    SurveyPolicy.channel == "voice",
                    sa.or_(col(SurveyPolicy.team_id).is_(None), col(SurveyPolicy.team_id) == conv.team_id),
                )
            )
        ).all()
        policy = max(rows, key=lambda p: p.team_id is not None) if rows else None
        if policy is None or not policy.enabled:
            return None
        definition = await s.get(SurveyDefinition, policy.survey_key)
        contact = await s.get(Contact, conv.contact_id)
        if (
            definition is None
            or definition.kind != "csat"
            or contact is None
            or contact.erased_at is not None
        ):
            return None
        req = _new_request(definition, contact, "voice", now, conversation=conv)
        reason = await _skip_reason(s, contact, "voice", policy, now)
        if reason is not None:
            req.status, req.skip_reason, req.due_at = "skipped", reason, None
            s.add(req)
            return None
        req.status, req.sent_at = "sent", now
        req.expires_at = req.due_at = now + timedelta(seconds=KEYPAD_SECONDS)
        s.add(req)
        await s.flush()
        _emit(uow, "survey.sent", req)
        return req.token


async def ask_about_complaint(hub: Hub, uow: UnitOfWork, c: Complaint, now: datetime) -> None:
    """At a complaint's resolution: how satisfied is the customer with its handling."""
    s = uow.session
    contact = await s.get(Contact, c.contact_id)
    definition = await s.get(SurveyDefinition, "csat")
    if contact is None or definition is None or await opted_out(s, contact, c.channel):
        return
    req = _new_request(definition, contact, c.channel, now, complaint=c)
    req.conversation_id = c.conversation_id
    req.due_at = now
    s.add(req)
    await s.flush()


# -- the timer ---------------------------------------------------------------------------


async def fire_due(hub: Hub, uow: UnitOfWork, ids: list[int], now: datetime) -> None:
    s = uow.session
    rows = (await s.exec(select(SurveyRequest).where(col(SurveyRequest.id).in_(ids)))).all()
    for req in rows:
        if req.status == "scheduled" and req.send_at <= now:
            await _send_scheduled(hub, uow, req, now)
        elif req.status == "sent" and req.expires_at is not None and req.expires_at <= now:
            req.status, req.due_at = "expired", None
            s.add(req)
            _emit(uow, "survey.closed", req, reason="expired")
        else:
            req.due_at = None if req.status not in ("scheduled", "sent") else req.due_at
            s.add(req)


async def _send_scheduled(hub: Hub, uow: UnitOfWork, req: SurveyRequest, now: datetime) -> None:
    s = uow.session
    contact = await s.get(Contact, req.contact_id)
    conv = await s.get(Conversation, req.conversation_id) if req.conversation_id is not None else None
    reason = None
    if contact is None or contact.erased_at is not None:
        reason = "contact_gone"
    elif await opted_out(s, contact, req.channel):
        reason = "opted_out"
    elif req.complaint_id is None and conv is not None and conv.status != ConversationStatus.resolved:
        reason = "reopened"  # the customer wrote again: not the moment to ask
    elif req.channel not in hub.channels:
        reason = "channel_disabled"
    if reason is not None:
        req.status, req.skip_reason, req.due_at = "skipped", reason, None
        s.add(req)
        return
    policy = await policy_for(s, req.team_id, req.channel)
    assert contact is not None
    at = await _send_time(s, policy, contact, req.team_id, now)
    if at > now:  # entered the quiet hours while waiting
        req.send_at = req.due_at = at
        s.add(req)
        return
    await _send(hub, uow, req, now)


async def _send(
    hub: Hub,
    uow: UnitOfWork,
    req: SurveyRequest,
    now: datetime,
    *,
    definition: SurveyDefinition | None = None,
) -> None:
    s = uow.session
    definition = definition or await s.get(SurveyDefinition, req.survey_key)
    policy = await policy_for(s, req.team_id, req.channel)
    lang = texts.language_of(req.language)
    if req.complaint_id is not None:
        complaint = await s.get(Complaint, req.complaint_id)
        question = texts.say(lang, "complaint_survey", reference=complaint.reference if complaint else "")
    else:
        entry = ((definition.texts if definition else {}) or {}).get(lang) or {}
        question = str(entry.get("question") or "")
    try:
        conv = (
            await s.get(Conversation, req.conversation_id)
            if req.conversation_id is not None
            else await conversation_for(hub, uow, req.contact_id, req.channel, now)
        )
    except Conflict as exc:
        req.status, req.skip_reason, req.due_at = "skipped", exc.code, None
        s.add(req)
        return
    assert conv is not None
    low, high = KINDS[req.kind]
    url = f"{hub.settings.base_url.rstrip('/')}/s/{req.token}"
    meta = {
        "survey": {
            "token": req.token,
            "kind": req.kind,
            "low": low,
            "high": high,
            "url": url,
            "link_text": texts.say(lang, "survey_link", url=url),
        }
    }
    message = await system_message(uow, conv, question, now, meta=meta)
    req.conversation_id = conv.id
    req.message_id = message.id
    req.status, req.sent_at = "sent", now
    req.expires_at = now + timedelta(hours=policy.expiry_hours if policy is not None else 72)
    req.due_at = req.expires_at
    s.add(req)
    _emit(uow, "survey.sent", req)


# -- answers -----------------------------------------------------------------------------


class _Hint:
    """Whether any comment window may be open, cached briefly per process, so that
    ordinary messages skip the lookup while no survey waits for a comment."""

    ttl = 2.0

    def __init__(self) -> None:
        self.until: datetime | None = None
        self.checked = -1e9

    async def may_be_open(self, hub: Hub, now: datetime) -> bool:
        if self.until is not None and self.until > now:
            return True
        if _time.monotonic() - self.checked > self.ttl:
            # Marked before the read: concurrent messages use the last answer instead
            # of all querying at once (a hundred ingests in flight would each ask).
            self.checked = _time.monotonic()
            async with hub.db.session() as s:
                self.until = (
                    await s.exec(
                        select(sa.func.max(SurveyRequest.comment_until)).where(
                            col(SurveyRequest.comment).is_(None)
                        )
                    )
                ).one()
        return self.until is not None and self.until > now

    def opened(self, until: datetime) -> None:
        if self.until is None or until > self.until:
            self.until = until


HINTS: dict[int, _Hint] = {}


def _hint(hub: Hub) -> _Hint:
    hint = HINTS.get(id(hub))
    if hint is None:
        hint = HINTS[id(hub)] = _Hint()
    return hint


async def intercept(hub: Hub, msg: InboundMessage, address: str) -> tuple[int, int, int] | None:
    """Take an inbound message as a survey answer or comment, if it is one.

    Returns (message id, conversation id, contact id) when it was taken — stored in the
    survey's conversation without reopening it — or None: ingest it as usual.
    """
    if msg.channel not in MESSAGING or msg.kind not in ("text", "media"):
        return None
    now = hub.now()
    maybe_score = parse.could_be_answer(msg.body)
    if not maybe_score and not await _hint(hub).may_be_open(hub, now):
        return None
    async with unit_of_work(hub) as uow:
        s = uow.session
        dup = (
            await s.exec(
                select(Message.id, Message.conversation_id, Message.author_id).where(
                    Message.channel == msg.channel,
                    Message.direction == Direction.inbound,
                    Message.provider_message_id == msg.provider_message_id,
                )
            )
        ).first()
        if dup is not None:
            return None  # ingest returns the first result for a retried delivery
        contact_id = (
            await s.exec(
                select(Identity.contact_id).where(
                    Identity.kind == msg.address_kind, Identity.address == address
                )
            )
        ).first()
        if contact_id is None:
            return None
        req = (
            await s.exec(
                select(SurveyRequest)
                .where(
                    SurveyRequest.contact_id == contact_id,
                    SurveyRequest.channel == msg.channel,
                    sa.or_(
                        sa.and_(col(SurveyRequest.status) == "sent", col(SurveyRequest.expires_at) > now),
                        sa.and_(
                            col(SurveyRequest.status) == "answered",
                            col(SurveyRequest.comment_until) > now,
                            col(SurveyRequest.comment).is_(None),
                        ),
                    ),
                )
                .order_by(col(SurveyRequest.id).desc())
                .limit(1)
                .with_for_update()
            )
        ).first()
        if req is None:
            return None
        if req.status == "sent":
            answer = parse.parse_answer(msg.body, req.kind)
            if answer is None:
                return None
            message = await _store_inbound(uow, req, msg, now, contact_id)
            # A channel marks a tapped quick-reply button (WhatsApp) as such.
            via = "button" if msg.meta.get("survey_via") == "button" else "reply"
            await record(hub, uow, req, answer.score, answer.comment, via, now)
        else:
            text = msg.body.strip()
            if (
                not text
                or parse.looks_like_question(text)
                or parse.contains_keyword(text, hub.settings.care.complaint_keywords)
                or parse.parse_status_request(text, hub.settings.care.status_keywords) is not None
            ):
                return None  # a new matter, not a comment
            message = await _store_inbound(uow, req, msg, now, contact_id)
            await _comment(hub, uow, req, text, now)
        return message.id, message.conversation_id, contact_id  # type: ignore[return-value]


async def _store_inbound(
    uow: UnitOfWork, req: SurveyRequest, msg: InboundMessage, now: datetime, contact_id: int
) -> Message:
    s = uow.session
    conv = await s.get(Conversation, req.conversation_id)
    assert conv is not None
    m = Message(
        conversation_id=conv.id,  # type: ignore[arg-type]
        channel=msg.channel,
        direction=Direction.inbound,
        author_type=AuthorType.contact,
        author_id=contact_id,
        kind=MessageKind(msg.kind),
        body=msg.body,
        subject=msg.subject,
        attachments=[a.model_dump(exclude_none=True) for a in msg.attachments],
        provider_message_id=msg.provider_message_id,
        delivery_status=DeliveryStatus.received,
        meta={**msg.meta, "survey_id": req.id},
        raw=msg.raw,
        created_at=msg.received_at or now,
    )
    s.add(m)
    await s.flush()
    emit_message(uow, "message.received", conv, m)
    return m


async def record(
    hub: Hub, uow: UnitOfWork, req: SurveyRequest, score: int, comment: str, via: str, now: datetime
) -> None:
    """Store a score (and a comment given with it), then follow up."""
    s = uow.session
    low, high = KINDS[req.kind]
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise invalid_fields([("score", "bad_score", f"a whole number from {low} to {high}")])
    comment = comment.strip()[:MAX_COMMENT]
    policy = await policy_for(s, req.team_id, req.channel)
    req.status, req.score, req.answered_at, req.answered_via = "answered", score, now, via
    req.comment = comment or None
    req.due_at = None
    threshold = policy.low_score_threshold if policy is not None else 2
    req.low_score = _is_low(req.kind, score, threshold)
    if req.complaint_id is not None:
        complaint = await s.get(Complaint, req.complaint_id)
        if complaint is not None:
            complaint.satisfaction = score
            s.add(complaint)
    elif req.kind == "csat" and req.conversation_id is not None:
        await _rate_conversation(uow, req.conversation_id, score, req.comment, now)
    ask_comment = policy.ask_comment if policy is not None else True
    if ask_comment and not req.comment and via in ("reply", "button"):
        req.comment_until = now + timedelta(minutes=hub.settings.care.comment_window_minutes)
        _hint(hub).opened(req.comment_until)
        await _say(hub, uow, req, "comment", now)
    elif via in ("reply", "button"):
        await _say(hub, uow, req, "thanks", now)
    s.add(req)
    _emit(uow, "survey.answered", req)
    if req.low_score:
        await _low_score(hub, uow, req, policy, now)


def _is_low(kind: str, score: int, threshold: int) -> bool:
    if kind == "nps":
        return score <= 6 if threshold <= 2 else score <= threshold  # detractors by default
    if kind == "ces":
        return score <= max(threshold, 2) + 1 if threshold <= 2 else score <= threshold
    return score <= threshold


async def _comment(hub: Hub, uow: UnitOfWork, req: SurveyRequest, text: str, now: datetime) -> None:
    req.comment = text[:MAX_COMMENT]
    req.comment_until = None
    uow.session.add(req)
    if req.kind == "csat" and req.conversation_id is not None and req.complaint_id is None:
        conv = await uow.session.get(Conversation, req.conversation_id)
        if conv is not None and conv.csat_score is not None:
            conv.csat_comment = req.comment
            uow.session.add(conv)
    await _say(hub, uow, req, "thanks", now)
    _emit(uow, "survey.answered", req, reason="comment")


async def _say(hub: Hub, uow: UnitOfWork, req: SurveyRequest, part: str, now: datetime) -> None:
    definition = await uow.session.get(SurveyDefinition, req.survey_key)
    entry = ((definition.texts if definition else {}) or {}).get(texts.language_of(req.language)) or {}
    body = str(entry.get(part) or "").strip()
    if not body or req.conversation_id is None:
        return
    conv = await uow.session.get(Conversation, req.conversation_id)
    if conv is not None and conv.channel in hub.channels and conv.channel != "webchat":
        await system_message(uow, conv, body, now, meta={"survey_followup": req.id})


async def _rate_conversation(
    uow: UnitOfWork, conversation_id: int, score: int, comment: str | None, now: datetime
) -> None:
    conv = await uow.session.get(Conversation, conversation_id)
    if conv is None:
        return
    conv.csat_score, conv.csat_comment, conv.csat_at = score, comment, now
    uow.session.add(conv)
    uow.emit(
        "conversation.updated",
        conversation_payload(conv, reason="csat"),
        conversation_id=conv.id,
        team_id=conv.team_id,
        user_id=conv.assignee_id,
    )


async def _low_score(
    hub: Hub, uow: UnitOfWork, req: SurveyRequest, policy: SurveyPolicy | None, now: datetime
) -> None:
    """Tell the team's supervisors live, mark the conversation, and follow up as set."""
    uow.emit("survey.low_score", _payload(req), team_id=req.team_id, user_id=None)
    action = policy.low_score_action if policy is not None else "notify"
    conv = await uow.session.get(Conversation, req.conversation_id) if req.conversation_id else None
    if conv is not None and "low-score" not in (conv.tags or []):
        conv.tags = sorted({*(conv.tags or []), "low-score"})
        uow.session.add(conv)
    if action == "complaint" and req.complaint_id is None and conv is not None:
        from hub.services.access import SYSTEM
        from hub.services.complaints import NewComplaint, open_in

        await open_in(
            hub,
            uow,
            SYSTEM,
            NewComplaint(
                conversation_id=conv.id, description=f"Low satisfaction score: {req.score}", acknowledge=False
            ),
            source="api",
        )
    elif action == "follow_up" and conv is not None and conv.status == ConversationStatus.resolved:
        other = (
            await uow.session.exec(
                select(Conversation.id).where(
                    Conversation.contact_id == conv.contact_id,
                    Conversation.channel == conv.channel,
                    Conversation.thread_key == conv.thread_key,
                    col(Conversation.status).in_([str(x) for x in OPEN_STATUSES]),
                )
            )
        ).first()
        if other is not None:
            return  # the customer is already in an open conversation: it is the follow-up
        conv.status = ConversationStatus.assigned if conv.assignee_id else ConversationStatus.queued
        if conv.status == ConversationStatus.queued:
            conv.queued_at = now
        conv.resolved_at = None
        conv.updated_at = now
        uow.session.add(conv)
        uow.emit(
            "conversation.reopened",
            conversation_payload(conv, reason="low_score"),
            conversation_id=conv.id,
            team_id=conv.team_id,
            user_id=conv.assignee_id,
        )


async def answer_by_token(
    hub: Hub, token: str, score: int | None, comment: str = "", *, via: str
) -> SurveyRequest:
    """A button press or the hosted page: the token is the customer's capability."""
    if not token or len(token) > 64:
        raise NotFound("survey not found", code="survey_not_found")
    async with unit_of_work(hub) as uow:
        s = uow.session
        req = (
            await s.exec(select(SurveyRequest).where(SurveyRequest.token == token).with_for_update())
        ).first()
        if req is None:
            raise NotFound("survey not found", code="survey_not_found")
        now = hub.now()
        if req.status == "answered":
            if score is not None and score != req.score:
                raise Conflict("this survey is already answered", code="already_answered")
            if comment.strip() and req.comment is None:
                await _comment(hub, uow, req, comment.strip(), now)
                return req
            raise Conflict("this survey is already answered", code="already_answered")
        if req.status != "sent" or (req.expires_at is not None and req.expires_at <= now):
            raise Conflict("this survey has expired", code="survey_expired")
        if score is None:
            raise invalid_fields([("score", "required", "choose a score")])
        await record(hub, uow, req, score, comment, via, now)
    return req


async def rate_in_widget(
    hub: Hub,
    conversation_id: int,
    check: Callable[[Conversation], None],
    score: int,
    comment: str,
) -> Conversation:
    """The web widget's rating form, on the shared service: the conversation's survey
    request (or a new one) answered at once. ``check`` refuses in the adapter's terms
    (not the visitor's conversation, not resolved) under the conversation's row lock,
    so two submissions cannot both rate it."""
    async with unit_of_work(hub) as uow:
        s = uow.session
        now = hub.now()
        conv = (
            await s.exec(select(Conversation).where(Conversation.id == conversation_id).with_for_update())
        ).first()
        if conv is None:
            raise NotFound(f"conversation {conversation_id} not found")
        check(conv)
        if conv.csat_score is not None:
            raise Conflict("this conversation is already rated", code="already_answered")
        req = (
            await s.exec(
                select(SurveyRequest)
                .where(
                    SurveyRequest.conversation_id == conv.id,
                    col(SurveyRequest.complaint_id).is_(None),
                    col(SurveyRequest.status).in_(["scheduled", "sent"]),
                )
                .with_for_update()
            )
        ).first()
        if req is None:
            contact = await s.get(Contact, conv.contact_id)
            definition = await s.get(SurveyDefinition, "csat")
            if contact is None or definition is None:
                raise Invalid("no rating survey is defined", code="no_survey")
            req = _new_request(definition, contact, conv.channel, now, conversation=conv)
            s.add(req)
            await s.flush()
        await record(hub, uow, req, score, comment, "widget", now)
    return conv


# -- events ------------------------------------------------------------------------------


def _payload(req: SurveyRequest, **extra: Any) -> SurveyPayload:
    return SurveyPayload(
        survey_id=req.id,  # type: ignore[arg-type]
        kind=req.kind,
        contact_id=req.contact_id,
        channel=req.channel,
        status=req.status,
        conversation_id=req.conversation_id,
        complaint_id=req.complaint_id,
        team_id=req.team_id,
        agent_id=req.agent_id,
        score=req.score,
        comment=req.comment,
        low_score=req.low_score,
        **extra,
    )


def _emit(uow: UnitOfWork, event_type: str, req: SurveyRequest, **extra: Any) -> None:
    uow.emit(event_type, _payload(req, **extra), team_id=req.team_id, user_id=req.agent_id)
