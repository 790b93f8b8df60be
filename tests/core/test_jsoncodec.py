"""The JSON columns' codec (hub/jsoncodec.py): orjson, holding the same values the
standard library's json held, refusing what it refused."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from hub import jsoncodec
from hub.db import sync_engine
from tests.helpers import inbound


class Colour(enum.StrEnum):
    red = "red"


@dataclasses.dataclass
class Point:
    x: int


VALUES: list[Any] = [
    None,
    True,
    0,
    -(2**63),
    2**64 - 1,
    2**70,  # past orjson's 64 bits: json writes it
    0.1,
    -0.0,
    1e16,
    1.7976931348623157e308,
    "",
    "مرحبا، أين طلبي؟ 📦",
    'quote " backslash \\ nul \u0000 line\nsep \u2028',
    [1, "two", [3.5, None], {"k": False}],
    (1, 2),
    {"a": {"b": [{"c": "د"}]}, "n": None},
    {1: "int key", "s": Colour.red},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_every_json_value_is_written_and_read_as_json_did(value: Any) -> None:
    expected = json.loads(json.dumps(value))
    assert json.loads(jsoncodec.dumps(value)) == expected
    assert jsoncodec.loads(jsoncodec.dumps(value)) == expected
    assert jsoncodec.loads(json.dumps(value)) == expected  # what json stored before
    assert jsoncodec.loads(json.dumps(value).encode()) == expected


def test_non_ascii_is_written_as_itself() -> None:
    assert jsoncodec.dumps({"body": "أين"}) == '{"body":"أين"}'


@pytest.mark.parametrize(
    "value", [datetime.now(UTC), {1, 2}, object(), Point(1), {"deep": [Point(2)]}, b"bytes"]
)
def test_what_json_refused_is_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsoncodec.dumps(value)


def test_non_finite_numbers() -> None:
    # json wrote NaN as text no JSON reader but Python's takes (PostgreSQL refused it):
    # such stored text still reads; a new one is written as null, on both databases.
    assert math.isnan(jsoncodec.loads('{"x": NaN}')["x"])
    assert jsoncodec.loads("[Infinity]") == [math.inf]
    assert jsoncodec.dumps([math.nan, math.inf]) == "[null,null]"
    # Also beside an integer past 64 bits, which json writes (PostgreSQL refused its NaN).
    mixed = {"big": 2**70, "x": [math.nan, {"y": -math.inf}, (1.5,)]}
    assert json.loads(jsoncodec.dumps(mixed)) == {"big": 2**70, "x": [None, {"y": None}, [1.5]]}
    with pytest.raises(ValueError):
        jsoncodec.loads("{not json")


async def test_the_hub_stores_and_reads_json_with_it(app: Any, db_url: str) -> None:
    hub = app.hub
    lanes = sync_engine(hub.settings.sync_database_url, pool_size=1)
    try:
        for engine in (hub.db.engine.sync_engine, lanes):
            assert engine.dialect._json_serializer is jsoncodec.dumps
            assert engine.dialect._json_deserializer is jsoncodec.loads
    finally:
        lanes.dispose()
    body = "مرحبا، أين طلبي؟"
    sent = await inbound(app.client, "cust-json", body, sender_name="ليلى")
    async with hub.db.engine.connect() as s:
        text = (
            await s.execute(
                sa.text(
                    "SELECT CAST(payload AS TEXT) FROM event_log WHERE type = 'message.received' "
                    "ORDER BY id DESC LIMIT 1"
                )
            )
        ).scalar_one()
        raw = (
            await s.execute(
                sa.text("SELECT CAST(raw AS TEXT) FROM message WHERE id = :id"), {"id": sent["message_id"]}
            )
        ).scalar_one()
    assert json.loads(text)["body"] == body and json.loads(text)["message_id"] == sent["message_id"]
    assert json.loads(raw)["sender_name"] == "ليلى"
    if db_url.startswith("sqlite"):
        assert body in text  # UTF-8, not \\u escapes
