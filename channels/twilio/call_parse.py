"""Twilio's voice webhooks → what the caller said to us, as inbound messages.

The call itself, its voicemail recording and the transcription all land on the
call's conversation: the thread key is the CallSid, and each message is keyed by its
own SID (CallSid, RecordingSid, TranscriptionSid), so Twilio's retries are no-ops.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from channels.twilio.parse import our_number
from hub.domain import Attachment, InboundMessage

CHANNEL = "voice"


def duration(seconds: str | int | None) -> str:
    """``"63"`` → ``"1:03"``."""
    try:
        total = max(0, int(seconds or 0))
    except ValueError:
        total = 0
    return f"{total // 60}:{total % 60:02d}"


def call_message(
    params: Mapping[str, str], team: str | None, received_at: datetime, digits: str = ""
) -> InboundMessage:
    """The call, as the first message of its own conversation."""
    to = our_number(params.get("To", ""))
    body = f"Incoming call to {to}"
    if digits:
        body += f" (menu option {digits}: {team})"
    return InboundMessage(
        channel=CHANNEL,
        provider_message_id=params["CallSid"],
        address_kind="phone",
        sender=params.get("From", ""),
        sender_name=params.get("CallerName", ""),
        channel_account=to,
        thread_key=params["CallSid"],  # each call is its own conversation
        body=body,
        kind="call",
        team=team,
        received_at=received_at,
        meta={"call": {"digits": digits} if digits else {}},
        raw=dict(params),
    )


def recording_message(
    params: Mapping[str, str], team: str | None, received_at: datetime
) -> InboundMessage | None:
    """The ``<Record>`` action: the voicemail as an audio attachment (None if silent)."""
    url, sid = params.get("RecordingUrl", ""), params.get("RecordingSid", "")
    seconds = params.get("RecordingDuration", "0")
    if not (url and sid) or seconds in ("", "0"):
        return None
    # Twilio serves the recording as MP3 when the URL ends in .mp3.
    audio = Attachment(filename=f"voicemail-{sid}.mp3", content_type="audio/mpeg", url=f"{url}.mp3")
    return _from_caller(params, sid, f"Voicemail ({duration(seconds)})", (audio,), team, received_at)


def transcription_message(
    params: Mapping[str, str], team: str | None, received_at: datetime
) -> InboundMessage | None:
    sid = params.get("TranscriptionSid", "")
    if not sid:
        return None
    text = params.get("TranscriptionText", "").strip()
    if params.get("TranscriptionStatus") == "completed" and text:
        body = f"Voicemail transcription: {text}"
    else:
        body = "The voicemail could not be transcribed; listen to the recording."
    return _from_caller(params, sid, body, (), team, received_at)


def _from_caller(
    params: Mapping[str, str],
    sid: str,
    body: str,
    attachments: tuple[Attachment, ...],
    team: str | None,
    received_at: datetime,
) -> InboundMessage | None:
    call_sid = params.get("CallSid", "")
    if not call_sid:
        return None
    return InboundMessage(
        channel=CHANNEL,
        provider_message_id=sid,
        address_kind="phone",
        sender=params.get("From", ""),
        channel_account=our_number(params.get("To", "")),
        thread_key=call_sid,
        body=body,
        kind="media" if attachments else "text",
        attachments=attachments,
        team=team,
        received_at=received_at,
        meta={"call": {"call_sid": call_sid}},
        raw=dict(params),
    )
