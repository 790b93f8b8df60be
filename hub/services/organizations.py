"""Organisations (B2B customers): several contacts of one company, an account manager,
email domains whose senders join automatically, and figures over all its contacts.

Supervisors and admins manage them; everyone sees the organisation of a contact they
may see. Joining by domain happens off the request path, in the
``organization_join`` projection (hub.crm.orgs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.events import OrganizationPayload
from hub.models import Organization, OrganizationDomain, Role, User
from hub.projections import core
from hub.services.access import Actor, require_role
from hub.services.contact_fields import invalid_fields
from hub.services.errors import Conflict, NotFound
from hub.services.uow import unit_of_work

DOMAIN_RE = re.compile(r"^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_DOMAINS = 20
# Public mail providers: a domain anyone can sign up at never identifies a company.
PUBLIC_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "mail.com",
        "yandex.com",
    }
)


def clean_attributes(values: Any) -> dict[str, Any]:
    """An organisation's own fields: up to 50 keys of text (≤ 1,000 chars), numbers or
    yes/no."""
    if not isinstance(values, Mapping) or len(values) > 50:
        raise invalid_fields([("attributes", "invalid_attributes", "at most 50 fields")])
    out: dict[str, Any] = {}
    for key, value in values.items():
        ok_key = isinstance(key, str) and 0 < len(key) <= 64
        ok_value = (isinstance(value, str) and len(value) <= 1000) or (
            isinstance(value, bool | int | float) and (isinstance(value, bool) or abs(value) <= 1e15)
        )
        if not ok_key or not ok_value:
            raise invalid_fields(
                [(f"attributes.{str(key)[:64]}", "invalid_attributes", "text, a number or yes/no")]
            )
        out[key] = value.strip() if isinstance(value, str) else value
    return out


def clean_domains(values: Any) -> list[str]:
    if not isinstance(values, list) or len(values) > MAX_DOMAINS:
        raise invalid_fields([("domains", "invalid_domains", f"at most {MAX_DOMAINS} domains")])
    out = []
    for raw in values:
        domain = str(raw).strip().lower().lstrip("@")
        if not DOMAIN_RE.match(domain):
            raise invalid_fields([("domains", "invalid_domains", f"not a domain: {str(raw)[:80]}")])
        if domain in PUBLIC_DOMAINS:
            raise invalid_fields([("domains", "public_domain", f"{domain} is a public mail provider")])
        out.append(domain)
    return sorted(set(out))


async def _check_owner(s: AsyncSession, owner_id: Any) -> int | None:
    if owner_id is None:
        return None
    user = await s.get(User, owner_id)
    if user is None or not user.active:
        raise invalid_fields([("owner_id", "unknown_user", "no such active user")])
    return int(owner_id)


async def _set_domains(s: AsyncSession, org: Organization, domains: list[str]) -> None:
    taken = (
        await s.exec(
            select(OrganizationDomain).where(
                col(OrganizationDomain.domain).in_(domains),
                OrganizationDomain.organization_id != (org.id or 0),
            )
        )
    ).all()
    if taken:
        raise Conflict(f"{taken[0].domain} belongs to another organisation", code="domain_taken")
    await core(s, sa.delete(OrganizationDomain).where(col(OrganizationDomain.organization_id) == org.id))
    for d in domains:
        s.add(OrganizationDomain(domain=d, organization_id=org.id or 0))
    org.domains = domains


async def create_organization(hub: Hub, actor: Actor, values: Mapping[str, Any]) -> Organization:
    require_role(actor, Role.supervisor)
    domains = clean_domains(values.get("domains", []))
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        now = hub.now()
        org = Organization(
            name=str(values["name"]).strip(),
            owner_id=await _check_owner(s, values.get("owner_id")),
            notes=str(values.get("notes", "")),
            attributes=clean_attributes(values.get("attributes") or {}),
            created_at=now,
            updated_at=now,
        )
        s.add(org)
        await s.flush()
        await _set_domains(s, org, domains)
        uow.emit("organization.updated", OrganizationPayload(organization_id=org.id or 0, domains=domains))
    return org


async def update_organization(
    hub: Hub, actor: Actor, org_id: int, changes: Mapping[str, Any]
) -> Organization:
    require_role(actor, Role.supervisor)
    async with unit_of_work(hub, actor.user_id) as uow:
        s = uow.session
        org = await s.get(Organization, org_id)
        if org is None:
            raise NotFound(f"organisation {org_id} not found")
        if "name" in changes:
            org.name = str(changes["name"]).strip()
        if "owner_id" in changes:
            org.owner_id = await _check_owner(s, changes["owner_id"])
        if "notes" in changes:
            org.notes = str(changes["notes"])
        if "attributes" in changes:
            org.attributes = clean_attributes(changes["attributes"] or {})
        if "domains" in changes:
            await _set_domains(s, org, clean_domains(changes["domains"]))
        org.updated_at = hub.now()
        s.add(org)
        uow.emit("organization.updated", OrganizationPayload(organization_id=org_id, domains=org.domains))
    return org


async def delete_organization(hub: Hub, actor: Actor, org_id: int) -> None:
    """Contacts stay; they only lose the organisation (ON DELETE SET NULL)."""
    require_role(actor, Role.supervisor)
    async with unit_of_work(hub, actor.user_id) as uow:
        org = await uow.session.get(Organization, org_id)
        if org is None:
            raise NotFound(f"organisation {org_id} not found")
        await uow.session.delete(org)
        uow.emit("organization.updated", OrganizationPayload(organization_id=org_id, domains=[]))
