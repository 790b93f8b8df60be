"""Consent per contact, channel and purpose (hub.services.consent): recording and its
audit, the API and who may use it, what each purpose blocks (surveys, service replies,
keywords on the loopback channel), the unsubscribe link, merges, filters and the import,
and the migration of the older stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from hub.models import ContactConsent, EventLog, Message, Role
from hub.services import SYSTEM, consent
from hub.services.contacts import merge_contacts
from hub.services.conversations import assign, reply, resolve
from tests.helpers import inbound, login, team, user


async def _world(app: Any) -> dict[str, Any]:
    billing, tech = await team(app.hub, "Billing"), await team(app.hub, "Tech")
    ana = await user(app.hub, "ana@example.com", team_ids=(billing,), name="Ana Lima")
    await user(app.hub, "tom@example.com", team_ids=(tech,))
    await user(app.hub, "root@example.com", role=Role.admin)
    got = await inbound(app.client, "cust-1", "hello", team="Billing", sender_name="Layla")
    await assign(app.hub, SYSTEM, got["conversation_id"], ana)
    clients = {}
    for name in ("ana", "tom", "root"):
        c = app.new_client()
        clients[name] = (c, await login(c, f"{name}@example.com"))
    return {"ana": ana, "contact": got["contact_id"], "conv": got["conversation_id"], "c": clients}


async def _events(app: Any) -> list[EventLog]:
    async with app.hub.db.session() as s:
        stmt = select(EventLog).where(EventLog.type == consent.EVENT).order_by(col(EventLog.id))
        return list((await s.exec(stmt)).all())


async def _drain(app: Any) -> None:
    await app.hub.projections.catch_up()
    while await app.worker.run_once():
        pass


async def test_record_upserts_once_per_change_and_writes_the_audit_row(app: Any) -> None:
    w = await _world(app)
    cid, now = w["contact"], app.hub.now()
    kw: dict[str, Any] = {"contact_id": cid, "channel": "sms", "now": now}
    async with app.hub.db.transaction() as s:
        assert await consent.record(s, purpose="marketing", state="opted_in", source="import", **kw)
        assert not await consent.record(s, purpose="marketing", state="opted_in", source="api", **kw)
        assert await consent.record(
            s, purpose="marketing", state="opted_out", source="link", campaign_id=7, actor_id=w["ana"], **kw
        )
        assert await consent.marketing_blocked(s, [cid, cid + 1000], "sms") == {cid: "opted_out"}
        assert await consent.marketing_blocked(s, [cid], "email") == {}
        assert not await consent.service_blocked(s, cid, "sms")
    [row] = await consent_rows(app, cid)
    assert (row.state, row.source, row.campaign_id, row.actor_id) == ("opted_out", "link", 7, w["ana"])
    events = await _events(app)
    assert [e.payload["changes"] for e in events] == [
        {"consent.sms.marketing": [None, "opted_in"]},
        {"consent.sms.marketing": ["opted_in", "opted_out"]},
    ]
    assert events[1].actor_id == w["ana"] and events[1].payload["campaign_id"] == 7
    # A service opt-out (SMS STOP) blocks marketing too; back to unknown removes the row.
    async with app.hub.db.transaction() as s:
        await consent.record(s, purpose="marketing", state=None, source="agent", **kw)
        await consent.record(s, purpose="service", state="opted_out", source="keyword", **kw)
        assert await consent.marketing_blocked(s, [cid], "sms") == {cid: "opted_out"}
        assert await consent.send_blocked(s, cid, "sms", {})
        assert not await consent.send_blocked(s, cid, "sms", {"consent": "confirmation"})
    assert [(r.purpose, r.state) for r in await consent_rows(app, cid)] == [("service", "opted_out")]


async def consent_rows(app: Any, contact_id: int) -> list[ContactConsent]:
    async with app.hub.db.session() as s:
        return await consent.rows_for(s, contact_id)


async def test_api_reads_and_edits_consent_for_those_who_may_edit_the_contact(app: Any) -> None:
    w = await _world(app)
    ana, ah = w["c"]["ana"]
    tom, th = w["c"]["tom"]
    url = f"/api/v1/contacts/{w['contact']}/consent"
    res = await ana.put(
        f"{url}/sms/marketing", json={"state": "opted_in", "note": "asked on the phone"}, headers=ah
    )
    assert res.status_code == 200, res.text
    [item] = res.json()["items"]
    assert (item["state"], item["source"], item["actor_name"], item["note"]) == (
        "opted_in",
        "agent",
        "Ana Lima",
        "asked on the phone",
    )
    # The contact's older `consent` field is derived from the rows, and still writable.
    contact = (await ana.get(f"/api/v1/contacts/{w['contact']}")).json()
    assert contact["consent"]["sms"]["granted"] is True and contact["consent"]["sms"]["source"] == "agent"
    patched = await ana.patch(
        f"/api/v1/contacts/{w['contact']}", json={"consent": {"email": False}}, headers=ah
    )
    assert patched.json()["consent"]["email"]["granted"] is False

    # Someone who may not see the contact may neither read nor write.
    assert (await tom.get(url)).json()["error"]["code"] == "not_your_team"
    denied = await tom.put(f"{url}/sms/marketing", json={"state": "opted_out"}, headers=th)
    assert denied.status_code == 403
    # Bad input: a clear 422 naming the field.
    bad = await ana.put(f"{url}/pigeon/marketing", json={"state": "opted_out"}, headers=ah)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "channel"
    for body in ({"state": "maybe"}, {}, {"state": "opted_out", "note": "x" * 201}):
        assert (await ana.put(f"{url}/sms/marketing", json=body, headers=ah)).status_code == 422
    assert (await ana.put(f"{url}/sms/nonsense", json={"state": None}, headers=ah)).status_code == 422
    assert (await ana.put(f"{url}/sms/marketing", json={"state": "opted_out"})).status_code == 403  # CSRF

    # An API token records source "api"; null forgets.
    root, rh = w["c"]["root"]
    token = (await root.post("/api/v1/auth/tokens", json={"name": "crm"}, headers=rh)).json()["token"]
    bot = app.new_client()
    auth = {"authorization": f"Bearer {token}"}
    res = await bot.put(f"{url}/sms/service", json={"state": "opted_out"}, headers=auth)
    items = {(i["channel"], i["purpose"]): i for i in res.json()["items"]}
    assert items[("sms", "service")]["source"] == "api"
    res = await bot.put(f"{url}/sms/service", json={"state": None}, headers=auth)
    assert ("sms", "service") not in {(i["channel"], i["purpose"]) for i in res.json()["items"]}
    audit = (await root.get("/api/v1/audit", params={"kind": "contact"})).json()["items"]
    assert sum(1 for e in audit if e["type"] == consent.EVENT) == 4

    # The contact list filters on marketing consent granted on a channel.
    listed = (await ana.get("/api/v1/contacts", params={"consent": "sms"})).json()["items"]
    assert [c["id"] for c in listed] == [w["contact"]]
    assert (await ana.get("/api/v1/contacts", params={"consent": "email"})).json()["items"] == []

    # Erasure keeps the decisions (an opt-out must be remembered) and drops staff's notes;
    # the privacy export lists them.
    from hub.services import privacy

    exported = await privacy.export_contact(app.hub, SYSTEM, w["contact"])
    assert {(r["channel"], r["purpose"]) for r in exported["consent"]} == {
        ("sms", "marketing"),
        ("email", "marketing"),
    }
    await privacy.erase_contact(app.hub, SYSTEM, w["contact"])
    rows = await consent_rows(app, w["contact"])
    assert len(rows) == 2 and all(r.note is None for r in rows)


async def test_keywords_opt_out_of_marketing_only_and_are_confirmed_once(app: Any, loopback: Any) -> None:
    """On a channel that is not SMS a keyword is a marketing opt-out: replies in the
    conversation still go; surveys do not (tests/core/test_surveys.py)."""
    w = await _world(app)
    await inbound(app.client, "cust-1", "  stop. ")
    await inbound(app.client, "cust-1", "please stop calling me")  # not a keyword
    await inbound(app.client, "cust-1", "STOP")  # again: nothing new to confirm
    await _drain(app)
    assert [(r.purpose, r.state, r.source) for r in await consent_rows(app, w["contact"])] == [
        ("marketing", "opted_out", "keyword")
    ]
    sent = [m.body for m in loopback.sent]
    assert len(sent) == 1 and "no longer receive marketing" in sent[0] and "START" in sent[0]

    await reply(app.hub, SYSTEM, w["conv"], "Your refund is on its way")
    await _drain(app)
    assert [m.body for m in loopback.sent][1:] == ["Your refund is on its way"]

    # START undoes it, confirmed in Arabic when the customer writes Arabic.
    await inbound(app.client, "cust-1", "ابدأ")
    await _drain(app)
    assert [(r.purpose, r.state) for r in await consent_rows(app, w["contact"])] == [
        ("marketing", "opted_in")
    ]
    assert "تمت إعادة اشتراكك" in loopback.sent[-1].body
    async with app.hub.db.session() as s:
        notes = (
            await s.exec(select(Message.body).where(Message.kind == "event").order_by(col(Message.id)))
        ).all()
    assert len(notes) == 2 and "no more marketing on loopback" in notes[0]
    # إلغاء (any letter form) opts out again, confirmed in Arabic.
    await inbound(app.client, "cust-1", "الغاء")
    await _drain(app)
    assert "لن تصلك منا رسائل تسويقية" in loopback.sent[-1].body


async def test_unsubscribe_link_one_click_and_page(app: Any) -> None:
    w = await _world(app)
    settings = app.hub.settings
    token = consent.unsubscribe_token(settings, w["contact"], "email", 42)
    url = consent.unsubscribe_url(settings, token)
    assert url == f"{settings.base_url.rstrip('/')}/u/{token}"
    client = app.new_client()
    page = await client.get(f"/u/{token}")
    assert page.status_code == 200 and 'lang="en"' in page.text and "Unsubscribe" in page.text
    assert await consent_rows(app, w["contact"]) == []  # showing the page records nothing
    ar = await client.get(f"/u/{token}?lang=ar")
    assert 'dir="rtl"' in ar.text and "إلغاء الاشتراك" in ar.text

    # RFC 8058 one-click, as a mail client sends it: no cookies, a form body.
    one_click = await client.post(
        f"/u/{token}",
        content="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200, one_click.text
    [row] = await consent_rows(app, w["contact"])
    assert (row.channel, row.purpose, row.state, row.source, row.campaign_id) == (
        "email",
        "marketing",
        "opted_out",
        "link",
        42,
    )
    again = await client.post(f"/u/{token}", data={"confirm": "1"})
    assert again.status_code == 200 and len(await _events(app)) == 1  # idempotent

    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (await client.get(f"/u/{token}?lang=klingon")).status_code == 200  # ignored
    for bad in (forged, "nonsense", "v1.e30.x", "<script>" * 5, "v1." + "A" * 3000 + ".x"):
        for method in ("GET", "POST"):
            res = await client.request(method, f"/u/{bad}")
            assert res.status_code == 404 and "<script>" not in res.text, (bad, method)
    # Another hub (another secret) cannot mint tokens for this one.
    other = settings.model_copy(
        update={"consent": settings.consent.model_copy(update={"link_secret": "z" * 40})}
    )
    assert (
        await client.get(f"/u/{consent.unsubscribe_token(other, w['contact'], 'email', None)}")
    ).status_code == 404


async def test_merge_keeps_the_latest_decision(app: Any, clock: Any) -> None:
    w = await _world(app)
    got = await inbound(app.client, "cust-2", "hi", team="Billing")
    other = got["contact_id"]
    await resolve(app.hub, SYSTEM, got["conversation_id"])
    await consent.set_consent(app.hub, SYSTEM, w["contact"], "sms", "marketing", "opted_in")
    clock.advance(60)
    await consent.set_consent(app.hub, SYSTEM, other, "sms", "marketing", "opted_out")
    await consent.set_consent(app.hub, SYSTEM, other, "email", "marketing", "opted_in")
    await merge_contacts(app.hub, SYSTEM, other, w["contact"])
    rows = await consent_rows(app, w["contact"])
    assert [(r.channel, r.state) for r in rows] == [("email", "opted_in"), ("sms", "opted_out")]
    assert await consent_rows(app, other) == []
    # A link minted for the merged contact acts on the one that holds the customer now.
    token = consent.unsubscribe_token(app.hub.settings, other, "email", None)
    assert (await app.new_client().post(f"/u/{token}")).status_code == 200
    assert {r.channel: r.state for r in await consent_rows(app, w["contact"])}["email"] == "opted_out"


async def test_import_records_marketing_consent(app: Any) -> None:
    await _world(app)
    root = app.new_client()
    rh = await login(root, "root@example.com")
    csv = "phone,name,consent.sms,consent.email\n+15550001111,Ali,yes,opted_out\n+15550002222,Bea,,\n"
    up = await root.post(
        "/api/v1/contacts/imports",
        content=csv.encode(),
        params={"filename": "people.csv"},
        headers={**rh, "content-type": "text/csv"},
    )
    assert up.status_code == 202, up.text
    await app.hub.imports.wait(up.json()["id"])
    assert await consent_rows(app, 2) == []  # the dry run records nothing
    run = await root.post(f"/api/v1/contacts/imports/{up.json()['id']}/run", headers=rh)
    assert run.status_code == 202, run.text
    await app.hub.imports.wait(run.json()["id"])
    async with app.hub.db.session() as s:
        rows = (await s.exec(select(ContactConsent).order_by(col(ContactConsent.channel)))).all()
        actors = (await s.exec(select(EventLog.actor_id).where(EventLog.type == consent.EVENT))).all()
    assert [(r.channel, r.state, r.source) for r in rows] == [
        ("email", "opted_out", "import"),
        ("sms", "opted_in", "import"),
    ]
    assert len(actors) == 2 and None not in actors


# -- the migration of the older stores ------------------------------------------------------


def _old_data_moves(url: str) -> None:
    from datetime import UTC, datetime

    from hub.db import migrate
    from hub.models import Contact, User
    from hub.services.batch_rows import column_defaults

    migrate(url, "0016")
    engine = sa.create_engine(url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:

            def insert(model: type, **values: object) -> int:
                table = sa.Table(model.__tablename__, sa.MetaData(), autoload_with=conn)  # type: ignore[attr-defined]
                row = {k: v for k, v in column_defaults(model).items() if k in table.c}
                row.update(
                    {c.name: now for c in table.c if c.name in row and isinstance(row[c.name], datetime)}
                )
                row.update(values)
                return int(conn.execute(sa.insert(table).values(row).returning(table.c.id)).scalar_one())

            uid = insert(User, email="a@example.com", name="A", role="admin")
            old_consent = {
                "email": {"granted": True, "at": "2026-01-02T03:04:05+00:00", "by": uid, "source": "staff"},
                "whatsapp": {"granted": False},
                "sms": "junk",
            }
            insert(Contact, name="C", consent=old_consent, attributes={"sms_opt_out": True, "plan": "gold"})
            insert(Contact, name="D")
        migrate(url)
        with engine.begin() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT channel, purpose, state, source, actor_id FROM contact_consent ORDER BY channel, purpose"
                )
            ).all()
            attrs = conn.execute(sa.text("SELECT attributes FROM contact WHERE name = 'C'")).scalar_one()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("email", "marketing", "opted_in", "agent", uid),
        ("sms", "marketing", "opted_out", "keyword", None),
        ("sms", "service", "opted_out", "keyword", None),
        ("whatsapp", "marketing", "opted_out", "import", None),
    ]
    assert "sms_opt_out" not in str(attrs) and "gold" in str(attrs)


def test_migration_moves_old_consent_sqlite(tmp_path: Path) -> None:
    _old_data_moves(f"sqlite:///{tmp_path}/old.db")


def test_migration_moves_old_consent_postgresql(pg_server: str) -> None:
    name = f"sb_consent_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        _old_data_moves(
            pg_server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
        )
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("body", ["STOP", "stop", " Unsubscribe. ", "إلغاء", "الغاء", "إيقاف", "ايقاف!"])
def test_the_matcher_takes_the_whole_message(body: str) -> None:
    from hub.consent_keywords import KeywordMatcher

    m = KeywordMatcher.build(["halt"], ["resume"])
    assert m.match(body) == "opt_out"
    assert m.match(f"please {body} now") is None
    assert m.match("HALT") == "opt_out" and m.match("Resume!") == "opt_in" and m.match("ابدأ") == "opt_in"
    tg = m.extended(["/stop"], ["/start"])
    assert tg.match("/stop@our_bot") == "opt_out" and tg.match("/start topic") is None
