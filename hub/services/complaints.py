"""The complaints register: open, acknowledge, follow, escalate, resolve, close, reopen.

The process follows ISO 10002 in the product's words (docs/complaints.md). Every
change is a history entry (who, when, old → new) written in the same transaction, and
a ``complaint.*`` event after the commit. Targets are counted in the owner team's
business hours (:mod:`routing.hours`); the next instant time alone changes anything
(a warning, a missed target, the end of the reopening period) is the complaint's
``due_at``, claimed by the care consumer's timer (:mod:`hub.care.consumer`) under its
checkpoint lock, so each escalation happens once however many hub processes run.

Customers hear about their complaint on the channel they used, in their language,
through the outbox: the acknowledgement with its reference and expected date, status
changes that matter (resolved, waiting on them) when ``notify_customer`` is on, and a
satisfaction question at closing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.addresses import normalize_address
from hub.care import texts
from hub.care.outbound import conversation_for, system_message
from hub.care.references import next_reference
from hub.context import Hub
from hub.events import ComplaintPayload, ContactPayload
from hub.models import (
    OPEN_COMPLAINT,
    Complaint,
    ComplaintConversation,
    ComplaintEntry,
    ComplaintOption,
    ComplaintStatus,
    Contact,
    Conversation,
    Identity,
    Role,
    Team,
    User,
)
from hub.services.access import SYSTEM, Actor, can_view, require_role
from hub.services.contact_fields import invalid_fields
from hub.services.contacts import load_visible_contact
from hub.services.errors import Conflict, Forbidden, Invalid, NotFound
from hub.services.uow import UnitOfWork, unit_of_work
from routing import hours

OPTION_KINDS = ("category", "severity", "root_cause")
SOURCES = ("agent", "keyword", "widget", "page", "api")
TEXT_LIMITS = {"description": 8000, "resolution": 8000, "remedy": 2000, "product_ref": 200}
MAX_NOTE = 8000
# Statuses a customer is told about when the complaint's notify_customer is on.
NOTIFY_STATUSES = {
    "resolved": "resolved",
    "waiting_on_customer": "waiting_on_customer",
    "reopened": "reopened",
}
RESPONDED = {"investigating", "waiting_on_customer", "waiting_on_third_party", "resolved", "closed"}
STAGES = ("response_warning", "response", "resolution_warning", "resolution")


# -- options (admin) -------------------------------------------------------------------


async def list_options(s: AsyncSession, kind: str | None = None) -> list[ComplaintOption]:
    stmt = select(ComplaintOption).order_by(
        col(ComplaintOption.kind), col(ComplaintOption.position), col(ComplaintOption.key)
    )
    if kind is not None:
        stmt = stmt.where(ComplaintOption.kind == kind)
    return list((await s.exec(stmt)).all())


async def save_option(
    hub: Hub, actor: Actor, kind: str, key: str, values: Mapping[str, Any]
) -> ComplaintOption:
    """Create or replace one option (admin). Keys are stable: complaints store them."""
    require_role(actor, Role.admin)
    if kind not in OPTION_KINDS:
        raise NotFound(f"unknown option kind {kind!r}", code="option_kind_not_found")
    problems: list[tuple[str, str, str]] = []
    if not key or len(key) > 40 or not all(ch.isalnum() or ch in "_-" for ch in key) or not key.isascii():
        problems.append(("key", "invalid_key", "letters, digits, _ and -, at most 40"))
    for label in ("label_en", "label_ar"):
        text = str(values.get(label) or "").strip()
        if not text or len(text) > 120:
            problems.append((label, "required", "1 to 120 characters"))
    if kind == "severity":
        for field in ("response_hours", "resolution_hours"):
            v = values.get(field)
            if not isinstance(v, int | float) or isinstance(v, bool) or not 0 < v <= 24 * 365:
                problems.append((field, "invalid_hours", "business hours, more than 0 and at most 8760"))
        warn = values.get("warn_ratio")
        if warn is not None and (not isinstance(warn, int | float) or not 0 < warn < 1):
            problems.append(("warn_ratio", "invalid_ratio", "a share between 0 and 1, e.g. 0.8"))
    color = str(values.get("color") or "#6b7280")
    if len(color) != 7 or not color.startswith("#"):
        problems.append(("color", "invalid_color", "a colour like #1d4ed8"))
    parent = values.get("parent") or None
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        if parent is not None:
            if kind != "category":
                problems.append(("parent", "invalid_parent", "only categories have sub-categories"))
            else:
                top = await s.get(ComplaintOption, ("category", parent))
                if top is None or top.parent is not None:
                    problems.append(("parent", "invalid_parent", "a top-level category"))
        team = values.get("escalate_team_id")
        if team is not None and (not isinstance(team, int) or await s.get(Team, team) is None):
            problems.append(("escalate_team_id", "team_not_found", "an existing team"))
        if problems:
            raise invalid_fields(problems)
        row = await s.get(ComplaintOption, (kind, key)) or ComplaintOption(
            kind=kind, key=key, label_en="", label_ar=""
        )
        row.parent = parent
        row.label_en = str(values["label_en"]).strip()
        row.label_ar = str(values["label_ar"]).strip()
        row.color = color
        row.position = int(values.get("position") or 0)
        row.active = bool(values.get("active", True))
        if kind == "severity":
            row.response_hours = float(values["response_hours"])
            row.resolution_hours = float(values["resolution_hours"])
            row.warn_ratio = float(values["warn_ratio"]) if values.get("warn_ratio") is not None else None
            row.escalate_team_id = team
        row.updated_at = hub.now()
        s.add(row)
    return row


# -- reading ---------------------------------------------------------------------------


def may_view(actor: Actor, c: Complaint) -> bool:
    """Like a conversation: its assignee, its team's members, supervisors for unowned."""
    if actor.is_admin or (c.assignee_id is not None and c.assignee_id == actor.user_id):
        return True
    if c.team_id is not None:
        return c.team_id in actor.team_ids
    return actor.is_supervisor


def visible_complaints(actor: Actor) -> Any:
    if actor.is_admin:
        return sa.true()
    mine = col(Complaint.assignee_id) == actor.user_id
    teams = col(Complaint.team_id).in_(sorted(actor.team_ids)) if actor.team_ids else sa.false()
    if actor.is_supervisor:
        return sa.or_(mine, teams, col(Complaint.team_id).is_(None))
    return sa.or_(mine, teams)


async def get_complaint(
    s: AsyncSession, actor: Actor, complaint_id: int, *, for_update: bool = False
) -> Complaint:
    stmt = select(Complaint).where(Complaint.id == complaint_id)
    if for_update:
        stmt = stmt.with_for_update()
    c = (await s.exec(stmt)).first()
    if c is None:
        raise NotFound(f"complaint {complaint_id} not found", code="complaint_not_found")
    if not may_view(actor, c):
        raise Forbidden("you may not see this complaint (not your team)", code="not_your_team")
    return c


async def linked_conversations(s: AsyncSession, complaint_id: int) -> list[int]:
    rows = await s.exec(
        select(ComplaintConversation.conversation_id)
        .where(ComplaintConversation.complaint_id == complaint_id)
        .order_by(col(ComplaintConversation.conversation_id))
    )
    return list(rows.all())


async def history(s: AsyncSession, complaint_id: int) -> list[ComplaintEntry]:
    rows = await s.exec(
        select(ComplaintEntry)
        .where(ComplaintEntry.complaint_id == complaint_id)
        .order_by(col(ComplaintEntry.id))
    )
    return list(rows.all())


# -- opening ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewComplaint:
    contact_id: int | None = None
    conversation_id: int | None = None
    channel: str | None = None
    category: str | None = None
    subcategory: str | None = None
    severity: str | None = None
    product_ref: str = ""
    description: str = ""
    team_id: int | None = None
    assignee_id: int | None = None
    language: str | None = None
    notify_customer: bool = True
    acknowledge: bool = True


async def open_complaint(hub: Hub, actor: Actor, data: NewComplaint, *, source: str = "agent") -> Complaint:
    async with unit_of_work(hub, actor.user_id) as uow:
        return await open_in(hub, uow, actor, data, source=source)


async def open_in(hub: Hub, uow: UnitOfWork, actor: Actor, data: NewComplaint, *, source: str) -> Complaint:
    """Open a complaint in ``uow``'s transaction (the care consumer opens from keywords)."""
    s = uow.session
    now = hub.now()
    if source not in SOURCES:
        raise Invalid(f"unknown source {source!r}", code="bad_source")
    problems: list[tuple[str, str, str]] = []
    conv: Conversation | None = None
    if data.conversation_id is not None:
        conv = await s.get(Conversation, data.conversation_id)
        if conv is None:
            raise NotFound(f"conversation {data.conversation_id} not found")
        if not can_view(actor, conv):
            raise Forbidden("you may not see this conversation (not your team)", code="not_your_team")
    contact_id = conv.contact_id if conv is not None else data.contact_id
    if contact_id is None:
        raise invalid_fields([("contact_id", "required", "a customer or a conversation")])
    contact = await load_visible_contact(s, actor, contact_id)
    if contact.merged_into_id is not None or contact.erased_at is not None:
        raise NotFound(f"contact {contact_id} not found", code="contact_not_found")
    channel = conv.channel if conv is not None else (data.channel or "")
    if not channel:
        problems.append(("channel", "required", "the channel to acknowledge on"))
    elif conv is None and channel not in hub.channels:
        # From a thread the channel is the conversation's (if it was disabled since,
        # the acknowledgement is recorded as not sent); by API it must reach them.
        problems.append(("channel", "channel_disabled", "a channel enabled on this hub"))
    fields = _text_fields({"description": data.description, "product_ref": data.product_ref}, problems)
    await _check_options(s, data.category, data.subcategory, data.severity, None, problems)
    team_id = data.team_id if data.team_id is not None else (conv.team_id if conv is not None else None)
    if team_id is None and conv is None and hub.settings.care.complaint_team:
        team_id = (await s.exec(select(Team.id).where(Team.name == hub.settings.care.complaint_team))).first()
    if team_id is not None and await s.get(Team, team_id) is None:
        problems.append(("team_id", "team_not_found", "an existing team"))
    if data.assignee_id is not None:
        if not actor.is_supervisor and data.assignee_id != actor.user_id:
            problems.append(("assignee_id", "not_self", "agents may only take complaints themselves"))
        user = await s.get(User, data.assignee_id)
        if user is None or not user.active:
            problems.append(("assignee_id", "user_not_found", "an active user"))
    if problems:
        raise invalid_fields(problems)
    if (
        not actor.is_supervisor
        and team_id is not None
        and team_id not in actor.team_ids
        and not actor.is_system
    ):
        raise Forbidden("you can open complaints for your own teams", code="not_team_member")
    language = texts.language_of(
        data.language or contact.language or (conv.language if conv is not None else None)
    )
    c = Complaint(
        reference=await next_reference(s, hub.settings.care.reference_format, now, sqlite=hub.db.is_sqlite),
        contact_id=contact_id,
        channel=channel,
        conversation_id=conv.id if conv is not None else None,
        source=source,
        language=language,
        status=ComplaintStatus.new,
        category=data.category,
        subcategory=data.subcategory,
        severity=data.severity,
        team_id=team_id,
        assignee_id=data.assignee_id,
        notify_customer=data.notify_customer and hub.settings.care.notify_status_changes,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        description=fields["description"],
        product_ref=fields["product_ref"],
    )
    s.add(c)
    await s.flush()
    assert c.id is not None
    if conv is not None:
        s.add(ComplaintConversation(complaint_id=c.id, conversation_id=conv.id))  # type: ignore[arg-type]
    await _set_targets(s, c, now)
    s.add(
        ComplaintEntry(
            complaint_id=_id(c),
            kind="opened",
            actor_id=actor.user_id,
            changes={"source": source},
            created_at=now,
        )
    )
    _emit(uow, "complaint.opened", c, reason=source)
    if data.acknowledge:
        await acknowledge(hub, uow, c, contact, now)
    return c


async def acknowledge(hub: Hub, uow: UnitOfWork, c: Complaint, contact: Contact, now: datetime) -> None:
    """Send the reference and expected date to the customer, and record it."""
    due = c.response_due_at
    body = (
        texts.say(c.language, "ack", reference=c.reference, due=texts.local_date(due, contact.timezone))
        if due is not None
        else texts.say(c.language, "ack_no_due", reference=c.reference)
    )
    await _tell_customer(hub, uow, c, body, now, kind="acknowledgement")
    if c.status == ComplaintStatus.new:
        c.status = ComplaintStatus.acknowledged
    c.acknowledged_at = now
    c.updated_at = now
    uow.session.add(c)


async def _tell_customer(
    hub: Hub, uow: UnitOfWork, c: Complaint, body: str, now: datetime, *, kind: str
) -> None:
    try:
        conv = await _customer_conversation(hub, uow, c, now)
    except Conflict as exc:
        # No way to reach them on that channel (disabled since, no address): recorded,
        # never fatal to the change itself.
        uow.session.add(
            ComplaintEntry(
                complaint_id=_id(c),
                kind="not_notified",
                changes={"what": kind, "why": exc.code},  # type: ignore[arg-type]
                created_at=now,
            )
        )
        return
    message = await system_message(uow, conv, body, now, meta={"complaint": c.reference})
    uow.session.add(
        ComplaintEntry(
            complaint_id=_id(c),
            kind="notified",
            changes={"what": kind, "message_id": message.id},  # type: ignore[arg-type]
            body=body,
            created_at=now,
        )
    )


async def _customer_conversation(hub: Hub, uow: UnitOfWork, c: Complaint, now: datetime) -> Conversation:
    if c.conversation_id is not None:
        conv = await uow.session.get(Conversation, c.conversation_id)
        if conv is not None and conv.channel in hub.channels:
            return conv
    return await conversation_for(hub, uow, c.contact_id, c.channel, now, team_id=c.team_id)


# -- changing --------------------------------------------------------------------------

EDITABLE = (
    "status",
    "category",
    "subcategory",
    "severity",
    "product_ref",
    "description",
    "team_id",
    "assignee_id",
    "root_cause",
    "resolution",
    "remedy",
    "notify_customer",
)


async def update_complaint(hub: Hub, actor: Actor, complaint_id: int, patch: Mapping[str, Any]) -> Complaint:
    unknown = sorted(set(patch) - set(EDITABLE))
    if unknown:
        raise invalid_fields([(k, "unknown_field", "not an editable field") for k in unknown])
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        c = await get_complaint(s, actor, complaint_id, for_update=True)
        _require_handler(actor, c)
        now = hub.now()
        problems: list[tuple[str, str, str]] = []
        values = dict(patch)
        values.update(_text_fields({k: v for k, v in patch.items() if k in TEXT_LIMITS}, problems))
        new_status = values.get("status")
        if new_status is not None:
            _check_transition(c, str(new_status), now, hub, problems)
        await _check_options(
            s,
            values.get("category", c.category),
            values.get("subcategory", c.subcategory),
            values.get("severity", c.severity),
            values.get("root_cause", c.root_cause),
            problems,
        )
        if "team_id" in values and values["team_id"] != c.team_id:
            if not actor.is_supervisor:
                problems.append(("team_id", "supervisors_only", "supervisors move complaints between teams"))
            elif values["team_id"] is not None and await s.get(Team, values["team_id"]) is None:
                problems.append(("team_id", "team_not_found", "an existing team"))
        if "assignee_id" in values and values["assignee_id"] != c.assignee_id:
            target = values["assignee_id"]
            if not actor.is_supervisor and target not in (None, actor.user_id):
                problems.append(("assignee_id", "not_self", "agents may only take complaints themselves"))
            elif target is not None:
                user = await s.get(User, target)
                if user is None or not user.active:
                    problems.append(("assignee_id", "user_not_found", "an active user"))
        if new_status == "resolved" and not str(values.get("resolution", c.resolution)).strip():
            problems.append(("resolution", "required", "say how it was resolved before resolving"))
        if problems:
            raise invalid_fields(problems)
        changes = {
            k: [_plain(getattr(c, k)), _plain(v)]
            for k, v in values.items()
            if _plain(getattr(c, k)) != _plain(v)
        }
        if not changes:
            return c
        for k, v in values.items():
            setattr(c, k, v)
        c.updated_at = now
        if "status" in changes:
            await _entered(hub, uow, c, str(changes["status"][0]), now)
        if "severity" in changes or "team_id" in changes:
            await _set_targets(s, c, c.created_at)
        s.add(c)
        s.add(
            ComplaintEntry(
                complaint_id=_id(c),
                kind="changed",
                actor_id=actor.user_id,
                changes=changes,  # type: ignore[arg-type]
                created_at=now,
            )
        )
        _emit(uow, "complaint.updated", c, changes=changes)
    return c


def _check_transition(
    c: Complaint, new: str, now: datetime, hub: Hub, problems: list[tuple[str, str, str]]
) -> None:
    try:
        ComplaintStatus(new)
    except ValueError:
        problems.append(("status", "bad_status", "one of " + ", ".join(s.value for s in ComplaintStatus)))
        return
    old = str(c.status)
    if new == old:
        return
    if new == "reopened":
        if old not in ("resolved", "closed"):
            problems.append(("status", "not_closed", "only a resolved or closed complaint can be reopened"))
        elif c.reopen_until is not None and now > c.reopen_until:
            problems.append(("status", "reopen_expired", "the reopening period has ended"))
    elif old == "closed":
        problems.append(("status", "complaint_closed", "a closed complaint can only be reopened"))
    elif new == "new":
        problems.append(("status", "bad_status", "a complaint cannot go back to new"))


async def _entered(hub: Hub, uow: UnitOfWork, c: Complaint, old: str, now: datetime) -> None:
    """What entering ``c.status`` from ``old`` does: timestamps, targets, the customer."""
    new = str(c.status)
    if new in RESPONDED and c.responded_at is None:
        c.responded_at = now
    if new == "acknowledged" and c.acknowledged_at is None:
        c.acknowledged_at = now
    if new == "resolved":
        c.resolved_at = now
        c.reopen_until = now + timedelta(days=hub.settings.care.reopen_days)
    if new == "closed":
        c.closed_at = now
        c.resolved_at = c.resolved_at or now
        c.reopen_until = c.reopen_until or now + timedelta(days=hub.settings.care.reopen_days)
    if new == "reopened":
        c.resolved_at = None
        c.closed_at = None
        c.reopen_until = None
    if new in NOTIFY_STATUSES and c.notify_customer:
        body = texts.say(
            c.language,
            NOTIFY_STATUSES[new],
            reference=c.reference,
            resolution=c.resolution.strip(),
        )
        await _tell_customer(hub, uow, c, body, now, kind=new)
    if new == "resolved" and old != "resolved":
        from hub.services.surveys import ask_about_complaint

        await ask_about_complaint(hub, uow, c, now)
    _refresh_due(c, now)


async def add_note(
    hub: Hub, actor: Actor, complaint_id: int, body: str, attachments: Sequence[dict[str, Any]] = ()
) -> ComplaintEntry:
    text = body.strip()
    if not text and not attachments:
        raise invalid_fields([("body", "required", "write a note")])
    if len(text) > MAX_NOTE:
        raise invalid_fields([("body", "too_long", f"at most {MAX_NOTE} characters")])
    async with unit_of_work(hub, actor.user_id) as uow:
        c = await get_complaint(uow.session, actor, complaint_id, for_update=True)
        now = hub.now()
        entry = ComplaintEntry(
            complaint_id=complaint_id,
            kind="note",
            actor_id=actor.user_id,
            body=text,
            attachments=list(attachments),
            created_at=now,
        )
        uow.session.add(entry)
        c.updated_at = now
        uow.session.add(c)
        await uow.session.flush()
        _emit(uow, "complaint.updated", c, reason="note")
    return entry


async def link_conversation(hub: Hub, actor: Actor, complaint_id: int, conversation_id: int) -> Complaint:
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        c = await get_complaint(s, actor, complaint_id, for_update=True)
        conv = await s.get(Conversation, conversation_id)
        if conv is None or not can_view(actor, conv):
            raise NotFound(f"conversation {conversation_id} not found")
        if conv.contact_id != c.contact_id:
            raise Conflict("the conversation is another customer's", code="other_customer")
        if await s.get(ComplaintConversation, (complaint_id, conversation_id)) is None:
            s.add(ComplaintConversation(complaint_id=complaint_id, conversation_id=conversation_id))
            now = hub.now()
            s.add(
                ComplaintEntry(
                    complaint_id=complaint_id,
                    kind="linked",
                    actor_id=actor.user_id,
                    changes={"conversation_id": conversation_id},
                    created_at=now,
                )
            )
            c.updated_at = now
            s.add(c)
            _emit(uow, "complaint.updated", c, reason="linked")
    return c


def _require_handler(actor: Actor, c: Complaint) -> None:
    if actor.is_supervisor or c.assignee_id in (None, actor.user_id):
        return
    raise Forbidden("the complaint is another agent's", code="not_assignee")


# -- targets and escalation ------------------------------------------------------------


async def _set_targets(s: AsyncSession, c: Complaint, start: datetime) -> None:
    """Due dates from the severity's targets in the owner team's business hours."""
    sev = await s.get(ComplaintOption, ("severity", c.severity)) if c.severity else None
    cal: dict[str, Any] = {}
    if c.team_id is not None:
        team = await s.get(Team, c.team_id)
        cal = dict(team.business_hours or {}) if team is not None else {}
    c.response_due_at = c.resolution_due_at = None
    warn: dict[str, Any] = {}
    if sev is not None and sev.response_hours:
        c.response_due_at = hours.add_open_time(cal, start, sev.response_hours * 3600)
        if sev.warn_ratio:
            warn["response_warning"] = _iso(
                hours.add_open_time(cal, start, sev.response_hours * sev.warn_ratio * 3600)
            )
    if sev is not None and sev.resolution_hours:
        c.resolution_due_at = hours.add_open_time(cal, start, sev.resolution_hours * 3600)
        if sev.warn_ratio:
            warn["resolution_warning"] = _iso(
                hours.add_open_time(cal, start, sev.resolution_hours * sev.warn_ratio * 3600)
            )
    escalations = dict(c.escalations or {})
    escalations["warn_at"] = warn
    c.escalations = escalations
    _refresh_due(c, start)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def stage_times(c: Complaint) -> dict[str, datetime]:
    """When each escalation stage falls due (those not yet fired and still relevant)."""
    fired = (c.escalations or {}).get("fired", {})
    warn = (c.escalations or {}).get("warn_at", {})
    out: dict[str, datetime] = {}
    open_ = str(c.status) in OPEN_COMPLAINT
    if open_ and c.responded_at is None:
        if warn.get("response_warning"):
            out["response_warning"] = datetime.fromisoformat(warn["response_warning"])
        if c.response_due_at is not None:
            out["response"] = c.response_due_at
    if open_:
        if warn.get("resolution_warning"):
            out["resolution_warning"] = datetime.fromisoformat(warn["resolution_warning"])
        if c.resolution_due_at is not None:
            out["resolution"] = c.resolution_due_at
    return {k: v for k, v in out.items() if k not in fired}


def _refresh_due(c: Complaint, now: datetime) -> None:
    times = list(stage_times(c).values())
    if str(c.status) == "resolved" and c.reopen_until is not None:
        times.append(c.reopen_until)  # then it closes by itself
    c.due_at = min(times) if times else None


def is_overdue(c: Complaint, now: datetime) -> bool:
    if str(c.status) not in OPEN_COMPLAINT:
        return False
    return any(
        d is not None and d <= now
        for d in ((c.response_due_at if c.responded_at is None else None), c.resolution_due_at)
    )


async def fire_due(hub: Hub, uow: UnitOfWork, ids: Sequence[int], now: datetime) -> None:
    """The timer: escalate what is (about to be) late, close what stayed resolved."""
    s = uow.session
    rows = (await s.exec(select(Complaint).where(col(Complaint.id).in_(list(ids))))).all()
    for c in rows:
        if str(c.status) == "resolved" and c.reopen_until is not None and c.reopen_until <= now:
            old = str(c.status)
            c.status = ComplaintStatus.closed
            c.closed_at = now
            s.add(
                ComplaintEntry(
                    complaint_id=_id(c),
                    kind="changed",
                    changes={"status": [old, "closed"]},  # type: ignore[arg-type]
                    body="closed at the end of the reopening period",
                    created_at=now,
                )
            )
            _emit(
                uow, "complaint.updated", c, changes={"status": [old, "closed"]}, reason="reopen_period_ended"
            )
        for stage, at in sorted(stage_times(c).items(), key=lambda kv: kv[1]):
            if at > now:
                continue
            await _escalate(s, uow, c, stage, at, now)
        _refresh_due(c, now)
        c.updated_at = now
        s.add(c)


async def _escalate(
    s: AsyncSession, uow: UnitOfWork, c: Complaint, stage: str, at: datetime, now: datetime
) -> None:
    sev = await s.get(ComplaintOption, ("severity", c.severity)) if c.severity else None
    to_team = (sev.escalate_team_id if sev is not None else None) or c.team_id
    escalations = dict(c.escalations or {})
    fired = dict(escalations.get("fired", {}))
    fired[stage] = {"at": now.isoformat(), "due": at.isoformat(), "team_id": to_team}
    escalations["fired"] = fired
    c.escalations = escalations
    if not stage.endswith("_warning"):
        c.escalated_at = now
    s.add(
        ComplaintEntry(
            complaint_id=_id(c),
            kind="escalated",
            changes={
                "stage": stage,
                "team_id": to_team,  # type: ignore[arg-type]
                "due": at.isoformat(),
            },
            created_at=now,
        )
    )
    uow.emit(
        "complaint.escalated",
        _payload(c, reason=stage, escalated_to=to_team),
        team_id=to_team,
        user_id=None,
    )


# -- the customer's own questions ----------------------------------------------------


async def status_answer(
    s: AsyncSession, contact_id: int, reference: str | None, language: str | None, timezone: str | None
) -> str:
    """The automatic answer to "status <reference>" from ``contact_id``.

    Only the asker's own complaints are read: another customer's reference and one that
    does not exist get the same answer, so the reply never tells whether it exists.
    """
    stmt = select(Complaint).where(Complaint.contact_id == contact_id)
    if reference is not None:
        found = (await s.exec(stmt.where(Complaint.reference == reference.upper()))).first()
        if found is None:
            return texts.say(language, "status_unknown")
        return _status_text(found, language, timezone)
    open_ = list(
        (
            await s.exec(stmt.where(col(Complaint.status).in_(OPEN_COMPLAINT)).order_by(col(Complaint.id)))
        ).all()
    )
    if not open_:
        return texts.say(language, "status_none")
    if len(open_) > 1:
        return texts.say(language, "status_many", references=", ".join(c.reference for c in open_[:10]))
    return _status_text(open_[0], language, timezone)


def _status_text(c: Complaint, language: str | None, timezone: str | None) -> str:
    status = texts.status_name(language, str(c.status))
    due = c.resolution_due_at if str(c.status) in OPEN_COMPLAINT else None
    if due is not None:
        return texts.say(
            language, "status_due", reference=c.reference, status=status, due=texts.local_date(due, timezone)
        )
    return texts.say(language, "status", reference=c.reference, status=status)


# -- helpers ---------------------------------------------------------------------------


def _text_fields(values: Mapping[str, Any], problems: list[tuple[str, str, str]]) -> dict[str, str]:
    out = {}
    for key, value in values.items():
        text = str(value or "").strip()
        if len(text) > TEXT_LIMITS[key]:
            problems.append((key, "too_long", f"at most {TEXT_LIMITS[key]} characters"))
        out[key] = text
    return out


async def _check_options(
    s: AsyncSession,
    category: str | None,
    subcategory: str | None,
    severity: str | None,
    root_cause: str | None,
    problems: list[tuple[str, str, str]],
) -> None:
    async def known(kind: str, key: str) -> ComplaintOption | None:
        row = await s.get(ComplaintOption, (kind, key))
        return row if row is not None and row.active else None

    if category is not None:
        top = await known("category", category)
        if top is None or top.parent is not None:
            problems.append(("category", "unknown_option", "a category from the list"))
    if subcategory is not None:
        sub = await known("category", subcategory)
        if sub is None or sub.parent is None or sub.parent != category:
            problems.append(("subcategory", "unknown_option", "a sub-category of the chosen category"))
    if severity is not None and await known("severity", severity) is None:
        problems.append(("severity", "unknown_option", "a severity from the list"))
    if root_cause is not None and await known("root_cause", root_cause) is None:
        problems.append(("root_cause", "unknown_option", "a root cause from the list"))


def _id(c: Complaint) -> int:
    assert c.id is not None
    return c.id


def _plain(v: Any) -> Any:
    return v.value if hasattr(v, "value") else v


def _payload(c: Complaint, **extra: Any) -> ComplaintPayload:
    return ComplaintPayload(
        complaint_id=c.id,  # type: ignore[arg-type]
        reference=c.reference,
        contact_id=c.contact_id,
        status=str(c.status),
        severity=c.severity,
        team_id=c.team_id,
        assignee_id=c.assignee_id,
        conversation_id=c.conversation_id,
        **extra,
    )


def _emit(uow: UnitOfWork, event_type: str, c: Complaint, **extra: Any) -> None:
    uow.emit(event_type, _payload(c, **extra), team_id=c.team_id, user_id=c.assignee_id)


# -- the web widget's complaint form ---------------------------------------------------


async def open_from_widget(
    hub: Hub, conversation_id: int, *, category: str | None, order_ref: str, description: str
) -> str:
    """Open a complaint from the widget's form in the visitor's conversation; a resend
    (or a second form while one is open there) returns the open one's reference."""
    async with unit_of_work(hub) as uow:
        s = uow.session
        open_one = (
            await s.exec(
                select(Complaint.reference)
                .join(ComplaintConversation, col(ComplaintConversation.complaint_id) == Complaint.id)
                .where(
                    ComplaintConversation.conversation_id == conversation_id,
                    col(Complaint.status).in_(OPEN_COMPLAINT),
                )
            )
        ).first()
        if open_one is not None:
            return open_one
        c = await open_in(
            hub,
            uow,
            SYSTEM,
            NewComplaint(
                conversation_id=conversation_id,
                category=category,
                product_ref=order_ref.strip(),
                description=description.strip(),
            ),
            source="widget",
        )
        return c.reference


# -- the hosted complaint form -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageComplaint:
    """What a customer types into the hosted complaint page (``/complain``)."""

    name: str = ""
    email: str = ""
    phone: str = ""
    order_ref: str = ""
    category: str | None = None
    description: str = ""
    language: str = "en"


async def open_from_page(hub: Hub, form: PageComplaint) -> Complaint:
    """Open a complaint from the hosted form, acknowledged where the customer can be
    reached: email when given and the email channel is on, else SMS (or WhatsApp).

    The customer is found by that address, or made with it (unverified: they typed it,
    they did not write from it). Abuse — sending acknowledgements to someone else's
    address — is bounded by the page's rate limits (per client and per address).
    """
    problems: list[tuple[str, str, str]] = []
    description = form.description.strip()
    if not description:
        problems.append(("description", "required", "tell us what happened"))
    if len(description) > TEXT_LIMITS["description"]:
        problems.append(("description", "too_long", f"at most {TEXT_LIMITS['description']} characters"))
    if len(form.name.strip()) > 200:
        problems.append(("name", "too_long", "at most 200 characters"))
    if len(form.order_ref.strip()) > TEXT_LIMITS["product_ref"]:
        problems.append(("order_ref", "too_long", f"at most {TEXT_LIMITS['product_ref']} characters"))
    target = _page_address(hub, form, problems)
    if problems or target is None:
        raise invalid_fields(problems or [("email", "required", "an email address or a phone number")])
    kind, address, channel = target
    async with unit_of_work(hub) as uow:
        s = uow.session
        await _check_options(s, form.category, None, None, None, problems)
        if problems:
            raise invalid_fields(problems)
        now = hub.now()
        contact_id = (
            await s.exec(
                select(Identity.contact_id).where(Identity.kind == kind, Identity.address == address)
            )
        ).first()
        if contact_id is None:
            contact = Contact(
                name=form.name.strip(),
                language=texts.language_of(form.language),
                created_at=now,
                updated_at=now,
            )
            s.add(contact)
            await s.flush()
            assert contact.id is not None
            contact_id = contact.id
            s.add(Identity(contact_id=contact_id, kind=kind, address=address, created_at=now))
            await s.flush()
            uow.emit("contact.created", ContactPayload(contact_id=contact_id, reason="complaint_page"))
        return await open_in(
            hub,
            uow,
            SYSTEM,
            NewComplaint(
                contact_id=contact_id,
                channel=channel,
                category=form.category,
                product_ref=form.order_ref.strip(),
                description=description,
                language=form.language,
            ),
            source="page",
        )


def _page_address(
    hub: Hub, form: PageComplaint, problems: list[tuple[str, str, str]]
) -> tuple[str, str, str] | None:
    email, phone = form.email.strip(), form.phone.strip()
    if not email and not phone:
        problems.append(("email", "required", "an email address or a phone number"))
        return None
    found: tuple[str, str, str] | None = None
    if email:
        try:
            address = normalize_address("email", email[:320])
        except Invalid:
            problems.append(("email", "bad_email", "an email address like name@example.com"))
        else:
            if "email" in hub.channels:
                found = ("email", address, "email")
    if phone and found is None:
        try:
            address = normalize_address("phone", phone[:40], hub.settings.default_phone_region)
        except Invalid:
            problems.append(
                ("phone", "bad_phone", "a phone number with its country code, e.g. +966 50 123 4567")
            )
        else:
            channel = next((c for c in ("sms", "whatsapp") if c in hub.channels), None)
            if channel is not None:
                found = ("phone", address, channel)
    if found is None and not problems:
        field = "email" if email else "phone"
        problems.append((field, "no_channel", "we cannot reach you there; give another address"))
    return found


MAX_ATTACHMENTS = 20


async def add_attachment(hub: Hub, actor: Actor, complaint_id: int, stored: dict[str, Any]) -> Complaint:
    """Record a file already stored under the attachments directory (the route streams
    it there after checking the caller may see the complaint)."""
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        c = await get_complaint(s, actor, complaint_id, for_update=True)
        if len(c.attachments or []) >= MAX_ATTACHMENTS:
            raise Conflict(f"a complaint holds at most {MAX_ATTACHMENTS} files", code="too_many_attachments")
        now = hub.now()
        c.attachments = [*(c.attachments or []), {**stored, "by": actor.user_id, "at": now.isoformat()}]
        c.updated_at = now
        s.add(c)
        s.add(
            ComplaintEntry(
                complaint_id=_id(c),
                kind="attachment",
                actor_id=actor.user_id,
                changes={"filename": stored.get("filename"), "index": len(c.attachments) - 1},
                created_at=now,
            )
        )
        _emit(uow, "complaint.updated", c, reason="attachment")
    return c
