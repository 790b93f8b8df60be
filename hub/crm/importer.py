"""CSV import of contacts: a dry run that reports, then the import; idempotent.

The file is streamed to ``data_dir/imports`` on upload and read back line by line in
batches (a 100,000-row file never sits in memory). Each batch is one transaction with
a handful of set-based statements: look up every identity of the batch at once, insert
the new contacts and their identities in bulk, update the matched ones, and write one
``contact.created`` / ``contact.updated`` event per changed contact (the projections
index them; the timeline shows who imported what).

A row is matched to an existing contact by any of its identities (phone in any format,
email, Telegram user id). Cells left empty change nothing; tags are added, never
removed. So importing the same file twice changes nothing the second time. A row whose
identities belong to two different contacts is skipped (merge them first).

Columns: ``name, language, timezone, vip, tags, phone, email, telegram, notes`` and one
per custom field (``plan`` or ``field.plan``); several values in one cell (tags, a
many-of list, several phones) are separated by ``|``. ``consent.sms``, ``consent.email``
(any consent channel): the marketing consent, opted_in / opted_out (or yes / no),
recorded with source "import" (hub.services.consent).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import csv
import io
import logging
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from hub.addresses import normalize_email, normalize_phone
from hub.context import Hub
from hub.crm.fields import FieldValueError, clean_value
from hub.events import validate_payload
from hub.models import Contact, ContactField, EventLog, Identity, ImportJob
from hub.projections import core
from hub.services import consent
from hub.services.errors import Invalid
from hub.timeutil import zone

log = logging.getLogger(__name__)

BATCH = 500
MAX_ERRORS = 500  # kept on the job; the counts cover every row
MAX_CELL = 20_000
IDENTITY_COLUMNS = {"phone": "phone", "email": "email", "telegram": "telegram"}
PLAIN_COLUMNS = ("name", "language", "timezone", "vip", "tags", "notes", "id")
EDITABLE = ("name", "language", "timezone", "vip", "tags", "notes", "attributes")
_UPDATE_CONTACT = (
    sa.update(Contact.__table__)  # type: ignore[attr-defined]
    .where(Contact.__table__.c.id == sa.bindparam("cid"))  # type: ignore[attr-defined]
    .values({**{k: sa.bindparam(f"v_{k}") for k in EDITABLE}, "updated_at": sa.bindparam("now")})
)
_contact = Contact.__table__  # type: ignore[attr-defined]
_identity = Identity.__table__  # type: ignore[attr-defined]
_event = EventLog.__table__  # type: ignore[attr-defined]
_TRUE = {"true", "yes", "1", "y", "نعم"}
_FALSE = {"false", "no", "0", "n", "لا", ""}


class RowError(Exception):
    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field, self.code, self.message = field, code, message


@dataclass
class Row:
    number: int  # 1 = the header line
    identities: list[tuple[str, str]]
    values: dict[str, Any]  # contact columns and "attributes"
    tags: list[str] = field(default_factory=list)
    consent: dict[str, str] = field(default_factory=dict)  # channel -> marketing state


@dataclass
class Report:
    rows: int = 0
    created: int = 0
    matched: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, row: int, field: str, code: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "field": field, "code": code, "message": message})


def _strip_defused(text: str) -> str:
    """Our export writes ``'=…`` for cells a spreadsheet would run: read them back."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


class Columns:
    """The header, checked once: which column is what."""

    def __init__(self, header: Sequence[str], fields: dict[str, ContactField], report: Report) -> None:
        self.fields = fields
        self.index: dict[str, int] = {}
        for i, raw in enumerate(header):
            name = raw.strip().lstrip("\ufeff").lower()
            key = name[6:] if name.startswith("field.") else name
            if name in PLAIN_COLUMNS or name in IDENTITY_COLUMNS:
                self.index[name] = i
            elif name.startswith("consent.") and name[8:] in consent.CHANNELS:
                self.index[name] = i  # marketing consent on that channel (docs/crm.md)
            elif key in fields:
                self.index[f"field.{key}"] = i
            elif name in (
                "tiers",
                "conversations_90d",
                "conversations_total",
                "last_contact_at",
                "preferred_channel",
                "webchat",
            ):
                continue  # figures our export writes: derived, never imported
            else:
                report.error(1, raw[:64], "unknown_field", "no such column or custom field; ignored")
        if not any(c in self.index for c in IDENTITY_COLUMNS):
            raise Invalid("the file needs a phone, email or telegram column", code="no_identity_column")

    def cell(self, row: Sequence[str], name: str) -> str:
        i = self.index.get(name)
        if i is None or i >= len(row):
            return ""
        return _strip_defused(row[i].strip())[:MAX_CELL]

    def parse(self, number: int, row: Sequence[str], region: str | None) -> Row:
        identities: list[tuple[str, str]] = []
        for column, kind in IDENTITY_COLUMNS.items():
            for raw in self.cell(row, column).split("|"):
                raw = raw.strip()
                if not raw:
                    continue
                try:
                    if kind == "phone":
                        identities.append((kind, normalize_phone(raw, region)))
                    elif kind == "email":
                        identities.append((kind, normalize_email(raw)))
                    else:
                        if not raw.isdigit() or len(raw) > 20:
                            raise Invalid("a Telegram user id is a number", code="bad_address")
                        identities.append((kind, raw))
                except Invalid:
                    raise RowError(column, f"bad_{column}", f"not a valid {column}: {raw[:80]}") from None
        if not identities:
            raise RowError("phone", "no_identity", "a row needs a phone, email or telegram id")
        identities = list(dict.fromkeys(identities))
        values: dict[str, Any] = {}
        name = self.cell(row, "name")
        if name:
            values["name"] = name[:200]
        language = self.cell(row, "language")
        if language:
            if len(language) > 10:
                raise RowError("language", "invalid_field_value", "a language code like en or ar")
            values["language"] = language
        tz = self.cell(row, "timezone")
        if tz:
            try:
                zone(tz)
            except ValueError:
                raise RowError("timezone", "invalid_timezone", "an IANA time zone like Asia/Riyadh") from None
            values["timezone"] = tz
        vip = self.cell(row, "vip").casefold()
        if vip:
            if vip not in _TRUE and vip not in _FALSE:
                raise RowError("vip", "invalid_field_value", "true or false")
            values["vip"] = vip in _TRUE
        notes = self.cell(row, "notes")
        if notes:
            values["notes"] = notes
        tags = sorted(
            {t.strip()[:50] for t in self.cell(row, "tags").replace(",", "|").split("|") if t.strip()}
        )
        attributes: dict[str, Any] = {}
        for key, definition in self.fields.items():
            raw = self.cell(row, f"field.{key}")
            if not raw:
                continue
            try:
                attributes[key] = clean_value(key, definition.type, definition.options, raw, from_text=True)
            except FieldValueError as exc:
                raise RowError(key, exc.code, exc.message) from None
        if attributes:
            values["attributes"] = attributes
        return Row(number, identities, values, tags, self._consent(row))

    def _consent(self, row: Sequence[str]) -> dict[str, str]:
        """``consent.sms`` = opted_in / opted_out (or yes / no); empty: unchanged."""
        out: dict[str, str] = {}
        for channel in consent.CHANNELS:
            raw = self.cell(row, f"consent.{channel}").casefold()
            if not raw:
                continue
            if raw in (consent.OPTED_IN, *_TRUE):
                out[channel] = consent.OPTED_IN
            elif raw in (consent.OPTED_OUT, *_FALSE):
                out[channel] = consent.OPTED_OUT
            else:
                raise RowError(f"consent.{channel}", "invalid_consent", "opted_in or opted_out")
        return out


async def read_rows(path: Path) -> AsyncIterator[tuple[int, list[str], int]]:
    """(line number, cells, bytes read so far), streamed from disk by a thread in
    chunks of rows (a cross-thread hand-off per row would cost more than the row)."""
    queue: asyncio.Queue[list[tuple[int, list[str], int]] | None] = asyncio.Queue(maxsize=4)
    loop = asyncio.get_running_loop()
    stop = threading.Event()

    def put(item: list[tuple[int, list[str], int]] | None) -> None:
        asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()

    def produce() -> None:
        try:
            with path.open("rb") as raw:
                # newline="": the csv module handles line ends itself (quoted newlines).
                text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
                reader = csv.reader(_bounded_lines(text))
                chunk: list[tuple[int, list[str], int]] = []
                try:
                    for cells in reader:
                        if stop.is_set():
                            break
                        chunk.append((reader.line_num, cells, raw.tell()))
                        if len(chunk) >= BATCH:
                            put(chunk)
                            chunk = []
                except csv.Error as exc:
                    raise Invalid(f"line {reader.line_num}: {exc}", code="bad_csv") from None
                if chunk:
                    put(chunk)
        finally:
            put(None)

    task = loop.run_in_executor(None, produce)
    finished = False
    try:
        while (chunk := await queue.get()) is not None:
            for item in chunk:
                yield item
        finished = True
    finally:
        stop.set()
        while not finished:  # the reader stopped early: let the thread run out
            finished = await queue.get() is None
        await task  # re-raises the thread's error (bad_csv)


def _bounded_lines(text: Iterator[str]) -> Iterator[str]:
    for line in text:
        yield line[: MAX_CELL * 4]


async def run_import(hub: Hub, job_id: int) -> None:
    """Process one job to the end; progress and the report land on its row."""
    async with hub.db.transaction() as s:
        job = await s.get(ImportJob, job_id)
        if job is None or job.status != "queued":
            return
        job.status = "running"
        s.add(job)
    assert job is not None
    report = Report()
    try:
        await _process(hub, job, report)
        status = "done"
    except Invalid as exc:
        report.error(1, "file", exc.code, exc.message)
        status = "failed"
    except Exception:
        log.exception("import %s failed", job_id)
        report.error(0, "file", "internal_error", "the import stopped; see the hub log")
        status = "failed"
    await _save(hub, job_id, report, status=status, done=True)
    if not job.dry_run and hub.projections is not None:
        hub.projections.wake()


async def _save(
    hub: Hub, job_id: int, report: Report, *, status: str, processed: int | None = None, done: bool = False
) -> None:
    async with hub.db.transaction() as s:
        job = await s.get(ImportJob, job_id)
        assert job is not None
        job.status = status
        job.rows, job.created, job.matched = report.rows, report.created, report.matched
        job.updated, job.skipped, job.errors = report.updated, report.skipped, list(report.errors)
        if processed is not None:
            job.processed_bytes = processed
        if done:
            job.processed_bytes = job.total_bytes
            job.finished_at = hub.now()
        s.add(job)


async def _process(hub: Hub, job: ImportJob, report: Report) -> None:
    async with hub.db.session() as s:
        fields = {f.key: f for f in (await s.exec(select(ContactField))).all()}
    region = hub.settings.default_phone_region
    columns: Columns | None = None
    batch: list[Row] = []
    # Identities this file already introduced: in a dry run nothing is written, yet a
    # later row with the same phone must count as matched, as it would for real.
    seen: dict[tuple[str, str], int] = {}
    position = 0
    async for line, cells, position in read_rows(Path(job.path)):
        if columns is None:
            columns = Columns(cells, fields, report)
            continue
        if not any(c.strip() for c in cells):
            continue
        report.rows += 1
        try:
            batch.append(columns.parse(line, cells, region))
        except RowError as exc:
            report.skipped += 1
            report.error(line, exc.field, exc.code, exc.message)
        if len(batch) >= BATCH:
            await _apply(hub, job, batch, report, seen, fields)
            batch = []
            await _save(hub, job.id or 0, report, status="running", processed=position)
    if columns is None:
        raise Invalid("the file is empty", code="empty_file")
    if batch:
        await _apply(hub, job, batch, report, seen, fields)


async def _apply(
    hub: Hub,
    job: ImportJob,
    batch: list[Row],
    report: Report,
    seen: dict[tuple[str, str], int],
    fields: dict[str, ContactField],
) -> None:
    now = hub.now()
    async with hub.db.transaction() as s:
        wanted = {i for row in batch for i in row.identities}
        owners: dict[tuple[str, str], int] = {}
        by_kind: dict[str, list[str]] = {}
        for kind, address in wanted:
            by_kind.setdefault(kind, []).append(address)
        for kind, addresses in by_kind.items():
            # One kind at a time: "kind = ? AND address IN (...)" is a lookup in the
            # unique (kind, address) index on both databases.
            for start in range(0, len(addresses), 500):
                stmt = sa.select(_identity.c.address, _identity.c.contact_id).where(
                    _identity.c.kind == kind, _identity.c.address.in_(addresses[start : start + 500])
                )
                for address, cid in (await core(s, stmt)).all():
                    owners[(kind, address)] = cid
        # Identities earlier rows of this file introduced (only this batch's: looking at
        # all of them every batch would make a long file quadratic).
        for ident in wanted:
            if ident not in owners and ident in seen:
                owners[ident] = seen[ident]
        existing_ids = {v for v in owners.values() if v > 0}
        # Plain rows, not ORM objects: only compared, never written back through the session.
        contacts = {
            r["id"]: r
            for r in (
                await core(
                    s,
                    sa.select(
                        _contact.c.id,
                        _contact.c.merged_into_id,
                        _contact.c.erased_at,
                        *(_contact.c[k] for k in EDITABLE),
                    ).where(_contact.c.id.in_(list(existing_ids))),
                )
            )
            .mappings()
            .all()
        }
        events: list[dict[str, Any]] = []
        pending_new: list[Row] = []
        state: dict[int, dict[str, Any]] = {}
        changed: set[int] = set()  # contacts to write back (their state holds the new values)
        new_rows: list[dict[str, Any]] = []  # identities to add to known contacts
        accepted: list[Row] = []  # rows applied to a contact (their consent is recorded)
        for row in batch:
            found = {owners[i] for i in row.identities if i in owners}
            if len(found) > 1:
                report.skipped += 1
                report.error(
                    row.number,
                    "phone",
                    "identity_conflict",
                    "these identities belong to different contacts; merge them first",
                )
                continue
            if not found:
                missing = [
                    f.key
                    for f in fields.values()
                    if f.required and f.key not in row.values.get("attributes", {})
                ]
                if missing:
                    report.skipped += 1
                    report.error(row.number, missing[0], "field_required", "this field is required")
                    continue
                pending_new.append(row)
                accepted.append(row)
                for ident in row.identities:
                    seen[ident] = owners[ident] = -(len(seen) + 1)  # placeholder until inserted
                continue
            cid = found.pop()
            if cid < 0:  # introduced earlier in this file (dry run, or this batch)
                report.matched += 1
                accepted.append(row)
                continue
            contact = contacts.get(cid)
            if contact is None or contact["merged_into_id"] is not None or contact["erased_at"] is not None:
                report.skipped += 1
                report.error(
                    row.number, "phone", "identity_conflict", "the matching contact was merged or erased"
                )
                continue
            accepted.append(row)
            # Rows of one file build on each other: compare with what earlier rows set.
            current = state.setdefault(cid, {k: contact[k] for k in EDITABLE})
            changes = _changes(current, row)
            new_identities = [i for i in row.identities if i not in owners]
            if changes or new_identities:
                report.updated += 1
                if not job.dry_run:
                    changed.add(cid)
                    new_rows += [
                        {"contact_id": cid, "kind": k, "address": a, "created_at": now}
                        for k, a in new_identities
                    ]
                    diff = _diff(current, changes)
                    events.append(
                        _event_row("contact.updated", cid, job, now, {"changes": diff, "reason": "import"})
                    )
                current.update(changes)
                for ident in new_identities:
                    owners[ident] = seen[ident] = cid
            else:
                report.matched += 1
        if changed:
            # One statement for the batch: every changed contact's full editable state.
            await core(
                s,
                _UPDATE_CONTACT,
                [
                    {"cid": cid, **{f"v_{k}": state[cid][k] for k in EDITABLE}, "now": now}
                    for cid in sorted(changed)
                ],
            )
        if new_rows:
            await core(s, sa.insert(_identity), new_rows)
        report.created += len(pending_new)
        if pending_new and not job.dry_run:
            created = await _insert(s, pending_new, now)
            for row, cid in zip(pending_new, created, strict=True):
                for ident in row.identities:
                    seen[ident] = cid
                events.append(_event_row("contact.created", cid, job, now, {"reason": "import"}))
        if events:
            await core(s, sa.insert(_event), events)
        if not job.dry_run:
            await _record_consent(s, accepted, collections.ChainMap(seen, owners), job, now)


async def _record_consent(
    s: Any, rows: list[Row], owners: Mapping[tuple[str, str], int], job: ImportJob, now: Any
) -> None:
    """The rows' marketing consent, each change audited (hub.services.consent)."""
    for row in rows:
        if not row.consent:
            continue
        cid = next((owners[i] for i in row.identities if owners.get(i, 0) > 0), None)
        if cid is None:
            continue
        for channel, state in row.consent.items():
            await consent.record(
                s,
                contact_id=cid,
                channel=channel,
                purpose=consent.MARKETING,
                state=state,
                source="import",
                now=now,
                actor_id=job.created_by,
            )


def _changes(current: dict[str, Any], row: Row) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, value in row.values.items():
        if key == "attributes":
            merged = {**(current["attributes"] or {}), **value}
            if merged != (current["attributes"] or {}):
                changes["attributes"] = merged
        elif current[key] != value:
            changes[key] = value
    tags = sorted(set(current["tags"] or []) | set(row.tags))
    if tags != sorted(current["tags"] or []):
        changes["tags"] = tags
    return changes


def _diff(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, list[Any]]:
    def cut(v: Any) -> Any:
        return v[:200] if isinstance(v, str) else v

    out: dict[str, list[Any]] = {}
    for key, value in changes.items():
        if key == "attributes":
            before = current["attributes"] or {}
            for k in sorted(set(before) | set(value)):
                if before.get(k) != value.get(k):
                    out[f"attributes.{k}"] = [before.get(k), value.get(k)]
        else:
            out[key] = [cut(current[key]), cut(value)]
    return out


async def _allocate_ids(s: Any, n: int) -> list[int]:
    """Ids for ``n`` new contacts, taken up front so the rows go in as one executemany
    (INSERT ... RETURNING in parameter order costs a statement per row). PostgreSQL:
    from the sequence, atomically. SQLite: past the current maximum, under the write
    lock this transaction holds (every writer takes it)."""
    if s.bind.dialect.name == "postgresql":
        rows = await core(
            s,
            sa.text("SELECT nextval(pg_get_serial_sequence('contact', 'id')) FROM generate_series(1, :n)"),
            {"n": n},
        )
        return sorted(int(r[0]) for r in rows.all())
    top = (await core(s, sa.select(sa.func.coalesce(sa.func.max(_contact.c.id), 0)))).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + n))


async def _insert(s: Any, rows: list[Row], now: Any) -> list[int]:
    ids = await _allocate_ids(s, len(rows))
    values = [
        {
            "id": cid,
            "name": r.values.get("name", ""),
            "language": r.values.get("language"),
            "timezone": r.values.get("timezone"),
            "vip": r.values.get("vip", False),
            "tags": r.tags,
            "attributes": r.values.get("attributes", {}),
            "notes": r.values.get("notes", ""),
            "created_at": now,
            "updated_at": now,
        }
        for r, cid in zip(rows, ids, strict=True)
    ]
    await core(s, sa.insert(_contact), values)
    await core(
        s,
        sa.insert(_identity),
        [
            {"contact_id": cid, "kind": k, "address": a, "created_at": now}
            for row, cid in zip(rows, ids, strict=True)
            for k, a in row.identities
        ],
    )
    return ids


def _event_row(
    event_type: str, contact_id: int, job: ImportJob, now: Any, extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": event_type,
        "ts": now,
        "actor_id": job.created_by,
        "conversation_id": None,
        "team_id": None,
        "user_id": None,
        "payload": validate_payload(event_type, {"contact_id": contact_id, **extra}),
    }


class Imports:
    """The import jobs this process runs (each an asyncio task)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.tasks: dict[int, asyncio.Task[None]] = {}

    def start(self, job_id: int) -> None:
        task = asyncio.create_task(run_import(self.hub, job_id), name=f"import-{job_id}")
        self.tasks[job_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(job_id, None))

    async def wait(self, job_id: int) -> None:
        task = self.tasks.get(job_id)
        if task is not None:
            await asyncio.shield(task)

    async def stop(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        for task in list(self.tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
