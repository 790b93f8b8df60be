"""Provider status callbacks for campaign messages (they have no ``message`` row):
the channel's status handler asks here when no message carries the provider id.
A status never moves backwards; ``failed`` wins with its reason."""

from __future__ import annotations

import sqlalchemy as sa

from hub.context import Hub
from hub.domain import DeliveryUpdate
from hub.models import CampaignRecipient
from hub.projections import core

_recipient = CampaignRecipient.__table__  # type: ignore[attr-defined]


async def campaign_status(hub: Hub, update: DeliveryUpdate) -> bool:
    """Apply ``update`` to the campaign recipient sent with that provider id; False when
    there is none."""
    r = _recipient.c
    now = hub.now()
    where = [r.provider_id == update.provider_message_id, r.channel == update.channel]
    async with hub.db.transaction() as s:
        found = (await core(s, sa.select(r.id, r.status).where(*where).limit(1))).first()
        if found is None:
            return False
        if update.status == "failed":
            await core(
                s,
                sa.update(_recipient)
                .where(r.id == found[0], r.status.in_(["sent", "delivered"]))
                .values(status="failed", reason=(update.error or "failed")[:300], updated_at=now),
            )
        elif update.status in ("delivered", "read"):
            await core(
                s,
                sa.update(_recipient)
                .where(r.id == found[0], r.status == "sent")
                .values(status="delivered", delivered_at=now, updated_at=now),
            )
    return True
