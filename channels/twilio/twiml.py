"""The voice call flow as TwiML documents, built with the official TwiML classes.

Pure functions of the configuration and absolute callback URLs (absolute, because
the bridge TwiML is sent through the REST API, where nothing is relative).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from twilio.twiml import TwiML
from twilio.twiml.voice_response import VoiceResponse

from channels.twilio.voice_config import VoiceConfig

# Twilio posts call-leg progress for these; "answered" fires when the agent picks up.
AGENT_LEG_EVENTS = "initiated ringing answered completed"


@dataclass(frozen=True)
class VoiceUrls:
    base: str  # https://hub.example.com/channels/voice

    def __call__(self, name: str, **query: str | int) -> str:
        url = f"{self.base}/{name}"
        return f"{url}?{urlencode(query)}" if query else url


@dataclass(frozen=True)
class Target:
    """Where an accepted call rings: the agent's browser softphone or their phone."""

    kind: str  # "client" | "number"
    address: str  # client identity, or an E.164 number


def _say(node: TwiML, text: str, cfg: VoiceConfig) -> None:
    # <Say language="ar-SA"> (with a matching voice) speaks Arabic prompts.
    node.say(text, language=cfg.language, voice=cfg.voice)  # type: ignore[attr-defined]


def menu(
    cfg: VoiceConfig, urls: VoiceUrls, attempt: int, *, greet: bool, invalid: bool = False
) -> VoiceResponse:
    """Greeting and the IVR prompt; no key pressed falls through to the same URL."""
    assert cfg.ivr is not None
    r = VoiceResponse()
    if greet:
        _say(r, cfg.prompts["greeting"], cfg)
    if invalid:
        _say(r, cfg.prompts["menu_invalid"], cfg)
    action = urls("menu", attempt=attempt)
    gather = r.gather(num_digits=1, action=action, method="POST", timeout=6)
    _say(gather, cfg.ivr.prompt, cfg)
    r.redirect(action, method="POST")
    return r


def enqueue(cfg: VoiceConfig, urls: VoiceUrls, *, greet: bool) -> VoiceResponse:
    """Hold in Twilio's queue; the wait URL plays music and announcements."""
    r = VoiceResponse()
    if greet:
        _say(r, cfg.prompts["greeting"], cfg)
    r.enqueue(
        cfg.queue_name,
        wait_url=urls("wait"),
        wait_url_method="POST",
        action=urls("queue-exit"),
        method="POST",
    )
    return r


def wait(
    cfg: VoiceConfig, urls: VoiceUrls, *, position: int | None, wait_seconds: float | None
) -> VoiceResponse:
    """One turn of the hold loop: Twilio requests the wait URL again when it ends."""
    r = VoiceResponse()
    if cfg.announce_position and position is not None:
        _say(r, cfg.prompts["position"].format(position=position), cfg)
    if cfg.announce_position and wait_seconds is not None:
        minutes = max(1, round(wait_seconds / 60))
        _say(r, cfg.prompts["wait"].format(minutes=minutes), cfg)
    if cfg.voicemail.enabled:
        # A key pressed during the music ends the Gather; its action answers <Leave>.
        gather = r.gather(num_digits=1, action=urls("wait-key"), method="POST", timeout=1)
        _say(gather, cfg.prompts["voicemail_hint"].format(key=cfg.voicemail.key), cfg)
        gather.play(cfg.hold_music_url)
    else:
        r.play(cfg.hold_music_url)
    return r


def leave_queue() -> VoiceResponse:
    r = VoiceResponse()
    r.leave()
    return r


def voicemail(cfg: VoiceConfig, urls: VoiceUrls, reason: str, *, greet: bool = False) -> VoiceResponse:
    """Why, then record with transcription; silence falls through to goodbye."""
    r = VoiceResponse()
    if greet:
        _say(r, cfg.prompts["greeting"], cfg)
    if reason:
        _say(r, reason, cfg)
    if not cfg.voicemail.enabled:
        r.hangup()
        return r
    _say(r, cfg.prompts["voicemail"], cfg)
    vm = cfg.voicemail
    r.record(
        action=urls("recording"),
        method="POST",
        max_length=vm.max_length_seconds,
        play_beep=True,
        finish_on_key="#",
        transcribe=vm.transcribe,
        transcribe_callback=urls("transcription") if vm.transcribe else None,
    )
    _say(r, cfg.prompts["voicemail_thanks"], cfg)
    r.hangup()
    return r


def goodbye(cfg: VoiceConfig) -> VoiceResponse:
    r = VoiceResponse()
    _say(r, cfg.prompts["voicemail_thanks"], cfg)
    r.hangup()
    return r


def refuse(cfg: VoiceConfig, text: str) -> VoiceResponse:
    r = VoiceResponse()
    _say(r, text, cfg)
    r.hangup()
    return r


def keypad_survey(cfg: VoiceConfig, urls: VoiceUrls, token: str) -> VoiceResponse:
    """After the agent hangs up: one key for the caller's rating, then goodbye."""
    r = VoiceResponse()
    gather = r.gather(num_digits=1, action=urls("survey", token=token), method="POST", timeout=8)
    _say(gather, cfg.prompts["survey"], cfg)
    r.hangup()  # no key pressed
    return r


def survey_thanks(cfg: VoiceConfig) -> VoiceResponse:
    r = VoiceResponse()
    _say(r, cfg.prompts["survey_thanks"], cfg)
    r.hangup()
    return r


def hang_up() -> VoiceResponse:
    r = VoiceResponse()
    r.hangup()
    return r


def bridge(cfg: VoiceConfig, urls: VoiceUrls, target: Target) -> VoiceResponse:
    """Sent to the live call when an agent accepts: ring them, report progress."""
    r = VoiceResponse()
    _say(r, cfg.prompts["connecting"], cfg)
    dial = r.dial(action=urls("dial-status"), method="POST", timeout=cfg.dial_timeout_seconds)
    callbacks = {
        "status_callback": urls("agent-status"),
        "status_callback_event": AGENT_LEG_EVENTS,
        "status_callback_method": "POST",
    }
    if target.kind == "number":
        dial.number(target.address, **callbacks)
    else:
        dial.client(target.address, **callbacks)
    return r


def call_out(cfg: VoiceConfig, number: str, caller_id: str) -> VoiceResponse:
    """An agent's softphone calls a customer back, showing our number."""
    r = VoiceResponse()
    dial = r.dial(caller_id=caller_id, timeout=cfg.dial_timeout_seconds)
    dial.number(number)
    return r
