"""The REST side of the widget: long-poll fallback, uploads, the offline form, limits,
and mailing replies to visitors who left."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from sqlmodel import select

from channels.base import SendResult
from channels.webchat import WebchatChannel
from hub.domain import OutboundMessage
from hub.models import Contact, Conversation, Message
from hub.services import SYSTEM
from hub.services.conversations import add_note, reply, resolve
from tests.channels.webchat_support import ORIGIN, make_channel, visitor
from tests.helpers import team

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class FakeEmail:
    """Stands in for the email channel: records what would be mailed."""

    kind: ClassVar[str] = "email"
    address_kind: ClassVar[str] = "email"
    max_body_length: ClassVar[int] = 1_000_000
    supports_attachments: ClassVar[bool] = True
    rate_per_second: ClassVar[float | None] = None

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    def routes(self) -> list[Any]:
        return []

    async def start(self, hub: Any) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(provider_message_id=f"mail-{len(self.sent)}")


@pytest.fixture
def mail() -> FakeEmail:
    return FakeEmail()


@pytest.fixture
def channel() -> WebchatChannel:
    return make_channel(
        visitor_rate={"burst": 4, "per_minute": 1},
        max_attachment_bytes=1000,
        away_after_seconds=1e-6,
    )


@pytest.fixture
def extra_channels(channel: WebchatChannel, mail: FakeEmail) -> list[Any]:
    return [channel, mail]


def client(app: Any) -> httpx.AsyncClient:
    return app.new_client()


async def new_visitor(c: httpx.AsyncClient) -> dict[str, str]:
    res = await c.post("/channels/webchat/s/acme/session")
    assert res.status_code == 201, res.text
    return {"authorization": f"Bearer {res.json()['token']}"}


def msg(body: str, **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "body": body, **extra}


async def test_long_poll_fallback_receives_replies(app: Any) -> None:
    c = client(app)
    auth = await new_visitor(c)
    hist = (await c.get("/channels/webchat/s/acme/history", headers=auth)).json()
    assert hist["messages"] == []
    res = await c.post("/channels/webchat/s/acme/messages", json=msg("hello by REST"), headers=auth)
    assert res.status_code == 201, res.text
    conv_id = res.json()["conversation_id"]
    poll = asyncio.create_task(
        c.get(f"/channels/webchat/s/acme/events?after={hist['cursor']}&wait=5", headers=auth)
    )
    first = (await poll).json()  # the visitor's own message is already there: no wait
    assert [e["message"]["body"] for e in first["events"] if e["type"] == "message"] == ["hello by REST"]
    poll = asyncio.create_task(
        c.get(f"/channels/webchat/s/acme/events?after={first['cursor']}&wait=5", headers=auth)
    )
    await add_note(app.hub, SYSTEM, conv_id, "secret note")
    await reply(app.hub, SYSTEM, conv_id, "answer over long poll")
    got = (await poll).json()
    bodies = [e["message"]["body"] for e in got["events"] if e["type"] == "message"]
    assert bodies == ["answer over long poll"]  # woken by the note or the reply; never the note
    assert got["cursor"] > first["cursor"]
    again = await c.get(f"/channels/webchat/s/acme/events?after={got['cursor']}&wait=0", headers=auth)
    assert again.json()["events"] == []
    await resolve(app.hub, SYSTEM, conv_id)
    done = (await c.get(f"/channels/webchat/s/acme/events?after={got['cursor']}&wait=5", headers=auth)).json()
    assert [e["type"] for e in done["events"]] == ["conversation", "survey"]
    res = await c.post(
        "/channels/webchat/s/acme/csat", json={"conversation_id": conv_id, "score": 5}, headers=auth
    )
    assert res.status_code == 200 and res.json()["type"] == "csat_saved"
    res = await c.post("/channels/webchat/s/acme/messages", content=b"{not json", headers=auth)
    assert res.status_code == 400 and res.json()["error"]["code"] == "bad_json"


async def test_uploads_are_limited_and_bound_to_the_visitor(app: Any, settings: Any) -> None:
    c = client(app)
    auth = await new_visitor(c)
    up = "/channels/webchat/s/acme/attachments"
    res = await c.post(
        up, content=PNG, headers={**auth, "content-type": "image/png", "x-filename": "pic%20.png"}
    )
    assert res.status_code == 201, res.text
    ref = res.json()["ref"]
    assert res.json()["filename"] == "pic .png"
    res = await c.post(up, content=b"MZ\x90\x00", headers={**auth, "content-type": "application/pdf"})
    assert res.status_code == 415 and res.json()["error"]["code"] == "file_type_not_allowed"
    res = await c.post(up, content=b"<svg/>", headers={**auth, "content-type": "image/png"})
    assert res.status_code == 415 and res.json()["error"]["code"] == "file_content_mismatch"
    res = await c.post(up, content=b"<html>", headers={**auth, "content-type": "text/html"})
    assert res.status_code == 415 and "not accepted" in res.json()["error"]["message"]
    res = await c.post(up, content=b"x" * 1001, headers={**auth, "content-type": "text/plain"})
    assert res.status_code == 413 and res.json()["error"]["code"] == "file_too_large"
    res = await c.post("/channels/webchat/s/acme/messages", json=msg("", attachments=[ref]), headers=auth)
    assert res.status_code == 201, res.text
    async with app.hub.db.session() as s:
        stored = await s.get(Message, res.json()["message_id"])
    assert stored is not None and stored.kind == "media"
    path = Path(stored.attachments[0]["path"])
    assert path.parent.parent == (Path(settings.data_dir) / "attachments" / "webchat").resolve()
    assert await asyncio.to_thread(path.read_bytes) == PNG and stored.attachments[0]["filename"] == "pic .png"
    hist = (await c.get("/channels/webchat/s/acme/history", headers=auth)).json()
    assert hist["messages"][0]["attachments"] == [
        {"index": 0, "filename": "pic .png", "content_type": "image/png", "size": len(PNG)}
    ]
    dl = await c.get(f"/channels/webchat/s/acme/attachments/{stored.id}/0", headers=auth)
    assert dl.status_code == 200 and dl.content == PNG
    assert dl.headers["content-disposition"].startswith("attachment")
    # Someone else: cannot download it, cannot attach the same reference.
    other = client(app)
    theirs = await new_visitor(other)
    dl = await other.get(f"/channels/webchat/s/acme/attachments/{stored.id}/0", headers=theirs)
    assert dl.status_code == 404
    res = await other.post(
        "/channels/webchat/s/acme/messages", json=msg("look", attachments=[ref]), headers=theirs
    )
    assert res.status_code == 422 and res.json()["error"]["code"] == "bad_attachment"


async def test_visitor_rate_limit(app: Any) -> None:
    c = client(app)
    auth = await new_visitor(c)
    codes = [
        (await c.post("/channels/webchat/s/acme/messages", json=msg(f"m{i}"), headers=auth)).status_code
        for i in range(5)
    ]
    assert codes == [201, 201, 201, 201, 429]
    res = await c.post("/channels/webchat/s/acme/messages", json=msg("again"), headers=auth)
    assert res.json()["error"]["code"] == "rate_limited" and int(res.headers["retry-after"]) >= 1
    # Another visitor has their own bucket.
    other = await new_visitor(c)
    res = await c.post("/channels/webchat/s/acme/messages", json=msg("me too"), headers=other)
    assert res.status_code == 201


async def test_offline_form_when_the_team_is_closed(app: Any) -> None:
    # The fixed test clock is Monday 09:00 UTC; the team opens on Sundays only.
    await team(app.hub, "Support", business_hours={"timezone": "UTC", "days": {"sun": [["09:00", "17:00"]]}})
    c = client(app)
    cfg = (await c.get("/channels/webchat/s/acme/config")).json()
    assert cfg["availability"] == {"online": False, "reason": "closed"}
    auth = await new_visitor(c)
    res = await c.post(
        "/channels/webchat/s/acme/offline", json={"id": str(uuid.uuid4()), "message": "hi"}, headers=auth
    )
    assert res.status_code == 422
    assert res.json()["error"]["fields"] == [
        {"field": "prechat.email", "message": "please enter an email address"}
    ]
    form = {"id": str(uuid.uuid4()), "name": "Noor", "email": "noor@example.com", "message": "Call me back"}
    res = await c.post("/channels/webchat/s/acme/offline", json=form, headers=auth)
    assert res.status_code == 201 and res.json()["type"] == "offline_saved"
    async with app.hub.db.session() as s:
        conv = await s.get(Conversation, res.json()["conversation_id"])
        assert conv is not None
        contact = await s.get(Contact, conv.contact_id)
    assert conv.status == "queued" and conv.subject == "Offline message"
    assert contact is not None and contact.attributes["email"] == "noor@example.com"
    # A site whose chat asks nothing still takes a name on the offline form.
    auth_ar = {"authorization": (await c.post("/channels/webchat/s/acme-ar/session")).json()["token"]}
    auth_ar["authorization"] = "Bearer " + auth_ar["authorization"]
    form_ar = {"id": str(uuid.uuid4()), "name": "نور", "email": "noor@example.com", "message": "اتصلوا بي"}
    res = await c.post("/channels/webchat/s/acme-ar/offline", json=form_ar, headers=auth_ar)
    assert res.status_code == 201, res.text


async def test_replies_to_a_visitor_who_left_are_mailed(live: Any, mail: FakeEmail) -> None:
    hub = live.app.hub
    v = await visitor(live)
    ack = await v.say("please email me", prechat={"email": "sam@example.com", "name": "Sam"})
    conv_id = ack["conversation_id"]
    await reply(hub, SYSTEM, conv_id, "while you are here")
    await v.frame("message")
    assert await live.app.worker.run_once() == 1
    assert mail.sent == []  # the visitor is connected: the widget showed it
    await v.close()
    gw = live.app.app.state.channels.get("webchat").runtime.gateway
    async with asyncio.timeout(5):
        await gw.wait_until(lambda: conv_id not in gw.by_conversation)
    await reply(hub, SYSTEM, conv_id, "Your parcel ships tomorrow.")
    assert await live.app.worker.run_once() == 1
    assert len(mail.sent) == 1
    sent = mail.sent[0]
    assert sent.to == "sam@example.com" and sent.subject == "Your chat with Acme"
    assert sent.body.startswith("Your parcel ships tomorrow.")
    assert "You: please email me" in sent.body and "while you are here" in sent.body
    async with hub.db.session() as s:
        m = (
            await s.exec(
                select(Message).where(Message.conversation_id == conv_id).order_by(Message.id.desc())
            )  # type: ignore[union-attr]
        ).first()
    assert m is not None and m.delivery_status == "sent" and m.provider_message_id == f"wc-{m.id}"


async def test_unknown_site_and_cors_on_rest(app: Any) -> None:
    c = client(app)
    res = await c.get("/channels/webchat/s/unknown-site/config")
    assert res.status_code == 404 and res.json()["error"]["code"] == "unknown_site"
    res = await c.post("/channels/webchat/s/acme/session", headers={"origin": ORIGIN})
    assert res.status_code == 201 and res.headers["access-control-allow-origin"] == ORIGIN
    assert res.headers["vary"] == "Origin"


async def test_complaint_form_opens_an_acknowledged_complaint_once(app: Any) -> None:
    from hub.models import Complaint, Message

    c = client(app)
    auth = await new_visitor(c)
    form = {
        "id": str(uuid.uuid4()),
        "description": "My complaint: the <b>parcel</b> never came",
        "category": "delivery",
        "order_ref": "ORD-9",
    }
    res = await c.post("/channels/webchat/s/acme/complaint", json={**form, "description": " "}, headers=auth)
    assert res.status_code == 422 and res.json()["error"]["fields"][0]["field"] == "description"
    res = await c.post("/channels/webchat/s/acme/complaint", json=form, headers=auth)
    assert res.status_code == 201, res.text
    ack = res.json()
    assert ack["type"] == "complaint_saved" and ack["reference"] == "C-2026-000001"
    # A resend (the network dropped the answer) opens nothing new.
    again = await c.post("/channels/webchat/s/acme/complaint", json=form, headers=auth)
    assert again.status_code == 200 and again.json()["reference"] == "C-2026-000001"
    # The keyword in the description does not open a second one through the consumer.
    await app.hub.projections.catch_up()
    while await app.worker.run_once():
        pass
    async with app.hub.db.session() as s:
        (complaint,) = (await s.exec(select(Complaint))).all()
        thread = (
            await s.exec(
                select(Message).where(Message.conversation_id == ack["conversation_id"]).order_by(Message.id)
            )
        ).all()
    assert (complaint.source, complaint.category, complaint.product_ref) == ("widget", "delivery", "ORD-9")
    assert thread[0].body == form["description"] and thread[0].meta["complaint_form"] is True
    assert "C-2026-000001" in thread[-1].body and thread[-1].direction == "outbound"  # the acknowledgement
    bad = await c.post(
        "/channels/webchat/s/acme/complaint",
        json={**form, "id": str(uuid.uuid4()), "category": "x" * 41},
        headers=auth,
    )
    assert bad.status_code == 422
