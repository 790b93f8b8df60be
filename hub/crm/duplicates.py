"""Suggested duplicates of one contact: another contact with the same phone or email
(as an identity on one and a typed-in value on the other: a web-chat visitor's pre-chat
email), or the same name once Arabic letter forms and case are folded."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.addresses import normalize_email, normalize_phone
from hub.crm.search import matching_ids
from hub.models import Contact, Identity
from hub.services.errors import Invalid
from hub.textnorm import normalize

MAX = 20
_ADDRESS_KEYS = {"email": "email", "phone": "phone"}


def _typed_addresses(contact: Contact, region: str | None) -> set[tuple[str, str]]:
    """Addresses a customer typed (pre-chat form, import) kept as attributes."""
    out = set()
    for key, kind in _ADDRESS_KEYS.items():
        value = (contact.attributes or {}).get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        try:
            out.add((kind, normalize_email(value) if kind == "email" else normalize_phone(value, region)))
        except Invalid:
            continue
    return out


async def suggestions(
    s: AsyncSession, contact: Contact, visible: Any, *, is_sqlite: bool, region: str | None
) -> list[tuple[int, list[str]]]:
    """(contact id, reasons) of likely duplicates, best first."""
    assert contact.id is not None
    reasons: dict[int, set[str]] = {}
    own = {
        (i.kind, i.address)
        for i in (await s.exec(select(Identity).where(Identity.contact_id == contact.id))).all()
    }
    typed = _typed_addresses(contact, region)
    # Their typed-in address is someone's identity.
    for kind, address in typed - own:
        for cid in (
            await s.exec(
                select(Identity.contact_id).where(Identity.kind == kind, Identity.address == address)
            )
        ).all():
            reasons.setdefault(cid, set()).add(f"same_{kind}")
    # Our identity is what someone else typed in (in any case or format): the search
    # index narrows it down (typed values are in the search text), then the typed
    # value is normalised like an identity. No scan of every contact's attributes.
    for kind, address in own:
        if kind not in ("email", "phone"):
            continue
        near = matching_ids(address, is_sqlite=is_sqlite, default_region=region)
        candidates = await s.exec(select(Contact).where(col(Contact.id).in_(near)).limit(200))
        for other in candidates.all():
            if (kind, address) in _typed_addresses(other, region):
                reasons.setdefault(other.id or 0, set()).add(f"same_{kind}")
    name = normalize(contact.name or "")
    if len(name) >= 3:
        ids = matching_ids(contact.name, is_sqlite=is_sqlite)
        named = await s.exec(select(Contact.id, Contact.name).where(col(Contact.id).in_(ids)).limit(200))
        for other_id, other_name in named.all():
            if normalize(other_name or "") == name:
                reasons.setdefault(other_id or 0, set()).add("same_name")
    reasons.pop(contact.id, None)
    if not reasons:
        return []
    live = set(
        (
            await s.exec(
                select(Contact.id).where(
                    col(Contact.id).in_(list(reasons)),
                    col(Contact.merged_into_id).is_(None),
                    col(Contact.erased_at).is_(None),
                    visible,
                )
            )
        ).all()
    )
    ranked = sorted((cid for cid in reasons if cid in live), key=lambda c: (-len(reasons[c]), c))
    return [(cid, sorted(reasons[cid])) for cid in ranked[:MAX]]
