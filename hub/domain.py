"""The normalized shapes every channel speaks: immutable, with the raw payload kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

AddressKind = Literal["phone", "email", "telegram", "webchat", "loopback"]
InboundKind = Literal["text", "media", "call", "event"]


_PLAIN = frozenset({int, float, bool, type(None)})


def strip_nul(value: Any, depth: int = 0) -> Any:
    """The same value with NUL characters removed from every string: PostgreSQL cannot
    store them, and a provider would redeliver a webhook the hub refused forever."""
    if depth > 64:
        raise ValueError("nested too deeply")
    kind = type(value)
    if kind is str:
        return value.replace("\x00", "") if "\x00" in value else value
    if kind in _PLAIN:
        return value
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        # Every inbound message's raw payload comes through here: its flat string and
        # number values are handled inline, not with a call each.
        out = {}
        for k, v in value.items():
            if type(k) is not str or "\x00" in k:
                k = strip_nul(k, depth + 1)
            if type(v) is str:
                if "\x00" in v:
                    v = v.replace("\x00", "")
            elif type(v) not in _PLAIN:
                v = strip_nul(v, depth + 1)
            out[k] = v
        return out
    if isinstance(value, (list, tuple)):
        return [strip_nul(v, depth + 1) for v in value]
    return value


_CUT = {"sender_name": 200, "subject": 998}


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    filename: str = ""
    content_type: str = "application/octet-stream"
    size: int | None = None
    url: str | None = None  # provider-hosted media
    path: str | None = None  # stored under the hub's attachment directory


class InboundMessage(BaseModel):
    """What an adapter hands to :func:`hub.services.ingest.ingest`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _strip_nul(cls, data: Any) -> Any:
        data = strip_nul(data)
        if isinstance(data, dict):
            # Display text from the customer is cut, not refused: refusing a webhook
            # only makes the provider redeliver it.
            for name, limit in _CUT.items():
                if isinstance(data.get(name), str):
                    data[name] = data[name][:limit]
        return data

    channel: str  # channel kind: sms, whatsapp, voice, email, telegram, webchat, loopback
    provider_message_id: str = Field(min_length=1, max_length=255)
    address_kind: AddressKind
    sender: str = Field(min_length=1, max_length=320)
    sender_name: str = Field(default="", max_length=200)
    channel_account: str = ""  # our number / mailbox / bot the customer wrote to
    thread_key: str = ""  # "" = one open conversation per contact on this channel
    subject: str = Field(default="", max_length=998)
    body: str = ""
    kind: InboundKind = "text"
    attachments: tuple[Attachment, ...] = ()
    team: str | None = None  # a routing hint (IVR digit, deep-link topic, mailbox)
    priority: int = Field(default=0, ge=-100, le=100)  # e.g. calls above chat
    language: str | None = None
    received_at: datetime | None = None  # None: the hub's clock at ingest
    meta: dict[str, Any] = Field(default_factory=dict)
    raw: dict[str, Any] = Field(default_factory=dict)


class OutboundMessage(BaseModel):
    """What the outbox worker hands to a channel's ``send``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: int
    conversation_id: int
    channel: str
    to: str
    channel_account: str = ""
    thread_key: str = ""
    subject: str = ""
    body: str = ""
    attachments: tuple[Attachment, ...] = ()
    author_name: str = ""
    attempt: int = 1
    meta: dict[str, Any] = Field(default_factory=dict)
    # The same for every attempt at this message: a channel whose provider honours an
    # idempotency key sends it, so a retry after a crash mid-send is not a second send.
    idempotency_key: str = ""


class DeliveryUpdate(BaseModel):
    """A provider status callback, normalized."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: str
    provider_message_id: str
    status: Literal["sent", "delivered", "read", "failed"]
    error: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)
