"""The application factory: everything is composed here, explicitly."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from sqlmodel import col, func, select
from starlette.routing import BaseRoute, Mount, Router, WebSocketRoute

from agent_ui.commands import COMMANDS
from agent_ui.gateway import Gateway
from channels.registry import ChannelRegistry, build_registry
from hub import __version__
from hub.api import errors as api_errors
from hub.api import (
    routes_attachments,
    routes_audit,
    routes_auth,
    routes_campaigns,
    routes_canned,
    routes_chat,
    routes_complaint_page,
    routes_complaints,
    routes_consent,
    routes_contacts,
    routes_conversations,
    routes_crm,
    routes_imports,
    routes_labels,
    routes_live,
    routes_notifications,
    routes_organizations,
    routes_outbound,
    routes_profile,
    routes_report_schedules,
    routes_reports,
    routes_rules,
    routes_search,
    routes_segments,
    routes_surveys,
    routes_tasks,
    routes_users,
    routes_views,
    routes_wfm,
)
from hub.api_docs import api_docs_router
from hub.bus import Subscription, create_bus
from hub.config import Settings
from hub.context import Hub
from hub.crm.importer import Imports
from hub.db import Database, autovacuum_off, sync_engine
from hub.group_commit import GroupCommitter
from hub.metrics import Metrics, MetricsAccess
from hub.middleware import UNTRUSTED_RELAY, ForwardedForMiddleware, RequestContextMiddleware, WebhookFastPath
from hub.models import Conversation as Conv
from hub.models import ConversationStatus, OutboxItem, OutboxStatus
from hub.outbox import OutboxWorker
from hub.pages import pages_router, static_app
from hub.projections import ProjectionRunner
from hub.services.inbound_batch import InboundWriter, Prepared, Stored
from hub.services.reply_batch import PreparedReply, ReplyWriter, StoredReply
from hub.services.staff_mail import Mailer
from hub.throttle import build_throttle
from hub.timeutil import Clock, utcnow

log = logging.getLogger(__name__)


def _ingest_writer(hub: Hub) -> GroupCommitter[Prepared, Stored]:
    """The inbound group commit: one lane on SQLite (one writer), several on PostgreSQL."""
    settings = hub.settings
    lanes = 1 if settings.is_sqlite else settings.ingest.lanes

    async def publish(results: list[Stored]) -> None:
        # In id (= commit) order: a batch writes its usual-case messages together
        # before the others (hub.services.inbound_batch), so results are not in it.
        events = sorted((e for r in results for e in r.events), key=lambda e: e.id)
        if events:
            # Committed: a failed publish loses no truth (consoles resync from the log).
            await hub.bus.publish(events)

    engine = sync_engine(settings.sync_database_url, pool_size=lanes, synchronous=settings.sqlite_synchronous)
    return GroupCommitter(
        engine,
        InboundWriter(engine.dialect),
        lanes=lanes,
        max_batch=settings.ingest.max_batch,
        lock=hub.db.write_lock,
        after_commit=publish,
        name="ingest",
        commit_delay=settings.ingest.commit_delay_ms / 1000,
    )


def _reply_writer(hub: Hub) -> GroupCommitter[PreparedReply, StoredReply]:
    """Agent replies by group commit, keyed by conversation (see hub.services.reply_batch)."""
    settings = hub.settings
    lanes = 1 if settings.is_sqlite else settings.ingest.lanes

    async def publish(results: list[StoredReply]) -> None:
        hub.reply_wakeup.set()
        events = [e for r in results for e in r.events]
        if events:
            await hub.bus.publish(events)

    engine = sync_engine(settings.sync_database_url, pool_size=lanes, synchronous=settings.sqlite_synchronous)
    channels = {c.kind: bool(c.supports_attachments) for c in hub.channels}
    return GroupCommitter(
        engine,
        ReplyWriter(engine.dialect, channels),
        lanes=lanes,
        max_batch=settings.ingest.max_batch,
        lock=hub.db.write_lock,
        after_commit=publish,
        name="reply",
        commit_delay=settings.ingest.commit_delay_ms / 1000,
    )


def build_projections(hub: Hub) -> ProjectionRunner:
    from hub.campaigns.reactor import CampaignsReactor
    from hub.care.consumer import CareConsumer
    from hub.crm.figures import ContactFiguresProjection
    from hub.crm.orgs import OrganizationJoinProjection
    from hub.crm.search import ContactSearchProjection
    from hub.reports.rollup import ReportsProjection
    from hub.reports.schedules import ReportMailer
    from hub.rules.reactor import RulesReactor
    from hub.services.consent_reactor import ConsentKeywordReactor
    from hub.services.notifications import NotificationsReactor
    from hub.services.search_index import MessageSearchProjection
    from hub.services.tasks import TasksReactor

    return ProjectionRunner(
        hub,
        [
            ContactFiguresProjection(),
            ContactSearchProjection(),
            MessageSearchProjection(),
            OrganizationJoinProjection(),
            CareConsumer(hub),
            ReportsProjection(hub.db.is_sqlite),
            ReportMailer(hub),
            NotificationsReactor(hub),
            CampaignsReactor(hub),
            ConsentKeywordReactor(hub),
            TasksReactor(hub),
            RulesReactor(hub),
        ],
        coalesce=hub.settings.projections.coalesce_ms / 1000,
        busy_coalesce=hub.settings.projections.busy_coalesce_ms / 1000,
        busy_events=hub.settings.projections.busy_events,
    )


def _api_router() -> APIRouter:
    """The /api/v1 router with every module's routes (included once, by _shared_routes)."""
    api = APIRouter(prefix="/api/v1")
    for module in (
        routes_auth,
        routes_conversations,
        routes_imports,
        routes_contacts,
        routes_crm,
        routes_segments,
        routes_organizations,
        routes_complaints,
        routes_surveys,
        routes_reports,
        routes_wfm,
        routes_report_schedules,
        routes_users,
        routes_canned,
        routes_labels,
        routes_search,
        routes_views,
        routes_outbound,
        routes_notifications,
        routes_profile,
        routes_live,
        routes_audit,
        routes_attachments,
        routes_consent,
        routes_campaigns,
        routes_tasks,
        routes_rules,
        routes_chat,
    ):
        api.include_router(module.router)
    return api


@functools.cache
def _shared_routes() -> tuple[BaseRoute, ...]:
    """The API, docs, ops and page routes, included once per process and shared by
    every app this process makes. FastAPI derives an included router's effective routes
    lazily, on the first request that walks past them, and caches them on the included
    router: included per app, that is ~0.2–0.4 s of CPU for each new app (every test
    makes one), included once, it is paid once. The routes hold no per-app state (the
    endpoints reach the hub through ``request.app.state``); the one thing given up is
    ``app.dependency_overrides``, which the hub does not use."""
    shared = APIRouter()
    for router in (
        _api_router(),
        api_docs_router(),
        _ops_router(),
        pages_router(),
        routes_surveys.page_router(),
        routes_consent.page_router(),
        routes_complaint_page.page_router(),
    ):
        shared.include_router(router)
    return tuple(shared.routes)


def create_app(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    channels: ChannelRegistry | None = None,
    run_outbox_worker: bool = True,
    run_routing: bool = True,
    demo: bool = False,
) -> FastAPI:
    registry = channels if channels is not None else build_registry(settings.channels)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.async_database_url, synchronous=settings.sqlite_synchronous)
        bus = create_bus(settings.redis_url, settings.redis_prefix)
        hub = Hub(settings=settings, db=db, bus=bus, channels=registry, metrics=metrics, clock=clock)
        app.state.hub = hub
        await bus.start()
        hub.ingest_writer = _ingest_writer(hub)
        hub.ingest_writer.start()
        hub.reply_writer = _reply_writer(hub)
        hub.reply_writer.start()
        hub.projections = build_projections(hub)
        await hub.projections.prepare()
        hub.projections.start()
        hub.imports = Imports(hub)
        wake_sub = bus.subscribe(wants="outbox.enqueued".__eq__, wake_only=True)
        worker = OutboxWorker(hub)
        gateway = Gateway(hub, COMMANDS)
        app.state.gateway = gateway
        wake_task = None
        try:
            await gateway.start()
            if run_routing:
                from routing.driver import RoutingDriver

                hub.routing = RoutingDriver(hub)
                await hub.routing.start()
            for channel in registry:
                await channel.start(hub)
            if run_outbox_worker:
                worker.start()
                wake_task = _start_outbox_wakeups(hub, wake_sub)
            app.state.outbox_worker = worker
            if demo:
                from hub.demo import DemoTraffic

                app.state.demo = DemoTraffic(hub, settings.base_url)
                await app.state.demo.start()
            if await autovacuum_off(db):
                log.warning(
                    "PostgreSQL's autovacuum is off: keep it on (its default); the reports', search's "
                    "and CRM's queries plan from the statistics it keeps (docs/architecture.md, Operations)"
                )
            log.info(
                "hub ready: %s, bus=%s, channels=%s", _safe_db(settings), type(bus).__name__, registry.kinds()
            )
            yield
        finally:
            if getattr(app.state, "demo", None) is not None:
                await app.state.demo.stop()
            wake_sub.close()
            if wake_task is not None:
                wake_task.cancel()
                with contextlib.suppress(BaseException):
                    await wake_task
            await worker.stop()
            if hub.routing is not None:
                await hub.routing.stop()
            await gateway.stop()
            for channel in registry:
                await channel.stop()
            await app.state.staff_mailer.drain()
            await app.state.signin_throttle.close()
            await hub.imports.stop()
            await hub.projections.stop()
            await hub.ingest_writer.stop()
            await hub.reply_writer.stop()
            await bus.close()
            await db.dispose()

    app = FastAPI(
        title="Switchboard",
        version=__version__,
        lifespan=lifespan,
        # The schema is served by hub.api_docs (built off the event loop), and
        # FastAPI's own docs pages load from a CDN with inline scripts, which the CSP
        # blocks: /api/v1/docs is served by hub.api_docs instead, and ReDoc is off.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=None
        if settings.metrics.opentelemetry
        else {"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.channels = registry
    app.state.metrics = metrics

    def group_commits() -> dict[str, object]:
        """The writers of the current lifespan's hub, read at each scrape."""
        hub = getattr(app.state, "hub", None)
        return {"ingest": getattr(hub, "ingest_writer", None), "reply": getattr(hub, "reply_writer", None)}

    metrics.watch_group_commits(group_commits)
    app.state.signin_throttle = build_throttle(
        settings.redis_url,
        settings.redis_prefix,
        max_attempts=settings.auth.login_max_attempts,
        window_seconds=settings.auth.login_window_seconds,
        max_delay_seconds=settings.auth.login_max_delay_seconds,
    )
    app.state.staff_mailer = Mailer()
    api_errors.install(app)

    # A plain Starlette route: FastAPI's websocket route solves dependencies in exit
    # stacks that stay open with the socket (~3 KiB each of a thousand consoles). First:
    # routes are matched in order, and a console's handshake need not be tried against
    # every API route first (a thousand consoles reconnect at once after a restart).
    app.router.routes.append(WebSocketRoute("/ws", _console_socket))
    app.router.routes.extend(_shared_routes())
    webhooks: list[BaseRoute] = [
        Mount(f"/channels/{c.kind}", app=Router(routes=list(c.routes()))) for c in registry
    ]
    for channel in registry:
        # Pages that must live outside /channels/<kind> (the widget frame has its own
        # framing policy, see hub/middleware.py).
        extra = getattr(channel, "extra_routes", None)
        if extra is not None:
            app.router.routes.extend(extra())
    app.router.routes.append(Mount("/static", app=static_app(), name="static"))
    app.add_middleware(WebhookFastPath, webhooks=webhooks)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    # Outermost: everything inside sees the real client address.
    app.add_middleware(ForwardedForMiddleware, trusted=settings.forwarded_allow_ips)
    return app


async def _console_socket(websocket: WebSocket) -> None:
    gateway: Gateway = websocket.app.state.gateway
    await gateway.endpoint(websocket)


def _start_outbox_wakeups(hub: Hub, sub: Subscription) -> asyncio.Task[None]:
    async def loop() -> None:
        # Replies committed by another hub process wake this process's worker too.
        async for event in sub:
            if event.type == "outbox.enqueued":
                hub.reply_wakeup.set()

    return asyncio.create_task(loop(), name="outbox-wakeups")


def _safe_db(settings: Settings) -> str:
    url = settings.database_url
    if "@" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _check_metrics_access(settings: Settings, request: Request) -> None:
    access = MetricsAccess.build(settings.metrics.token, settings.metrics.allow_ips)
    # Relayed by a proxy nobody listed in forwarded_allow_ips: the peer (often the
    # proxy on loopback) is not the client, so it proves nothing.
    relayed = bool(request.scope.get(UNTRUSTED_RELAY))
    if not access.address_allowed(None if relayed or not request.client else request.client.host):
        raise api_errors.ApiError(
            403, "forbidden", "this address may not read /metrics (see [metrics] allow_ips)"
        )
    if not access.token_ok(request.headers.get("authorization")):
        raise api_errors.ApiError(
            401,
            "not_authenticated",
            "/metrics needs Authorization: Bearer <[metrics] token>",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _ops_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        hub: Hub = request.app.state.hub
        try:
            async with hub.db.session() as s:
                await s.exec(select(1))
        except Exception as exc:
            return JSONResponse({"status": "error", "database": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    @router.get("/metrics")
    async def metrics_endpoint(request: Request) -> Response:
        hub: Hub = request.app.state.hub
        _check_metrics_access(hub.settings, request)
        async with hub.db.session() as s:
            depth = (
                await s.exec(
                    select(Conv.team_id, func.count())
                    .where(Conv.status == ConversationStatus.queued)
                    .group_by(col(Conv.team_id))
                )
            ).all()
            backlog = (
                await s.exec(select(func.count()).where(OutboxItem.status == OutboxStatus.pending))
            ).one()
            dead = (await s.exec(select(func.count()).where(OutboxItem.status == OutboxStatus.dead))).one()
        hub.metrics.queue_depth.clear()
        for team_id, n in depth:
            hub.metrics.queue_depth.labels(str(team_id) if team_id is not None else "none").set(n)
        hub.metrics.outbox_backlog.set(backlog)
        hub.metrics.outbox_dead.set(dead)
        return Response(hub.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return router
