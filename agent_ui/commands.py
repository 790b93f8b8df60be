"""Commands a console may send over its socket. Each maps to one service function,
so the socket and the REST API share one set of rules — and one set of argument
models: a command's arguments are validated by the REST body model plus
``conversation_id``, so a bad or unknown argument gets the same ``validation_error``
(with the field named) as the REST call would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError, model_validator

from hub.api.routes_chat import ChatReadIn, ChatSendIn
from hub.api.schemas import AssignIn, In, NoteIn, PriorityIn, ReplyIn, ResolveIn, TransferIn
from hub.events import Event
from hub.models import OfferStatus, Presence
from hub.services import chat, offers, users
from hub.services import conversations as conv_svc
from hub.services.access import require_view
from hub.services.errors import Invalid

if TYPE_CHECKING:
    from agent_ui.gateway import Connection, Gateway

MAX_ID = 2**63 - 1
ENVELOPE = frozenset({"type", "id", "command"})


class ConvArg(In):
    conversation_id: int = Field(ge=1, le=MAX_ID, strict=True)


class ReplyCmd(ReplyIn, ConvArg):
    pass


class NoteCmd(NoteIn, ConvArg):
    pass


class AssignCmd(AssignIn, ConvArg):
    pass


class TransferCmd(TransferIn, ConvArg):
    pass


class ResolveCmd(ResolveIn, ConvArg):
    pass


class PriorityCmd(PriorityIn, ConvArg):
    pass


class SnoozeCmd(ConvArg):
    seconds: int | None = Field(default=None, ge=1, le=366 * 86_400, strict=True)
    until: datetime | None = None

    @model_validator(mode="after")
    def _one(self) -> SnoozeCmd:
        if (self.seconds is None) == (self.until is None):
            raise ValueError("give exactly one of seconds or until")
        return self


class PresenceCmd(In):
    presence: Presence
    user_id: int | None = Field(default=None, ge=1, le=MAX_ID, strict=True)


class ValidationFailed(Exception):
    """Carries pydantic's errors in the REST shape (``fields``)."""

    def __init__(self, fields: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{f['field']}: {f['message']}" for f in fields[:5]))
        self.fields = fields


def parse(model: type[Any], msg: dict[str, Any]) -> Any:
    args = {k: v for k, v in msg.items() if k not in ENVELOPE}
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        fields = []
        for err in exc.errors():
            text = "unknown field" if err.get("type") == "extra_forbidden" else str(err.get("msg", "invalid"))
            fields.append({"field": ".".join(str(p) for p in err.get("loc", ())) or "body", "message": text})
        raise ValidationFailed(fields) from None


def _message(m: Any) -> dict[str, Any]:
    return {
        "message_id": m.id,
        "conversation_id": m.conversation_id,
        "delivery_status": str(m.delivery_status),
    }


def _conv(c: Any) -> dict[str, Any]:
    return {
        "conversation_id": c.id,
        "status": str(c.status),
        "assignee_id": c.assignee_id,
        "team_id": c.team_id,
    }


async def reply(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: ReplyCmd = parse(ReplyCmd, msg)
    if a.template is not None:
        raise Invalid("templates are sent over REST (POST …/reply)", code="bad_argument")
    m = await conv_svc.reply(gw.hub, conn.actor, a.conversation_id, a.body, subject=a.subject)
    return _message(m)


async def note(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: NoteCmd = parse(NoteCmd, msg)
    return _message(await conv_svc.add_note(gw.hub, conn.actor, a.conversation_id, a.body))


async def accept(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: ConvArg = parse(ConvArg, msg)
    offer = await offers.accept_offer(gw.hub, conn.actor, a.conversation_id)
    return {"conversation_id": offer.conversation_id, "offer_id": offer.id, "status": str(offer.status)}


async def reject(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: ConvArg = parse(ConvArg, msg)
    offer = await offers.close_offer(
        gw.hub, a.conversation_id, OfferStatus.rejected, actor=conn.actor, reason="rejected"
    )
    return {"conversation_id": offer.conversation_id, "offer_id": offer.id, "status": str(offer.status)}


async def assign(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: AssignCmd = parse(AssignCmd, msg)
    return _conv(await conv_svc.assign(gw.hub, conn.actor, a.conversation_id, a.user_id))


async def transfer(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: TransferCmd = parse(TransferCmd, msg)
    if a.team_id is None and a.user_id is None:
        raise Invalid("give team_id, user_id, or both (a colleague in that team)", code="transfer_target")
    c = await conv_svc.transfer(
        gw.hub, conn.actor, a.conversation_id, to_team_id=a.team_id, to_user_id=a.user_id, note=a.note
    )
    return _conv(c)


async def resolve(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: ResolveCmd = parse(ResolveCmd, msg)
    category = a.category.value if a.category is not None else None
    return _conv(await conv_svc.resolve(gw.hub, conn.actor, a.conversation_id, category=category))


async def reopen(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: ConvArg = parse(ConvArg, msg)
    return _conv(await conv_svc.reopen(gw.hub, conn.actor, a.conversation_id))


async def snooze(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: SnoozeCmd = parse(SnoozeCmd, msg)
    if a.seconds is not None:
        until = gw.hub.now() + timedelta(seconds=a.seconds)
    else:
        assert a.until is not None
        until = a.until if a.until.tzinfo else a.until.replace(tzinfo=UTC)
    return _conv(await conv_svc.snooze(gw.hub, conn.actor, a.conversation_id, until))


async def set_priority(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: PriorityCmd = parse(PriorityCmd, msg)
    return _conv(await conv_svc.set_priority(gw.hub, conn.actor, a.conversation_id, a.priority))


async def set_presence(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: PresenceCmd = parse(PresenceCmd, msg)
    user_id = a.user_id or conn.user_id
    u = await users.set_presence(gw.hub, conn.actor, user_id, a.presence.value, reason="manual")
    return {"user_id": u.id, "presence": str(u.presence)}


async def _visible(gw: Gateway, conn: Connection, conversation_id: int) -> Any:
    async with gw.hub.db.session() as s:
        c = await conv_svc.load_conversation(s, conversation_id)
    require_view(conn.actor, c)
    return c


async def typing(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: ConvArg = parse(ConvArg, msg)
    c = await _visible(gw, conn, a.conversation_id)
    # Ephemeral: travels on the bus (to channels such as web chat and to watchers),
    # never stored. The envelope (team, assignee) decides who sees it, as for messages.
    event = Event(
        id=0,
        type="typing",
        conversation_id=c.id,
        team_id=c.team_id,
        user_id=c.assignee_id,
        payload={"conversation_id": c.id, "user_id": conn.user_id, "side": "agent"},
    )
    await gw.hub.bus.publish([event])
    return {"conversation_id": c.id}


async def watch(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: ConvArg = parse(ConvArg, msg)
    c = await _visible(gw, conn, a.conversation_id)
    gw.watch(conn, c.id, True)
    return {"conversation_id": c.id, "watching": True}


async def unwatch(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: ConvArg = parse(ConvArg, msg)
    gw.watch(conn, a.conversation_id, False)
    return {"conversation_id": a.conversation_id, "watching": False}


# -- internal messages between staff (hub.services.chat; the REST bodies plus room_id) --
class RoomArg(In):
    room_id: int = Field(ge=1, le=MAX_ID, strict=True)


class ChatSendCmd(ChatSendIn, RoomArg):
    pass


class ChatReadCmd(ChatReadIn, RoomArg):
    pass


async def chat_send(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: ChatSendCmd = parse(ChatSendCmd, msg)
    m = await chat.send(gw.hub, conn.actor, a.room_id, a.body)
    return {"message_id": m.id, "room_id": m.room_id, "created_at": m.created_at.isoformat()}


async def chat_read(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    a: ChatReadCmd = parse(ChatReadCmd, msg)
    marker, unread = await chat.mark_read(gw.hub, conn.actor, a.room_id, a.message_id)
    return {"room_id": a.room_id, "last_read_message_id": marker, "unread": unread}


COMMANDS = {
    "reply": reply,
    "note": note,
    "accept": accept,
    "reject": reject,
    "assign": assign,
    "transfer": transfer,
    "resolve": resolve,
    "reopen": reopen,
    "snooze": snooze,
    "set_priority": set_priority,
    "set_presence": set_presence,
    "typing": typing,
    "watch": watch,
    "unwatch": unwatch,
    "chat.send": chat_send,
    "chat.read": chat_read,
}
