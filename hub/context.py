"""The application context handed to every service function.

Built once by :func:`hub.app.create_app` inside the lifespan; tests build it the same
way. Nothing here is a module-level global.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.bus import InProcessEventBus, RedisEventBus
from hub.config import Settings
from hub.db import Database
from hub.metrics import Metrics
from hub.session_reads import SessionReads
from hub.timeutil import Clock, utcnow

if TYPE_CHECKING:
    from channels.registry import ChannelRegistry


@dataclass
class Hub:
    settings: Settings
    db: Database
    bus: InProcessEventBus | RedisEventBus
    channels: ChannelRegistry
    metrics: Metrics
    clock: Clock = utcnow
    # The routing driver (routing.driver.RoutingDriver) once started; channels ask it
    # for wait estimates. Typed loosely to keep hub/ free of routing imports.
    routing: Any = None
    # The inbound group commit (hub.group_commit.GroupCommitter[Prepared, Stored]),
    # started with the app; ``ingest`` submits to it.
    ingest_writer: Any = None
    # Agent replies, the same way (GroupCommitter[PreparedReply, StoredReply]).
    reply_writer: Any = None
    # CSV import jobs running in this process (hub.crm.importer.Imports).
    imports: Any = None
    # The projection runner (hub.projections.ProjectionRunner), started with the app.
    projections: Any = None
    # The outbox worker waits on both. ``reply_wakeup``: new reply rows (this process's
    # reply lane, or another process's ``outbox.enqueued``); ``outbox_wakeup``: anything
    # else to send (staff mail, campaign sends), which also makes the worker look at
    # those queues at once instead of at their next due time (hub.outbox).
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    reply_wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    # Session-cookie checks, coalesced (hub.session_reads); made on first use.
    _session_reads: SessionReads | None = field(default=None, repr=False)

    def now(self) -> datetime:
        return self.clock()

    @property
    def session_reads(self) -> SessionReads:
        if self._session_reads is None:
            self._session_reads = SessionReads(self.db, self.now)
        return self._session_reads
