"""The ``switchboard`` command (also ``python -m hub``)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Sequence

from hub import __version__
from hub.config import ConfigError, Settings, load_settings

log = logging.getLogger("switchboard")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    return load_settings(args.config, **overrides)


async def _with_hub(settings: Settings, fn):  # type: ignore[no-untyped-def]
    from channels.registry import ChannelRegistry
    from hub.bus import InProcessEventBus
    from hub.context import Hub
    from hub.db import Database
    from hub.metrics import Metrics

    db = Database(settings.async_database_url)
    hub = Hub(
        settings=settings, db=db, bus=InProcessEventBus(), channels=ChannelRegistry(), metrics=Metrics()
    )
    try:
        return await fn(hub)
    finally:
        await db.dispose()


async def bootstrap_admin(settings: Settings) -> tuple[str, str] | None:
    """On first start (no users at all) create an admin with a random password."""
    from sqlmodel import func, select

    from hub.models import Role, User
    from hub.services import SYSTEM
    from hub.services.users import create_user

    async def run(hub):  # type: ignore[no-untyped-def]
        async with hub.db.session() as s:
            if (await s.exec(select(func.count()).select_from(User))).one() > 0:
                return None
        email = settings.auth.bootstrap_admin_email
        _user, password = await create_user(hub, SYSTEM, email=email, name="Administrator", role=Role.admin)
        return email, password

    result: tuple[str, str] | None = await _with_hub(settings, run)
    return result


def cmd_migrate(args: argparse.Namespace) -> int:
    from hub.db import current_revision, migrate

    settings = _settings(args)
    migrate(settings.sync_database_url, args.revision)
    print(f"database at revision {current_revision(settings.sync_database_url)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from channels.registry import build_registry
    from hub.app import create_app
    from hub.db import migrate
    from hub.logs import configure

    settings = _settings(args)
    if args.demo and "loopback" not in settings.channels:
        settings.channels["loopback"] = {}
    # Every setting, each channel's table included, is checked before the database is
    # touched: a config error must not scroll the one-time admin password away.
    try:
        registry = build_registry(settings.channels)
    except ValueError as exc:  # channel config errors carry their own one-line message
        raise ConfigError(str(exc)) from None
    configure(settings.log_format, settings.log_level)
    migrate(settings.sync_database_url)
    created = asyncio.run(bootstrap_admin(settings))
    if created:
        email, password = created
        banner = (
            "\n" + "=" * 72 + "\n"
            f"  First start: created the admin account.\n"
            f"    Sign in at {settings.base_url}/login\n"
            f"    email:    {email}\n"
            f"    password: {password}\n"
            "  This password is shown once. Change it after signing in:\n"
            f"    {settings.base_url}/password\n" + "=" * 72 + "\n"
        )
        print(banner, flush=True)
    if args.demo:
        from hub.demo import seed

        accounts = asyncio.run(_with_hub(settings, seed))
        print(accounts.banner(settings.base_url), flush=True)
    app = create_app(settings, demo=args.demo, channels=registry)
    from hub.gc_tuning import tune_for_serving
    from hub.http_protocol import HubHttpProtocol

    tune_for_serving()  # the built application is frozen out of every collection
    # proxy_headers off: the hub itself decides whom to believe about client addresses
    # (forwarded_allow_ips), uvicorn would trust X-Forwarded-For from 127.0.0.1.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        http=HubHttpProtocol,  # a response's head and body in one send
        ws="websockets-sansio",
        proxy_headers=False,
    )
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from hub.db import migrate
    from hub.models import Role
    from hub.services import SYSTEM, ServiceError
    from hub.services.users import create_user

    settings = _settings(args)
    migrate(settings.sync_database_url)
    password = args.password
    if args.prompt_password:
        password = getpass.getpass("Password (10+ characters): ")

    async def run(hub):  # type: ignore[no-untyped-def]
        return await create_user(
            hub,
            SYSTEM,
            email=args.email,
            name=args.name or args.email,
            role=Role(args.role),
            password=password,
            language=args.language,
        )

    try:
        user, generated = asyncio.run(_with_hub(settings, run))
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(f"created {user.role} {user.email} (id {user.id})")
    if generated:
        print(f"password: {generated}  (shown once)")
    return 0


def cmd_projections(args: argparse.Namespace) -> int:
    """Status of the projections, or recompute one from the rows (safe while the hub
    runs: the checkpoint row serialises the work; see docs/crm.md)."""
    from hub.app import build_projections
    from hub.db import migrate

    settings = _settings(args)
    migrate(settings.sync_database_url)

    async def run(hub):  # type: ignore[no-untyped-def]
        runner = build_projections(hub)
        if args.action == "rebuild":
            names = [args.name] if args.name else list(runner.projections)
            unknown = [n for n in names if n not in runner.projections]
            if unknown:
                print(
                    f"error: no projection {unknown[0]!r}; one of {', '.join(runner.projections)}",
                    file=sys.stderr,
                )
                return 1
            for name in names:
                await runner.rebuild(name)
                print(f"rebuilt {name}")
        for row in await runner.status():
            state = "rebuilding" if row["rebuilding"] else "live"
            print(
                f"{row['name']:<20} position {row['position']:>10}  behind {row['behind']:>8}  gaps {row['gaps']:>4}  {state}"
            )
        return 0

    result: int = asyncio.run(_with_hub(settings, run))
    return result


def cmd_simulate(args: argparse.Namespace) -> int:
    import json

    from routing import simulator

    if args.forecast:  # replay a forecast day (hub/reports/replay.py, docs/workforce.md)
        from hub.reports.replay import ReplayError, run_forecast_day

        try:
            result = asyncio.run(_with_hub(_settings(args), lambda hub: run_forecast_day(hub, args)))
        except ReplayError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    else:
        result = simulator.run_from_args(args)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True, default=str))
    else:
        print(simulator.format_table(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard", description="Switchboard omnichannel contact-center hub."
    )
    parser.add_argument("--version", action="version", version=f"switchboard {__version__}")
    parser.add_argument(
        "--config", "-c", help="TOML config file (default: $SWITCHBOARD_CONFIG, else built-in defaults)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("serve", help="run the hub (migrates the database first)")
    p.add_argument("--host", help="bind address (overrides config)")
    p.add_argument("--port", type=int, help="port (overrides config)")
    p.add_argument(
        "--demo",
        action="store_true",
        help="seed demo teams, agents and canned responses and feed a stream of customer messages",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.add_argument("--revision", default="head", help="target revision (default: head)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("create-user", help="create an agent, supervisor or admin")
    p.add_argument("--email", required=True)
    p.add_argument("--name", default="")
    p.add_argument("--role", choices=["agent", "supervisor", "admin"], default="agent")
    p.add_argument("--language", choices=["en", "ar"], default="en")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--password", help="set this password (default: generate one and print it)")
    g.add_argument("--prompt-password", action="store_true", help="read the password from the terminal")
    p.set_defaults(func=cmd_create_user)

    p = sub.add_parser(
        "projections",
        help="show the projections (contact figures, search, organisations, reports) or rebuild them from rows",
    )
    p.add_argument("action", choices=["status", "rebuild"])
    p.add_argument("name", nargs="?", help="one projection (default: all)")
    p.set_defaults(func=cmd_projections)

    p = sub.add_parser("reports", help="rebuild the report rollups from the event log (docs/reports.md)")
    p.add_argument("action", choices=["rebuild"])
    p.set_defaults(func=cmd_projections, name="reports")

    from routing import simulator

    p = sub.add_parser(
        "simulate",
        help="run the routing engine against synthetic traffic and print service figures",
        description="Discrete-event simulation of the routing core; compare with Erlang C.",
    )
    simulator.build_parser(p)
    p.add_argument("--forecast", metavar="TEAM", help="replay a forecast day of this team (id or name)")
    p.add_argument("--day", help="with --forecast: YYYY-MM-DD in the team's time zone (default today)")
    p.add_argument("--channel", help="with --forecast: the channel (default: the team's busiest)")
    p.add_argument("--model", choices=["erlang_c", "erlang_a"], help="with --forecast: staffing model")
    p.set_defaults(func=cmd_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
