"""CSV export of any contact list or segment, streamed in keyset-paged batches (a
million rows never sit in memory). Cells a spreadsheet would run as a formula are
defused with a leading apostrophe: customer-written text is hostile."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlmodel import col, select

from hub.context import Hub
from hub.crm.contact_query import ContactFilter, encode_cursor, list_query
from hub.models import ContactField, ContactFigures, Identity
from hub.services.access import Actor

BATCH = 1000
ADDRESS_KINDS = ("phone", "email", "telegram", "webchat")
BASE_COLUMNS = (
    "id",
    "name",
    "language",
    "timezone",
    "vip",
    "tags",
    *ADDRESS_KINDS,
    "tiers",
    "conversations_90d",
    "conversations_total",
    "last_contact_at",
    "preferred_channel",
    "notes",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")  # a phone number or an amount: inert


def safe_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "|".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) and not _PLAIN_NUMBER.match(text) else text


async def export_csv(
    hub: Hub, actor: Actor, f: ContactFilter, fields: Sequence[ContactField]
) -> AsyncIterator[bytes]:
    columns = [*BASE_COLUMNS, *(f"field.{x.key}" for x in fields)]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    yield ("\ufeff" + buf.getvalue()).encode()  # a BOM: spreadsheets then read UTF-8 (Arabic)
    cursor: str | None = None
    region = hub.settings.default_phone_region
    while True:
        stmt = list_query(
            f, actor, sort="created", limit=BATCH, cursor=cursor, is_sqlite=hub.db.is_sqlite, region=region
        )
        async with hub.db.session() as s:
            conn = await s.connection()
            rows = list((await conn.execute(stmt)).mappings().all())
            more = len(rows) > BATCH
            rows = rows[:BATCH]
            ids = [r["id"] for r in rows]
            idents: dict[int, dict[str, list[str]]] = {}
            for i in (await s.exec(select(Identity).where(col(Identity.contact_id).in_(ids)))).all():
                idents.setdefault(i.contact_id, {}).setdefault(i.kind, []).append(i.address)
            figures = {
                x.contact_id: x
                for x in (
                    await s.exec(select(ContactFigures).where(col(ContactFigures.contact_id).in_(ids)))
                ).all()
            }
        buf = io.StringIO()
        writer = csv.writer(buf)
        for r in rows:
            fig = figures.get(r["id"])
            by_kind = idents.get(r["id"], {})
            attrs = r["attributes"] or {}
            writer.writerow(
                [
                    safe_cell(v)
                    for v in (
                        r["id"],
                        r["name"],
                        r["language"],
                        r["timezone"],
                        r["vip"],
                        r["tags"],
                        *(by_kind.get(k, []) for k in ADDRESS_KINDS),
                        fig.tiers if fig else [],
                        fig.conversations_90d if fig else 0,
                        fig.conversations_total if fig else 0,
                        fig.last_contact_at.isoformat() if fig and fig.last_contact_at else None,
                        fig.preferred_channel if fig else None,
                        r["notes"],
                        *(attrs.get(x.key) for x in fields),
                    )
                ]
            )
        yield buf.getvalue().encode()
        if not more or not rows:
            return
        cursor = encode_cursor("created", rows[-1]["sort_value"], rows[-1]["id"])
