"""Contacts (customer profiles) and the event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse
from sqlmodel import col, select

from hub.api.deps import current_actor, get_hub
from hub.api.errors import ApiError
from hub.api.schemas import (
    MAX_ID,
    ContactOut,
    ContactPage,
    ContactPatch,
    ContactSummary,
    ConversationOut,
    DuplicateOut,
    EventOut,
    FiguresOut,
    Id,
    IdentityIn,
    IdentityOut,
    MergeIn,
    MergePreview,
    OrganizationRef,
    Page,
    VerifyIn,
)
from hub.context import Hub
from hub.crm.contact_query import BadCursor, ContactFilter, Sort, count_query, encode_cursor, list_query
from hub.crm.duplicates import suggestions
from hub.crm.export import export_csv
from hub.crm.timeline import timeline
from hub.models import Contact, ContactFigures, Conversation, Identity, Organization, Role
from hub.services import consent, privacy
from hub.services.access import Actor, can_view, require_role, visible_clause
from hub.services.contact_fields import list_fields
from hub.services.contacts import (
    add_identity,
    contact_visible_clause,
    load_visible_contact,
    merge_contacts,
    remove_identity,
    update_contact,
    verify_identity,
)
from hub.services.visibility import read_visible

router = APIRouter(tags=["contacts"])
COUNT_CAP = 10_000  # the list's count stops here: "10,000+" (segments count exactly)


async def _contact_out(hub: Hub, contact: Contact) -> ContactOut:
    async with hub.db.session() as s:
        ids = (
            await s.exec(select(Identity).where(Identity.contact_id == contact.id).order_by(col(Identity.id)))
        ).all()
        figures = await s.get(ContactFigures, contact.id)
        org = await s.get(Organization, contact.organization_id) if contact.organization_id else None
        consent_rows = await consent.rows_for(s, contact.id)  # type: ignore[arg-type]
    fig = None
    if figures is not None:
        fig = FiguresOut.model_validate(figures).model_copy(
            update={
                "csat_average": round(figures.csat_sum / figures.csat_count, 2)
                if figures.csat_count
                else None
            }
        )
    return ContactOut.model_validate(contact).model_copy(
        update={
            "identities": [IdentityOut.model_validate(i) for i in ids],
            "figures": fig,
            "tiers": figures.tiers if figures is not None else [],
            "organization": OrganizationRef.model_validate(org) if org is not None else None,
            "consent": consent.legacy_view(consent_rows),
        }
    )


def contact_filter(
    q: str | None = Query(
        default=None, max_length=200, description="name, phone (any format), email, tag, field value"
    ),
    tag: str | None = Query(default=None, max_length=100),
    tier: str | None = Query(default=None, max_length=40),
    vip: bool | None = None,
    language: str | None = Query(default=None, max_length=10),
    preferred_channel: str | None = Query(default=None, max_length=20),
    channel: str | None = Query(default=None, max_length=20, description="contacts who used this channel"),
    field: list[str] = Query(default=[], max_length=10, description="custom field equality, key:value"),
    min_conversations_90d: int | None = Query(default=None, ge=0, le=1_000_000),
    organization_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    owner_id: int | None = Query(default=None, ge=1, le=MAX_ID, description="the account manager"),
    open_complaint: bool | None = None,
    consent: str | None = Query(default=None, max_length=20, description="consent granted on this channel"),
    min_csat_average: float | None = Query(default=None, ge=1, le=5),
    max_csat_average: float | None = Query(default=None, ge=1, le=5),
) -> ContactFilter:
    fields: dict[str, str] = {}
    for item in field:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ApiError(422, "validation_error", "field filters are key:value")
        fields[key[:64]] = value[:200]
    return ContactFilter(
        q=q,
        tag=tag,
        tier=tier,
        vip=vip,
        language=language,
        preferred_channel=preferred_channel,
        channel=channel,
        fields=fields,
        min_conversations_90d=min_conversations_90d,
        organization_id=organization_id,
        owner_id=owner_id,
        open_complaint=open_complaint,
        consent=consent,
        min_csat_average=min_csat_average,
        max_csat_average=max_csat_average,
    )


@router.get("/contacts", response_model=ContactPage)
async def list_contacts(
    f: ContactFilter = Depends(contact_filter),
    sort: Sort = "created",
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=400),
    count: bool = Query(default=False, description="also count every match (slower)"),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> ContactPage:
    """Search and list contacts, newest first or by ``sort``; keyset-paged by ``cursor``."""
    return await contact_page(hub, actor, f, sort=sort, limit=limit, cursor=cursor, count=count)


@router.get("/contacts/export.csv", response_class=StreamingResponse, tags=["contacts"])
async def export_contacts(
    f: ContactFilter = Depends(contact_filter),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> StreamingResponse:
    """Every contact matching the filters as CSV (supervisors and admins)."""
    require_role(actor, Role.supervisor)
    return await csv_response(hub, actor, f, "contacts")


async def csv_response(hub: Hub, actor: Actor, f: ContactFilter, name: str) -> StreamingResponse:
    async with hub.db.session() as s:
        fields = await list_fields(s)
    stamp = hub.now().strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        export_csv(hub, actor, f, fields),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}-{stamp}.csv"'},
    )


async def contact_page(
    hub: Hub, actor: Actor, f: ContactFilter, *, sort: Sort, limit: int, cursor: str | None, count: bool
) -> ContactPage:
    region = hub.settings.default_phone_region
    try:
        stmt = list_query(
            f, actor, sort=sort, limit=limit, cursor=cursor, is_sqlite=hub.db.is_sqlite, region=region
        )
    except BadCursor as exc:
        raise ApiError(422, "bad_cursor", str(exc)) from None
    async with hub.db.session() as s:
        conn = await s.connection()
        rows = list((await conn.execute(stmt)).mappings().all())
        more = len(rows) > limit
        rows = rows[:limit]
        ids = [r["id"] for r in rows]
        identities = (await s.exec(select(Identity).where(col(Identity.contact_id).in_(ids)))).all()
        figures = {
            fig.contact_id: fig
            for fig in (
                await s.exec(select(ContactFigures).where(col(ContactFigures.contact_id).in_(ids)))
            ).all()
        }
        total = None
        capped = False
        if count:
            stmt = count_query(f, actor, is_sqlite=hub.db.is_sqlite, region=region, cap=COUNT_CAP)
            total = (await conn.execute(stmt)).scalar() or 0
            capped = total > COUNT_CAP
            total = min(total, COUNT_CAP)
    by_contact: dict[int, list[IdentityOut]] = {}
    for i in identities:
        by_contact.setdefault(i.contact_id, []).append(IdentityOut.model_validate(i))
    items = []
    for r in rows:
        fig = figures.get(r["id"])
        items.append(
            ContactSummary.model_validate(dict(r)).model_copy(
                update={
                    "identities": by_contact.get(r["id"], []),
                    "tiers": fig.tiers if fig else [],
                    "last_contact_at": fig.last_contact_at if fig else None,
                    "conversations_90d": fig.conversations_90d if fig else 0,
                    "preferred_channel": fig.preferred_channel if fig else None,
                }
            )
        )
    next_cursor = encode_cursor(sort, rows[-1]["sort_value"], rows[-1]["id"]) if more and rows else None
    return ContactPage(items=items, next_cursor=next_cursor, total=total, total_capped=capped)


@router.get("/contacts/{contact_id}", response_model=ContactOut)
async def get_contact(
    contact_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ContactOut:
    async with hub.db.session() as s:
        contact = await load_visible_contact(s, actor, contact_id)
    return await _contact_out(hub, contact)


@router.patch("/contacts/{contact_id}", response_model=ContactOut)
async def patch_contact(
    contact_id: Id, body: ContactPatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ContactOut:
    contact = await update_contact(hub, actor, contact_id, body.model_dump(exclude_unset=True))
    return await _contact_out(hub, contact)


@router.get("/contacts/{contact_id}/conversations", response_model=Page[ConversationOut])
async def contact_conversations(
    contact_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Page[ConversationOut]:
    async with hub.db.session() as s:
        await load_visible_contact(s, actor, contact_id)
        rows = (
            await s.exec(
                select(Conversation)
                .where(Conversation.contact_id == contact_id, visible_clause(actor))
                .order_by(col(Conversation.id).desc())
                .limit(200)
            )
        ).all()
    return Page[ConversationOut](items=[ConversationOut.model_validate(c) for c in rows])


@router.get("/events", response_model=Page[EventOut], tags=["events"])
async def list_events(
    after: int = Query(default=0, ge=0, le=MAX_ID, description="return events with id > after"),
    cursor: int | None = Query(
        default=None, ge=0, le=MAX_ID, description="the next_cursor of the previous page (same as after)"
    ),
    limit: int = Query(default=200, ge=1, le=1000),
    type: str | None = Query(default=None, max_length=64),
    conversation_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[EventOut]:
    """The append-only event log, as far as the caller may see it, oldest first.

    Visibility is the console socket's rule (docs/protocol.md, "Who receives which
    event"); asking for one ``conversation_id`` the caller may view now counts as
    watching it, as the console does when it opens a thread.
    """
    start = cursor if cursor is not None else after
    async with hub.db.session() as s:
        watching: frozenset[int] = frozenset()
        if conversation_id is not None:
            conv = await s.get(Conversation, conversation_id)
            if conv is not None and can_view(actor, conv):
                watching = frozenset({conversation_id})
        rows, next_cursor = await read_visible(
            s,
            actor,
            start,
            limit,
            watching=watching,
            event_type=type,
            conversation_id=conversation_id,
            watch_checked=True,
        )
    return Page[EventOut](items=[EventOut.model_validate(e) for e in rows], next_cursor=next_cursor)


@router.get("/contacts/{contact_id}/export", tags=["privacy"])
async def privacy_export(
    contact_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> JSONResponse:
    """Everything stored about the contact (admins; the export is audited)."""
    data = await privacy.export_contact(hub, actor, contact_id)
    return JSONResponse(
        data, headers={"content-disposition": f'attachment; filename="contact-{contact_id}.json"'}
    )


@router.post("/contacts/{contact_id}/erase", response_model=ContactOut, tags=["privacy"])
async def erase(
    contact_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ContactOut:
    """Remove the contact's personal data and message contents; figures stay (admins)."""
    return await _contact_out(hub, await privacy.erase_contact(hub, actor, contact_id))


@router.get("/contacts/{contact_id}/timeline", tags=["contacts"])
async def contact_timeline(
    contact_id: Id,
    before: datetime | None = Query(default=None, description="the next_before of the previous page"),
    limit: int = Query(default=50, ge=1, le=200),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> dict[str, Any]:
    """Everything with this customer, newest first: conversations, satisfaction
    answers, internal notes and profile changes with who made them."""
    async with hub.db.session() as s:
        await load_visible_contact(s, actor, contact_id)
        entries, next_before = await timeline(s, actor, contact_id, before=before, limit=limit)
    return {
        "items": jsonable_encoder(entries),
        "next_before": next_before.isoformat() if next_before else None,
    }


@router.get("/contacts/{contact_id}/duplicates", response_model=list[DuplicateOut], tags=["contacts"])
async def contact_duplicates(
    contact_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> list[DuplicateOut]:
    """Contacts that are probably the same customer (same phone or email, same name)."""
    async with hub.db.session() as s:
        contact = await load_visible_contact(s, actor, contact_id)
        found = await suggestions(
            s,
            contact,
            contact_visible_clause(actor),
            is_sqlite=hub.db.is_sqlite,
            region=hub.settings.default_phone_region,
        )
        rows = {
            c.id: c
            for c in (await s.exec(select(Contact).where(col(Contact.id).in_([f[0] for f in found])))).all()
        }
        idents = (await s.exec(select(Identity).where(col(Identity.contact_id).in_(list(rows))))).all()
    by_contact: dict[int, list[IdentityOut]] = {}
    for i in idents:
        by_contact.setdefault(i.contact_id, []).append(IdentityOut.model_validate(i))
    return [
        DuplicateOut(
            contact=ContactSummary.model_validate(rows[cid]).model_copy(
                update={"identities": by_contact.get(cid, [])}
            ),
            reasons=reasons,
        )
        for cid, reasons in found
        if cid in rows
    ]


@router.get("/contacts/{contact_id}/merge-preview", response_model=MergePreview, tags=["contacts"])
async def merge_preview(
    contact_id: Id,
    source_id: Id = Query(description="the contact that would be folded into this one"),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> MergePreview:
    """What merging ``source_id`` into this contact would move, and whether it can."""
    require_role(actor, Role.supervisor)
    async with hub.db.session() as s:
        target = await load_visible_contact(s, actor, contact_id)
        source = await load_visible_contact(s, actor, source_id)
        idents = (await s.exec(select(Identity).where(Identity.contact_id == source_id))).all()
        convs = (await s.exec(select(Conversation).where(Conversation.contact_id == source_id))).all()
        target_open = {
            (c.channel, c.thread_key)
            for c in (await s.exec(select(Conversation).where(Conversation.contact_id == contact_id))).all()
            if str(c.status) not in ("resolved", "abandoned")
        }
    blocking = [
        c.id or 0
        for c in convs
        if str(c.status) not in ("resolved", "abandoned") and (c.channel, c.thread_key) in target_open
    ]
    clashes = {
        k: [target.attributes[k], v]
        for k, v in (source.attributes or {}).items()
        if k in (target.attributes or {}) and target.attributes[k] != v
    }
    return MergePreview(
        identities=[IdentityOut.model_validate(i) for i in idents],
        conversations=len(convs),
        tags=sorted(set(target.tags or []) | set(source.tags or [])),
        attribute_clashes=clashes,
        name=target.name or source.name,
        blocking_conversations=blocking,
    )


@router.post("/contacts/{contact_id}/merge", response_model=ContactOut, tags=["contacts"])
async def merge_into(
    contact_id: Id, body: MergeIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ContactOut:
    """Fold ``source_id`` into this contact (supervisors and admins; audited)."""
    async with hub.db.session() as s:
        await load_visible_contact(s, actor, contact_id)
        await load_visible_contact(s, actor, body.source_id)
    return await _contact_out(hub, await merge_contacts(hub, actor, body.source_id, contact_id))


@router.post(
    "/contacts/{contact_id}/identities", response_model=IdentityOut, status_code=201, tags=["contacts"]
)
async def post_identity(
    contact_id: Id, body: IdentityIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> IdentityOut:
    """Add a phone (any format), email or Telegram id; 409 identity_taken if it is
    another contact's (merge them instead)."""
    return IdentityOut.model_validate(await add_identity(hub, actor, contact_id, body.kind, body.address))


@router.delete("/contacts/{contact_id}/identities/{identity_id}", status_code=204, tags=["contacts"])
async def delete_identity(
    contact_id: Id, identity_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await remove_identity(hub, actor, contact_id, identity_id)
    return Response(status_code=204)


@router.post(
    "/contacts/{contact_id}/identities/{identity_id}/verify", response_model=IdentityOut, tags=["contacts"]
)
async def post_verify(
    contact_id: Id,
    identity_id: Id,
    body: VerifyIn,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> IdentityOut:
    return IdentityOut.model_validate(
        await verify_identity(hub, actor, contact_id, identity_id, body.verified)
    )
