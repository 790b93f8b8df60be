"""Custom contact field definitions (admins) and validating values against them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import Hub
from hub.crm.fields import FieldValueError, check_definition, clean_value, is_empty
from hub.models import ContactField, Role
from hub.services.access import Actor, require_role
from hub.services.errors import Conflict, Invalid, NotFound
from hub.services.uow import unit_of_work

DEFINITION_KEYS = ("label_en", "label_ar", "type", "options", "required", "show_in_panel", "position")


def invalid_fields(problems: list[tuple[str, str, str]], message: str = "invalid input") -> Invalid:
    """A 422 naming each refused field, in the shape of request validation errors."""
    fields = [{"field": f, "code": code, "message": msg} for f, code, msg in problems]
    summary = "; ".join(f"{f}: {msg}" for f, _c, msg in problems[:5]) or message
    return Invalid(summary, code="validation_error", extra={"fields": fields})


async def list_fields(s: AsyncSession) -> list[ContactField]:
    rows = await s.exec(select(ContactField).order_by(col(ContactField.position), col(ContactField.key)))
    return list(rows.all())


async def create_field(hub: Hub, actor: Actor, values: Mapping[str, Any]) -> ContactField:
    require_role(actor, Role.admin)
    key = str(values.get("key", ""))
    options = list(values.get("options") or [])
    problems = check_definition(key, str(values.get("type", "")), options)
    if problems:
        raise invalid_fields(problems)
    async with unit_of_work(hub, actor.user_id) as uow:
        if await uow.session.get(ContactField, key) is not None:
            raise Conflict(f"a field with key {key!r} exists", code="field_exists")
        now = hub.now()
        row = ContactField(key=key, **{k: values[k] for k in DEFINITION_KEYS if k in values})
        row.options = [o.strip() for o in options]
        row.created_at = row.updated_at = now
        uow.session.add(row)
    return row


async def update_field(hub: Hub, actor: Actor, key: str, changes: Mapping[str, Any]) -> ContactField:
    require_role(actor, Role.admin)
    async with unit_of_work(hub, actor.user_id) as uow:
        row = await uow.session.get(ContactField, key)
        if row is None:
            raise NotFound(f"no field {key!r}")
        if "type" in changes and changes["type"] != row.type:
            raise Conflict("a field's type cannot change; add a new field instead", code="type_locked")
        options = [o.strip() for o in changes.get("options", row.options) or []]
        problems = check_definition(key, row.type, options)
        if problems:
            raise invalid_fields(problems)
        for name in DEFINITION_KEYS:
            if name in changes and name != "type":
                setattr(row, name, changes[name])
        row.options = options
        row.updated_at = hub.now()
        uow.session.add(row)
    return row


async def delete_field(hub: Hub, actor: Actor, key: str) -> None:
    """Remove a definition. Stored values stay on contacts, shown as plain attributes."""
    require_role(actor, Role.admin)
    async with unit_of_work(hub, actor.user_id) as uow:
        row = await uow.session.get(ContactField, key)
        if row is None:
            raise NotFound(f"no field {key!r}")
        await uow.session.delete(row)


def clean_attributes(
    definitions: Mapping[str, ContactField],
    current: Mapping[str, Any],
    patch: Mapping[str, Any],
    *,
    allow_undefined: bool,
    from_text: bool = False,
    prefix: str = "attributes",
) -> dict[str, Any]:
    """``current`` with ``patch`` merged in (a ``None``/empty value removes the key), every
    defined field validated. Raises one 422 listing every bad field."""
    merged = dict(current)
    problems: list[tuple[str, str, str]] = []
    for key, value in patch.items():
        where = f"{prefix}.{key}"
        definition = definitions.get(key)
        if definition is None:
            if not allow_undefined:
                problems.append((where, "unknown_field", "no such custom field"))
            elif value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
            continue
        if is_empty(value):
            if definition.required:
                problems.append((where, "field_required", "this field is required"))
            merged.pop(key, None)
            continue
        try:
            merged[key] = clean_value(key, definition.type, definition.options, value, from_text=from_text)
        except FieldValueError as exc:
            problems.append((where, exc.code, exc.message))
    if problems:
        raise invalid_fields(problems)
    return merged
