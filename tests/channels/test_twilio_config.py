"""[channels.sms|whatsapp|voice]: one clear line per bad value; secrets out of repr."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest

from channels.registry import build_registry
from channels.twilio import TwilioSmsChannel, TwilioVoiceChannel, TwilioWhatsAppChannel
from channels.twilio.availability import is_open
from channels.twilio.config import MessagingConfig
from channels.twilio.voice_config import BusinessHours, VoiceConfig
from tests.channels.twilio_double import ACCOUNT_SID, AUTH_TOKEN

GOOD: dict[str, Any] = {
    "account_sid": ACCOUNT_SID,
    "auth_token": AUTH_TOKEN,
    "numbers": {"+966501234567": "Support"},
}


def with_(**changes: Any) -> dict[str, Any]:
    section = {**GOOD, **changes}
    return {k: v for k, v in section.items() if v is not None}


BAD_MESSAGING = [
    (
        with_(account_sid=None),
        "channels.sms.account_sid: expected an Account SID: AC followed by 32 hex digits",
    ),
    (
        with_(account_sid="AC123"),
        "channels.sms.account_sid: expected an Account SID: AC followed by 32 hex digits",
    ),
    (with_(auth_token=None), "channels.sms.auth_token: expected a non-empty string"),
    (with_(auth_token="short"), "channels.sms.auth_token: expected the 32-character Auth Token"),
    (with_(api_key="SK" + "1" * 32), "channels.sms.api_secret: set both api_key and api_secret, or neither"),
    (with_(api_key="KEY"), "channels.sms.api_key: expected an API key SID: SK followed by 32 hex digits"),
    (with_(numbers=None), "channels.sms.numbers: expected a table of your Twilio numbers"),
    (with_(numbers={}), "channels.sms.numbers: expected a table of your Twilio numbers"),
    (
        with_(numbers={"12": "Support"}),
        "channels.sms.numbers: expected an E.164 phone number like +15551234567",
    ),
    (with_(numbers={"+966501234567": 3}), "channels.sms.numbers.+966501234567: expected a team name"),
    (with_(api_base_url="localhost:9000"), "channels.sms.api_base_url: expected an absolute http(s):// URL"),
    (with_(timeout_seconds=0), "channels.sms.timeout_seconds: expected a number from 0.01 to 120"),
    (with_(status_callback="yes"), "channels.sms.status_callback: expected true or false"),
    (with_(opt_out_keywords="STOP"), "channels.sms.opt_out_keywords: expected a list of non-empty strings"),
    (with_(templates={"a": "HX1"}), "channels.sms.templates: unknown setting"),
    (with_(sender="+1"), "channels.sms.sender: unknown setting"),
]


@pytest.mark.parametrize(("section", "message"), BAD_MESSAGING)
def test_bad_messaging_config_is_one_clear_line(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        TwilioSmsChannel.from_config(section)
    text = str(caught.value)
    assert text.startswith(f"config error: {message}") and "\n" not in text


BAD_VOICE = [
    (with_(ivr={"prompt": "Press 1"}), "channels.voice.ivr.options: expected at least one option"),
    (
        with_(ivr={"prompt": "x", "options": {"12": "Sales"}}),
        "channels.voice.ivr.options: expected single digits",
    ),
    (with_(voicemail={"key": "ab"}), "channels.voice.voicemail.key: expected one key: 0-9, * or #"),
    (with_(prompts={"greting": "Hi"}), "channels.voice.prompts.greting: unknown setting"),
    (
        with_(agent_numbers={"a@example.com": "nope"}),
        "channels.voice.agent_numbers: expected an E.164 phone number",
    ),
    (
        with_(business_hours={"timezone": "Mars/Base"}),
        "channels.voice.business_hours.timezone: expected an IANA",
    ),
    (
        with_(business_hours={"timezone": "UTC", "open": "17:00", "close": "08:00"}),
        "channels.voice.business_hours.close: expected a time after open",
    ),
    (with_(queue_name="q" * 65), "channels.voice.queue_name: expected at most 64 characters"),
    (with_(twiml_app_sid="AP1"), "channels.voice.twiml_app_sid: expected a TwiML App SID"),
    (with_(api_key="SK" + "1" * 32, api_secret="short"), "channels.voice.api_secret: expected the API key's"),
]


@pytest.mark.parametrize(("section", "message"), BAD_VOICE)
def test_bad_voice_config_is_one_clear_line(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        TwilioVoiceChannel.from_config(section)
    assert str(caught.value).startswith(f"config error: {message}")


def test_whatsapp_templates_need_content_sids() -> None:
    with pytest.raises(ValueError, match=r"channels.whatsapp.templates: expected Content SIDs"):
        TwilioWhatsAppChannel.from_config(with_(templates={"order_update": "order_update_v2"}))


SURVEY_SID = "HX" + "5" * 32


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"csat": "csat_buttons"}, "channels.whatsapp.survey_content_sids: expected Content SIDs"),
        ({"stars": SURVEY_SID}, "channels.whatsapp.survey_content_sids.stars: expected a survey kind"),
        ("HX", "channels.whatsapp.survey_content_sids: expected a table"),
    ],
)
def test_whatsapp_survey_templates_are_content_sids_per_kind(value: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        TwilioWhatsAppChannel.from_config(with_(survey_content_sids=value))
    assert str(caught.value).startswith(f"config error: {message}")
    cfg = MessagingConfig.from_section("whatsapp", with_(survey_content_sids={"csat": SURVEY_SID}))
    assert cfg.survey_content_sids == {"csat": SURVEY_SID}
    with pytest.raises(ValueError, match=r"channels.sms.survey_content_sids: unknown setting"):
        TwilioSmsChannel.from_config(with_(survey_content_sids={"csat": SURVEY_SID}))


def test_a_full_config_parses_and_keeps_secrets_out_of_repr() -> None:
    cfg = VoiceConfig.from_section(
        with_(
            api_key="SK" + "a" * 32,
            api_secret="s" * 32,
            numbers={"+966501234567": "Support", "+15551234567": ""},
            team="Support",
            language="ar-SA",
            ivr={"prompt": "للمبيعات اضغط 1", "options": {"1": "Sales"}},
            agent_numbers={"Ana@Example.com": "+15551230000"},
            business_hours={
                "timezone": "Asia/Riyadh",
                "days": ["sun", "mon", "tue", "wed", "thu"],
                "open": "08:00",
                "close": "17:00",
            },
        )
    )
    assert cfg.numbers == {"+966501234567": "Support", "+15551234567": None}
    assert cfg.agent_numbers == {"ana@example.com": "+15551230000"}
    assert cfg.account.rest_credentials == ("SK" + "a" * 32, "s" * 32)
    assert cfg.business_hours == BusinessHours("Asia/Riyadh", frozenset({6, 0, 1, 2, 3}), time(8), time(17))
    assert AUTH_TOKEN not in repr(cfg) and "s" * 32 not in repr(cfg)
    sms = MessagingConfig.from_section("sms", with_(numbers=["+15551234567"]))
    assert sms.numbers == {"+15551234567": None} and sms.default_number == "+15551234567"


def test_business_hours_are_local_time() -> None:
    hours = BusinessHours("Asia/Riyadh", frozenset({6, 0}), time(8), time(17))  # Sunday, Monday
    assert is_open(hours, datetime(2026, 1, 5, 5, 0, tzinfo=UTC))  # Monday 08:00 in Riyadh
    assert not is_open(hours, datetime(2026, 1, 5, 4, 59, tzinfo=UTC))
    assert not is_open(hours, datetime(2026, 1, 6, 9, 0, tzinfo=UTC))  # Tuesday
    assert is_open(None, datetime(2026, 1, 6, 3, 0, tzinfo=UTC))


def test_the_registry_builds_the_three_kinds_from_toml_tables() -> None:
    registry = build_registry(
        {
            "sms": {"enabled": True, **GOOD, "team": "Support"},
            "whatsapp": {**GOOD, "templates": {"hello": "HX" + "b" * 32}},
            "voice": GOOD,
            "loopback": {"enabled": False},
        }
    )
    assert registry.kinds() == ["sms", "voice", "whatsapp"]
    assert isinstance(registry.get("voice"), TwilioVoiceChannel)
