"""The ``[channels.webchat]`` table: sites (by site key) and limits, validated once.

Every mistake stops start-up with one line naming the key, like
``config error: channels.webchat.sites.acme.position: expected "left" or "right"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

KIND = "webchat"

FieldRule = Literal["required", "optional", "off"]
PRECHAT_FIELDS = ("name", "email", "phone", "topic")
LinkRule = Literal["never", "verified_email"]

# The site key is public (it sits in the customer's HTML); it names, it does not authorize.
_SITE_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{4,64}$")
_COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")
_COLOR_KEYS = frozenset({"primary", "on_primary", "background", "text"})
DEFAULT_COLORS = {"primary": "#1f5eff", "on_primary": "#ffffff", "background": "#ffffff", "text": "#1b1f24"}
DEFAULT_GREETING = {
    "en": "Hi! How can we help you today?",
    "ar": "مرحبًا! كيف يمكننا مساعدتك اليوم؟",
}
DEFAULT_ATTACHMENT_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
)

_CHANNEL_KEYS = frozenset(
    {
        "token_secret", "token_ttl_days", "team", "sites", "max_message_chars",
        "max_attachment_bytes", "attachment_types", "max_attachments_per_message",
        "visitor_rate", "ip_rate", "max_connections_per_ip", "email_followup",
        "away_after_seconds", "queue_refresh_seconds", "abandon_after_seconds",
    }
)  # fmt: skip
_SITE_KEYS = frozenset(
    {
        "name", "allowed_origins", "team", "language", "position", "colors", "greeting",
        "prechat", "topics", "link_identity", "offline_message",
    }
)  # fmt: skip


def _err(key: str, expected: str) -> ValueError:
    return ValueError(f"config error: channels.{KIND}.{key}: {expected}")


@dataclass(frozen=True, slots=True)
class Rate:
    """A token bucket: ``burst`` at once, refilled at ``per_minute``."""

    burst: int
    per_minute: float

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


@dataclass(frozen=True, slots=True)
class SiteConfig:
    key: str
    name: str
    allowed_origins: tuple[str, ...]
    team: str | None = None
    language: str = "en"  # "auto": the visitor's browser language
    position: Literal["left", "right"] = "right"
    colors: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_COLORS))
    greeting: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_GREETING))
    prechat: Mapping[str, FieldRule] = field(default_factory=dict)
    # At least one of these pre-chat fields must be given (e.g. ("email", "phone")).
    prechat_one_of: tuple[str, ...] = ()
    topics: Mapping[str, str] = field(default_factory=dict)  # label shown -> team name
    link_identity: LinkRule = "never"
    offline_message: Mapping[str, str] = field(default_factory=dict)

    def origin_allowed(self, origin: str) -> bool:
        return origin.rstrip("/") in self.allowed_origins

    def rule(self, name: str) -> FieldRule:
        return self.prechat.get(name, "off")

    def team_for(self, topic: str | None) -> str | None:
        if topic and topic in self.topics:
            return self.topics[topic]
        return self.team


@dataclass(frozen=True, slots=True)
class WebchatConfig:
    token_secret: bytes = field(repr=False)
    sites: Mapping[str, SiteConfig]
    team: str | None = None
    token_ttl_days: int = 365
    max_message_chars: int = 4000
    max_attachment_bytes: int = 10_000_000
    attachment_types: tuple[str, ...] = DEFAULT_ATTACHMENT_TYPES
    max_attachments_per_message: int = 5
    visitor_rate: Rate = Rate(burst=10, per_minute=30)
    ip_rate: Rate = Rate(burst=60, per_minute=600)
    max_connections_per_ip: int = 50
    # Agent replies to a visitor who left are mailed when the email channel is enabled
    # and the visitor gave an address (see docs/channels/webchat.md).
    email_followup: bool = True
    away_after_seconds: float = 60.0
    queue_refresh_seconds: float = 15.0
    # A waiting visitor gone this long (no socket, no poll) abandoned the chat.
    abandon_after_seconds: float = 300.0

    def site(self, key: str) -> SiteConfig | None:
        return self.sites.get(key)


# -- readers -------------------------------------------------------------------------------


def _int(section: Mapping[str, Any], key: str, default: int, *, lo: int, hi: int, path: str) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _err(path, f"expected a whole number from {lo} to {hi}")
    return value


def _float(section: Mapping[str, Any], key: str, default: float, *, path: str) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _err(path, "expected a number greater than 0")
    return float(value)


def _rate(section: Mapping[str, Any], key: str, default: Rate) -> Rate:
    value = section.get(key)
    if value is None:
        return default
    if not isinstance(value, Mapping) or set(value) - {"burst", "per_minute"}:
        raise _err(key, "expected { burst = N, per_minute = M }")
    burst = _int(value, "burst", default.burst, lo=1, hi=1_000_000, path=f"{key}.burst")
    per_minute = _float(value, "per_minute", default.per_minute, path=f"{key}.per_minute")
    return Rate(burst=burst, per_minute=per_minute)


def _lang_map(value: Any, path: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": value}
    if not isinstance(value, Mapping) or not value:
        raise _err(path, 'expected a string or a table of language = "text"')
    out = {}
    for lang, text in value.items():
        if not isinstance(lang, str) or not _LANG_RE.match(lang):
            raise _err(f"{path}.{lang}", "expected a language code like en or ar")
        if not isinstance(text, str) or not text.strip() or len(text) > 500:
            raise _err(f"{path}.{lang}", "expected a text of 1-500 characters")
        out[lang] = text
    return out


def _origins(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _err(path, 'expected a list of origins like ["https://www.example.com"]')
    out = []
    for origin in value:
        parts = urlsplit(origin) if isinstance(origin, str) else None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.path not in ("", "/")
            or parts.query
            or "*" in origin
        ):
            raise _err(path, f"{origin!r} is not an origin (scheme://host[:port], no path, no wildcard)")
        out.append(f"{parts.scheme}://{parts.netloc}".lower())
    return tuple(out)


def _prechat(value: Any, path: str) -> tuple[dict[str, FieldRule], tuple[str, ...]]:
    if value is None:
        return {}, ()
    if not isinstance(value, Mapping):
        raise _err(path, 'expected a table like { name = "required", email = "optional" }')
    rules: dict[str, FieldRule] = {}
    one_of: tuple[str, ...] = ()
    for key, rule in value.items():
        if key == "one_of":
            if not isinstance(rule, list) or len(rule) < 2 or any(r not in PRECHAT_FIELDS for r in rule):
                raise _err(f"{path}.one_of", f"expected two or more of {', '.join(PRECHAT_FIELDS)}")
            one_of = tuple(rule)
            continue
        if key not in PRECHAT_FIELDS:
            raise _err(f"{path}.{key}", f"unknown field (known: {', '.join(PRECHAT_FIELDS)}, one_of)")
        if rule not in ("required", "optional", "off"):
            raise _err(f"{path}.{key}", 'expected "required", "optional" or "off"')
        rules[key] = rule
    for name in one_of:
        if rules.get(name, "off") == "off":
            raise _err(f"{path}.one_of", f"{name} is in one_of but switched off")
    return rules, one_of


def _site(key: str, section: Any) -> SiteConfig:
    path = f"sites.{key}"
    if not _SITE_KEY_RE.match(key):
        raise _err(path, "a site key is 4-64 characters A-Z a-z 0-9 _ -")
    if not isinstance(section, Mapping):
        raise _err(path, "expected a table")
    unknown = set(section) - _SITE_KEYS
    if unknown:
        raise _err(f"{path}.{sorted(unknown)[0]}", "unknown setting")
    language = section.get("language", "en")
    if not isinstance(language, str) or not (language == "auto" or _LANG_RE.match(language)):
        raise _err(f"{path}.language", 'expected a language code like "en" or "ar", or "auto"')
    position = section.get("position", "right")
    if position not in ("left", "right"):
        raise _err(f"{path}.position", 'expected "left" or "right"')
    colors = dict(DEFAULT_COLORS)
    raw_colors = section.get("colors", {})
    if not isinstance(raw_colors, Mapping):
        raise _err(f"{path}.colors", 'expected a table like { primary = "#1f5eff" }')
    for name, value in raw_colors.items():
        if name not in _COLOR_KEYS:
            raise _err(f"{path}.colors.{name}", f"unknown colour (known: {', '.join(sorted(_COLOR_KEYS))})")
        if not isinstance(value, str) or not _COLOR_RE.match(value):
            raise _err(f"{path}.colors.{name}", 'expected a hex colour like "#1f5eff"')
        colors[name] = value
    topics = section.get("topics", {})
    if not isinstance(topics, Mapping) or not all(
        isinstance(k, str) and 0 < len(k) <= 80 and isinstance(v, str) and v for k, v in topics.items()
    ):
        raise _err(f"{path}.topics", 'expected a table of "label shown to visitors" = "team name"')
    prechat, one_of = _prechat(section.get("prechat"), f"{path}.prechat")
    if prechat.get("topic", "off") != "off" and not topics:
        raise _err(f"{path}.prechat.topic", "asks for a topic but the site has no topics")
    # "verified_email" also needs the email channel; that is checked at start (the
    # hub's channels are not known here) and the site falls back to "never" without it.
    link = section.get("link_identity", "never")
    if link not in ("never", "verified_email"):
        raise _err(f"{path}.link_identity", 'expected "never" or "verified_email"')
    name = section.get("name", key)
    team = section.get("team")
    if not isinstance(name, str) or not name or len(name) > 80:
        raise _err(f"{path}.name", "expected a name of 1-80 characters")
    if team is not None and (not isinstance(team, str) or not team):
        raise _err(f"{path}.team", "expected a team name")
    return SiteConfig(
        key=key,
        name=name,
        allowed_origins=_origins(section.get("allowed_origins"), f"{path}.allowed_origins"),
        team=team,
        language=language,
        position=position,
        colors=colors,
        greeting=_lang_map(section["greeting"], f"{path}.greeting")
        if "greeting" in section
        else dict(DEFAULT_GREETING),
        prechat=prechat,
        prechat_one_of=one_of,
        topics=dict(topics),
        link_identity=link,
        offline_message=_lang_map(section["offline_message"], f"{path}.offline_message")
        if "offline_message" in section
        else {},
    )


def _types(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(t, str) and "/" in t for t in value):
        raise _err("attachment_types", 'expected a list of content types like ["image/png", "image/*"]')
    return tuple(t.lower() for t in value)


def parse_config(section: Mapping[str, Any]) -> WebchatConfig:
    unknown = set(section) - _CHANNEL_KEYS
    if unknown:
        raise _err(sorted(unknown)[0], "unknown setting")
    secret = section.get("token_secret")
    if not isinstance(secret, str) or len(secret) < 32:
        raise _err(
            "token_secret",
            "expected a random string of 32+ characters (it signs visitor tokens; "
            "or set SWITCHBOARD_CHANNELS__WEBCHAT__TOKEN_SECRET)",
        )
    sites_raw = section.get("sites")
    if not isinstance(sites_raw, Mapping) or not sites_raw:
        raise _err("sites", "expected at least one [channels.webchat.sites.<site key>] table")
    team = section.get("team")
    if team is not None and (not isinstance(team, str) or not team):
        raise _err("team", "expected a team name")
    return WebchatConfig(
        token_secret=secret.encode(),
        sites={key: _site(key, value) for key, value in sites_raw.items()},
        team=team,
        token_ttl_days=_int(section, "token_ttl_days", 365, lo=1, hi=3650, path="token_ttl_days"),
        max_message_chars=_int(section, "max_message_chars", 4000, lo=1, hi=65_536, path="max_message_chars"),
        max_attachment_bytes=_int(
            section, "max_attachment_bytes", 10_000_000, lo=1, hi=100_000_000, path="max_attachment_bytes"
        ),
        attachment_types=_types(section.get("attachment_types", list(DEFAULT_ATTACHMENT_TYPES))),
        max_attachments_per_message=_int(
            section, "max_attachments_per_message", 5, lo=0, hi=20, path="max_attachments_per_message"
        ),
        visitor_rate=_rate(section, "visitor_rate", Rate(burst=10, per_minute=30)),
        ip_rate=_rate(section, "ip_rate", Rate(burst=60, per_minute=600)),
        max_connections_per_ip=_int(
            section, "max_connections_per_ip", 50, lo=1, hi=1_000_000, path="max_connections_per_ip"
        ),
        email_followup=_bool(section, "email_followup", True),
        away_after_seconds=_float(section, "away_after_seconds", 60.0, path="away_after_seconds"),
        queue_refresh_seconds=_float(section, "queue_refresh_seconds", 15.0, path="queue_refresh_seconds"),
        abandon_after_seconds=_float(section, "abandon_after_seconds", 300.0, path="abandon_after_seconds"),
    )


def _bool(section: Mapping[str, Any], key: str, default: bool) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise _err(key, "expected true or false")
    return value
