"""Human references (``C-2026-000123``): unique and never reused.

The number comes from a counter row incremented in the transaction that stores the
complaint: a rolled-back transaction gives its number back, a committed one keeps it,
so no two complaints ever share one. On PostgreSQL the ``UPDATE`` locks the row until
commit (concurrent openings queue on it for microseconds); SQLite has one writer.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.models import ReferenceCounter
from hub.projections import core

_counter = ReferenceCounter.__table__  # type: ignore[attr-defined]


async def next_number(s: AsyncSession, scope: str, *, sqlite: bool) -> int:
    insert = sqlite_insert if sqlite else pg_insert
    await core(
        s, insert(_counter).values(scope=scope, value=0).on_conflict_do_nothing(index_elements=["scope"])
    )
    result = await core(
        s,
        sa.update(_counter)
        .where(_counter.c.scope == scope)
        .values(value=_counter.c.value + 1)
        .returning(_counter.c.value),
    )
    return int(result.scalar_one())


async def next_reference(s: AsyncSession, fmt: str, now: datetime, *, sqlite: bool) -> str:
    """The next complaint reference; the sequence restarts each year when the format
    shows the year (else it runs on)."""
    scope = f"complaint:{now.year}" if "{year" in fmt else "complaint"
    return fmt.format(year=now.year, seq=await next_number(s, scope, sqlite=sqlite))
