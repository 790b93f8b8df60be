"""The pre-chat form's rules (per site): which fields are asked, which are required.

Email and phone given here are what the visitor *typed*: they are stored in the
contact's attributes as unverified details, never as identities, so typing someone
else's address links to nothing and shows nothing.
"""

from __future__ import annotations

import re

from channels.webchat.config import SiteConfig
from channels.webchat.errors import invalid
from channels.webchat.frames import OfflineIn, PrechatIn
from hub.addresses import normalize_email, normalize_phone
from hub.services.errors import Invalid

_EMAIL_RE = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]{2,}$")
LABELS = {"name": "your name", "email": "an email address", "phone": "a phone number", "topic": "a topic"}


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def validate(
    site: SiteConfig,
    form: PrechatIn | OfflineIn | None,
    *,
    phone_region: str | None,
    require: tuple[str, ...] = (),
    allow: tuple[str, ...] = (),
) -> dict[str, str]:
    """Cleaned fields (only those the site asks for), or a validation error naming each.

    ``require`` adds fields required whatever the site says (the offline form needs
    a way to answer); ``allow`` accepts fields the site's pre-chat form does not ask.
    """
    given = {
        "name": _clean(form.name if form else None),
        "email": _clean(form.email if form else None),
        "phone": _clean(form.phone if form else None),
        "topic": _clean(form.topic if form else None),
    }
    errors: list[dict[str, str]] = []
    out: dict[str, str] = {}
    for name, value in given.items():
        rule = "required" if name in require else site.rule(name)
        if rule == "off" and name in allow:
            rule = "optional"
        if rule == "off":
            if value:
                errors.append({"field": f"prechat.{name}", "message": "this site does not ask for it"})
            continue
        if not value:
            if rule == "required":
                errors.append({"field": f"prechat.{name}", "message": f"please enter {LABELS[name]}"})
            continue
        try:
            out[name] = _check(site, name, value, phone_region)
        except ValueError as exc:
            errors.append({"field": f"prechat.{name}", "message": str(exc)})
    if site.prechat_one_of and not any(given[f] for f in site.prechat_one_of) and not require:
        wanted = " or ".join(LABELS[f] for f in site.prechat_one_of)
        errors.append({"field": "prechat", "message": f"please enter {wanted}"})
    if errors:
        raise invalid(errors)
    return out


def _check(site: SiteConfig, name: str, value: str, phone_region: str | None) -> str:
    if name == "name":
        if len(value) > 120:
            raise ValueError("the name is longer than 120 characters")
        return value
    if name == "email":
        if not _EMAIL_RE.match(value):
            raise ValueError("this does not look like an email address (like name@example.com)")
        try:
            return normalize_email(value)
        except Invalid:
            raise ValueError("this does not look like an email address (like name@example.com)") from None
    if name == "phone":
        try:
            return normalize_phone(value, phone_region)
        except Invalid:
            raise ValueError(
                "this does not look like a phone number; include the country code (+44…)"
            ) from None
    if value not in site.topics:
        raise ValueError(f"choose one of: {', '.join(site.topics)}")
    return value
