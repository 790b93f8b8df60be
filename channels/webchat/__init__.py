"""Web chat: the embeddable widget's channel adapter (see docs/channels/webchat.md)."""

from channels.webchat.channel import WebchatChannel
from channels.webchat.config import SiteConfig, WebchatConfig, parse_config
from channels.webchat.csat import record_csat

__all__ = ["SiteConfig", "WebchatChannel", "WebchatConfig", "parse_config", "record_csat"]
