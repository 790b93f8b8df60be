"""Normalizing customer addresses so one person is one identity."""

from __future__ import annotations

import phonenumbers

from hub.services.errors import Invalid


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """E.164, e.g. ``+966501234567``. Accepts ``whatsapp:``/``tel:`` prefixes."""
    value = raw.strip()
    for prefix in ("whatsapp:", "tel:", "sip:"):
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException as exc:
        raise Invalid(f"not a phone number: {raw!r} ({exc})", code="bad_address") from None
    if not phonenumbers.is_possible_number(number):
        raise Invalid(f"not a possible phone number: {raw!r}", code="bad_address")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    value = raw.strip()
    if "<" in value and value.endswith(">"):
        value = value[value.rindex("<") + 1 : -1]
    local, sep, domain = value.rpartition("@")
    if not sep or not local or "." not in domain or " " in value:
        raise Invalid(f"not an email address: {raw!r}", code="bad_address")
    # Domains are case-insensitive; local parts in practice are treated so by every
    # provider our customers use, and two identities for one mailbox is the worse bug.
    return f"{local}@{domain}".lower()


def normalize_address(kind: str, raw: str, default_region: str | None = None) -> str:
    if kind == "phone":
        return normalize_phone(raw, default_region)
    if kind == "email":
        return normalize_email(raw)
    value = raw.strip()
    if not value:
        raise Invalid("empty sender address", code="bad_address")
    return value
