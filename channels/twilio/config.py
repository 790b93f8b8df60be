"""``[channels.sms]`` and ``[channels.whatsapp]``, and what ``[channels.voice]`` shares.

Each table is read once at start-up; a bad or missing value stops the hub with one
line naming the key and what is expected (``config error: channels.sms.account_sid:
...``). Secrets are kept out of ``repr`` so they never reach a log line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hub import consent_keywords
from hub.addresses import normalize_phone
from hub.care.parse import SCALES
from hub.services.errors import Invalid

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
API_KEY_SID = re.compile(r"^SK[0-9a-fA-F]{32}$")
CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")

# Twilio's own opt-out / opt-in keywords (it blocks sends after these on long codes
# too; honouring them here fails the send early with a clear reason).
OPT_OUT_KEYWORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
OPT_IN_KEYWORDS = ("START", "UNSTOP")

ACCOUNT_KEYS = frozenset(
    {
        "account_sid",
        "auth_token",
        "api_key",
        "api_secret",
        "api_base_url",
        "timeout_seconds",
        "numbers",
        "team",
    }
)
MESSAGING_KEYS = ACCOUNT_KEYS | {"status_callback", "opt_out_keywords", "opt_in_keywords"}
WHATSAPP_KEYS = MESSAGING_KEYS | {"templates", "survey_content_sids"}
SURVEY_KINDS = tuple(SCALES)  # csat, nps, ces


class Reader:
    """Typed reads of one config table; every failure is one ``config error`` line."""

    def __init__(self, kind: str, section: dict[str, Any], prefix: str = "") -> None:
        self.kind = kind
        self.section = section
        self.prefix = prefix

    def err(self, key: str, expected: str) -> ValueError:
        return ValueError(f"config error: channels.{self.kind}.{self.prefix}{key}: {expected}")

    def sub(self, key: str) -> Reader | None:
        value = self.section.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.err(key, "expected a table")
        return Reader(self.kind, value, f"{self.prefix}{key}.")

    def reject_unknown(self, known: frozenset[str] | set[str]) -> None:
        unknown = sorted(set(self.section) - set(known))
        if unknown:
            raise self.err(unknown[0], "unknown setting (see docs/channels/twilio.md)")

    def string(self, key: str, default: str | None = None) -> str:
        value = self.section.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.err(key, "expected a non-empty string")
        return value

    def opt_string(self, key: str) -> str | None:
        if self.section.get(key) is None:
            return None
        return self.string(key)

    def matching(
        self, key: str, pattern: re.Pattern[str], expected: str, *, required: bool = True
    ) -> str | None:
        value = self.section.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not pattern.match(value):
            raise self.err(key, expected)
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.section.get(key, default)
        if not isinstance(value, bool):
            raise self.err(key, "expected true or false")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.section.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise self.err(key, f"expected a number from {low:g} to {high:g}")
        return float(value)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.section.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.err(key, f"expected a whole number from {low} to {high}")
        return value

    def url(self, key: str, default: str | None = None) -> str | None:
        value = self.section.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise self.err(key, "expected an absolute http(s):// URL")
        return value.rstrip("/")

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self.section.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.err(key, "expected a list of non-empty strings")
        return tuple(value)

    def str_table(
        self, key: str, check_key: Callable[[str], str], check_value: Callable[[str], str]
    ) -> dict[str, str]:
        value = self.section.get(key, {})
        if not isinstance(value, dict):
            raise self.err(key, "expected a table")
        out: dict[str, str] = {}
        for k, v in value.items():
            if not isinstance(v, str):
                raise self.err(f"{key}.{k}", "expected a string")
            out[check_key(k)] = check_value(v)
        return out

    def phone(self, key: str, raw: str) -> str:
        try:
            return normalize_phone(raw)
        except Invalid:
            raise self.err(key, f"expected an E.164 phone number like +15551234567, got {raw!r}") from None


@dataclass(frozen=True)
class TwilioAccount:
    """Credentials and the REST endpoint. ``auth_token`` always signs webhooks."""

    account_sid: str
    auth_token: str = field(repr=False)
    api_key: str | None = None
    api_secret: str | None = field(default=None, repr=False)
    api_base_url: str | None = None  # None: https://api.twilio.com (tests point it at a double)
    timeout_seconds: float = 15.0

    @property
    def rest_credentials(self) -> tuple[str, str]:
        """API key + secret when configured (revocable, least privilege), else the token."""
        if self.api_key and self.api_secret:
            return self.api_key, self.api_secret
        return self.account_sid, self.auth_token


def read_account(r: Reader) -> TwilioAccount:
    sid = r.matching("account_sid", ACCOUNT_SID, "expected an Account SID: AC followed by 32 hex digits")
    token = r.string("auth_token")
    if len(token) < 16:
        raise r.err("auth_token", "expected the 32-character Auth Token (it verifies webhook signatures)")
    api_key = r.matching(
        "api_key", API_KEY_SID, "expected an API key SID: SK followed by 32 hex digits", required=False
    )
    api_secret = r.opt_string("api_secret")
    if (api_key is None) != (api_secret is None):
        raise r.err("api_secret" if api_key else "api_key", "set both api_key and api_secret, or neither")
    if api_secret is not None and len(api_secret) < 32:
        raise r.err("api_secret", "expected the API key's 32-character secret")
    assert sid is not None
    return TwilioAccount(
        account_sid=sid,
        auth_token=token,
        api_key=api_key,
        api_secret=api_secret,
        api_base_url=r.url("api_base_url"),
        timeout_seconds=r.number("timeout_seconds", 15.0, 0.01, 120.0),
    )


def read_numbers(r: Reader) -> dict[str, str | None]:
    """``numbers = { "+15551234567" = "Support" }``: our number -> its default team."""
    raw = r.section.get("numbers")
    if isinstance(raw, list):
        raw = {n: "" for n in raw}
    if not isinstance(raw, dict) or not raw:
        raise r.err("numbers", 'expected a table of your Twilio numbers, e.g. { "+15551234567" = "Support" }')
    out: dict[str, str | None] = {}
    for number, team in raw.items():
        if not isinstance(team, str):
            raise r.err(f"numbers.{number}", 'expected a team name, or "" for none')
        out[r.phone("numbers", str(number))] = team.strip() or None
    return out


def _keywords(r: Reader, key: str, defaults: tuple[str, ...]) -> frozenset[str]:
    return frozenset(normalize_keyword(k) for k in (*defaults, *r.str_list(key)))


# Keywords match the whole message, ignoring case, spaces and end punctuation, Arabic
# letter forms folded: the hub's one matcher (hub.consent_keywords). These lists are
# this channel's words on top of the hub's [consent] ones.
normalize_keyword = consent_keywords.normalize_keyword


@dataclass(frozen=True)
class MessagingConfig:
    kind: str
    account: TwilioAccount
    numbers: dict[str, str | None]
    status_callback: bool = True
    opt_out_keywords: frozenset[str] = frozenset()
    opt_in_keywords: frozenset[str] = frozenset()
    templates: dict[str, str] = field(default_factory=dict)  # WhatsApp: name -> Content SID
    # WhatsApp: survey kind (csat, nps, ces) -> Content SID of a quick-reply template
    survey_content_sids: dict[str, str] = field(default_factory=dict)
    team: str | None = None

    @property
    def default_number(self) -> str:
        return next(iter(self.numbers))

    @classmethod
    def from_section(cls, kind: str, section: dict[str, Any]) -> MessagingConfig:
        r = Reader(kind, section)
        r.reject_unknown(WHATSAPP_KEYS if kind == "whatsapp" else MESSAGING_KEYS)

        def content_sid(key: str) -> Callable[[str], str]:
            def check(value: str) -> str:
                if not CONTENT_SID.match(value):
                    raise r.err(key, f"expected Content SIDs (HX followed by 32 hex digits), got {value!r}")
                return value

            return check

        def survey_kind(kind: str) -> str:
            if kind not in SURVEY_KINDS:
                raise r.err(f"survey_content_sids.{kind}", "expected a survey kind: csat, nps or ces")
            return kind

        return cls(
            kind=kind,
            account=read_account(r),
            numbers=read_numbers(r),
            status_callback=r.boolean("status_callback", True),
            opt_out_keywords=_keywords(r, "opt_out_keywords", OPT_OUT_KEYWORDS),
            opt_in_keywords=_keywords(r, "opt_in_keywords", OPT_IN_KEYWORDS),
            templates=r.str_table("templates", lambda k: k, content_sid("templates")),
            survey_content_sids=r.str_table(
                "survey_content_sids", survey_kind, content_sid("survey_content_sids")
            ),
            team=r.opt_string("team"),
        )
