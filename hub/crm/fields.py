"""Custom contact fields: definitions and value validation.

One function, :func:`clean_value`, validates a value for a field wherever it is written
(REST, CSV import, console), so the three can never disagree. Values are stored in
``Contact.attributes[key]`` as JSON: text and choices as strings, numbers as numbers,
dates as ``YYYY-MM-DD``, booleans as booleans, many-of lists as sorted lists.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

FIELD_TYPES = ("text", "number", "date", "boolean", "choice", "multi_choice")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TEXT = 1000
MAX_OPTIONS = 100
MAX_OPTION = 100
MAX_NUMBER = 1e15
# Keys channels write for themselves (hub.channels): not definable as custom fields.
RESERVED_KEYS = frozenset({"email", "unverified", "webchat_link", "sms_opt_out", "telegram_username"})
_TRUE = {"true", "yes", "1", "y", "نعم"}
_FALSE = {"false", "no", "0", "n", "لا"}


class FieldValueError(ValueError):
    def __init__(self, key: str, message: str, code: str = "invalid_field_value") -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.code = code


def clean_value(key: str, ftype: str, options: list[str], value: Any, *, from_text: bool = False) -> Any:
    """The stored form of ``value`` for a field of type ``ftype``; raises
    :class:`FieldValueError`. ``from_text``: the value comes from a CSV cell, so
    numbers, booleans and lists are parsed from strings."""
    if ftype == "text":
        if not isinstance(value, str):
            raise FieldValueError(key, "expected text")
        value = value.strip()
        if len(value) > MAX_TEXT:
            raise FieldValueError(key, f"at most {MAX_TEXT} characters")
        return value
    if ftype == "number":
        if from_text and isinstance(value, str):
            try:
                value = float(value.strip().replace(",", "")) if value.strip() else None
            except ValueError:
                raise FieldValueError(key, "expected a number") from None
            if value is not None and value.is_integer():
                value = int(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FieldValueError(key, "expected a number")
        if not math.isfinite(value) or abs(value) > MAX_NUMBER:
            raise FieldValueError(key, "the number is out of range")
        return value
    if ftype == "date":
        if not isinstance(value, str):
            raise FieldValueError(key, "expected a date (YYYY-MM-DD)")
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise FieldValueError(key, "expected a date (YYYY-MM-DD)") from None
    if ftype == "boolean":
        if from_text and isinstance(value, str):
            text = value.strip().casefold()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        if not isinstance(value, bool):
            raise FieldValueError(key, "expected true or false")
        return value
    if ftype == "choice":
        if not isinstance(value, str) or value.strip() not in options:
            raise FieldValueError(key, "not one of the allowed values", "invalid_choice")
        return value.strip()
    if ftype == "multi_choice":
        if from_text and isinstance(value, str):
            value = [v.strip() for v in value.split("|") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise FieldValueError(key, "expected a list of values")
        bad = [v for v in value if v.strip() not in options]
        if bad:
            raise FieldValueError(key, "not one of the allowed values", "invalid_choice")
        return sorted({v.strip() for v in value}, key=options.index)
    raise FieldValueError(key, f"unknown field type {ftype!r}")


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def check_definition(key: str, ftype: str, options: list[str]) -> list[tuple[str, str, str]]:
    """Problems with a definition as (field, code, message); empty when fine."""
    problems: list[tuple[str, str, str]] = []
    if not KEY_RE.match(key):
        problems.append(("key", "invalid_key", "lower-case letters, digits and _, starting with a letter"))
    elif key in RESERVED_KEYS:
        problems.append(("key", "reserved_key", "this key is used by a channel"))
    if ftype not in FIELD_TYPES:
        problems.append(("type", "invalid_type", f"one of {', '.join(FIELD_TYPES)}"))
    if ftype in ("choice", "multi_choice"):
        if not options:
            problems.append(("options", "options_required", "a list field needs its allowed values"))
        elif len(options) > MAX_OPTIONS or any(not o.strip() or len(o) > MAX_OPTION for o in options):
            problems.append(
                ("options", "invalid_options", f"1 to {MAX_OPTIONS} values of 1 to {MAX_OPTION} chars")
            )
        elif len({o.strip() for o in options}) != len(options):
            problems.append(("options", "invalid_options", "the allowed values must differ"))
    elif options:
        problems.append(("options", "invalid_options", "only list fields have allowed values"))
    return problems


def definitions_by_key(rows: Any) -> Mapping[str, Any]:
    return {r.key: r for r in rows}
