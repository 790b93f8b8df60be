"""Customer profiles."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.addresses import normalize_address
from hub.context import Hub
from hub.events import ContactMergedPayload, ContactUpdatedPayload
from hub.models import Complaint, Contact, Conversation, Identity, Organization, Role, SurveyRequest, User
from hub.services import consent
from hub.services.access import Actor, require_role, visible_clause
from hub.services.contact_fields import clean_attributes, invalid_fields, list_fields
from hub.services.errors import Conflict, Forbidden, Invalid, NotFound
from hub.services.uow import UnitOfWork, unit_of_work

EDITABLE = (
    "name",
    "language",
    "timezone",
    "vip",
    "tags",
    "attributes",
    "notes",
    "owner_id",
    "organization_id",
    "consent",
)
CONSENT_CHANNELS = consent.CHANNELS
MAX_TAGS = 50
MAX_TAG = 50


def contact_visible_clause(actor: Actor) -> Any:
    """A contact is visible when one of its conversations is (admins see all)."""
    if actor.is_admin:
        return sa.true()
    sub = select(Conversation.id).where(Conversation.contact_id == Contact.id, visible_clause(actor))
    return sa.exists(sub)


async def load_visible_contact(s: AsyncSession, actor: Actor, contact_id: int) -> Contact:
    contact = await s.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id} not found")
    ok = (
        await s.exec(select(Contact.id).where(Contact.id == contact_id, contact_visible_clause(actor)))
    ).first()
    if ok is None:
        raise Forbidden("you may not see this contact (no conversation in your teams)", code="not_your_team")
    return contact


async def update_contact(hub: Hub, actor: Actor, contact_id: int, changes: dict[str, Any]) -> Contact:
    """Edit a profile. ``attributes`` is a merge patch: keys given are set (a null or
    empty value removes one), custom fields are validated against their definitions
    (hub.crm.fields); staff may only write defined fields, channels (the system actor)
    anything. Emits ``contact.updated`` with each changed field's old and new value."""
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        contact = await load_visible_contact(s, actor, contact_id)
        diff: dict[str, list[Any]] = {}
        for key, value in changes.items():
            if key not in EDITABLE:
                raise Forbidden(f"field {key!r} is not editable", code="unknown_field")
            if key == "tags":
                value = clean_tags(value)
            elif key == "timezone" and value is not None:
                value = _check_timezone(value)
            elif key == "owner_id" and value is not None:
                owner = await s.get(User, value)
                if owner is None or not owner.active:
                    raise invalid_fields([("owner_id", "unknown_user", "no such active user")])
            elif key == "organization_id" and value is not None:
                if await s.get(Organization, value) is None:
                    raise invalid_fields(
                        [("organization_id", "unknown_organization", "no such organisation")]
                    )
            elif key == "consent":
                await _patch_consent(uow, actor, contact_id, value or {})
                continue
            elif key == "attributes":
                definitions = {f.key: f for f in await list_fields(s)}
                before = dict(contact.attributes or {})
                value = clean_attributes(definitions, before, value or {}, allow_undefined=actor.is_system)
                for k in sorted(set(before) | set(value)):
                    if before.get(k) != value.get(k):
                        diff[f"attributes.{k}"] = [before.get(k), value.get(k)]
                contact.attributes = value
                continue
            old = getattr(contact, key)
            if old != value:
                diff[key] = [old, value]
            setattr(contact, key, value)
        if diff:
            contact.updated_at = hub.now()
            s.add(contact)
            uow.emit("contact.updated", ContactUpdatedPayload(contact_id=contact_id, changes=_bounded(diff)))
    return contact


async def _patch_consent(uow: UnitOfWork, actor: Actor, contact_id: int, patch: dict[str, Any]) -> None:
    """The older form of the contact's ``consent``: ``{"sms": true, "email": false,
    "whatsapp": null}`` — marketing opted in, opted out, unknown (hub.services.consent;
    each change its own ``contact.consent_changed`` event)."""
    for channel, granted in patch.items():
        if channel not in CONSENT_CHANNELS or not (granted is None or isinstance(granted, bool)):
            raise invalid_fields(
                [(f"consent.{channel}", "invalid_consent", "true, false or null per channel")]
            )
    for channel, granted in patch.items():
        await consent.record(
            uow.session,
            contact_id=contact_id,
            channel=channel,
            purpose=consent.MARKETING,
            state=None if granted is None else consent.OPTED_IN if granted else consent.OPTED_OUT,
            source="agent",
            now=uow.hub.now(),
            actor_id=actor.user_id,
            uow=uow,
        )


def clean_tags(value: Any) -> list[str]:
    tags = sorted({str(t).strip() for t in value or [] if str(t).strip()})
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG for t in tags):
        raise invalid_fields([("tags", "invalid_tags", f"at most {MAX_TAGS} tags of {MAX_TAG} characters")])
    return tags


def _check_timezone(value: Any) -> str:
    from hub.timeutil import zone

    try:
        zone(str(value))
    except ValueError:
        raise invalid_fields(
            [("timezone", "invalid_timezone", "an IANA time zone like Asia/Riyadh")]
        ) from None
    return str(value)


def _bounded(diff: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Long values (notes) are cut in the event log; the contact row keeps them whole."""

    def cut(v: Any) -> Any:
        return v[:200] + "…" if isinstance(v, str) and len(v) > 200 else v

    return {k: [cut(a), cut(b)] for k, (a, b) in diff.items()}


async def merge_contacts(hub: Hub, actor: Actor, source_id: int, target_id: int) -> Contact:
    """Fold contact ``source_id`` into ``target_id``; returns the target.

    In one unit of work: the source's identities and conversations move to the target,
    tags are unioned, attributes unioned (the target's value wins on a clash), and the
    source is kept as a tombstone with ``merged_into_id``. Refused when it would leave
    two open conversations on one (contact, channel, thread) — resolve one first.
    """
    require_role(actor, Role.supervisor)
    if source_id == target_id:
        raise Invalid("a contact cannot be merged into itself", code="same_contact")
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        source = await s.get(Contact, source_id)
        target = await s.get(Contact, target_id)
        if source is None:
            raise NotFound(f"contact {source_id} not found")
        if target is None:
            raise NotFound(f"contact {target_id} not found")
        if source.merged_into_id is not None:
            raise Conflict(f"contact {source_id} was already merged", code="already_merged")
        if target.merged_into_id is not None:
            raise Conflict(
                f"contact {target_id} was merged into contact {target.merged_into_id}", code="already_merged"
            )
        conversations = (await s.exec(select(Conversation).where(Conversation.contact_id == source_id))).all()
        target_open = {
            (c.channel, c.thread_key)
            for c in (await s.exec(select(Conversation).where(Conversation.contact_id == target_id))).all()
            if _is_open(c)
        }
        for conv in conversations:
            if _is_open(conv) and (conv.channel, conv.thread_key) in target_open:
                raise Conflict(
                    f"both contacts have an open {conv.channel} conversation on the same thread "
                    f"(conversation {conv.id}); resolve one before merging",
                    code="thread_open",
                )
        now = hub.now()
        for identity in (await s.exec(select(Identity).where(Identity.contact_id == source_id))).all():
            identity.contact_id = target_id
            s.add(identity)
        for conv in conversations:
            conv.contact_id = target_id
            conv.updated_at = now
            s.add(conv)
        # Their complaints and survey answers are the customer's too.
        await s.exec(  # type: ignore[call-overload]
            sa.update(Complaint).where(col(Complaint.contact_id) == source_id).values(contact_id=target_id)
        )
        await s.exec(  # type: ignore[call-overload]
            sa.update(SurveyRequest)
            .where(col(SurveyRequest.contact_id) == source_id)
            .values(contact_id=target_id)
        )
        await consent.move_to(s, source_id, target_id)
        target.tags = sorted(set(target.tags or []) | set(source.tags or []))
        target.attributes = {**(source.attributes or {}), **(target.attributes or {})}
        if not target.name and source.name:
            target.name = source.name
        target.updated_at = now
        source.merged_into_id = target_id
        source.updated_at = now
        s.add(target)
        s.add(source)
        uow.emit("contact.merged", ContactMergedPayload(source_id=source_id, target_id=target_id))
    return target


def _is_open(conv: Conversation) -> bool:
    return str(conv.status) not in ("resolved", "abandoned")


async def add_identity(hub: Hub, actor: Actor, contact_id: int, kind: str, raw: str) -> Identity:
    """Give a contact another way to reach them (typed in by staff: not verified)."""
    if kind not in ("phone", "email", "telegram"):
        raise invalid_fields([("kind", "invalid_kind", "phone, email or telegram")])
    try:
        address = normalize_address(kind, raw, hub.settings.default_phone_region)
    except Invalid:
        raise invalid_fields([("address", f"bad_{kind}", f"not a valid {kind}")]) from None
    if kind == "telegram" and not address.isdigit():
        raise invalid_fields([("address", "bad_telegram", "a Telegram user id is a number")])
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        await load_visible_contact(s, actor, contact_id)
        other = (
            await s.exec(select(Identity).where(Identity.kind == kind, Identity.address == address))
        ).first()
        if other is not None:
            raise Conflict(
                f"{address} belongs to contact {other.contact_id}; merge the two instead",
                code="identity_taken",
            )
        identity = Identity(contact_id=contact_id, kind=kind, address=address, created_at=hub.now())
        s.add(identity)
        uow.emit(
            "contact.updated",
            ContactUpdatedPayload(contact_id=contact_id, changes={"identities": [None, f"{kind}:{address}"]}),
        )
    return identity


async def remove_identity(hub: Hub, actor: Actor, contact_id: int, identity_id: int) -> None:
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        await load_visible_contact(s, actor, contact_id)
        identity = await s.get(Identity, identity_id)
        if identity is None or identity.contact_id != contact_id:
            raise NotFound(f"identity {identity_id} not found on contact {contact_id}")
        await s.delete(identity)
        uow.emit(
            "contact.updated",
            ContactUpdatedPayload(
                contact_id=contact_id, changes={"identities": [f"{identity.kind}:{identity.address}", None]}
            ),
        )


async def verify_identity(
    hub: Hub, actor: Actor, contact_id: int, identity_id: int, verified: bool
) -> Identity:
    """Staff confirmed (or withdrew) that this address is the customer's."""
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        await load_visible_contact(s, actor, contact_id)
        identity = await s.get(Identity, identity_id)
        if identity is None or identity.contact_id != contact_id:
            raise NotFound(f"identity {identity_id} not found on contact {contact_id}")
        identity.verified_at = hub.now() if verified else None
        s.add(identity)
        uow.emit(
            "contact.updated",
            ContactUpdatedPayload(
                contact_id=contact_id,
                changes={"identities": [None, f"{identity.kind}:{identity.address}"]},
                reason="verified" if verified else "unverified",
            ),
        )
    return identity
