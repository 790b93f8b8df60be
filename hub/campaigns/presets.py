"""Ready campaigns. ``win_back``: the "Lapsed customers" segment (last contact 90 to 365
days ago — relative, so the saved segment stays current) and an invitation to come
back in English and Arabic; its answer rate is the campaign's ``replied`` count."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from hub.campaigns import audience, service
from hub.context import Hub
from hub.models import Campaign, Role, Segment
from hub.services import segments
from hub.services.access import Actor, require_role
from hub.services.errors import NotFound

LAPSED = "Lapsed customers"
PRESETS: dict[str, dict[str, Any]] = {
    "win_back": {
        "name": "Win-back: we miss you",
        "description": "Customers whose last contact was 90 to 365 days ago, invited back.",
        "segment_name": LAPSED,
        "segment_filter": {"last_contact_days_min": 90, "last_contact_days_max": 365},
        "kind": "message",
        "channel": "preferred",
        "content": {
            "en": {
                "subject": 'We miss you, {{contact.first_name | "friend"}}',
                "body": (
                    'Hi {{contact.first_name | "there"}}, it has been a while! '
                    "Is there anything we can help you with? Just reply to this message."
                ),
            },
            "ar": {
                "subject": 'اشتقنا إليك يا {{contact.first_name | "صديقنا"}}',
                "body": (
                    'مرحبًا {{contact.first_name | "بك"}}، لم نسمع منك منذ مدة! '
                    "هل يمكننا مساعدتك في شيء؟ يكفي أن ترد على هذه الرسالة."
                ),
            },
        },
    }
}


def listing() -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "name": p["name"],
            "description": p["description"],
            "segment_name": p["segment_name"],
            "segment_filter": p["segment_filter"],
            "kind": p["kind"],
            "channel": p["channel"],
            "content": p["content"],
        }
        for key, p in PRESETS.items()
    ]


async def _segment(hub: Hub, actor: Actor, p: dict[str, Any]) -> int:
    async with hub.db.session() as s:
        found = (
            await s.exec(
                select(Segment.id)
                .where(Segment.name == p["segment_name"], col(Segment.shared).is_(True))
                .order_by(col(Segment.id))
                .limit(1)
            )
        ).first()
    if found is not None:
        return found
    seg = await segments.create_segment(
        hub, actor, {"name": p["segment_name"], "filter": p["segment_filter"], "shared": True}
    )
    assert seg.id is not None
    return seg.id


async def apply(hub: Hub, actor: Actor, key: str, team_id: int | None) -> tuple[Campaign, int]:
    """The preset's segment (made on first use) and a draft from its template."""
    require_role(actor, Role.supervisor)
    p = PRESETS.get(key)
    if p is None:
        raise NotFound(f"no preset {key!r}", code="preset_not_found")
    segment_id = await _segment(hub, actor, p)
    enabled = audience.enabled_channels(hub)
    fallback = [ch for ch in audience.DEFAULT_FALLBACK if ch in enabled]
    c = await service.create(
        hub,
        actor,
        {
            "name": p["name"],
            "team_id": team_id,
            "kind": p["kind"],
            "audience": {"type": "segment", "segment_id": segment_id},
            "channel": p["channel"],
            "fallback": fallback + [ch for ch in enabled if ch not in fallback],
            "content": p["content"],
        },
    )
    return c, segment_id
