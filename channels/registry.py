"""One explicit registry of channel kinds; a kind claimed twice is an error."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from channels.base import Channel

# kind -> "module:Class". Adapters are imported only when enabled.
CHANNEL_TYPES: dict[str, str] = {
    "loopback": "channels.loopback:LoopbackChannel",
    "sms": "channels.twilio:TwilioSmsChannel",
    "whatsapp": "channels.twilio:TwilioWhatsAppChannel",
    "voice": "channels.twilio:TwilioVoiceChannel",
    "email": "channels.email:EmailChannel",
    "telegram": "channels.telegram:TelegramChannel",
    "webchat": "channels.webchat:WebchatChannel",
}


class DuplicateChannelError(ValueError):
    pass


class UnknownChannelError(KeyError):
    pass


class ChannelRegistry:
    def __init__(self) -> None:
        self._channels: dict[str, Channel] = {}

    def register(self, channel: Channel) -> None:
        if channel.kind in self._channels:
            raise DuplicateChannelError(f"channel kind {channel.kind!r} is registered twice")
        self._channels[channel.kind] = channel

    def get(self, kind: str) -> Channel:
        try:
            return self._channels[kind]
        except KeyError:
            raise UnknownChannelError(kind) from None

    def __contains__(self, kind: object) -> bool:
        return kind in self._channels

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._channels.values())

    def kinds(self) -> list[str]:
        return sorted(self._channels)


def build_registry(channels_config: dict[str, dict[str, Any]]) -> ChannelRegistry:
    """Instantiate every enabled channel from its config table."""
    registry = ChannelRegistry()
    for kind, section in channels_config.items():
        if not isinstance(section, dict):
            raise ValueError(f"config error: channels.{kind}: expected a table")
        if not section.get("enabled", True):
            continue
        target = CHANNEL_TYPES.get(kind)
        if target is None:
            known = ", ".join(sorted(CHANNEL_TYPES))
            raise ValueError(f"config error: channels.{kind}: unknown channel kind (known: {known})")
        module_name, _, cls_name = target.partition(":")
        cls = getattr(importlib.import_module(module_name), cls_name)
        try:
            channel = cls.from_config({k: v for k, v in section.items() if k != "enabled"})
        except (TypeError, ValueError) as exc:
            # A value of the wrong type (a list where a number belongs) must read as a
            # config error too, not as a traceback.
            message = str(exc)
            if not message.startswith("config error"):
                message = f"config error: channels.{kind}: {message}"
            raise ValueError(message) from None
        registry.register(channel)
    return registry
