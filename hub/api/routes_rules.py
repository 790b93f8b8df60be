"""Automation rules and macros (issue 18; docs/workflow.md).

Rules are admin only: CRUD, ``PUT /rules/order``, ``POST /rules/dry-run`` (a saved
rule's id or a rule body not yet saved → the last 500 conversations it would match,
with the actions it would take) and ``GET /rules/{id}/firings``. Macros: every staff
member lists the ones they may use and makes personal ones; supervisors (their
teams) and admins shared ones; ``POST /conversations/{id}/macros/{macro_id}/apply``
does the actions as the caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import Field, StrictBool

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import BodyId, Id, In, Out, Page, SmallInt
from hub.context import Hub
from hub.services import macros, rules
from hub.services.access import Actor

router = APIRouter(tags=["rules"])

Items = list[dict[str, Any]]


class RuleOut(Out):
    id: int
    name: str
    position: int
    active: bool
    trigger: str
    trigger_params: dict[str, Any]
    conditions: Items
    actions: Items
    team_id: int | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class RuleIn(In):
    """Conditions and actions are checked by hub.rules.schema (422 naming each field)."""

    name: str = Field(max_length=120)
    active: StrictBool = True
    trigger: str = Field(max_length=30)
    trigger_params: dict[str, Any] = Field(default_factory=dict, max_length=5)
    conditions: Items = Field(default_factory=list, max_length=20)
    actions: Items = Field(max_length=10)
    team_id: BodyId | None = None


class RulePatch(In):
    not_null = ("name", "active", "trigger", "trigger_params", "conditions", "actions")
    name: str | None = Field(default=None, max_length=120)
    active: StrictBool | None = None
    trigger: str | None = Field(default=None, max_length=30)
    trigger_params: dict[str, Any] | None = Field(default=None, max_length=5)
    conditions: Items | None = Field(default=None, max_length=20)
    actions: Items | None = Field(default=None, max_length=10)
    team_id: BodyId | None = None


class OrderIn(In):
    ids: list[BodyId] = Field(max_length=500)


class DryRunIn(In):
    rule_id: BodyId | None = None
    rule: RuleIn | None = None


class DryRunItem(Out):
    conversation_id: int
    channel: str | None
    status: str | None
    actions: Items


class DryRunOut(Out):
    looked_at: int
    matched: list[DryRunItem]


class FiringOut(Out):
    id: int
    event_id: int
    trigger: str
    conversation_id: int | None
    outcome: str
    actions: Items
    at: datetime
    finished_at: datetime | None


@router.get("/rules", response_model=Page[RuleOut])
async def list_rules(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> Page[RuleOut]:
    return Page[RuleOut](items=[RuleOut.model_validate(r) for r in await rules.list_rules(hub, actor)])


@router.post("/rules", response_model=RuleOut, status_code=201)
async def create_rule(
    body: RuleIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> RuleOut:
    return RuleOut.model_validate(await rules.create_rule(hub, actor, body.model_dump()))


@router.put("/rules/order", response_model=Page[RuleOut])
async def reorder_rules(
    body: OrderIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Page[RuleOut]:
    return Page[RuleOut](items=[RuleOut.model_validate(r) for r in await rules.reorder(hub, actor, body.ids)])


@router.post("/rules/dry-run", response_model=DryRunOut)
async def dry_run(
    body: DryRunIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> DryRunOut:
    out = await rules.dry_run(
        hub, actor, rule_id=body.rule_id, body=body.rule.model_dump() if body.rule is not None else {}
    )
    return DryRunOut.model_validate(out)


@router.get("/rules/{rule_id}", response_model=RuleOut)
async def get_rule(
    rule_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> RuleOut:
    return RuleOut.model_validate(await rules.get_rule(hub, actor, rule_id))


@router.patch("/rules/{rule_id}", response_model=RuleOut)
async def patch_rule(
    rule_id: Id, body: RulePatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> RuleOut:
    return RuleOut.model_validate(
        await rules.update_rule(hub, actor, rule_id, body.model_dump(exclude_unset=True))
    )


@router.delete("/rules/{rule_id}", status_code=204)
async def delete_rule(
    rule_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await rules.delete_rule(hub, actor, rule_id)
    return Response(status_code=204)


@router.get("/rules/{rule_id}/firings", response_model=Page[FiringOut])
async def rule_firings(
    rule_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Page[FiringOut]:
    return Page[FiringOut](
        items=[FiringOut.model_validate(f) for f in await rules.firings(hub, actor, rule_id)]
    )


# -- macros -----------------------------------------------------------------------------
class MacroOut(Out):
    id: int
    name: str
    scope: str
    owner_id: int | None
    team_id: int | None
    actions: Items
    position: int
    editable: bool
    created_at: datetime
    updated_at: datetime


class MacroIn(In):
    name: str = Field(max_length=80)
    scope: str = Field(default="personal", max_length=10)
    team_id: BodyId | None = None
    actions: Items = Field(max_length=10)
    position: SmallInt = 0


class MacroPatch(In):
    not_null = ("name", "scope", "actions", "position")
    name: str | None = Field(default=None, max_length=80)
    scope: str | None = Field(default=None, max_length=10)
    team_id: BodyId | None = None
    actions: Items | None = Field(default=None, max_length=10)
    position: SmallInt | None = None


class ApplyOut(Out):
    macro_id: int
    conversation_id: int
    results: Items


@router.get("/macros", response_model=Page[MacroOut])
async def list_macros(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> Page[MacroOut]:
    return Page[MacroOut](items=[MacroOut.model_validate(m) for m in await macros.list_macros(hub, actor)])


@router.post("/macros", response_model=MacroOut, status_code=201)
async def create_macro(
    body: MacroIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> MacroOut:
    return MacroOut.model_validate(await macros.create_macro(hub, actor, body.model_dump()))


@router.patch("/macros/{macro_id}", response_model=MacroOut)
async def patch_macro(
    macro_id: Id, body: MacroPatch, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> MacroOut:
    return MacroOut.model_validate(
        await macros.update_macro(hub, actor, macro_id, body.model_dump(exclude_unset=True))
    )


@router.delete("/macros/{macro_id}", status_code=204)
async def delete_macro(
    macro_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await macros.delete_macro(hub, actor, macro_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/macros/{macro_id}/apply", response_model=ApplyOut)
async def apply_macro(
    conversation_id: Id, macro_id: Id, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ApplyOut:
    return ApplyOut.model_validate(await macros.apply_macro(hub, actor, conversation_id, macro_id))
