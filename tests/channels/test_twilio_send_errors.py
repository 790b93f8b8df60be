"""Every way a send to Twilio can fail, mapped to retryable or not (table-driven)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from channels.base import SendError
from channels.twilio import TwilioSmsChannel
from hub.domain import OutboundMessage
from tests.channels.twilio_double import CUSTOMER, OUR_NUMBER, TwilioDouble, channel_config, closed_port_url


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioDouble]:
    async with TwilioDouble().running() as double:
        yield double


def outbound(**kw: object) -> OutboundMessage:
    data: dict[str, object] = {
        "message_id": 1,
        "conversation_id": 1,
        "channel": "sms",
        "to": CUSTOMER,
        "channel_account": OUR_NUMBER,
        "body": "hello",
    }
    data.update(kw)
    return OutboundMessage.model_validate(data)


@dataclass(frozen=True)
class Case:
    name: str
    script: Callable[[TwilioDouble], None]
    retryable: bool
    reason: str
    retry_after: float | None = None


CASES = [
    Case(
        "invalid To",
        lambda d: d.fail_next(400, 21211, "The 'To' number +1415 is not a valid phone number."),
        False,
        "Twilio error 21211: The 'To' number +1415 is not a valid phone number. [HTTP 400]",
    ),
    Case(
        "unsubscribed recipient",
        lambda d: d.fail_next(400, 21610, "Attempt to send to unsubscribed recipient"),
        False,
        "Twilio error 21610: Attempt to send to unsubscribed recipient (the recipient has opted out",
    ),
    Case(
        "WhatsApp outside the window",
        lambda d: d.fail_next(
            400, 63016, "Failed to send freeform message because you are outside the allowed window."
        ),
        False,
        "Twilio error 63016",
    ),
    Case(
        "bad credentials",
        lambda d: d.fail_next(401, 20003, "Authenticate"),
        False,
        "Twilio error 20003: Authenticate (Twilio rejected the credentials",
    ),
    Case(
        "rate limited with Retry-After",
        lambda d: d.fail_next(429, 20429, "Too Many Requests", {"Retry-After": "7"}),
        True,
        "Twilio error 20429: Too Many Requests [HTTP 429]",
        retry_after=7.0,
    ),
    Case(
        "rate limited without Retry-After",
        lambda d: d.fail_next(429, 20429, "Too Many Requests"),
        True,
        "Twilio error 20429",
    ),
    Case("server error", lambda d: d.fail_next(500, 20500, "Internal Server Error"), True, "[HTTP 500]"),
    Case("unavailable", lambda d: d.fail_next(503, 20503, "Service Unavailable"), True, "[HTTP 503]"),
    Case("timeout", lambda d: d.hang_next(), True, "Twilio did not answer within 0.3s"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_send_failures_map_to_send_errors(twilio_api: TwilioDouble, case: Case) -> None:
    # Only the hanging case waits out the timeout; the others get a generous one, so a
    # loaded machine answering slowly does not turn an HTTP error into a timeout.
    timeout = 0.3 if case.name == "timeout" else 30.0
    channel = TwilioSmsChannel.from_config(channel_config(twilio_api.url, timeout_seconds=timeout))
    case.script(twilio_api)
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(outbound())
    finally:
        await channel.stop()
    assert caught.value.retryable is case.retryable
    assert case.reason in caught.value.reason
    assert caught.value.retry_after == case.retry_after
    assert len(twilio_api.messages()) == 1  # exactly one attempt: retries are the outbox's


async def test_connection_refused_is_retryable() -> None:
    channel = TwilioSmsChannel.from_config(channel_config(closed_port_url()))
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(outbound())
    finally:
        await channel.stop()
    assert caught.value.retryable and "could not reach Twilio" in caught.value.reason


async def test_api_key_credentials_are_used_for_rest_calls_when_configured() -> None:
    key, secret = "SK" + "0a" * 16, "anApiKeySecretValue0123456789abc"
    double = TwilioDouble(credentials={key: secret})
    async with double.running():
        channel = TwilioSmsChannel.from_config(channel_config(double.url, api_key=key, api_secret=secret))
        try:
            result = await channel.send(outbound())
        finally:
            await channel.stop()
    [sent] = double.messages()
    assert sent.username == key and result.provider_message_id.startswith("SM")


async def test_attachments_without_a_public_url_fail_without_calling_twilio(twilio_api: TwilioDouble) -> None:
    from hub.domain import Attachment

    channel = TwilioSmsChannel.from_config(channel_config(twilio_api.url))
    try:
        with pytest.raises(SendError) as caught:
            await channel.send(outbound(attachments=(Attachment(filename="a.pdf", path="a/b.pdf"),)))
    finally:
        await channel.stop()
    assert not caught.value.retryable and "public URL" in caught.value.reason
    assert twilio_api.requests == []
