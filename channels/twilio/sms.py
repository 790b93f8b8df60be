"""SMS and MMS through a Twilio number."""

from __future__ import annotations

from typing import ClassVar

from channels.twilio.messaging import BaseTwilioMessagingChannel


class TwilioSmsChannel(BaseTwilioMessagingChannel):
    kind: ClassVar[str] = "sms"
    label: ClassVar[str] = "SMS"
