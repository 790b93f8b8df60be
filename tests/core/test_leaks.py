"""Staff JSON never shows where the hub keeps files, nor provider media references.

A message's attachments are ``{index, filename, content_type, size, url}`` in REST, in
live socket events, in the resume replay and in ``GET /events``; ``url`` is the hub's
download route. The stored path stays server-side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub.domain import Attachment, InboundMessage
from hub.models import EventLog, Role
from hub.services import SYSTEM
from hub.services.conversations import assign, reply
from hub.services.ingest import ingest
from tests.core.test_gateway import connect
from tests.helpers import PASSWORD, team, user

PROVIDER_URL = "https://api.provider.example/Media/ME123"


async def _message_with_files(hub: Any, tmp_path: Path) -> tuple[int, int, Path]:
    folder = Path(hub.settings.data_dir) / "attachments" / "secret-dir"
    folder.mkdir(parents=True, exist_ok=True)
    stored = folder / "invoice.pdf"
    stored.write_bytes(b"%PDF-1.4 test")
    result = await ingest(
        hub,
        InboundMessage(
            channel="loopback",
            provider_message_id="with-files",
            address_kind="loopback",
            sender="cust-1",
            body="two files",
            team="Support",
            attachments=(
                Attachment(filename="invoice.pdf", content_type="application/pdf", size=13, path=str(stored)),
                Attachment(filename="photo.jpg", content_type="image/jpeg", url=PROVIDER_URL),
            ),
        ),
    )
    return result.conversation_id, result.message_id, stored


def _expected(message_id: int) -> list[dict[str, Any]]:
    return [
        {
            "index": 0,
            "filename": "invoice.pdf",
            "content_type": "application/pdf",
            "size": 13,
            "url": f"/api/v1/messages/{message_id}/attachments/0",
        },
        {
            "index": 1,
            "filename": "photo.jpg",
            "content_type": "image/jpeg",
            "size": None,
            "url": f"/api/v1/messages/{message_id}/attachments/1",
        },
    ]


def _assert_clean(text: str, stored: Path) -> None:
    assert str(stored) not in text
    assert "secret-dir" not in text and str(stored.parent.parent) not in text
    assert PROVIDER_URL not in text
    assert '"path"' not in text


async def test_rest_and_events_show_public_attachment_refs_only(live: Any, tmp_path: Path) -> None:
    hub = live.app.hub
    t = await team(hub, "Support")
    ana = await user(hub, "ana@example.com", role=Role.supervisor, team_ids=(t,))
    console, _ = await connect(live, "ana@example.com")
    conv, mid, stored = await _message_with_files(hub, tmp_path)
    live_event = await console.event("message.received")
    assert live_event["payload"]["attachments"] == _expected(mid)
    _assert_clean(json.dumps(live_event), stored)

    await assign(hub, SYSTEM, conv, ana)
    sent = await reply(
        hub,
        SYSTEM,
        conv,
        "here it is back",
        attachments=(Attachment(filename="copy.pdf", content_type="application/pdf", path=str(stored)),),
    )
    echoed = await console.event("message.created")
    assert echoed["payload"]["attachments"][0]["url"] == f"/api/v1/messages/{sent.id}/attachments/0"
    _assert_clean(json.dumps(echoed), stored)
    await console.ws.close()

    c = live.app.client
    r = await c.post("/api/v1/auth/login", json={"email": "ana@example.com", "password": PASSWORD})
    assert r.status_code == 200
    messages = await c.get(f"/api/v1/conversations/{conv}/messages")
    assert messages.status_code == 200
    by_id = {m["id"]: m for m in messages.json()["items"]}
    assert by_id[mid]["attachments"] == _expected(mid)
    _assert_clean(messages.text, stored)
    events = await c.get("/api/v1/events", params={"after": 0})
    assert events.status_code == 200 and events.json()["items"]
    _assert_clean(events.text, stored)

    # The resume replay shows the same.
    replaying, _ = await connect(live, "ana@example.com", last_event_id=0)
    replayed = await replaying.event("message.received")
    assert replayed["payload"]["attachments"] == _expected(mid)
    await replaying.ws.close()

    # And the URL given is the download that works.
    download = await c.get(by_id[mid]["attachments"][0]["url"])
    assert download.status_code == 200 and download.content == b"%PDF-1.4 test"


async def test_event_rows_written_before_the_fix_are_cleaned_on_the_way_out(app: Any) -> None:
    """An event log from an older hub still has stored paths in its payloads."""
    await user(app.hub, "root@example.com", role=Role.admin)
    old = {
        "conversation_id": 1,
        "message_id": 7,
        "channel": "loopback",
        "direction": "inbound",
        "author_type": "contact",
        "author_id": 1,
        "kind": "media",
        "body": "old",
        "subject": "",
        "delivery_status": "received",
        "attachments": [
            {"filename": "a.pdf", "content_type": "application/pdf", "path": "/srv/hub/var/a.pdf"}
        ],
        "created_at": "2026-01-05T09:00:00Z",
    }
    async with app.hub.db.transaction() as s:
        s.add(EventLog(type="message.received", payload=old))
    r = await app.client.post("/api/v1/auth/login", json={"email": "root@example.com", "password": PASSWORD})
    assert r.status_code == 200
    events = await app.client.get("/api/v1/events", params={"type": "message.received"})
    assert events.status_code == 200
    [event] = events.json()["items"]
    assert event["payload"]["attachments"] == [
        {
            "index": 0,
            "filename": "a.pdf",
            "content_type": "application/pdf",
            "size": None,
            "url": "/api/v1/messages/7/attachments/0",
        }
    ]
    assert "/srv/hub" not in events.text
