"""Outbound: an agent starts a conversation with a contact (hub.services.outbound)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import Field

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import ConversationOut, Id, In, MessageOut, Out
from hub.context import Hub
from hub.services import outbound
from hub.services.access import Actor
from hub.services.conversations import load_conversation
from hub.services.live import enrich

router = APIRouter(prefix="/contacts", tags=["outbound"])

VariableName = Annotated[str, Field(min_length=1, max_length=40)]
VariableValue = Annotated[str, Field(max_length=1000)]


class OutboundTemplateIn(In):
    """An approved WhatsApp template by its configured name, with its variables ("1": "Ana")."""

    name: str = Field(min_length=1, max_length=100)
    variables: dict[VariableName, VariableValue] = Field(
        default_factory=dict, max_length=outbound.MAX_TEMPLATE_VARIABLES
    )


class OutboundIn(In):
    channel: str = Field(min_length=1, max_length=20)
    body: str = Field(default="", max_length=65_536)
    subject: str = Field(default="", max_length=998)
    template: OutboundTemplateIn | None = None


class OutboundOut(Out):
    conversation: ConversationOut
    message: MessageOut
    reused: bool  # the customer's open conversation on that address was used


class ChannelOption(Out):
    channel: str
    address: str | None
    allowed: bool
    reason: str | None  # why not: no_address, no_telegram_chat, opted_out, not_your_team
    needs_subject: bool
    window_open: bool | None  # WhatsApp: may free text be sent now
    templates: list[str]


class ChannelOptions(Out):
    items: list[ChannelOption]


@router.get("/{contact_id}/outbound", response_model=ChannelOptions)
async def outbound_options(
    contact_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ChannelOptions:
    """The channels an agent may write first on to this contact, and why not where not."""
    items = await outbound.options(hub, actor, contact_id)
    return ChannelOptions(items=[ChannelOption.model_validate(i) for i in items])


@router.post("/{contact_id}/outbound", response_model=OutboundOut, status_code=201)
async def start_outbound(
    contact_id: Id, body: OutboundIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> OutboundOut:
    """Open (or reuse) a conversation assigned to the caller and send the first message
    through the normal reply path and the outbox."""
    template = outbound.Template(body.template.name, dict(body.template.variables)) if body.template else None
    started = await outbound.start(
        hub, actor, contact_id, body.channel, body.body, subject=body.subject, template=template
    )
    assert started.conversation.id is not None
    async with hub.db.session() as s:
        conv = await load_conversation(s, started.conversation.id)
    [row] = await enrich(hub, actor, [conv])
    return OutboundOut(
        conversation=ConversationOut.model_validate(row),
        message=MessageOut.model_validate(started.message),
        reused=started.reused,
    )
