"""Privacy: an admin exports everything stored about a contact (audited) and erases
it — no personal data left in contacts, identities, messages, stored files or the
event log; aggregate figures kept; an old provider retry recreates nothing. On SQLite
and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlmodel import select

from hub.domain import Attachment, InboundMessage
from hub.models import (
    Complaint,
    ComplaintEntry,
    Contact,
    ContactFigures,
    Conversation,
    EventLog,
    Identity,
    Message,
    Role,
    SurveyRequest,
)
from hub.services import SYSTEM
from hub.services.complaints import NewComplaint, open_complaint, update_complaint
from hub.services.complaints import add_note as add_complaint_note
from hub.services.contacts import update_contact
from hub.services.conversations import add_note, resolve
from hub.services.ingest import ingest
from tests.helpers import login, user

SECRETS = (
    "Layla Haddad",
    "+966501239999",
    "layla@example.com",
    "4111 1111",
    "Palm Street",
    "secret-plan",
    "scan.pdf",
)


def sms(pid: str, body: str, attachments: tuple[Attachment, ...] = ()) -> InboundMessage:
    return InboundMessage(
        channel="sms",
        provider_message_id=pid,
        address_kind="phone",
        sender="+966501239999",
        sender_name="Layla Haddad",
        body=body,
        attachments=attachments,
        raw={"From": "+966501239999", "Body": body},
    )


async def dump(hub: Any) -> str:
    """Every stored row of the tables that may hold personal data, as one text."""
    async with hub.db.session() as s:
        rows: list[Any] = []
        for model in (
            Contact,
            Identity,
            Conversation,
            Message,
            EventLog,
            Complaint,
            ComplaintEntry,
            SurveyRequest,
        ):
            table = model.__table__  # type: ignore[attr-defined]
            rows += [
                {c.name: getattr(r, c.name) for c in table.columns}
                for r in (await s.exec(select(model))).all()
            ]
    return json.dumps(rows, ensure_ascii=False, default=str)


async def test_export_then_erase(app: Any, tmp_path: Path) -> None:
    hub = app.hub
    await user(hub, "root@example.com", Role.admin)
    headers = await login(app.client, "root@example.com")
    folder = Path(hub.settings.data_dir) / "attachments"
    folder.mkdir(parents=True, exist_ok=True)
    stored = folder / "abc-scan.pdf"
    stored.write_bytes(b"%PDF card 4111 1111")
    first = await ingest(
        hub,
        sms(
            "SM1",
            "my card is 4111 1111, I live on Palm Street",
            (Attachment(filename="scan.pdf", path=str(stored)),),
        ),
    )
    await update_contact(
        hub, SYSTEM, first.contact_id, {"notes": "Palm Street, villa 4", "tags": ["secret-plan"], "vip": True}
    )
    await add_note(hub, SYSTEM, first.conversation_id, "Layla Haddad: call back on +966501239999")
    complaint = await open_complaint(
        hub,
        SYSTEM,
        NewComplaint(conversation_id=first.conversation_id, description="card 4111 1111 charged twice"),
    )
    await add_complaint_note(hub, SYSTEM, complaint.id or 0, "Layla Haddad lives on Palm Street")
    await update_complaint(
        hub, SYSTEM, complaint.id or 0, {"resolution": "refunded to 4111 1111", "status": "resolved"}
    )
    await resolve(hub, SYSTEM, first.conversation_id)
    await ingest(hub, sms("SM2", "also write to layla@example.com"))
    await hub.projections.catch_up()

    r = await app.client.get(f"/api/v1/contacts/{first.contact_id}/export")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    export = r.json()
    assert (
        export["contact"]["name"] == "Layla Haddad" and export["identities"][0]["address"] == "+966501239999"
    )
    assert len(export["conversations"]) == 2 and len(export["messages"]) == 3
    assert export["messages"][0]["attachments"] == [
        {"filename": "scan.pdf", "content_type": "application/octet-stream", "size": None}
    ]
    assert "path" not in json.dumps(export["messages"])  # server paths stay server-side
    assert any(e["type"] == "contact.updated" for e in export["events"])
    assert export["complaints"][0]["description"] == "card 4111 1111 charged twice"
    assert [e["kind"] for e in export["complaint_history"]][:2] == ["opened", "not_notified"]

    r = await app.client.post(f"/api/v1/contacts/{first.contact_id}/erase", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["erased_at"] is not None and r.json()["identities"] == []
    assert (
        await app.client.post(f"/api/v1/contacts/{first.contact_id}/erase", headers=headers)
    ).status_code == 409
    text = await dump(hub)
    assert [s for s in SECRETS if s in text] == []
    assert not stored.exists()

    # Aggregates stay: two conversations, three messages, the figures.
    await hub.projections.catch_up()
    async with hub.db.session() as s:
        convs = (await s.exec(select(Conversation).where(Conversation.contact_id == first.contact_id))).all()
        messages = (await s.exec(select(Message))).all()
        figures = await s.get(ContactFigures, first.contact_id)
        audit = (
            await s.exec(select(EventLog).where(EventLog.type.in_(["contact.erased", "contact.exported"])))
        ).all()  # type: ignore[attr-defined]
    assert len(convs) == 2 and len(messages) == 3
    assert figures is not None and figures.conversations_total == 2
    assert sorted(e.type for e in audit) == ["contact.erased", "contact.exported"]
    assert all(e.actor_id is not None for e in audit)

    # An old provider retry is still a duplicate: no contact, no identity comes back.
    again = await ingest(hub, sms("SM1", "my card is 4111 1111, I live on Palm Street"))
    assert again.duplicate
    async with hub.db.session() as s:
        assert (await s.exec(select(Identity))).all() == []
    # The erased shell leaves the contacts list.
    assert (await app.client.get("/api/v1/contacts")).json()["items"] == []


async def test_only_admins(app: Any) -> None:
    await user(app.hub, "sup@example.com", Role.supervisor)
    headers = await login(app.client, "sup@example.com")
    contact = (await ingest(app.hub, sms("SM9", "hi"))).contact_id
    assert (await app.client.get(f"/api/v1/contacts/{contact}/export")).status_code == 403
    assert (await app.client.post(f"/api/v1/contacts/{contact}/erase", headers=headers)).status_code == 403
