"""Scheduled report mails: the schedule's calendar across DST, the mail through a real
SMTP server (aiosmtpd as the email channel's) with the recipient's own figures, escaped
HTML, Arabic right to left and the chart inline; each period mailed once — after a
missed run, a crash inside the firing transaction, a worker dying mid-send, a second
hub process — and the admin API's rights and field codes. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from channels.email import EmailChannel
from hub.app import build_projections
from hub.models import OutboxStatus, ReportSchedule, Role, StaffMail
from hub.outbox import OutboxWorker
from hub.reports import schedules
from hub.reports.schedules import last_run, next_run, period_for
from tests.channels.email_servers import Received, SmtpSink, running_sink
from tests.helpers import inbound, login, team, user

BERLIN = "Europe/Berlin"


class Killed(BaseException):
    """A process dying: nothing in the hub catches it (unlike an Exception)."""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- the calendar (no database) -------------------------------------------------------------
def test_daily_runs_stay_at_the_local_hour_across_dst() -> None:
    zone = ZoneInfo(BERLIN)
    runs = []
    at = utc(2026, 3, 27, 12)
    for _ in range(4):  # across the spring-forward night (29 March)
        at = next_run("daily", None, 8, BERLIN, at)
        runs.append(at)
    assert runs == [utc(2026, 3, 28, 7), utc(2026, 3, 29, 6), utc(2026, 3, 30, 6), utc(2026, 3, 31, 6)]
    assert {r.astimezone(zone).hour for r in runs} == {8}
    autumn = next_run("daily", None, 8, BERLIN, utc(2026, 10, 24, 6))
    assert autumn == utc(2026, 10, 25, 7) and autumn.astimezone(zone).hour == 8
    # Exactly at a run time: that run is the last one, the next is tomorrow.
    assert last_run("daily", None, 8, BERLIN, utc(2026, 3, 30, 6)) == utc(2026, 3, 30, 6)
    assert next_run("daily", None, 8, BERLIN, utc(2026, 3, 30, 6)) == utc(2026, 3, 31, 6)
    # An hour the spring-forward night skips runs an hour later on the clock, once.
    assert next_run("daily", None, 2, BERLIN, utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1)
    # A half-hour zone.
    assert next_run("daily", None, 8, "Asia/Kolkata", utc(2026, 1, 5, 0)) == utc(2026, 1, 5, 2, 30)


def test_weekly_runs_and_the_periods_they_cover() -> None:
    # Weekly on Monday 07:00 Riyadh: from Monday 04:00 UTC on.
    assert next_run("weekly", 0, 7, "Asia/Riyadh", utc(2026, 1, 7, 0)) == utc(2026, 1, 12, 4)
    assert last_run("weekly", 0, 7, "Asia/Riyadh", utc(2026, 1, 11, 23)) == utc(2026, 1, 5, 4)
    # Daily: the local day before, 23 hours on the spring-forward day, 25 in autumn.
    p = period_for("daily", BERLIN, utc(2026, 3, 30, 6))
    assert (p.first_day, p.last_day) == (date(2026, 3, 29), date(2026, 3, 29))
    assert (p.since, p.until, p.before_since) == (
        utc(2026, 3, 28, 23),
        utc(2026, 3, 29, 22),
        utc(2026, 3, 27, 23),
    )
    assert p.until - p.since == timedelta(hours=23) and p.label() == "2026-03-29"
    autumn = period_for("daily", BERLIN, utc(2026, 10, 26, 7))
    assert autumn.until - autumn.since == timedelta(hours=25)
    # Weekly: the Monday-Sunday before the run's week, whatever day it runs.
    for run in (utc(2026, 3, 30, 6), utc(2026, 4, 1, 6), utc(2026, 4, 5, 6)):
        w = period_for("weekly", BERLIN, run)
        assert (w.first_day, w.last_day) == (date(2026, 3, 23), date(2026, 3, 29))
        assert w.until - w.since == timedelta(days=7, hours=-1)
        assert w.before_since == utc(2026, 3, 15, 23) and w.label() == "2026-03-23 – 2026-03-29"


# -- the mail --------------------------------------------------------------------------------
@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    async with running_sink() as sink:
        yield sink


def email_channel(sink: SmtpSink) -> EmailChannel:
    """The email channel, sending through the sink: its SMTP settings mail the reports."""
    section = {
        "address": "support@acme.test",
        "company_name": "Acme",
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "smtp_security": "none",
        "smtp_timeout_seconds": 5,
    }
    return EmailChannel.from_config(section)


@pytest.fixture
def extra_channels(smtp_sink: SmtpSink) -> list[Any]:
    return [email_channel(smtp_sink)]


async def staff(app: Any) -> dict[str, Any]:
    hub = app.hub
    care = await team(hub, "Care <&> Co")
    sales = await team(hub, "Sales")
    ids = {
        "care": care,
        "sales": sales,
        "boss": await user(hub, "boss@example.com", Role.supervisor, (care,), name="Boss <b>"),
        "root": await user(hub, "root@example.com", Role.admin, name="Root"),
        "agent": await user(hub, "agent@example.com", Role.agent, (care,)),
    }
    return ids


async def traffic(app: Any, clock: Any) -> None:
    """Sunday 4 Jan: one Care conversation. Monday 5 Jan (Berlin): three in Care, one
    in Sales."""
    clock.now = utc(2026, 1, 4, 10)
    await inbound(app.client, "cust-0", "hello", team="Care <&> Co")
    clock.now = utc(2026, 1, 5, 9)
    for n in range(3):
        await inbound(app.client, f"cust-{n + 1}", "hi", team="Care <&> Co")
    await inbound(app.client, "cust-s", "buy", team="Sales")
    await app.hub.projections.catch_up()


async def create(app: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await app.client.post("/api/v1/reports/schedules", json=body, headers=headers)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def tick(app: Any) -> None:
    """What the hub's loops do: fire the due timers, then deliver."""
    await app.hub.projections.run_due()
    while await app.worker.run_once():
        pass


def html_of(mail: Received) -> str:
    part = mail.message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def text_of(mail: Received) -> str:
    part = mail.message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def by_recipient(mails: list[Received]) -> dict[str, Received]:
    return {m.rcpt_tos[0]: m for m in mails}


async def mails_in_db(app: Any) -> list[StaffMail]:
    async with app.hub.db.session() as s:
        return list((await s.exec(select(StaffMail).order_by(StaffMail.id))).all())  # type: ignore[arg-type]


async def test_a_daily_report_goes_out_once_with_each_recipients_figures(
    app: Any, clock: Any, smtp_sink: SmtpSink
) -> None:
    ids = await staff(app)
    await traffic(app, clock)
    h = await login(app.client, "root@example.com")
    clock.now = utc(2026, 1, 5, 12)
    sched = await create(
        app,
        h,
        name='<img src=x onerror="alert(1)"> & daily',
        frequency="daily",
        hour=8,
        timezone=BERLIN,
        recipients=[ids["boss"], ids["root"]],
    )
    assert sched["next_run_at"] == "2026-01-06T07:00:00Z"
    clock.now = utc(2026, 1, 6, 6, 59)
    await tick(app)
    assert smtp_sink.received == []
    clock.now = utc(2026, 1, 6, 7, 0)
    await tick(app)
    mails = by_recipient(await smtp_sink.wait_for(2))
    # The supervisor sees Care only: 3 new against 1 the day before. The admin sees all.
    boss, root = mails["boss@example.com"], mails["root@example.com"]
    assert boss.message["Subject"] == 'Daily report: <img src=x onerror="alert(1)"> & daily, 2026-01-05'
    assert boss.message["Auto-Submitted"] == "auto-generated"
    page = html_of(boss)
    assert '<html lang="en" dir="ltr">' in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; daily" in page and "<img src=x" not in page
    assert "Hello Boss &lt;b&gt;," in page and "Teams: Care &lt;&amp;&gt; Co" in page
    assert "<style" not in page and "<script" not in page
    row = page.split("New conversations</th>", 1)[1].split("</tr>", 1)[0]
    assert ">3</span>" in row and ">1</span>" in row and "+2 (+200.0 %)" in row
    assert "New conversations: 3 (Before: 1; Change: +2 (+200.0 %))" in text_of(boss)
    assert "New conversations: 4 (Before: 1; Change: +3 (+300.0 %))" in text_of(root)
    assert "All teams" in html_of(root)
    # The chart: a small PNG related to the HTML by its Content-ID.
    chart = next(p for p in boss.message.walk() if p.get_content_type() == "image/png")
    assert isinstance(chart, EmailMessage)
    png = chart.get_content()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 20_000
    assert f'src="cid:{chart["Content-ID"].strip("<>")}"' in page
    assert "  10: 3" in text_of(boss)  # 09:00 UTC is 10:00 in Berlin
    # Once: more passes, a restart of the runner, send nothing more.
    await tick(app)
    other = build_projections(app.hub)
    await other.prepare()
    await other.run_due()
    await tick(app)
    assert len(smtp_sink.received) == 2
    async with app.hub.db.session() as s:
        row_ = await s.get(ReportSchedule, sched["id"])
    assert row_ is not None and row_.next_run_at == utc(2026, 1, 7, 7)
    assert row_.last_period_start == utc(2026, 1, 4, 23) and row_.last_status == "queued 2"
    # The next day's run mails the next day.
    clock.now = utc(2026, 1, 7, 7, 0)
    await tick(app)
    later = await smtp_sink.wait_for(4)
    assert {m.message["Subject"].rsplit(", ", 1)[1] for m in later[2:]} == {"2026-01-06"}


async def test_an_arabic_weekly_report_is_right_to_left(app: Any, clock: Any, smtp_sink: SmtpSink) -> None:
    ids = await staff(app)
    await traffic(app, clock)
    h = await login(app.client, "root@example.com")
    await create(
        app,
        h,
        name="تقرير الأسبوع",
        frequency="weekly",
        weekday=0,
        hour=7,
        timezone="Asia/Riyadh",
        language="ar",
        team_id=ids["care"],
        recipients=[ids["boss"]],
    )
    clock.now = utc(2026, 1, 12, 4)
    await tick(app)
    (mail,) = await smtp_sink.wait_for(1)
    assert mail.message["Subject"] == "التقرير الأسبوعي: تقرير الأسبوع، 2026-01-05 – 2026-01-11"
    page = html_of(mail)
    assert '<html lang="ar" dir="rtl">' in page and 'dir="rtl"' in page.split("<body", 1)[1]
    assert "المحادثات الجديدة" in page and "text-align:right" in page
    # Riyadh's week of 5-11 January: the three Care conversations of Monday.
    # Figures are isolated left to right inside the Arabic text (LRI … PDI).
    assert (
        "المحادثات الجديدة: \u20663\u2069 (السابقة: \u20661\u2069؛ التغيّر: \u2066+2 (+200.0 %)\u2069)"
        in text_of(mail)
    )
    assert "  01-05: 3" in text_of(mail)


async def test_a_hub_down_past_several_runs_mails_once_for_the_latest_period(
    app: Any, clock: Any, smtp_sink: SmtpSink
) -> None:
    ids = await staff(app)
    h = await login(app.client, "root@example.com")
    clock.now = utc(2026, 1, 5, 12)
    await create(app, h, name="Daily", hour=8, timezone=BERLIN, recipients=[ids["root"]])
    clock.now = utc(2026, 1, 9, 13)  # four runs missed
    await tick(app)
    (mail,) = await smtp_sink.wait_for(1)
    assert mail.message["Subject"].endswith(", 2026-01-08")
    await tick(app)
    assert len(smtp_sink.received) == 1
    async with app.hub.db.session() as s:
        (row,) = (await s.exec(select(ReportSchedule))).all()
    assert row.next_run_at == utc(2026, 1, 10, 7)


async def test_a_crash_inside_the_firing_transaction_leaves_nothing_and_fires_again(
    app: Any, clock: Any, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    await app.hub.projections.stop()  # its loop must not fire the timer behind the test's back
    ids = await staff(app)
    h = await login(app.client, "root@example.com")
    clock.now = utc(2026, 1, 5, 12)
    await create(app, h, name="Daily", hour=8, timezone=BERLIN, recipients=[ids["root"], ids["boss"]])
    clock.now = utc(2026, 1, 6, 7)
    real = schedules.next_run

    def crash(*args: Any) -> datetime:
        raise Killed("the process dies after queueing, before advancing")

    # The mails are queued, then the advance fails: the transaction rolls back whole.
    monkeypatch.setattr(schedules, "next_run", crash)
    with pytest.raises(Killed):
        await app.hub.projections.run_due()
    assert await mails_in_db(app) == []
    monkeypatch.setattr(schedules, "next_run", real)
    await tick(app)
    await tick(app)
    assert len(await smtp_sink.wait_for(2)) == 2
    assert [m.status for m in await mails_in_db(app)] == [OutboxStatus.sent] * 2


async def test_a_broken_schedule_is_retried_later_without_holding_up_the_others(
    app: Any, clock: Any, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    await app.hub.projections.stop()
    ids = await staff(app)
    h = await login(app.client, "root@example.com")
    clock.now = utc(2026, 1, 5, 12)
    broken = await create(app, h, name="Broken", hour=8, timezone=BERLIN, recipients=[ids["root"]])
    await create(app, h, name="Fine", hour=8, timezone=BERLIN, recipients=[ids["root"]])
    real = schedules.figures_for

    async def failing(s: Any, actor: Any, sched: Any, *args: Any) -> Any:
        if sched.name == "Broken":
            raise ValueError("a bug")
        return await real(s, actor, sched, *args)

    monkeypatch.setattr(schedules, "figures_for", failing)
    clock.now = utc(2026, 1, 6, 7)
    await tick(app)
    (mail,) = await smtp_sink.wait_for(1)
    assert mail.message["Subject"] == "Daily report: Fine, 2026-01-05"
    async with app.hub.db.session() as s:
        row = await s.get(ReportSchedule, broken["id"])
    assert row is not None and row.last_status == "failed (ValueError); retrying"
    assert row.next_run_at == utc(2026, 1, 6, 7, 5) and row.last_period_start is None
    # Mended: the retry mails the same period, once.
    monkeypatch.setattr(schedules, "figures_for", real)
    clock.now = utc(2026, 1, 6, 7, 5)
    await tick(app)
    await tick(app)
    mails = await smtp_sink.wait_for(2)
    assert [m.message["Subject"] for m in mails[1:]] == ["Daily report: Broken, 2026-01-05"]


async def test_a_worker_that_dies_mid_send_leaves_the_mail_to_the_next_after_its_lease(
    app: Any, clock: Any, smtp_sink: SmtpSink
) -> None:
    from hub import staff_outbox

    await app.hub.projections.stop()
    ids = await staff(app)
    h = await login(app.client, "root@example.com")
    clock.now = utc(2026, 1, 5, 12)
    await create(app, h, name="Daily", hour=8, timezone=BERLIN, recipients=[ids["root"]])
    clock.now = utc(2026, 1, 6, 7)
    await app.hub.projections.run_due()
    due = await staff_outbox.next_due(app.hub)
    assert due is not None and due <= clock.now  # pending: due now
    # A worker claims the mail and dies before SMTP is reached.
    claimed = await staff_outbox.claim(app.hub)
    assert len(claimed) == 1
    # Claimed: the next thing due is its lease lapsing.
    lease = timedelta(seconds=app.hub.settings.outbox.lease_seconds)
    assert await staff_outbox.next_due(app.hub) == clock.now + lease
    # Another process's worker (or this one after a restart) leaves it while leased...
    other = OutboxWorker(app.hub)
    assert await other.run_once() == 0
    assert smtp_sink.received == []
    # ...and sends it once the lease has lapsed, with the Message-ID it was queued with.
    clock.advance(app.hub.settings.outbox.lease_seconds + 1)
    assert await other.run_once() == 1
    (mail,) = await smtp_sink.wait_for(1)
    (row,) = await mails_in_db(app)
    assert row.status == OutboxStatus.sent and row.attempts == 2
    assert mail.message["Message-ID"] in row.mime


async def test_a_refused_mail_is_retried_then_dead(app: Any, clock: Any, smtp_sink: SmtpSink) -> None:
    ids = await staff(app)
    h = await login(app.client, "root@example.com")
    clock.now = utc(2026, 1, 5, 12)
    await create(app, h, name="Daily", hour=8, timezone=BERLIN, recipients=[ids["root"]])
    clock.now = utc(2026, 1, 6, 7)
    smtp_sink.data_replies = ["451 4.3.0 try later", "554 5.7.1 refused"]
    await tick(app)
    (row,) = await mails_in_db(app)
    assert row.status == OutboxStatus.pending and "451" in (row.last_error or "")
    clock.advance(600)
    await tick(app)
    (row,) = await mails_in_db(app)
    assert row.status == OutboxStatus.dead and "554" in (row.last_error or "")
    assert smtp_sink.received == []


# -- the API ---------------------------------------------------------------------------------
async def test_only_admins_manage_schedules(app: Any, clock: Any, smtp_sink: SmtpSink) -> None:
    ids = await staff(app)
    body = {"name": "Daily", "timezone": BERLIN, "recipients": [ids["boss"]]}
    for email in ("agent@example.com", "boss@example.com"):
        client = app.new_client()
        h = await login(client, email)
        assert (await client.get("/api/v1/reports/schedules")).status_code == 403
        r = await client.post("/api/v1/reports/schedules", json=body, headers=h)
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_required"
    h = await login(app.client, "root@example.com")
    created = await create(app, h, **body)
    assert created["frequency"] == "daily" and created["weekday"] is None and created["enabled"] is True
    sid = created["id"]
    listed = (await app.client.get("/api/v1/reports/schedules")).json()["items"]
    assert [s["id"] for s in listed] == [sid]
    # Weekly on Friday 17:00: the timer moves with it.
    clock.now = utc(2026, 1, 5, 12)
    r = await app.client.patch(
        f"/api/v1/reports/schedules/{sid}", json={"frequency": "weekly", "weekday": 4, "hour": 17}, headers=h
    )
    assert r.status_code == 200 and r.json()["next_run_at"] == "2026-01-09T16:00:00Z"
    r = await app.client.patch(f"/api/v1/reports/schedules/{sid}", json={"enabled": False}, headers=h)
    assert r.json()["next_run_at"] is None
    r = await app.client.post(f"/api/v1/reports/schedules/{sid}/send-now", headers=h)
    assert r.status_code == 202 and r.json()["queued"] == 1
    while await app.worker.run_once():
        pass
    (mail,) = await smtp_sink.wait_for(1)
    assert mail.message["Subject"] == "Weekly report: Daily, 2025-12-29 – 2026-01-04"
    r = await app.client.delete(f"/api/v1/reports/schedules/{sid}", headers=h)
    assert r.status_code == 204
    r = await app.client.patch(f"/api/v1/reports/schedules/{sid}", json={"hour": 9}, headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "schedule_not_found"


CASES = [
    ({"timezone": "Mars/Olympus"}, "timezone", "invalid_timezone"),
    ({"timezone": "Europe"}, "timezone", "invalid_timezone"),
    ({"name": "   "}, "name", "required"),
    ({"recipients": [999]}, "recipients", "unknown_recipient"),
    ({"recipients": ["agent"]}, "recipients", "recipient_not_supervisor"),
    ({"recipients": []}, "recipients", "no_recipients"),
    ({"hour": 24}, "hour", "bad_hour"),
    ({"hour": -1}, "hour", "bad_hour"),
    ({"frequency": "weekly"}, "weekday", "bad_weekday"),
    ({"frequency": "weekly", "weekday": 7}, "weekday", "bad_weekday"),
    ({"frequency": "monthly"}, "frequency", "bad_frequency"),
    ({"team_id": "sales"}, "recipients", "recipient_not_in_team"),
    ({"team_id": 999}, "team_id", "unknown_team"),
]


async def test_validation_names_the_field_with_a_stable_code(app: Any) -> None:
    ids = await staff(app)
    h = await login(app.client, "root@example.com")
    sid = (await create(app, h, name="Daily", timezone=BERLIN, recipients=[ids["boss"]]))["id"]
    for change, field, code in CASES:
        # Names in the cases stand for the ids of the users and teams made above.
        real = {
            k: [ids.get(x, x) for x in v] if k == "recipients" else ids.get(v, v) if k == "team_id" else v
            for k, v in change.items()
        }
        body: dict[str, Any] = {"name": "Daily", "timezone": BERLIN, "recipients": [ids["boss"]], **real}
        r = await app.client.post("/api/v1/reports/schedules", json=body, headers=h)
        assert r.status_code == 422, (change, r.text)
        err = r.json()["error"]
        assert err["code"] == "validation_error"
        assert [(f["field"], f["code"]) for f in err["fields"]] == [(field, code)], change
        # The same rules on a change.
        r = await app.client.patch(f"/api/v1/reports/schedules/{sid}", json=real, headers=h)
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["code"] == code, change
    # Several problems at once, each by its field.
    r = await app.client.post(
        "/api/v1/reports/schedules",
        json={"name": "x", "hour": 99, "timezone": "nowhere", "recipients": [ids["agent"]]},
        headers=h,
    )
    codes = {(f["field"], f["code"]) for f in r.json()["error"]["fields"]}
    assert codes == {
        ("hour", "bad_hour"),
        ("timezone", "invalid_timezone"),
        ("recipients", "recipient_not_supervisor"),
    }
    # Type errors are the framework's.
    r = await app.client.post(
        "/api/v1/reports/schedules", json={"name": "x", "hour": "8", "recipients": [ids["boss"]]}, headers=h
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = await app.client.post(
        "/api/v1/reports/schedules", json={"name": "", "recipients": [ids["boss"]]}, headers=h
    )
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "body.name"
