"""Status callbacks that arrive before the outbox has recorded the message SID.

Twilio answers the send with the SID and may post ``sent`` a moment later — sometimes
before the outbox worker commits that SID on the message. ``delivery_update`` then
finds nothing. Such updates are parked here and applied when the outbox's
``message.status`` event for that SID comes by on the bus (from any hub process).
Parking is in memory and bounded: a lost early ``sent`` is cosmetic, and the final
``delivered``/``failed`` comes seconds later, when the SID is long recorded.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from hub.domain import DeliveryUpdate

MAX_PARKED = 2_000
KEEP_FOR = timedelta(minutes=10)


class EarlyStatuses:
    def __init__(self) -> None:
        self._parked: OrderedDict[str, tuple[datetime, list[DeliveryUpdate]]] = OrderedDict()

    def park(self, update: DeliveryUpdate, now: datetime) -> None:
        self._expire(now)
        _, updates = self._parked.setdefault(update.provider_message_id, (now, []))
        updates.append(update)
        while len(self._parked) > MAX_PARKED:
            self._parked.popitem(last=False)

    def discard(self, sid: str) -> None:
        self._parked.pop(sid, None)

    def take(self, sid: str) -> list[DeliveryUpdate]:
        entry = self._parked.pop(sid, None)
        return entry[1] if entry is not None else []

    def __contains__(self, sid: object) -> bool:
        return sid in self._parked

    def _expire(self, now: datetime) -> None:
        while self._parked:
            sid, (parked_at, _) = next(iter(self._parked.items()))
            if now - parked_at <= KEEP_FOR:
                return
            del self._parked[sid]
