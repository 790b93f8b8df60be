"""CSV import: the dry run reports per-row errors and counts and writes nothing; the
import then matches the dry run; importing the same file again changes nothing; large
files stream in batches with progress. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

import hub.crm.importer
from hub.config import Settings
from hub.domain import InboundMessage
from hub.models import Contact, EventLog, Identity, Role
from hub.services.ingest import ingest
from tests.conftest import make_settings
from tests.helpers import login, user

CSV = """name,phone,email,tags,vip,plan,colour
أحمد العلي,+966 50 111 2222,ahmad@example.com,gold|wholesale,yes,gold,red
Noor,0501113333,,,,,
Kim,+1 (555) 010-0001,,returning,,,
Bad Phone,12,,,,,
Bad Plan,,bad@example.com,,,platinum,
,+15550100001,kim@example.com,,,,
=cmd,,evil@example.com,,,,
"""


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path, default_phone_region="SA")  # 05… is Saudi


async def setup(app: Any) -> tuple[dict[str, str], int]:
    await user(app.hub, "root@example.com", Role.admin)
    headers = await login(app.client, "root@example.com")
    field = {
        "key": "plan",
        "label_en": "Plan",
        "label_ar": "الباقة",
        "type": "choice",
        "options": ["free", "gold"],
    }
    assert (await app.client.post("/api/v1/contact-fields", json=field, headers=headers)).status_code == 201
    kim = await ingest(
        app.hub,
        InboundMessage(
            channel="sms", provider_message_id="k1", address_kind="phone", sender="+15550100001", body="hi"
        ),
    )
    return headers, kim.contact_id


async def upload(app: Any, headers: dict[str, str], body: str) -> dict[str, Any]:
    r = await app.client.post(
        "/api/v1/contacts/imports",
        content=body.encode(),
        params={"filename": "people.csv"},
        headers={**headers, "content-type": "text/csv"},
    )
    assert r.status_code == 202, r.text
    await app.hub.imports.wait(r.json()["id"])
    return (await app.client.get(f"/api/v1/contacts/imports/{r.json()['id']}")).json()


async def run(app: Any, headers: dict[str, str], job_id: int) -> dict[str, Any]:
    r = await app.client.post(f"/api/v1/contacts/imports/{job_id}/run", headers=headers)
    assert r.status_code == 202, r.text
    await app.hub.imports.wait(r.json()["id"])
    return (await app.client.get(f"/api/v1/contacts/imports/{r.json()['id']}")).json()


async def counts(app: Any) -> tuple[int, int, int]:
    async with app.hub.db.session() as s:
        contacts = (await s.exec(select(func.count()).select_from(Contact))).one()
        identities = (await s.exec(select(func.count()).select_from(Identity))).one()
        events = (await s.exec(select(func.count()).select_from(EventLog))).one()
    return contacts, identities, events


def summary(job: dict[str, Any]) -> tuple[int, ...]:
    return (job["rows"], job["created"], job["matched"], job["updated"], job["skipped"])


async def test_dry_run_then_import_then_nothing_changes(app: Any) -> None:
    headers, kim = await setup(app)
    before = await counts(app)
    dry = await upload(app, headers, CSV)
    assert dry["status"] == "done" and dry["dry_run"] and dry["progress"] == 1.0
    # rows: Ahmad new, Noor new, Kim matched by phone (another format) and tagged,
    # bad phone, bad plan, Kim's phone again (adds an email), =cmd new.
    assert summary(dry) == (7, 3, 0, 2, 2), dry["errors"]
    errors = {(e["row"], e["field"], e["code"]) for e in dry["errors"]}
    assert errors == {
        (1, "colour", "unknown_field"),
        (5, "phone", "bad_phone"),
        (6, "plan", "invalid_choice"),
    }
    assert await counts(app) == before  # a dry run writes nothing

    real = await run(app, headers, dry["id"])
    assert real["status"] == "done" and not real["dry_run"] and real["source_job_id"] == dry["id"]
    assert summary(real) == summary(dry)
    await app.hub.projections.catch_up()
    found = (await app.client.get("/api/v1/contacts", params={"q": "احمد"})).json()["items"]
    assert (
        len(found) == 1
        and found[0]["name"] == "أحمد العلي"
        and found[0]["vip"]
        and found[0]["tiers"] == ["vip"]
    )
    profile = (await app.client.get(f"/api/v1/contacts/{found[0]['id']}")).json()
    assert profile["attributes"] == {"plan": "gold"} and profile["tags"] == ["gold", "wholesale"]
    kim_profile = (await app.client.get(f"/api/v1/contacts/{kim}")).json()
    assert (
        kim_profile["name"] == "Kim"
        and kim_profile["tags"] == ["returning"]
        and {i["address"] for i in kim_profile["identities"]}
        == {
            "+15550100001",
            "kim@example.com",
        }
    )
    noor = (await app.client.get("/api/v1/contacts", params={"q": "noor"})).json()["items"][0]
    assert noor["identities"][0]["address"] == "+966501113333"
    cmd = (await app.client.get("/api/v1/contacts", params={"q": "evil@example.com"})).json()["items"][0]
    assert cmd["name"] == "=cmd"  # stored as written; the export defuses it

    after_first = await counts(app)
    again = await run(app, headers, (await upload(app, headers, CSV))["id"])
    assert summary(again) == (7, 0, 5, 0, 2)  # idempotent: matched, nothing written
    assert await counts(app) == after_first


async def test_large_files_stream_in_batches(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub.crm.importer, "BATCH", 50)
    headers, _kim = await setup(app)
    lines = ["name,email,tags"] + [f"Person {n},p{n}@example.com,t{n % 7}" for n in range(1200)]
    dry = await upload(app, headers, "\n".join(lines) + "\n")
    assert summary(dry) == (1200, 1200, 0, 0, 0)
    real = await run(app, headers, dry["id"])
    assert summary(real) == (1200, 1200, 0, 0, 0) and real["progress"] == 1.0
    contacts, _identities, _events = await counts(app)
    assert contacts == 1201


async def test_only_admins_import_and_only_csv(app: Any) -> None:
    headers, _kim = await setup(app)
    r = await app.client.post(
        "/api/v1/contacts/imports", content=b"{}", headers={**headers, "content-type": "application/json"}
    )
    assert r.status_code == 415
    bad = await upload(app, headers, "name,favourite\nx,y\n")
    assert bad["status"] == "failed" and bad["errors"][-1]["code"] == "no_identity_column"
    assert (await app.client.post("/api/v1/contacts/imports/999/run", headers=headers)).status_code == 404
    await user(app.hub, "agent@example.com", Role.agent)
    agent = app.new_client()
    agent_headers = await login(agent, "agent@example.com")
    r = await agent.post(
        "/api/v1/contacts/imports",
        content=CSV.encode(),
        headers={**agent_headers, "content-type": "text/csv"},
    )
    assert r.status_code == 403
