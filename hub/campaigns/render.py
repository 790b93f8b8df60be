"""A campaign's content for one recipient: the language's variant, variables filled.

Variables are the canned answers' (:mod:`hub.services.templating`: ``contact.name``,
``contact.first_name``, ``contact.custom.<key>``, ``team.name``) plus the campaign's
own (``coupon``, ``campaign.name``, ``unsubscribe_url``). Text only: a placeholder is
looked up by name and its value inserted; nothing is evaluated. In the HTML part the
values are escaped, so a customer's name can never become markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.services.templating import CUSTOM_PREFIX, PLACEHOLDER, render, text_value

LANGUAGES = ("en", "ar")
CAMPAIGN_VARIABLES = ("coupon", "campaign.name", "unsubscribe_url")


@dataclass(frozen=True, slots=True)
class Piece:
    """One recipient's message, ready for the channel."""

    language: str
    body: str
    subject: str = ""
    html: str = ""
    template: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def pick_language(content: Mapping[str, Any], wanted: str | None) -> str:
    """The contact's language when the campaign has it, else the first it has."""
    lang = (wanted or "").split("-")[0].lower()
    if content.get(lang):
        return lang
    for other in LANGUAGES:
        if content.get(other):
            return other
    return "en"


def uses(content: Mapping[str, Any], name: str) -> bool:
    """Whether any text of any language uses the variable ``name``."""
    for variant in content.values():
        if not isinstance(variant, Mapping):
            continue
        texts = [variant.get("body"), variant.get("subject"), variant.get("html")]
        texts += list((variant.get("variables") or {}).values())
        for text in texts:
            if isinstance(text, str) and any(m.group(1) == name for m in PLACEHOLDER.finditer(text)):
                return True
    return False


def values_for(
    *,
    name: str,
    attributes: Mapping[str, Any],
    custom_keys: Iterable[str],
    team_name: str | None,
    campaign_name: str,
    coupon: str | None,
    unsubscribe_url: str | None,
) -> dict[str, str | None]:
    words = name.split()
    values: dict[str, str | None] = {
        "contact.name": name or None,
        "contact.first_name": words[0] if words else None,
        "team.name": team_name,
        "coupon": coupon,
        "campaign.name": campaign_name,
        "unsubscribe_url": unsubscribe_url,
    }
    for key in custom_keys:
        values[f"{CUSTOM_PREFIX}{key}"] = text_value(attributes.get(key))
    return values


def piece(content: Mapping[str, Any], language: str, values: Mapping[str, str | None]) -> Piece:
    variant = content.get(language) or {}
    unknown: list[str] = []
    missing: list[str] = []

    def fill(text: Any, vals: Mapping[str, str | None] = values) -> str:
        r = render(str(text or ""), vals)
        unknown.extend(n for n in r.unknown if n not in unknown)
        missing.extend(n for n in r.missing if n not in missing)
        return r.text

    escaped = {k: (html.escape(v) if v else v) for k, v in values.items()}
    variables = {str(k): " ".join(fill(v).split()) for k, v in (variant.get("variables") or {}).items()}
    return Piece(
        language=language,
        body=fill(variant.get("body")),
        subject=" ".join(fill(variant.get("subject")).split()),
        html=fill(variant.get("html"), escaped),
        template=variant.get("template") or None,
        variables=variables,
        unknown=unknown,
        missing=missing,
    )
