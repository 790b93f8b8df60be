"""Commands a console may send over its socket. Each maps to one service function,
so the socket and the REST API share one set of rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hub.events import Event
from hub.models import OfferStatus
from hub.services import conversations as conv_svc
from hub.services import offers, users
from hub.services.access import require_view
from hub.services.errors import Invalid

if TYPE_CHECKING:
    from agent_ui.gateway import Connection, Gateway


def _arg(msg: dict[str, Any], name: str, kind: type, *, required: bool = True) -> Any:
    value = msg.get(name)
    if value is None:
        if required:
            raise Invalid(f"{name} is required", code="missing_argument")
        return None
    if kind is int and isinstance(value, bool):
        raise Invalid(f"{name} must be {kind.__name__}", code="bad_argument")
    if not isinstance(value, kind):
        raise Invalid(f"{name} must be {kind.__name__}", code="bad_argument")
    return value


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
    m = await conv_svc.reply(
        gw.hub,
        conn.actor,
        _arg(msg, "conversation_id", int),
        _arg(msg, "body", str),
        subject=_arg(msg, "subject", str, required=False) or "",
    )
    return _message(m)


async def note(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    return _message(
        await conv_svc.add_note(gw.hub, conn.actor, _arg(msg, "conversation_id", int), _arg(msg, "body", str))
    )


async def accept(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    offer = await offers.accept_offer(gw.hub, conn.actor, _arg(msg, "conversation_id", int))
    return {"conversation_id": offer.conversation_id, "offer_id": offer.id, "status": str(offer.status)}


async def reject(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    offer = await offers.close_offer(
        gw.hub, _arg(msg, "conversation_id", int), OfferStatus.rejected, actor=conn.actor, reason="rejected"
    )
    return {"conversation_id": offer.conversation_id, "offer_id": offer.id, "status": str(offer.status)}


async def assign(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    c = await conv_svc.assign(
        gw.hub, conn.actor, _arg(msg, "conversation_id", int), _arg(msg, "user_id", int)
    )
    return _conv(c)


async def transfer(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    c = await conv_svc.transfer(
        gw.hub,
        conn.actor,
        _arg(msg, "conversation_id", int),
        to_team_id=_arg(msg, "team_id", int, required=False),
        to_user_id=_arg(msg, "user_id", int, required=False),
        note=_arg(msg, "note", str, required=False) or "",
    )
    return _conv(c)


async def resolve(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    c = await conv_svc.resolve(
        gw.hub,
        conn.actor,
        _arg(msg, "conversation_id", int),
        category=_arg(msg, "category", str, required=False),
    )
    return _conv(c)


async def reopen(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    return _conv(await conv_svc.reopen(gw.hub, conn.actor, _arg(msg, "conversation_id", int)))


async def snooze(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    seconds = _arg(msg, "seconds", int, required=False)
    if seconds is not None:
        until = gw.hub.now() + timedelta(seconds=seconds)
    else:
        try:
            until = datetime.fromisoformat(_arg(msg, "until", str))
        except ValueError:
            raise Invalid("until must be an ISO 8601 time with a zone", code="bad_argument") from None
        if until.tzinfo is None:
            raise Invalid("until must include a time zone", code="bad_argument")
    return _conv(await conv_svc.snooze(gw.hub, conn.actor, _arg(msg, "conversation_id", int), until))


async def set_priority(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    c = await conv_svc.set_priority(
        gw.hub, conn.actor, _arg(msg, "conversation_id", int), _arg(msg, "priority", int)
    )
    return _conv(c)


async def set_presence(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    user_id = _arg(msg, "user_id", int, required=False) or conn.user_id
    u = await users.set_presence(gw.hub, conn.actor, user_id, _arg(msg, "presence", str), reason="manual")
    return {"user_id": u.id, "presence": str(u.presence)}


async def _visible(gw: Gateway, conn: Connection, conversation_id: int) -> Any:
    async with gw.hub.db.session() as s:
        c = await conv_svc.load_conversation(s, conversation_id)
    require_view(conn.actor, c)
    return c


async def typing(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    c = await _visible(gw, conn, _arg(msg, "conversation_id", int))
    # Ephemeral: travels on the bus (to channels such as web chat and to watchers),
    # never stored.
    event = Event(
        id=0,
        type="typing",
        conversation_id=c.id,
        payload={"conversation_id": c.id, "user_id": conn.user_id, "side": "agent"},
    )
    await gw.hub.bus.publish([event])
    return {"conversation_id": c.id}


async def watch(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    c = await _visible(gw, conn, _arg(msg, "conversation_id", int))
    gw.watch(conn, c.id, True)
    return {"conversation_id": c.id, "watching": True}


async def unwatch(gw: Gateway, conn: Connection, msg: dict[str, Any]) -> Any:
    conversation_id = _arg(msg, "conversation_id", int)
    gw.watch(conn, conversation_id, False)
    return {"conversation_id": conversation_id, "watching": False}


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
}
