"""Organisations (B2B customers): list and search, manage (supervisors and admins),
and one organisation's central view — its contacts, their conversations, complaints
and satisfaction."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import func
from sqlmodel import col, select

from hub.api.deps import current_actor, get_hub
from hub.api.routes_contacts import contact_page
from hub.api.schemas import (
    ContactPage,
    ConversationOut,
    Id,
    OrganizationIn,
    OrganizationOut,
    OrganizationPatch,
    Page,
)
from hub.context import Hub
from hub.crm.contact_query import ContactFilter, Sort
from hub.models import (
    OPEN_COMPLAINT,
    Complaint,
    Contact,
    Conversation,
    Organization,
    OrganizationDomain,
)
from hub.services import organizations
from hub.services.access import Actor, visible_clause
from hub.services.complaints import visible_complaints
from hub.services.errors import NotFound

router = APIRouter(prefix="/organizations", tags=["organizations"])


@router.get("", response_model=Page[OrganizationOut])
async def list_organizations(
    q: str | None = Query(default=None, max_length=200, description="name or domain"),
    limit: int = Query(default=50, ge=1, le=200),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[OrganizationOut]:
    stmt = select(Organization).order_by(col(Organization.name), col(Organization.id)).limit(limit)
    if q and q.strip():
        needle = q.strip().lower()
        by_domain = select(OrganizationDomain.organization_id).where(
            col(OrganizationDomain.domain).contains(needle, autoescape=True)
        )
        stmt = stmt.where(
            func.lower(Organization.name).contains(needle, autoescape=True)
            | col(Organization.id).in_(by_domain)
        )
    async with hub.db.session() as s:
        rows = (await s.exec(stmt)).all()
    return Page[OrganizationOut](items=[OrganizationOut.model_validate(r) for r in rows])


@router.post("", response_model=OrganizationOut, status_code=201)
async def create_organization(
    body: OrganizationIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> OrganizationOut:
    return OrganizationOut.model_validate(
        await organizations.create_organization(hub, actor, body.model_dump())
    )


@router.get("/{org_id}", response_model=OrganizationOut)
async def get_organization(
    org_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> OrganizationOut:
    """The organisation with figures over the conversations the caller may see."""
    async with hub.db.session() as s:
        org = await s.get(Organization, org_id)
        if org is None:
            raise NotFound(f"organisation {org_id} not found")
        members = select(Contact.id).where(Contact.organization_id == org_id)
        contacts = (
            await s.exec(select(func.count()).select_from(Contact).where(Contact.organization_id == org_id))
        ).one()
        convs = (
            select(Conversation)
            .where(col(Conversation.contact_id).in_(members), visible_clause(actor))
            .subquery()
        )
        total, rated, score_sum = (
            await s.exec(
                select(
                    func.count(), func.count(convs.c.csat_score), func.sum(convs.c.csat_score)
                ).select_from(convs)
            )
        ).one()
        complaints = (
            await s.exec(
                select(func.count())
                .select_from(Complaint)
                .where(
                    col(Complaint.contact_id).in_(members),
                    col(Complaint.status).in_(OPEN_COMPLAINT),
                    visible_complaints(actor),
                )
            )
        ).one()
    return OrganizationOut.model_validate(org).model_copy(
        update={
            "contacts": contacts,
            "conversations": total,
            "open_complaints": int(complaints or 0),
            "csat_count": rated,
            "csat_average": round(score_sum / rated, 2) if rated else None,
        }
    )


@router.patch("/{org_id}", response_model=OrganizationOut)
async def update_organization(
    org_id: Id, body: OrganizationPatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> OrganizationOut:
    org = await organizations.update_organization(hub, actor, org_id, body.model_dump(exclude_unset=True))
    return OrganizationOut.model_validate(org)


@router.delete("/{org_id}", status_code=204)
async def delete_organization(
    org_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await organizations.delete_organization(hub, actor, org_id)
    return Response(status_code=204)


@router.get("/{org_id}/contacts", response_model=ContactPage)
async def organization_contacts(
    org_id: Id,
    sort: Sort = "name",
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=400),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> ContactPage:
    f = ContactFilter(organization_id=org_id)
    return await contact_page(hub, actor, f, sort=sort, limit=limit, cursor=cursor, count=True)


@router.get("/{org_id}/conversations", response_model=Page[ConversationOut])
async def organization_conversations(
    org_id: Id,
    limit: int = Query(default=100, ge=1, le=200),
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> Page[ConversationOut]:
    """The latest conversations of all its contacts (as far as the caller may see)."""
    async with hub.db.session() as s:
        members = select(Contact.id).where(Contact.organization_id == org_id)
        rows = (
            await s.exec(
                select(Conversation)
                .where(col(Conversation.contact_id).in_(members), visible_clause(actor))
                .order_by(col(Conversation.id).desc())
                .limit(limit)
            )
        ).all()
    return Page[ConversationOut](items=[ConversationOut.model_validate(c) for c in rows])
