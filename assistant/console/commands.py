"""``assistant serve console``, ``assistant console password`` and ``assistant console purge``."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import logging
import sys
from typing import TYPE_CHECKING

from assistant.core.commands import CommandError, command_group
from assistant.core.config import Settings

if TYPE_CHECKING:  # the real import waits for the command: keeps `assistant --help` quick
    from assistant.db.engine import Database

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = command_group(subparsers, "serve", "run one service in the foreground")
    console = serve.add_parser("console", help="the console (web): supervisors' review pages and the Hub desk")
    _add_db_options(console)
    console.add_argument("--host", help="listen address (env ASSISTANT_CONSOLE_HOST, default 127.0.0.1)")
    console.add_argument("--port", type=int, help="listen port (env ASSISTANT_CONSOLE_PORT, default 8710)")
    console.add_argument(
        "--demo-login",
        metavar="WORKER",
        help=(
            "give this supervisor, and the demo hub coordinator H001, their demo passwords from the data dir's "
            "secrets, each if they have no password yet"
        ),
    )
    console.set_defaults(handler=serve_console)

    group = command_group(subparsers, "console", "manage the console")
    password = group.add_parser(
        "password", help="set the console password of a supervisor, admin, hub coordinator or specialist"
    )
    _add_db_options(password, tracker=False)
    password.add_argument("--worker", required=True, help="their id, e.g. S001 or H001")
    password.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    password.set_defaults(handler=set_password)

    purge = group.add_parser("purge", help="delete transcripts older than the retention period (audit log kept)")
    _add_db_options(purge)
    purge.add_argument("--days", type=int, help="retention in days (env ASSISTANT_CONSOLE_RETENTION_DAYS)")
    purge.set_defaults(handler=purge_transcripts)


def _add_db_options(parser: argparse.ArgumentParser, tracker: bool = True) -> None:
    parser.add_argument("--db", help="backend database URL (env ASSISTANT_DB_URL; default SQLite under the data dir)")
    if tracker:
        parser.add_argument("--tracker-db", help="Rasa tracker store URL (env ASSISTANT_TRACKER_DB_URL)")


def _settings(args: argparse.Namespace, settings: Settings) -> Settings:
    overrides = {"db_url": args.db, "tracker_db_url": getattr(args, "tracker_db", None)}
    return dataclasses.replace(settings, **{name: value for name, value in overrides.items() if value})


def _connect(url: str) -> Database:
    from assistant.db.engine import Database

    try:
        return Database.connect(url)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


async def _ensure_demo_logins(settings: Settings, named: str) -> None:
    from sqlalchemy import func, inspect, select
    from sqlalchemy.exc import SQLAlchemyError

    from assistant.console import login
    from assistant.console.demo import demo_logins, demo_password
    from assistant.db.models import Programme

    db = _connect(settings.database_url)
    try:
        await db.migrate()
        async with db.writer_engine.begin() as connection:
            # A real programme's ids may be the demo's (S001): never give them the demo's passwords.
            if await connection.run_sync(lambda sync: inspect(sync).has_table(Programme.__tablename__)):
                if (await connection.execute(select(func.count()).select_from(Programme))).scalar_one():
                    log.warning("a real programme's database (assistant init): no demo console logins")
                    return
        for worker_id in demo_logins(named):
            # One account missing (a seed without the hub desk, say) leaves the others' logins in place.
            try:
                if not await login.has_password(db, worker_id):
                    await login.set_password(db, worker_id, demo_password(settings, worker_id))
                    log.info("demo console login set for %s", worker_id)
            except (ValueError, SQLAlchemyError) as exc:
                log.warning("no demo console login for %s: %s", worker_id, exc)
    except SQLAlchemyError as exc:
        log.warning("no demo console login: %s", exc)
    finally:
        await db.dispose()


def serve_console(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.console import app

    settings = _settings(args, settings)
    if args.demo_login:
        asyncio.run(_ensure_demo_logins(settings, args.demo_login))
    app.run(
        settings,
        _connect(settings.database_url),
        _connect(settings.tracker_database_url),
        args.host or settings.console_host,
        args.port or settings.console_port,
    )
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("New console password: ")
    if first != getpass.getpass("Repeat it: "):
        raise CommandError("the two passwords differ; nothing was changed")
    return first


def set_password(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.console import login

    settings = _settings(args, settings)
    password = _read_password(args.password_stdin)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CommandError(f"use at least {MIN_PASSWORD_LENGTH} characters")
    db = _connect(settings.database_url)

    async def run() -> None:
        try:
            await db.migrate()
            await login.set_password(db, args.worker, password)
        finally:
            await db.dispose()

    from sqlalchemy.exc import SQLAlchemyError

    try:
        asyncio.run(run())
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise CommandError(
            f"cannot read the backend database ({exc.__class__.__name__}); run `assistant seed` first?"
        ) from exc
    print(f"console password set for {args.worker}")
    return 0


def purge_transcripts(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.console import retention

    settings = _settings(args, settings)
    days = args.days if args.days is not None else settings.console_retention_days
    if days < 1:
        raise CommandError("no retention period: pass --days N or set ASSISTANT_CONSOLE_RETENTION_DAYS")
    db, tracker_db = _connect(settings.database_url), _connect(settings.tracker_database_url)

    async def run() -> retention.PurgeResult:
        try:
            await db.migrate()
            return await retention.purge(tracker_db, db, days)
        finally:
            await db.dispose()
            await tracker_db.dispose()

    print(asyncio.run(run()))
    return 0
