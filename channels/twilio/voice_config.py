"""``[channels.voice]``: the call flow's settings (see docs/channels/twilio.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from channels.twilio.config import ACCOUNT_KEYS, Reader, TwilioAccount, read_account, read_numbers
from hub.timeutil import zone

APP_SID = re.compile(r"^AP[0-9a-fA-F]{32}$")

VOICE_KEYS = ACCOUNT_KEYS | {
    "language",
    "voice",
    "prompts",
    "ivr",
    "hold_music_url",
    "announce_position",
    "queue_name",
    "call_priority",
    "dial_timeout_seconds",
    "agent_numbers",
    "voicemail",
    "business_hours",
    "twiml_app_sid",
    "token_ttl_seconds",
}

DEFAULT_HOLD_MUSIC = "http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3"

# Spoken texts; ``{position}`` and ``{minutes}`` are filled in. Override any of them in
# ``[channels.voice.prompts]`` (e.g. in Arabic, with ``language = "ar-SA"``).
DEFAULT_PROMPTS: dict[str, str] = {
    "greeting": "Thank you for calling.",
    "position": "You are number {position} in the queue.",
    "wait": "The expected wait is about {minutes} minutes.",
    "voicemail_hint": "To leave a voicemail instead, press {key} at any time.",
    "connecting": "Connecting you to an agent now.",
    "after_hours": "We are closed at the moment.",
    "no_agents": "All of our agents are busy.",
    "voicemail": "Please leave a message after the tone, and we will call you back.",
    "voicemail_thanks": "Thank you. We will call you back. Goodbye.",
    "menu_invalid": "Sorry, that is not an option.",
    "withheld": "Sorry, we cannot take calls from a withheld number. Please call again with your number shown.",
    # The optional post-call question (a survey policy for the voice channel turns it on).
    "survey": "Before you go: how satisfied are you with the help you got? "
    "Press a key from 1, very unsatisfied, to 5, very satisfied.",
    "survey_thanks": "Thank you for your answer. Goodbye.",
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class IvrConfig:
    prompt: str
    options: dict[str, str]  # digit -> team name
    attempts: int = 2


@dataclass(frozen=True)
class VoicemailConfig:
    enabled: bool = True
    key: str = "1"  # pressed while waiting: leave a voicemail instead
    max_length_seconds: int = 120
    transcribe: bool = True


@dataclass(frozen=True)
class BusinessHours:
    timezone: str
    days: frozenset[int]  # 0 = Monday
    open: time
    close: time


@dataclass(frozen=True)
class VoiceConfig:
    account: TwilioAccount
    numbers: dict[str, str | None]
    language: str = "en-US"
    voice: str | None = None
    prompts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PROMPTS))
    ivr: IvrConfig | None = None
    hold_music_url: str = DEFAULT_HOLD_MUSIC
    announce_position: bool = True
    queue_name: str = "switchboard"
    call_priority: int = 10
    dial_timeout_seconds: int = 25
    agent_numbers: dict[str, str] = field(default_factory=dict)  # agent e-mail -> phone
    voicemail: VoicemailConfig = field(default_factory=VoicemailConfig)
    business_hours: BusinessHours | None = None
    twiml_app_sid: str | None = None
    token_ttl_seconds: int = 3600
    team: str | None = None

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> VoiceConfig:
        r = Reader("voice", section)
        r.reject_unknown(VOICE_KEYS)
        prompts = dict(DEFAULT_PROMPTS)
        prompt_reader = r.sub("prompts")
        if prompt_reader is not None:
            prompt_reader.reject_unknown(set(DEFAULT_PROMPTS))
            prompts.update({k: prompt_reader.string(k) for k in prompt_reader.section})
        return cls(
            account=read_account(r),
            numbers=read_numbers(r),
            language=r.string("language", "en-US"),
            voice=r.opt_string("voice"),
            prompts=prompts,
            ivr=_ivr(r),
            hold_music_url=r.url("hold_music_url", DEFAULT_HOLD_MUSIC) or DEFAULT_HOLD_MUSIC,
            announce_position=r.boolean("announce_position", True),
            queue_name=_queue_name(r),
            call_priority=r.integer("call_priority", 10, -100, 100),
            dial_timeout_seconds=r.integer("dial_timeout_seconds", 25, 5, 600),
            agent_numbers=r.str_table(
                "agent_numbers", lambda k: k.strip().lower(), lambda v: r.phone("agent_numbers", v)
            ),
            voicemail=_voicemail(r),
            business_hours=_hours(r),
            twiml_app_sid=r.matching(
                "twiml_app_sid",
                APP_SID,
                "expected a TwiML App SID: AP followed by 32 hex digits",
                required=False,
            ),
            token_ttl_seconds=r.integer("token_ttl_seconds", 3600, 60, 86_400),
            team=r.opt_string("team"),
        )


def _queue_name(r: Reader) -> str:
    name = r.string("queue_name", "switchboard")
    if len(name) > 64:  # Twilio's limit for <Enqueue> queue names
        raise r.err("queue_name", "expected at most 64 characters")
    return name


def _ivr(r: Reader) -> IvrConfig | None:
    s = r.sub("ivr")
    if s is None:
        return None
    s.reject_unknown({"prompt", "options", "attempts"})

    def digit(k: str) -> str:
        if not re.fullmatch(r"[0-9]", k):
            raise s.err("options", f"expected single digits 0-9 as keys, got {k!r}")
        return k

    def team(v: str) -> str:
        if not v.strip():
            raise s.err("options", "expected team names")
        return v.strip()

    options = s.str_table("options", digit, team)
    if not options:
        raise s.err("options", 'expected at least one option, e.g. { "1" = "Sales" }')
    return IvrConfig(prompt=s.string("prompt"), options=options, attempts=s.integer("attempts", 2, 1, 5))


def _voicemail(r: Reader) -> VoicemailConfig:
    s = r.sub("voicemail")
    if s is None:
        return VoicemailConfig()
    s.reject_unknown({"enabled", "key", "max_length_seconds", "transcribe"})
    key = s.string("key", "1")
    if not re.fullmatch(r"[0-9*#]", key):
        raise s.err("key", "expected one key: 0-9, * or #")
    return VoicemailConfig(
        enabled=s.boolean("enabled", True),
        key=key,
        max_length_seconds=s.integer("max_length_seconds", 120, 5, 3600),
        transcribe=s.boolean("transcribe", True),
    )


def _hours(r: Reader) -> BusinessHours | None:
    s = r.sub("business_hours")
    if s is None:
        return None
    s.reject_unknown({"timezone", "days", "open", "close"})
    tz = s.string("timezone")
    try:
        zone(tz)
    except ValueError:
        raise s.err("timezone", f"expected an IANA time zone like Asia/Riyadh, got {tz!r}") from None
    days = [d.strip().lower()[:3] for d in s.str_list("days")] or list(WEEKDAYS[:5])
    if any(d not in WEEKDAYS for d in days):
        raise s.err("days", f"expected day names from {', '.join(WEEKDAYS)}")
    opens, closes = _clock(s, "open"), _clock(s, "close")
    if closes <= opens:
        raise s.err("close", "expected a time after open (HH:MM, same day)")
    return BusinessHours(tz, frozenset(WEEKDAYS.index(d) for d in days), opens, closes)


def _clock(r: Reader, key: str) -> time:
    value = r.string(key)
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if m is None:
        raise r.err(key, "expected a time as HH:MM (24-hour)")
    return time(int(m.group(1)), int(m.group(2)))
