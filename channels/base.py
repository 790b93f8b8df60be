"""The one small interface every channel adapter implements.

Ingress: an adapter adds routes (webhooks) or runs listeners (polling), verifies and
parses what the provider sends, and hands an :class:`~hub.domain.InboundMessage` to
``hub.ingest`` — committing before the provider is answered. Egress: the outbox worker
calls ``send``. Splitting, throttling and retries live in the core, so an adapter only
does I/O and declares its limits as class attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from starlette.routing import BaseRoute

from hub.domain import OutboundMessage

if TYPE_CHECKING:
    from hub.context import Hub


class SendError(Exception):
    """A failed send. ``retryable`` False dead-letters at once (e.g. invalid number)."""

    def __init__(self, reason: str, *, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_message_id: str
    status: str = "sent"  # or "delivered" where the provider confirms at once


@runtime_checkable
class Channel(Protocol):
    kind: ClassVar[str]
    address_kind: ClassVar[str]
    max_body_length: ClassVar[int]
    supports_attachments: ClassVar[bool]
    rate_per_second: ClassVar[float | None]

    def routes(self) -> Sequence[BaseRoute]:
        """Starlette routes mounted under ``/channels/<kind>``."""
        ...

    async def start(self, hub: Hub) -> None:
        """Called once the hub is ready (listeners, pollers)."""
        ...

    async def stop(self) -> None: ...

    async def send(self, message: OutboundMessage) -> SendResult: ...


def config_error(kind: str, key: str, expected: str) -> ValueError:
    return ValueError(f"config error: channels.{kind}.{key}: {expected}")


def get_str(kind: str, section: dict[str, Any], key: str, default: str | None = None) -> str:
    value = section.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise config_error(kind, key, "expected a non-empty string")
    return value
