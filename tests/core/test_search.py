"""Conversation search and saved views (SQLite and PostgreSQL): Arabic-normalised text
over messages, subjects and customers, every filter, paging by last activity,
visibility, saved views with their rights and counts, the index kept by its
projection (rebuilt from old messages, emptied by an erasure), and 4xx on bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hub.domain import InboundMessage
from hub.models import Role
from hub.services import SYSTEM
from hub.services import labels as label_svc
from hub.services.conversations import add_note, assign, resolve, set_priority
from hub.services.ingest import ingest
from hub.services.privacy import erase_contact
from hub.services.search import snippet
from tests.helpers import login, team, user

SEARCH = "/api/v1/search/conversations"


def _msg(channel: str, sender: str, body: str, **kw: Any) -> InboundMessage:
    kind = {"sms": "phone", "whatsapp": "phone", "email": "email"}.get(channel, "loopback")
    return InboundMessage(
        channel=channel,
        provider_message_id=kw.pop("pid", f"{sender}-{abs(hash(body))}"),
        address_kind=kind,
        sender=sender,
        body=body,
        **kw,
    )


async def _in(app: Any, clock: Any, channel: str, sender: str, body: str, **kw: Any) -> int:
    clock.advance(60)  # each message a minute after the last: distinct last activity
    result = await ingest(app.hub, _msg(channel, sender, body, **kw))
    return result.conversation_id


async def _client(app: Any, email: str) -> tuple[Any, dict[str, str]]:
    c = app.new_client()
    return c, await login(c, email)


async def _ids(client: Any, **params: Any) -> list[int]:
    res = await client.get(SEARCH, params=params)
    assert res.status_code == 200, res.text
    return [item["id"] for item in res.json()["items"]]


async def _world(app: Any, clock: Any) -> dict[str, Any]:
    billing, tech = await team(app.hub, "Billing"), await team(app.hub, "Tech")
    ana = await user(app.hub, "ana@example.com", team_ids=(billing,))
    tom = await user(app.hub, "tom@example.com", team_ids=(tech,))
    await user(app.hub, "sue@example.com", role=Role.supervisor, team_ids=(billing,))
    await user(app.hub, "root@example.com", role=Role.admin)
    w: dict[str, Any] = {"billing": billing, "tech": tech, "ana": ana, "tom": tom}
    w["arabic"] = await _in(
        app,
        clock,
        "whatsapp",
        "+966501234567",
        "أريد استرداد الفاتورة من فضلك",
        team="Billing",
        sender_name="ليلى",
    )
    w["email"] = await _in(
        app,
        clock,
        "email",
        "omar@example.com",
        "The parcel never arrived.",
        subject="Missing order 4471",
        team="Billing",
        sender_name="Omar Haddad",
    )
    w["router"] = await _in(app, clock, "sms", "+966551112222", "أريد مساعدة في الراوتر", team="Tech")
    await app.hub.projections.catch_up()
    return w


async def test_arabic_letter_forms_and_marks_fold(app: Any, clock: Any) -> None:
    w = await _world(app, clock)
    ana, _ = await _client(app, "ana@example.com")
    # Stored "أريد" (hamza above) is found by bare alef, hamza below and madda forms.
    for q in ("اريد", "إريد", "آريد", "أريد"):
        assert await _ids(ana, q=q) == [w["arabic"]], q
    # Taa marbuta, alef maqsura, diacritics and tatweel in the query fold too.
    assert await _ids(ana, q="الفاتوره") == [w["arabic"]]
    assert await _ids(ana, q="اِستِردَاد") == [w["arabic"]]
    assert await _ids(ana, q="استـــرداد") == [w["arabic"]]
    conv = await _in(app, clock, "whatsapp", "+966501234567", "في المستشفى الآن", team="Billing")
    await app.hub.projections.catch_up()
    assert conv == w["arabic"]  # the same open conversation
    assert await _ids(ana, q="مستشفي") == [w["arabic"]]
    # The row says where: an excerpt of the message with the word marked as written.
    res = (await ana.get(SEARCH, params={"q": "اريد"})).json()["items"][0]
    match = res["match"]
    assert match["text"].startswith("أريد استرداد")
    start, end = match["marks"][0]
    assert match["text"][start:end] == "أريد"
    assert match["direction"] == "inbound" and match["kind"] == "text"


async def test_subjects_names_notes_and_words_across_them(app: Any, clock: Any) -> None:
    w = await _world(app, clock)
    ana, _ = await _client(app, "ana@example.com")
    assert await _ids(ana, q="4471") == [w["email"]]  # the email's subject
    assert await _ids(ana, q="haddad") == [w["email"]]  # the customer's name
    assert await _ids(ana, q="omar@example") == [w["email"]]  # and address
    assert await _ids(ana, q="ليلى") == [w["arabic"]]
    assert await _ids(ana, q="ليلي") == [w["arabic"]]  # alef maqsura in a name
    assert await _ids(ana, q="0501234567") == [w["arabic"]]  # the phone, national form
    # Every word must match, each in the messages or the customer: name + body.
    assert await _ids(ana, q="Haddad parcel") == [w["email"]]
    assert await _ids(ana, q="Haddad router") == []
    # Staff notes are searched too.
    await add_note(app.hub, SYSTEM, w["email"], "Courier says: depot in Dammam")
    await app.hub.projections.catch_up()
    assert await _ids(ana, q="dammam") == [w["email"]]
    # A word of one or two letters beside a longer one is ignored; alone it looks in
    # the customers' details only.
    assert await _ids(ana, q="parcel a") == [w["email"]]
    assert await _ids(ana, q="om") == [w["email"]]
    assert await _ids(ana, q="the") == [w["email"]]  # three letters: messages too


async def test_common_words_are_checked_per_conversation_with_the_same_answers(
    app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word in many messages is checked conversation by conversation instead of being
    listed from the index (hub.services.search.text_clauses): the answers are the same."""
    from hub.services import search

    w = await _world(app, clock)
    ana, _ = await _client(app, "ana@example.com")
    root, _ = await _client(app, "root@example.com")
    listed = {
        q: await _ids(root, q=q) for q in ("اريد", "Haddad parcel", "0501234567", "4471", "router", "ليلي")
    }
    monkeypatch.setattr(search, "COMMON_FROM", 1)  # every word is "common"
    for q, ids in listed.items():
        assert await _ids(root, q=q) == ids, q
    assert listed["اريد"] == [w["router"], w["arabic"]]
    assert await _ids(ana, q="اريد") == [w["arabic"]]  # still only what she may see
    assert await _ids(root, q="اريد", channel=["sms"]) == [w["router"]]
    counted = (await root.get(SEARCH, params={"q": "اريد", "count": "true"})).json()
    assert counted["total"] == 2


async def test_filters_combine_and_page_by_last_activity(app: Any, clock: Any) -> None:
    w = await _world(app, clock)
    hub = app.hub
    root, _ = await _client(app, "root@example.com")
    ana, _ = await _client(app, "ana@example.com")
    await assign(hub, SYSTEM, w["arabic"], w["ana"])
    await set_priority(hub, SYSTEM, w["email"], 5)
    await label_svc.create(hub, SYSTEM, {"key": "refund", "name_en": "Refund", "name_ar": "استرداد"})
    await label_svc.add_to_conversation(hub, SYSTEM, w["arabic"], "refund")
    await assign(hub, SYSTEM, w["router"], w["tom"])
    await resolve(hub, SYSTEM, w["router"], category="inquiry")
    # Newest activity first: tech (latest message), email, arabic.
    assert await _ids(root) == [w["router"], w["email"], w["arabic"]]
    assert await _ids(root, status=["resolved"]) == [w["router"]]
    assert await _ids(root, status=["queued", "assigned"]) == [w["email"], w["arabic"]]
    assert await _ids(root, channel=["email", "sms"]) == [w["router"], w["email"]]
    assert await _ids(root, team_id=[w["tech"]]) == [w["router"]]
    assert await _ids(root, assignee="unassigned") == [w["email"]]
    assert await _ids(root, assignee=str(w["tom"])) == [w["router"]]
    assert await _ids(ana, assignee="me") == [w["arabic"]]
    assert await _ids(root, assignee="me") == []
    assert await _ids(root, label="refund") == [w["arabic"]]
    assert await _ids(root, category=["inquiry"]) == [w["router"]]
    assert await _ids(root, priority_min=1) == [w["email"]]
    assert await _ids(root, priority_max=0) == [w["router"], w["arabic"]]
    # Text and filters together.
    assert await _ids(root, q="اريد") == [w["router"], w["arabic"]]
    assert await _ids(root, q="اريد", status=["assigned"]) == [w["arabic"]]
    # Date ranges: created and last activity (each message was a minute apart).
    first = clock.now - timedelta(minutes=2)  # the arabic conversation's first message
    assert await _ids(root, created_after=(first + timedelta(seconds=30)).isoformat()) == [
        w["router"],
        w["email"],
    ]
    assert await _ids(root, created_before=(first + timedelta(seconds=30)).isoformat()) == [w["arabic"]]
    # A new message makes the oldest the most recently active.
    await _in(app, clock, "whatsapp", "+966501234567", "any news?", team="Billing")
    await hub.projections.catch_up()
    assert await _ids(root) == [w["arabic"], w["router"], w["email"]]
    assert await _ids(root, active_after=(clock.now - timedelta(seconds=30)).isoformat()) == [w["arabic"]]
    assert await _ids(root, active_before=(clock.now - timedelta(seconds=30)).isoformat()) == [
        w["router"],
        w["email"],
    ]
    # Keyset pages of one, then counted.
    seen, cursor = [], None
    for _ in range(4):
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await root.get(SEARCH, params=params)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [w["arabic"], w["router"], w["email"]] and cursor is None
    counted = (await root.get(SEARCH, params={"q": "اريد", "count": "true", "limit": 1})).json()
    assert counted["total"] == 2 and not counted["total_capped"] and len(counted["items"]) == 1


async def test_only_what_the_viewer_may_see(app: Any, clock: Any) -> None:
    w = await _world(app, clock)
    tom, _ = await _client(app, "tom@example.com")  # agent of Tech
    sue, _ = await _client(app, "sue@example.com")  # supervisor of Billing
    root, _ = await _client(app, "root@example.com")
    assert await _ids(tom, q="اريد") == [w["router"]]  # not Billing's
    assert await _ids(tom, q="parcel") == []
    assert await _ids(sue, q="اريد") == [w["arabic"]]
    assert await _ids(root, q="اريد") == [w["router"], w["arabic"]]
    # Assigned to him across teams: his to find.
    await assign(app.hub, SYSTEM, w["email"], w["tom"])
    assert await _ids(tom, q="parcel") == [w["email"]]
    # A view can never widen it: Sue's shared view counts Tom's own for Tom.
    made = await sue.post(
        "/api/v1/views",
        json={"name": "Everything", "scope": "everyone", "filters": {}},
        headers=await login(sue, "sue@example.com"),
    )
    assert made.status_code == 201, made.text
    listed = (await tom.get("/api/v1/views")).json()["items"]
    assert [(v["name"], v["count"], v["editable"]) for v in listed] == [("Everything", 2, False)]
    assert await _ids(tom, view_id=made.json()["id"]) == [w["router"], w["email"]]


async def test_saved_views_crud_rights_and_counts(app: Any, clock: Any) -> None:
    w = await _world(app, clock)
    ana, ah = await _client(app, "ana@example.com")
    sue, sh = await _client(app, "sue@example.com")
    tom, th = await _client(app, "tom@example.com")
    root, rh = await _client(app, "root@example.com")
    await assign(app.hub, SYSTEM, w["arabic"], w["ana"])

    mine = await ana.post(
        "/api/v1/views",
        json={"name": "  My   Arabic ", "filters": {"q": "اريد", "assignee": "me", "status": ["assigned"]}},
        headers=ah,
    )
    assert mine.status_code == 201, mine.text
    view = mine.json()
    assert view["name"] == "My Arabic" and view["scope"] == "personal" and view["count"] == 1
    assert view["filters"] == {"q": "اريد", "assignee": "me", "status": ["assigned"]} and view["editable"]
    # Personal: nobody else sees it, not even an admin.
    for client in (tom, root):
        assert (await client.get(f"/api/v1/views/{view['id']}")).status_code == 404
    assert (await tom.delete(f"/api/v1/views/{view['id']}", headers=th)).status_code == 404

    # Shared views are the supervisors' and admins'.
    shared = {
        "name": "Billing queue",
        "scope": "team",
        "team_id": w["billing"],
        "filters": {"assignee": "unassigned"},
    }
    denied = await ana.post("/api/v1/views", json=shared, headers=ah)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "role_required"
    other_team = await sue.post("/api/v1/views", json={**shared, "team_id": w["tech"]}, headers=sh)
    assert other_team.status_code == 403 and other_team.json()["error"]["code"] == "not_your_team"
    made = await sue.post("/api/v1/views", json=shared, headers=sh)
    assert made.status_code == 201, made.text
    team_view = made.json()
    # Billing's members see it with their count; Tech's don't see it at all.
    ana_views = (await ana.get("/api/v1/views")).json()["items"]
    assert [(v["name"], v["count"], v["editable"]) for v in ana_views] == [
        ("My Arabic", 1, True),
        ("Billing queue", 1, False),
    ]
    assert (await tom.get("/api/v1/views")).json()["items"] == []
    # Only its owner (or an admin) changes it.
    refused = await ana.patch(f"/api/v1/views/{team_view['id']}", json={"name": "Mine now"}, headers=ah)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_owner"
    renamed = await root.patch(
        f"/api/v1/views/{team_view['id']}", json={"name": "Waiting in Billing"}, headers=rh
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Waiting in Billing"
    # The count follows the conversations: a new one in Billing counts at once.
    await _in(app, clock, "sms", "+966509998888", "hello?", team="Billing")
    counts = {v["id"]: v["count"] for v in (await ana.get("/api/v1/views")).json()["items"]}
    assert counts[team_view["id"]] == 2
    # Edit own: filters are checked again; delete.
    changed = await ana.patch(
        f"/api/v1/views/{view['id']}", json={"filters": {"channel": ["whatsapp"]}}, headers=ah
    )
    assert changed.status_code == 200 and changed.json()["count"] == 1
    assert (await ana.delete(f"/api/v1/views/{view['id']}", headers=ah)).status_code == 204
    assert (await ana.get(f"/api/v1/views/{view['id']}")).status_code == 404
    assert (await sue.delete(f"/api/v1/views/{team_view['id']}", headers=sh)).status_code == 204


async def test_counts_stop_at_the_cap(app: Any, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.api import routes_views

    monkeypatch.setattr(routes_views, "MAX_COUNT", 2)
    await _world(app, clock)
    root, rh = await _client(app, "root@example.com")
    made = (await root.post("/api/v1/views", json={"name": "All", "filters": {}}, headers=rh)).json()
    assert (made["count"], made["count_capped"]) == (2, True)


async def test_bad_input_is_refused_with_4xx(app: Any, clock: Any) -> None:
    await _world(app, clock)
    ana, ah = await _client(app, "ana@example.com")
    assert (await app.new_client().get(SEARCH)).status_code == 401
    for params, field in (
        ({"status": "bogus"}, "query.status.0"),
        ({"assignee": "someone"}, "query.assignee"),
        ({"priority_min": 5, "priority_max": 1}, "query.priority_max"),
        (
            {"created_after": "2026-02-01T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"},
            "query.created_before",
        ),
        ({"q": "x" * 201}, "query.q"),
        ({"limit": 0}, "query.limit"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
        ({"channel": "Not A Channel"}, "query.channel.0"),
        ({"created_after": "notadate"}, "query.created_after"),
        ({"team_id": "0"}, "query.team_id.0"),
    ):
        res = await ana.get(SEARCH, params=params)
        assert res.status_code == 422, (params, res.text)
        assert res.json()["error"]["fields"][0]["field"] == field, (params, res.text)
    assert (await ana.get(SEARCH, params={"view_id": 999})).status_code == 404
    base = {"name": "Mine", "filters": {}}
    for body, field in (
        ({**base, "name": "   "}, "name"),
        ({**base, "name": "x" * 61}, "name"),
        ({**base, "name": "bad\u0007bell"}, "name"),
        ({**base, "filters": {"bogus": 1}}, "filters.bogus"),
        ({**base, "filters": {"status": ["nope"]}}, "filters.status.0"),
        ({**base, "filters": {"team_id": [True]}}, "filters.team_id.0"),
        ({**base, "filters": {"assignee": "1"}}, "filters.assignee"),
        ({**base, "filters": {"q": "x" * 201}}, "filters.q"),
        (
            {**base, "filters": {"active_after": "2026-02-01", "active_before": "2026-01-01"}},
            "filters.active_before",
        ),
        ({**base, "scope": "personal", "team_id": 1}, "team_id"),
    ):
        res = await ana.post("/api/v1/views", json=body, headers=ah)
        assert res.status_code == 422, (body, res.text)
        assert res.json()["error"]["fields"][0]["field"].startswith(field), (body, res.text)
    res = await ana.post("/api/v1/views", json={**base, "color": "red"}, headers=ah)
    assert res.status_code == 422  # unknown fields
    made = (await ana.post("/api/v1/views", json=base, headers=ah)).json()
    res = await ana.get(SEARCH, params={"view_id": made["id"], "q": "x"})
    assert res.status_code == 422 and res.json()["error"]["fields"][0]["field"] == "view_id"
    assert (
        await ana.patch(f"/api/v1/views/{made['id']}", json={"name": None}, headers=ah)
    ).status_code == 422
    assert (await ana.post("/api/v1/views", json=base)).status_code == 403  # no CSRF header


async def test_the_index_is_rebuilt_from_old_messages_and_forgets_erased_ones(app: Any, clock: Any) -> None:
    w = await _world(app, clock)
    hub = app.hub
    root, _ = await _client(app, "root@example.com")
    # As after upgrading a hub with history: the index starts empty and is rebuilt.
    async with hub.db.transaction() as s:
        await s.exec(__import__("sqlalchemy").text("DELETE FROM message_search"))  # type: ignore[call-overload]
    assert await _ids(root, q="parcel") == []
    await hub.projections.rebuild("message_search")
    assert await _ids(root, q="parcel") == [w["email"]]
    # Erasure: the customer's messages lose their text, and the index its rows.
    async with hub.db.session() as s:
        from hub.models import Conversation

        contact_id = (await s.get(Conversation, w["email"])).contact_id  # type: ignore[union-attr]
    await erase_contact(hub, SYSTEM, contact_id)
    await hub.projections.catch_up()
    assert await _ids(root, q="parcel") == []


async def test_a_round_of_messages_reaches_the_sqlite_index_in_one_write(app: Any, clock: Any) -> None:
    """The projection's rows go in as one multi-row statement (hub.db._multi_row_inserts):
    row by row, the trigger made FTS5 write a segment per message, ~4× the CPU."""
    hub = app.hub
    if not hub.db.is_sqlite:
        return  # PostgreSQL's trigram index has no segments: the search tests above cover it
    await hub.projections.stop()  # only the test applies the log: the 12 messages in one round
    await hub.projections.catch_up()
    segments = "SELECT count(DISTINCT segid) FROM message_search_fts_idx"
    async with hub.db.session() as s:
        conn = await s.connection()
        before = (await conn.exec_driver_sql(segments)).scalar()
    bodies = [f"order {n:05d} has not arrived" for n in range(12)]
    for n, body in enumerate(bodies):
        await _in(app, clock, "sms", f"+96655111{n:04d}", body)
    await hub.projections.catch_up()
    async with hub.db.session() as s:
        conn = await s.connection()
        after = (await conn.exec_driver_sql(segments)).scalar()
        found = (
            await conn.exec_driver_sql(
                "SELECT count(*) FROM message_search_fts WHERE text LIKE '%has not arrived%'"
            )
        ).scalar()
    assert found == len(bodies)
    assert after - before == 1  # row by row: one per message, less what FTS5 merged since
    await user(hub, "root@example.com", role=Role.admin)
    root, _ = await _client(app, "root@example.com")
    assert len(await _ids(root, q="00007")) == 1


async def test_the_rows_the_log_makes_are_the_rows_a_rebuild_makes(app: Any, clock: Any) -> None:
    """The index as the log's events leave it is the index a rebuild from the messages
    makes (its list reads are one JSON array on SQLite, hub.precompiled.json_each_in);
    an event that names no stored message (a hand-written or an older log) makes no
    row, and an erasure in the same round as its customer's messages wins."""
    import sqlalchemy as sa

    from hub.models import Conversation, EventLog

    hub = app.hub
    await hub.projections.stop()  # only the test applies the log: one round for all of it
    rows = "SELECT message_id, conversation_id, text FROM message_search ORDER BY message_id"
    w = await _world(app, clock)
    await add_note(hub, SYSTEM, w["router"], "الراوتر لا يعمل بعد إعادة التشغيل")
    kept = await _in(app, clock, "email", "lina@example.com", "Where is my refund?", subject="Refund 88")
    gone = await _in(app, clock, "sms", "+966559990000", "my parcel 5521 was lost")
    async with hub.db.transaction() as s:
        s.add(
            EventLog(
                type="message.received", payload={"conversation_id": kept, "message_id": 10**6, "body": "x"}
            )
        )
        contact_id = (await s.get(Conversation, gone)).contact_id  # type: ignore[union-attr]
    await erase_contact(hub, SYSTEM, contact_id)
    await hub.projections.catch_up()
    async with hub.db.session() as s:
        folded = (await s.exec(sa.text(rows))).all()  # type: ignore[call-overload]
        messages = (await s.exec(sa.text("SELECT count(*) FROM message"))).one()  # type: ignore[call-overload]
    assert {r.message_id for r in folded} and 10**6 not in {r.message_id for r in folded}
    assert gone not in {r.conversation_id for r in folded}
    assert len(folded) == messages[0] - 1  # every message but the erased one has text
    assert any(r.text == "refund 88 where is my refund?" for r in folded)
    await hub.projections.rebuild("message_search")
    async with hub.db.session() as s:
        assert (await s.exec(sa.text(rows))).all() == folded  # type: ignore[call-overload]


def test_snippet_marks_the_words_where_they_are_written() -> None:
    text = "Hello, " + "x " * 200 + "I want a REFUND for الفاتـورة please " + "y " * 200
    excerpt, marks = snippet(text, ["refund", "الفاتوره"])
    assert excerpt.startswith("… ") and excerpt.endswith(" …") and len(excerpt) < 200
    assert [excerpt[a:b] for a, b in marks] == ["REFUND", "الفاتـورة"]
    assert snippet("no words here", ["absent"]) == ("no words here", [])


async def test_answers_say_how_far_the_text_indexes_had_got(app: Any, clock: Any) -> None:
    """The text indexes are projections, a little behind the log: every answer says
    the position they had applied (indexed_through), and a count with words in it
    includes the messages of the events up to there — so a console that reacted to a
    later event knows to ask again (docs/console.md, "Search and views")."""
    from sqlmodel import select

    from hub.models import EventLog

    await _world(app, clock)
    ana, ah = await _client(app, "ana@example.com")
    view = (
        await ana.post("/api/v1/views", json={"name": "Refunds", "filters": {"q": "استرداد"}}, headers=ah)
    ).json()
    assert view["count"] == 1
    await app.hub.projections.stop()  # the indexes stand still from here
    await _in(app, clock, "whatsapp", "+966507654321", "أريد استرداد المبلغ", team="Billing")
    async with app.hub.db.session() as s:
        seen = (await s.exec(select(EventLog.id).order_by(EventLog.id.desc()).limit(1))).first()  # type: ignore[union-attr]
    assert seen is not None

    listed = (await ana.get("/api/v1/views")).json()
    found = (await ana.get(SEARCH, params={"q": "استرداد", "count": "true"})).json()
    assert listed["indexed_through"] < seen and found["indexed_through"] < seen
    assert listed["items"][0]["count"] == 1 and found["total"] == 1  # not yet in the index

    await app.hub.projections.catch_up()
    listed = (await ana.get("/api/v1/views")).json()
    found = (await ana.get(SEARCH, params={"q": "استرداد", "count": "true"})).json()
    assert listed["indexed_through"] >= seen and found["indexed_through"] >= seen
    assert listed["items"][0]["count"] == 2 and found["total"] == 2
