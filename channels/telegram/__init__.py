"""Telegram channel adapter (python-telegram-bot): see docs/channels/telegram.md."""

from channels.telegram.channel import TelegramChannel, send_error
from channels.telegram.config import TelegramConfig, parse_config
from channels.telegram.parse import UnreadableUpdate, UpdateError, parse_update

__all__ = [
    "TelegramChannel",
    "TelegramConfig",
    "UnreadableUpdate",
    "UpdateError",
    "parse_config",
    "parse_update",
    "send_error",
]
