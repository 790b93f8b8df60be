"""The ``reports`` projection: what happened, per half hour × team × channel × agent.

A half hour is the *slot* (seconds since the epoch ÷ 1800). Three kinds of figures:

- **Counts of events** (new conversations, inbound and outbound messages, agent
  replies, resolutions, reopenings, transfers, surveys sent) are *folded*: each event
  adds one to its row of ``report_slot`` in the transaction that moves the checkpoint,
  so each is counted exactly once, at its commit time, for the team and agent in its
  envelope (where the conversation was *then*). A resolution also adds a ``res``
  duration sample. Folding costs the same per event however busy the half hour is.
- **Moments written once on a conversation** — its first assignment (and whether it
  was within target) and its first response — are ``fat`` and ``frt`` samples
  *recomputed* from the conversation's row whenever an event about it may have changed
  them (an assignment, a transfer, a reply), attributed to its current team, channel
  and assignee.
- **Survey answers** are folded too: each ``survey.answered`` event (not the one a
  comment given afterwards sends) adds its kind's count and score sums
  (:func:`answer_columns`) to the row of the survey's ``answered_at`` half hour, team,
  channel and agent — read from its ``survey_request`` row, the attribution the
  figures always had — exactly once.

Every sample written, rewritten or changed also changes, in the same transaction
(``Deltas``), its metric's count and sums in ``report_slot`` (averages never read the
samples) and its buckets in ``report_histogram`` (percentiles of long ranges:
:mod:`hub.reports.histogram`). So the rollups are always the aggregate of the samples.
``report_day`` and ``report_hour`` are ``report_slot`` per UTC day, and per UTC hour,
× team × channel (every agent), kept by the same upserts.

``switchboard reports rebuild`` empties the tables and folds the whole event log again
under the checkpoint lock: the same figures (a property test checks it). Definitions:
docs/reports.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import (
    SLOT_SECONDS,
    Conversation,
    EventLog,
    ReportDay,
    ReportHistogram,
    ReportHour,
    ReportSample,
    ReportSlot,
    SurveyRequest,
    Team,
)
from hub.projections import LoggedEvent, core, core_many
from hub.reports import agents as agent_fold
from hub.reports import histogram
from hub.timeutil import ensure_utc
from routing import hours

_slots = ReportSlot.__table__  # type: ignore[attr-defined]
_samples = ReportSample.__table__  # type: ignore[attr-defined]
_hist = ReportHistogram.__table__  # type: ignore[attr-defined]
_days = ReportDay.__table__  # type: ignore[attr-defined]
_hours = ReportHour.__table__  # type: ignore[attr-defined]
_surveys = SurveyRequest.__table__  # type: ignore[attr-defined]
HOUR_SLOTS = 2  # slots per UTC hour (report_hour)

COUNTERS = (
    "conversations",
    "inbound",
    "outbound",
    "agent_replies",
    "resolved",
    "reopened",
    "transfers",
    "surveys_sent",
    *agent_fold.COUNTS,
    *agent_fold.SECONDS,
)
SAMPLE_METRICS = ("fat", "frt", "res", "handle", "aban")
# Kept with the samples (``Deltas``): every sample adds to its row's count and sums.
SAMPLE_COLUMNS = (
    *(f"{m}_{x}" for m in SAMPLE_METRICS for x in ("count", "sum", "bh_sum")),
    "answered_in_sl",
    "first_contact",
)
IN_TARGET_COLUMN = {"fat": "answered_in_sl", "res": "first_contact"}
# Survey answers, folded once per ``survey.answered`` (``answer_columns``).
SURVEY_COLUMNS = (
    *("csat_count", "csat_sum", "csat_satisfied", "nps_count", "nps_promoters", "nps_detractors"),
    *("ces_count", "ces_sum"),
)
SLOT_COLUMNS = (*COUNTERS, *SAMPLE_COLUMNS, *SURVEY_COLUMNS)
# The upserts' parameter names (ReportsProjection._upsert): a column's value as "v_<name>".
_PARAM = {c: f"v_{c}" for c in ("slot", "day", "hour", "team_id", "channel", "agent_id", *SLOT_COLUMNS)}
_SLOT_SET = frozenset(SLOT_COLUMNS)


class Figures(dict[str, float]):
    """A rollup row's figures in a batch: only those the batch added to are held, any
    other reads 0 (and a name that is no figure is refused, as a dense row refused it).
    A batch of messages adds to ``inbound`` alone: rows of all ~45 figures were made,
    summed into the day and hour rows, and scanned for the ones that moved, per agent
    and batch."""

    __slots__ = ()

    def __missing__(self, column: str) -> float:
        if column not in _SLOT_SET:
            raise KeyError(column)
        return 0


COUNTED = frozenset(
    {
        "conversation.created",
        "message.received",
        "message.created",
        "conversation.resolved",
        "conversation.reopened",
        "conversation.transferred",
        "survey.sent",
        "survey.answered",
    }
    | agent_fold.EVENTS
)
REBUILD_BATCH = 5_000


def slot_of(at: datetime) -> int:
    return int(ensure_utc(at).timestamp()) // SLOT_SECONDS


def slot_start(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)


Key = tuple[int, int, str, int]  # slot, team (0: none), channel, agent (0: none)


def _key(at: datetime, team: Any, channel: Any, agent: Any) -> Key:
    return slot_of(at), int(team or 0), str(channel or ""), int(agent or 0)


def answer_columns(kind: str, score: int) -> dict[str, int]:
    """What one survey answer adds to its rollup row (docs/reports.md, "Definitions"):
    CSAT 1-5 (satisfied: 4-5), NPS 0-10 (promoters 9-10, detractors 0-6), CES 1-7."""
    if kind == "csat":
        return {"csat_count": 1, "csat_sum": score, "csat_satisfied": int(score >= 4)}
    if kind == "nps":
        return {"nps_count": 1, "nps_promoters": int(score >= 9), "nps_detractors": int(score <= 6)}
    if kind == "ces":
        return {"ces_count": 1, "ces_sum": score}
    return {}


class ReportsProjection:
    """A folding consumer of the event log (see :class:`hub.projections.Reactor`), with
    a rebuild: ``rebuild_from_log`` runs when its checkpoint is first made or rebuilt."""

    name = "reports"
    rebuildable = True

    def __init__(self, sqlite: bool) -> None:
        self._insert = sqlite_insert if sqlite else pg_insert
        # The rollups' upserts, one per table and set of figures a row adds to (see
        # _upsert), built on first use and kept: the same few every batch.
        self._upserts: dict[tuple[str, frozenset[str]], Any] = {}
        stmt = self._insert(_hist)
        ex = stmt.excluded
        self._hist_upsert = stmt.on_conflict_do_update(
            index_elements=["metric", "day", "team_id", "channel", "bucket"],
            set_={c: _hist.c[c] + ex[c] for c in ("n", "n_bh")},
        )

    def _upsert(self, table: Any, key: tuple[str, ...], adds: frozenset[str]) -> Any:
        """The upsert of rollup rows that add to the figures ``adds`` alone: those and the
        key are parameters (``v_<name>``), every other figure a literal 0 (a new row's),
        and a conflict adds ``adds`` alone (none: the row is only made to exist).

        Upserting every figure, a row was ~50 parameters and a conflict ~45 additions
        of 0: a batch of messages adds to ``inbound`` alone, in one row per agent."""
        stmt = self._upserts.get((table.name, adds))
        if stmt is None:
            values = {
                c: sa.bindparam(_PARAM[c], type_=table.c[c].type)
                if c in key or c in adds
                else sa.literal_column("0")
                for c in (*key, *SLOT_COLUMNS)
            }
            insert = self._insert(table).values(values)
            stmt = (
                insert.on_conflict_do_update(
                    index_elements=list(key),
                    set_={c: table.c[c] + insert.excluded[c] for c in SLOT_COLUMNS if c in adds},
                )
                if adds
                else insert.on_conflict_do_nothing(index_elements=list(key))
            )
            self._upserts[(table.name, adds)] = stmt
        return stmt

    async def _upsert_rows(
        self, s: AsyncSession, table: Any, key: tuple[str, ...], rows: dict[tuple[Any, ...], dict[str, float]]
    ) -> None:
        """Add ``rows`` (key values -> figures, all of them or only those added to, as
        :class:`Figures` holds them) to ``table``, in key order, one ``executemany`` per
        set of figures the rows add to."""
        shapes: dict[frozenset[str], list[dict[str, Any]]] = {}
        for k, v in sorted(rows.items()):
            adds = frozenset(c for c, x in v.items() if x)
            params = {_PARAM[name]: value for name, value in zip(key, k, strict=True)}
            params.update((_PARAM[c], v[c]) for c in adds)
            shapes.setdefault(adds, []).append(params)
        for adds, params_list in sorted(shapes.items(), key=lambda kv: sorted(kv[0])):
            await core_many(s, self._upsert(table, key, adds), params_list)

    async def apply(self, uow: Any, events: Sequence[LoggedEvent], now: datetime) -> None:
        await self.fold(uow.session, events)

    async def fold(self, s: AsyncSession, events: Sequence[LoggedEvent]) -> None:
        counts: dict[Key, dict[str, float]] = defaultdict(Figures)
        resolved: list[LoggedEvent] = []
        answers: list[int] = []  # survey ids, one per answer event
        touched: set[int] = set()
        timed: list[dict[str, Any]] = []

        def add(key: Key, column: str, value: float) -> None:
            counts[key][column] += value

        agents = agent_fold.AgentFold(add, timed.append)
        await agents.load(s, events)
        for e in events:
            agents.fold(e)
            p = e.payload or {}
            channel = p.get("channel")
            if e.type == "conversation.created":
                counts[_key(e.ts, _team(e), channel, None)]["conversations"] += 1
            elif e.type == "message.received":
                counts[_key(e.ts, _team(e), channel, _user(e))]["inbound"] += 1
            elif e.type == "message.created" and p.get("direction") == "outbound":
                agent = p.get("author_id") if p.get("author_type") == "agent" else None
                row = counts[_key(e.ts, _team(e), channel, agent)]
                row["outbound"] += 1
                row["agent_replies"] += 1 if agent is not None else 0
                if agent is not None and e.conversation_id is not None:
                    touched.add(e.conversation_id)  # may be the first response
            elif e.type == "conversation.resolved":
                counts[_key(e.ts, _team(e), channel, _user(e))]["resolved"] += 1
                resolved.append(e)
            elif e.type == "conversation.reopened":
                counts[_key(e.ts, _team(e), channel, _user(e))]["reopened"] += 1
            elif e.type == "conversation.transferred":
                counts[_key(e.ts, _team(e), channel, _user(e))]["transfers"] += 1
            elif e.type == "survey.sent":
                counts[_key(e.ts, p.get("team_id"), channel, p.get("agent_id"))]["surveys_sent"] += 1
            elif e.type == "survey.answered" and p.get("reason") != "comment" and p.get("survey_id"):
                answers.append(int(p["survey_id"]))  # a comment after the score is no new answer
            if e.type.startswith("conversation.") and e.conversation_id is not None:
                touched.add(e.conversation_id)  # assignment, team or assignee may have changed
        await agents.save(s)
        if answers:
            await _answers(s, answers, counts)
        deltas = Deltas(counts)
        calendars = await _calendars(s) if resolved or touched or timed else {}
        if resolved:
            await _resolution_samples(s, resolved, calendars, agents.first_contact, deltas)
        if timed:
            await _timed_samples(s, timed, calendars, deltas)
        if agents.reopened:  # a reopened conversation was not resolved at first contact
            where = [
                _samples.c.conversation_id.in_(sorted(agents.reopened)),
                _samples.c.metric == "res",
                _samples.c.in_target,
            ]
            for r in (await core(s, sa.select(*_SAMPLE_KEY).where(*where))).all():
                counts[(r.slot, r.team_id, r.channel, r.agent_id)]["first_contact"] -= 1
            await core(s, sa.update(_samples).where(*where).values(in_target=False))
        if touched:
            await recompute_conversations(s, sorted(touched), calendars, deltas)
        if counts:
            await self._add(s, counts)
        if deltas.hist:
            await self._add_histogram(s, deltas)

    async def _add(self, s: AsyncSession, counts: dict[Key, dict[str, float]]) -> None:
        await self._upsert_rows(s, _slots, ("slot", "team_id", "channel", "agent_id"), counts)
        days: dict[tuple[int, int, str], dict[str, float]] = {}
        hours: dict[tuple[int, int, str], dict[str, float]] = {}
        for (slot, team, channel, _), v in counts.items():
            day = days.get(day_key := (slot // histogram.DAY_SLOTS, team, channel))
            if day is None:
                day = days[day_key] = Figures()
            hour = hours.get(hour_key := (slot // HOUR_SLOTS, team, channel))
            if hour is None:
                hour = hours[hour_key] = Figures()
            for c, x in v.items():
                day[c] += x
                hour[c] += x
        await self._upsert_rows(s, _days, ("day", "team_id", "channel"), days)
        await self._upsert_rows(s, _hours, ("hour", "team_id", "channel"), hours)

    async def _add_histogram(self, s: AsyncSession, deltas: Deltas) -> None:
        rows = [
            {
                "metric": k[0],
                "day": k[1],
                "team_id": k[2],
                "channel": k[3],
                "bucket": k[4],
                "n": n,
                "n_bh": bh,
            }
            for k, (n, bh) in sorted(deltas.hist.items())
            if n or bh
        ]
        if not rows:
            return
        await core_many(s, self._hist_upsert, rows)
        if deltas.removed:  # a recomputed sample left a bucket: no empty rows (as a rebuild)
            metrics = sorted({k[0] for k in deltas.hist})
            days = sorted({k[1] for k in deltas.hist})
            await core(
                s,
                sa.delete(_hist).where(
                    _hist.c.metric.in_(metrics), _hist.c.day.in_(days), _hist.c.n == 0, _hist.c.n_bh == 0
                ),
            )

    async def rebuild_from_log(self, s: AsyncSession, upto: int) -> None:
        """Empty the rollups and fold every event up to ``upto`` (the checkpoint)."""
        await core(s, sa.delete(_slots))
        await core(s, sa.delete(_samples))
        await core(s, sa.delete(_hist))
        await core(s, sa.delete(_days))
        await core(s, sa.delete(_hours))
        await agent_fold.clear(s)
        after = 0
        while True:
            rows = (
                await s.exec(
                    select(EventLog)
                    .where(
                        col(EventLog.id) > after,
                        col(EventLog.id) <= upto,
                        col(EventLog.type).in_(sorted(COUNTED | CHANGES)),
                    )
                    .order_by(col(EventLog.id))
                    .limit(REBUILD_BATCH)
                )
            ).all()
            if not rows:
                break
            await self.fold(
                s,
                [
                    LoggedEvent(r.id or 0, r.type, r.ts, r.conversation_id, r.payload, r.team_id, r.user_id)
                    for r in rows
                ],
            )
            after = rows[-1].id or after

    async def fire_due(self, uow: Any, now: datetime, limit: int) -> int:
        return 0

    def next_due_columns(self, now: datetime) -> list[Any]:
        return []  # no timers


# Conversation events that change no count but may move a first assignment or its team.
CHANGES = frozenset({"conversation.assigned", "conversation.queued", "conversation.updated"})


def _team(e: LoggedEvent) -> int | None:
    """The envelope's team as committed (conversation events repeat it in the payload)."""
    return e.team_id


def _user(e: LoggedEvent) -> int | None:
    return e.user_id


async def _answers(s: AsyncSession, survey_ids: Sequence[int], counts: dict[Key, dict[str, float]]) -> None:
    """Each answer event adds its survey's answer to the row of its ``answered_at`` half
    hour and the survey's team, channel and agent, read from the ``survey_request`` row
    (the moment and attribution the figures were always counted by)."""
    sr = _surveys
    cols = (sr.c.id, sr.c.kind, sr.c.score, sr.c.answered_at, sr.c.team_id, sr.c.channel, sr.c.agent_id)
    found = {
        r.id: r
        for r in (
            await core(
                s,
                sa.select(*cols).where(
                    sr.c.id.in_(sorted(set(survey_ids))),
                    sr.c.score.is_not(None),
                    sr.c.answered_at.is_not(None),
                ),
            )
        ).all()
    }
    for sid in survey_ids:
        r = found.get(sid)
        if r is None:
            continue
        row = counts[_key(r.answered_at, r.team_id, r.channel, r.agent_id)]
        for c, n in answer_columns(str(r.kind), int(r.score)).items():
            row[c] += n


async def _calendars(s: AsyncSession) -> dict[int, dict[str, Any]]:
    """Every team's business hours, read in most rounds: two columns as plain rows (as
    ORM entities, one Team object per team a round)."""
    return {int(tid): dict(bh or {}) for tid, bh in (await core(s, _CALENDARS)).all()}


_CALENDARS = sa.select(Team.__table__.c.id, Team.__table__.c.business_hours)  # type: ignore[attr-defined]


def _business(calendars: dict[int, dict[str, Any]], team: int, a: datetime, b: datetime) -> float:
    return hours.open_seconds_between(calendars.get(team) or {}, a, b)


def _sample(
    metric: str, key: Key, conversation_id: int, seconds: float, business: float, in_target: bool = False
) -> dict[str, Any]:
    slot, team, channel, agent = key
    seconds, business = max(0.0, seconds), max(0.0, business)
    return {
        "metric": metric,
        "slot": slot,
        "team_id": team,
        "channel": channel,
        "agent_id": agent,
        "conversation_id": conversation_id,
        "seconds": seconds,
        "business_seconds": business,
        "in_target": in_target,
        "bucket": histogram.bucket(seconds),
        "bh_bucket": histogram.bucket(business),
    }


_SAMPLE_KEY = (
    *(_samples.c[c] for c in ("metric", "slot", "team_id", "channel", "agent_id", "seconds")),
    *(_samples.c[c] for c in ("business_seconds", "in_target", "bucket", "bh_bucket")),
)
HistKey = tuple[str, int, int, str, int]  # metric, day, team (-1: all), channel ("*": all), bucket


class Deltas:
    """What samples written or removed in a batch change in ``report_slot`` (the count
    and sums of their metric, in-target counts) and in ``report_histogram`` (their
    buckets, at four levels): the rollups stay the aggregate of the samples."""

    def __init__(self, counts: dict[Key, dict[str, float]]) -> None:
        self.counts = counts
        self.hist: dict[HistKey, list[int]] = defaultdict(lambda: [0, 0])
        self.removed = False

    def add(self, r: Any, sign: int = 1) -> None:
        m = r["metric"]
        row = self.counts[(int(r["slot"]), int(r["team_id"]), str(r["channel"]), int(r["agent_id"]))]
        row[f"{m}_count"] += sign
        row[f"{m}_sum"] += sign * float(r["seconds"])
        row[f"{m}_bh_sum"] += sign * float(r["business_seconds"])
        if r["in_target"] and m in IN_TARGET_COLUMN:
            row[IN_TARGET_COLUMN[m]] += sign
        day = int(r["slot"]) // histogram.DAY_SLOTS
        for team in (int(r["team_id"]), histogram.ALL_TEAMS):
            for channel in (str(r["channel"]), histogram.ALL_CHANNELS):
                self.hist[(m, day, team, channel, int(r["bucket"]))][0] += sign
                self.hist[(m, day, team, channel, int(r["bh_bucket"]))][1] += sign
        if sign < 0:
            self.removed = True

    def insert_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        for r in rows:
            self.add(r)


async def _timed_samples(
    s: AsyncSession, timed: Sequence[dict[str, Any]], calendars: dict[int, dict[str, Any]], deltas: Deltas
) -> None:
    """Handle-time and abandonment samples: an interval ending at ``at``."""
    rows = []
    for t in timed:
        end = ensure_utc(t["at"])
        start = end - timedelta(seconds=t["seconds"])
        key = _key(end, t["team_id"], t["channel"], t["agent_id"])
        rows.append(
            _sample(
                t["metric"],
                key,
                t["conversation_id"],
                t["seconds"],
                _business(calendars, key[1], start, end),
                bool(t.get("in_target")),
            )
        )
    deltas.insert_rows(rows)
    await core(s, sa.insert(_samples), rows)


async def _resolution_samples(
    s: AsyncSession,
    resolved: Sequence[LoggedEvent],
    calendars: dict[int, dict[str, Any]],
    first_contact: dict[int, bool],
    deltas: Deltas,
) -> None:
    ids = sorted({e.conversation_id for e in resolved if e.conversation_id is not None})
    created = dict(
        (
            await s.exec(
                select(Conversation.id, Conversation.created_at).where(col(Conversation.id).in_(ids))
            )
        ).all()
    )
    rows = []
    for e in resolved:
        start = created.get(e.conversation_id)
        if start is None or e.conversation_id is None:
            continue
        start, end = ensure_utc(start), ensure_utc(e.ts)
        key = _key(end, _team(e), e.payload.get("channel"), _user(e))
        rows.append(
            _sample(
                "res",
                key,
                e.conversation_id,
                (end - start).total_seconds(),
                _business(calendars, key[1], start, end),
                first_contact.get(e.id, False),
            )
        )
    if rows:
        deltas.insert_rows(rows)
        await core(s, sa.insert(_samples), rows)


_SAMPLE_FIELDS = (
    *("metric", "slot", "team_id", "channel", "agent_id", "conversation_id", "seconds"),
    *("business_seconds", "in_target", "bucket", "bh_bucket"),
)
_CONV_FIELDS = (
    *("id", "created_at", "first_assigned_at", "first_response_at", "abandoned_at", "sla_due_at"),
    *("team_id", "channel", "assignee_id"),
)


def _same(old: Any, new: dict[str, Any]) -> bool:
    return all(
        (bool(old[f]) == bool(new[f])) if f == "in_target" else old[f] == new[f] for f in _SAMPLE_FIELDS
    )


async def recompute_conversations(
    s: AsyncSession, ids: Collection[int], calendars: dict[int, dict[str, Any]], deltas: Deltas | None = None
) -> None:
    """The first-assignment and first-response samples of these conversations, from
    their rows (attributed to their current team, channel and assignee). Only samples
    that changed are rewritten; ``deltas`` takes a removed sample out of the rollups and
    puts a new one in."""
    ids = sorted(ids)
    where = [_samples.c.conversation_id.in_(ids), _samples.c.metric.in_(["fat", "frt"])]
    old = {
        (r.conversation_id, r.metric): r._mapping
        for r in (
            await core(s, sa.select(_samples.c.id, *_SAMPLE_KEY, _samples.c.conversation_id).where(*where))
        ).all()
    }
    cv = Conversation.__table__  # type: ignore[attr-defined]
    convs = (await core(s, sa.select(*(cv.c[f] for f in _CONV_FIELDS)).where(cv.c.id.in_(ids)))).all()
    rows = []
    for c in convs:
        start = ensure_utc(c.created_at)
        answered = c.first_assigned_at is not None and (
            # a caller who hung up in the queue and was called back was not answered
            c.abandoned_at is None or ensure_utc(c.first_assigned_at) <= ensure_utc(c.abandoned_at)
        )
        if answered and c.first_assigned_at is not None:
            at = ensure_utc(c.first_assigned_at)
            key = _key(at, c.team_id, c.channel, c.assignee_id)
            in_target = c.sla_due_at is None or at <= ensure_utc(c.sla_due_at)
            rows.append(
                _sample(
                    "fat",
                    key,
                    c.id,
                    (at - start).total_seconds(),
                    _business(calendars, key[1], start, at),
                    in_target,
                )
            )
        if c.first_response_at is not None:
            at = ensure_utc(c.first_response_at)
            key = _key(at, c.team_id, c.channel, c.assignee_id)
            rows.append(
                _sample(
                    "frt", key, c.id, (at - start).total_seconds(), _business(calendars, key[1], start, at)
                )
            )
    fresh = []
    for r in rows:
        before = old.pop((r["conversation_id"], r["metric"]), None)
        if before is not None and _same(before, r):
            continue  # unchanged: nothing to write
        if before is not None:
            old[(r["conversation_id"], r["metric"])] = before  # replaced below
        fresh.append(r)
    gone = list(old.values())
    if gone:
        if deltas is not None:
            for r in gone:
                deltas.add(r, -1)
        await core(s, sa.delete(_samples).where(_samples.c.id.in_([r["id"] for r in gone])))
    if fresh:
        if deltas is not None:
            deltas.insert_rows(fresh)
        await core(s, sa.insert(_samples), fresh)
