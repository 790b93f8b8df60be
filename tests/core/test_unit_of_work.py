"""A unit of work's events (hub/services/uow.py): written together in one statement,
with ids in emit order, published after the commit and only then."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from hub.models import EventLog
from hub.services.uow import unit_of_work
from tests.helpers import statements


async def test_events_are_inserted_in_one_statement_with_ids_in_emit_order(hub: Any) -> None:
    sub = hub.bus.subscribe(maxsize=100)
    await hub.projections.stop()  # only this unit of work writes events below
    with statements(hub, "INSERT INTO event_log") as inserts:
        async with unit_of_work(hub, actor_id=None) as uow:
            for team_id in (7, 3, 9, 1, 5):  # not in id order: the mapping must not sort them
                uow.emit("team.updated", {"team_id": team_id, "reason": f"r{team_id}"})
    assert len(inserts) == 1
    published = []
    while len(published) < 5:
        event = await sub.get()
        assert event is not None
        if event.type == "team.updated":
            published.append(event)
    sub.close()
    ids = [e.id for e in published]
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert [e.payload["team_id"] for e in published] == [7, 3, 9, 1, 5]
    async with hub.db.session() as s:
        rows = {r.id: r for r in (await s.exec(sa.select(EventLog).where(EventLog.id.in_(ids)))).scalars()}
    for e in published:  # the stored row under each id is the event published with it
        assert rows[e.id].payload["team_id"] == e.payload["team_id"]
        assert rows[e.id].payload["reason"] == f"r{e.payload['team_id']}"


async def test_a_unit_of_work_that_fails_publishes_and_stores_nothing(hub: Any) -> None:
    await hub.projections.stop()
    async with hub.db.session() as s:
        before = (await s.exec(sa.select(sa.func.count()).select_from(EventLog))).one()[0]
    with pytest.raises(RuntimeError):
        async with unit_of_work(hub) as uow:
            uow.emit("team.updated", {"team_id": 1})
            await uow.flush_events()  # inserted, then rolled back with the rest
            assert len(uow.events()) == 1
            raise RuntimeError("boom")
    async with hub.db.session() as s:
        after = (await s.exec(sa.select(sa.func.count()).select_from(EventLog))).one()[0]
    assert after == before
