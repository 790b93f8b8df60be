"""The database's JSON columns written and read with orjson.

Every message writes four JSON values (its attachments, meta and raw provider body,
and its event's payload) and the log consumers read each event's payload back: with
the standard library's ``json`` (SQLAlchemy's default) that was a few percent of the
hub's CPU at its highest rate; orjson does the same work several times faster.

What either module would store or read stays the same value:

- ``dumps`` refuses what ``json.dumps`` refuses. orjson would write a datetime or a
  dataclass itself; here they are passed to its ``default``, which refuses them as
  ``json.dumps`` does (a value that reaches a JSON column is JSON data already). What
  orjson cannot write (an integer past 64 bits) is written by ``json.dumps``.
- One difference: orjson writes a float that is not finite as ``null`` (standard
  JSON has no such numbers), where ``json.dumps`` wrote ``NaN``/``Infinity``, text
  that PostgreSQL refused and other JSON readers refuse too. The hub refuses such
  numbers where people type them (custom fields, bounded schema fields), so none is
  expected here; if one comes, both databases now store ``null`` alike.
- The text differs only in spacing and in writing non-ASCII characters as themselves
  (UTF-8) instead of ``\\uXXXX`` escapes: the same JSON value for every reader
  (SQLite's JSON functions, PostgreSQL's ``json``/``jsonb``, both modules).
- ``loads`` reads what orjson reads; what it refuses (the ``NaN`` text above, stored
  before) is read by ``json.loads``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class _Refused(TypeError):
    """What ``default`` raises for a value JSON has no form for (json's own refusal)."""


def _refuse(value: Any) -> Any:
    raise _Refused(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    try:
        text = orjson.dumps(value, default=_refuse, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        if isinstance(exc.__cause__, _Refused):
            raise TypeError(str(exc.__cause__)) from None
        # An integer past 64 bits; its non-finite floats still as null (json writes NaN).
        return json.dumps(_finite(value))
    return text.decode()


def _finite(value: Any) -> Any:
    """``value`` with every float that is not finite as ``None``, as orjson writes it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
