"""The ``[channels.telegram]`` table: validated once, one line per mistake."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from channels.base import config_error

KIND = "telegram"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# Telegram's rule for secret_token is 1-256 of these characters; we ask for 16+.
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
# Deep-link payloads (t.me/<bot>?start=<payload>) are 1-64 of these characters.
_TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KNOWN_KEYS = frozenset(
    {
        "bot_token",
        "webhook_secret",
        "webhook_url",
        "mode",
        "base_url",
        "team",
        "topics",
        "timeout",
        "poll_timeout",
        "poll_retry_seconds",
    }
)


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """The ``[channels.telegram]`` table, validated. Secrets stay out of ``repr``."""

    bot_token: str = field(repr=False)
    mode: Literal["webhook", "polling"] = "webhook"
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_url: str | None = None  # when set, start() registers the webhook itself
    base_url: str = DEFAULT_BASE_URL
    team: str | None = None
    topics: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0  # seconds for each Bot API call
    poll_timeout: int = 30  # long-poll seconds for getUpdates
    poll_retry_seconds: float = 1.0  # first backoff after a failed poll; doubles to 60 s

    @property
    def bot_id(self) -> str:
        # The token starts with the bot's user id: known without a network call.
        return self.bot_token.split(":", 1)[0]


def _error(key: str, expected: str) -> ValueError:
    return config_error(KIND, key, expected)


def _optional_str(section: Mapping[str, Any], key: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _error(key, "expected a non-empty string")
    return value


def _positive(section: Mapping[str, Any], key: str, default: float) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _error(key, "expected a number of seconds greater than 0")
    return float(value)


def _topics(section: Mapping[str, Any]) -> dict[str, str]:
    value = section.get("topics", {})
    if not isinstance(value, Mapping):
        raise _error("topics", 'expected a table of deep-link topic = "team name"')
    for topic, team in value.items():
        if not isinstance(topic, str) or not _TOPIC_RE.match(topic):
            raise _error(f"topics.{topic}", "expected a topic of 1-64 characters A-Z a-z 0-9 _ -")
        if not isinstance(team, str) or not team:
            raise _error(f"topics.{topic}", "expected a team name")
    return dict(value)


def parse_config(section: Mapping[str, Any]) -> TelegramConfig:
    """Validate the config table; a bad value raises one line naming the key."""
    unknown = set(section) - _KNOWN_KEYS
    if unknown:
        raise _error(sorted(unknown)[0], "unknown setting")
    token = section.get("bot_token")
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        raise _error("bot_token", "expected the token from @BotFather, like 123456789:AAE...")
    mode = section.get("mode", "webhook")
    if mode not in ("webhook", "polling"):
        raise _error("mode", 'expected "webhook" or "polling"')
    secret = _optional_str(section, "webhook_secret")
    if secret is not None and not _SECRET_RE.match(secret):
        raise _error("webhook_secret", "expected 16-256 characters A-Z a-z 0-9 _ -")
    if mode == "webhook" and secret is None:
        raise _error(
            "webhook_secret", "expected 16-256 characters A-Z a-z 0-9 _ - (required in webhook mode)"
        )
    webhook_url = _optional_str(section, "webhook_url")
    if webhook_url is not None and not webhook_url.startswith("https://"):
        raise _error("webhook_url", "expected an https:// URL (Telegram only calls https webhooks)")
    base_url = _optional_str(section, "base_url") or DEFAULT_BASE_URL
    if not base_url.startswith(("http://", "https://")):
        raise _error("base_url", "expected an http(s) URL such as https://api.telegram.org/bot")
    poll_timeout = section.get("poll_timeout", 30)
    if isinstance(poll_timeout, bool) or not isinstance(poll_timeout, int) or not 0 <= poll_timeout <= 60:
        raise _error("poll_timeout", "expected whole seconds from 0 to 60")
    return TelegramConfig(
        bot_token=token,
        mode=mode,
        webhook_secret=secret,
        webhook_url=webhook_url,
        base_url=base_url,
        team=_optional_str(section, "team"),
        topics=_topics(section),
        timeout=_positive(section, "timeout", 10.0),
        poll_timeout=poll_timeout,
        poll_retry_seconds=_positive(section, "poll_retry_seconds", 1.0),
    )
