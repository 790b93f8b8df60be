"""Customer memory settings: custom contact fields and recognition tiers (docs/crm.md).

Everyone signed in reads them (the console labels fields and draws tier badges);
only admins change them.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Response

from hub.api.deps import current_actor, get_hub
from hub.api.schemas import (
    ContactFieldIn,
    ContactFieldOut,
    ContactFieldPatch,
    TierIn,
    TierOut,
    TierPatch,
)
from hub.context import Hub
from hub.services import contact_fields, tiers
from hub.services.access import Actor

router = APIRouter(tags=["customer memory"])
FieldKey = Path(max_length=64)
TierKey = Path(max_length=40)


@router.get("/contact-fields", response_model=list[ContactFieldOut])
async def list_fields(
    actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> list[ContactFieldOut]:
    async with hub.db.session() as s:
        rows = await contact_fields.list_fields(s)
    return [ContactFieldOut.model_validate(r) for r in rows]


@router.post("/contact-fields", response_model=ContactFieldOut, status_code=201)
async def create_field(
    body: ContactFieldIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> ContactFieldOut:
    row = await contact_fields.create_field(hub, actor, body.model_dump())
    return ContactFieldOut.model_validate(row)


@router.patch("/contact-fields/{key}", response_model=ContactFieldOut)
async def update_field(
    body: ContactFieldPatch,
    key: str = FieldKey,
    actor: Actor = Depends(current_actor),
    hub: Hub = Depends(get_hub),
) -> ContactFieldOut:
    row = await contact_fields.update_field(hub, actor, key, body.model_dump(exclude_unset=True))
    return ContactFieldOut.model_validate(row)


@router.delete("/contact-fields/{key}", status_code=204)
async def delete_field(
    key: str = FieldKey, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await contact_fields.delete_field(hub, actor, key)
    return Response(status_code=204)


@router.get("/tiers", response_model=list[TierOut])
async def list_tiers(actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)) -> list[TierOut]:
    async with hub.db.session() as s:
        rows = await tiers.list_tiers(s)
    return [TierOut.model_validate(r) for r in rows]


@router.post("/tiers", response_model=TierOut, status_code=201)
async def create_tier(
    body: TierIn, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> TierOut:
    return TierOut.model_validate(await tiers.create_tier(hub, actor, body.model_dump()))


@router.patch("/tiers/{key}", response_model=TierOut)
async def update_tier(
    body: TierPatch, key: str = TierKey, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> TierOut:
    return TierOut.model_validate(
        await tiers.update_tier(hub, actor, key, body.model_dump(exclude_unset=True))
    )


@router.delete("/tiers/{key}", status_code=204)
async def delete_tier(
    key: str = TierKey, actor: Actor = Depends(current_actor), hub: Hub = Depends(get_hub)
) -> Response:
    await tiers.delete_tier(hub, actor, key)
    return Response(status_code=204)
