"""``assistant serve backend``, ``assistant seed``, ``assistant token ...`` and ``assistant roster import``."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from assistant.core.commands import CommandError, command_group
from assistant.core.config import Settings
from assistant.core.vocabulary import ROLES

if TYPE_CHECKING:
    from assistant.db.engine import Database

log = logging.getLogger(__name__)
T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = command_group(subparsers, "serve", "run one service in the foreground")
    backend = serve.add_parser("backend", help="the scheduling backend (HTTP API)")
    add_db_option(backend)
    backend.add_argument("--host", help="listen address (env ASSISTANT_BACKEND_HOST, default 127.0.0.1)")
    backend.add_argument("--port", type=int, help="listen port (env ASSISTANT_BACKEND_PORT, default 8700)")
    backend.add_argument("--no-seed", action="store_true", help="do not load demo data into an empty database")
    backend.add_argument(
        "--processes",
        type=int,
        help="processes serving requests (PostgreSQL only; default one per CPU core, up to 4; SQLite: always 1)",
    )
    backend.set_defaults(handler=serve_backend)

    seed = subparsers.add_parser("seed", help="load the demo data (idempotent)")
    add_db_option(seed)
    seed.set_defaults(handler=seed_demo)

    token = command_group(subparsers, "token", "manage backend API tokens")
    create = token.add_parser("create", help="create a bearer token and print it (shown once)")
    add_db_option(create)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--worker", help="the person the token is for (worker, supervisor, coordinator, specialist)")
    create.add_argument("--label", help="a note on what the token is for")
    create.add_argument(
        "--days", type=int, help="days until it expires (default: worker 90, the others 30, service never; 0: never)"
    )
    create.set_defaults(handler=create_token)

    revoke = token.add_parser("revoke", help="revoke a token at once (by its value, its id, or all of a worker's)")
    add_db_option(revoke)
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--token", help="the token itself")
    which.add_argument("--id", type=int, help="the token's id (see 'assistant token list')")
    which.add_argument("--worker", help="every token of this worker")
    revoke.set_defaults(handler=revoke_token)

    listing = token.add_parser("list", help="the tokens (never their values): id, role, worker, label, expiry")
    add_db_option(listing)
    listing.set_defaults(handler=list_tokens)

    roster = command_group(subparsers, "roster", "the hub's specialists and their hours")
    load = roster.add_parser("import", help="add or update specialists, their logins and hours from a CSV file")
    load.add_argument(
        "file", help="CSV: upn,name,specialty,facility,day (mon..sun or YYYY-MM-DD),start,end,slot_minutes,login"
    )
    load.add_argument("--dry-run", action="store_true", help="check the file and say what it would add; save nothing")
    add_db_option(load)
    load.set_defaults(handler=import_roster)


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="SQLAlchemy URL (env ASSISTANT_DB_URL; default SQLite under the data dir)")


def _database(args: argparse.Namespace, settings: Settings) -> Database:
    from assistant.db.engine import Database  # loaded by the commands that use it only

    try:
        return Database.connect(args.db or settings.database_url)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


def serve_backend(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.backend import processes, seed

    db = _database(args, settings)
    count = processes.default_processes(db.is_sqlite) if args.processes is None else args.processes
    if count < 1:
        raise CommandError("--processes must be at least 1")
    if db.is_sqlite and count > 1:
        raise CommandError("SQLite has one writer at a time: serve it from one process (leave out --processes)")

    async def prepare() -> None:
        # Runs in its own event loop; the server gets a fresh Database below.
        try:
            await seed.prepare_database(db, settings.timezone, demo=not args.no_seed)
        finally:
            await db.dispose()

    asyncio.run(prepare())
    # The servers open the database anew, each in its own process and event loop.
    return processes.serve(
        args.db or settings.database_url,
        args.host or settings.backend_host,
        args.port or settings.backend_port,
        count,
        max_body_bytes=settings.max_body_bytes,
        timezone=settings.timezone,
        settings=settings,
    )


def seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.backend import seed

    db = _database(args, settings)

    async def run() -> None:
        try:
            print(await seed.seed(db, settings.timezone))
        finally:
            await db.dispose()

    from assistant.domain.programme import RealProgramme

    try:
        asyncio.run(run())
    except RealProgramme as exc:
        raise CommandError(str(exc)) from None
    return 0


def create_token(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.domain import api_tokens as auth

    lifetime = auth.DEFAULT if args.days is None else (dt.timedelta(days=args.days) if args.days > 0 else None)
    worker = args.worker.upper() if args.worker else None
    token = in_session(
        args, settings, lambda session: auth.create_token(session, args.role, worker, args.label, lifetime)
    )
    print(token)
    return 0


def revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.domain import api_tokens as auth

    worker = args.worker.upper() if args.worker else None
    count = in_session(
        args,
        settings,
        lambda session: auth.revoke_tokens(session, token=args.token, token_id=args.id, worker_id=worker),
    )
    print(f"revoked {count} token{'s' if count != 1 else ''}")
    return 0 if count else 1


def list_tokens(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from assistant.db.models import ApiToken

    async def tokens(session: Any) -> list[Any]:
        return list((await session.execute(select(ApiToken).order_by(ApiToken.id))).scalars())

    for record in in_session(args, settings, tokens):
        state = "revoked" if record.revoked_at else f"expires {record.expires_at:%Y-%m-%d}" if record.expires_at else ""
        print(f"{record.id:>5}  {record.role:<10} {record.worker_id or '-':<10} {state:<18} {record.label or ''}")
    return 0


def in_session(args: argparse.Namespace, settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """``work(session)`` in one write transaction on the database the command names; a ValueError is the user's.

    The database is migrated first (``assistant.db.migrations``), a database newer than this release refused.
    """
    db = _database(args, settings)

    async def run() -> T:
        try:
            await db.migrate()  # the console's tables too: an import audits before the console ever ran
            async with db.write() as session:
                return await work(session)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


class _DryRun(Exception):
    """Raised out of a dry run's transaction so that it rolls back, carrying what the import would have done."""

    def __init__(self, report: Any) -> None:
        super().__init__("dry run")
        self.report = report


def import_roster(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.db.models import utcnow
    from assistant.domain import roster

    report = run_import(
        args, settings, lambda session, text: roster.import_roster(session, text, settings.timezone, utcnow())
    )
    print("\n".join(report.lines()))
    return 0


def run_import(args: argparse.Namespace, settings: Settings, work: Callable[[Any, str], Awaitable[T]]) -> T:
    """An import of the file ``args.file``: ``work(session, text)`` in one transaction, all or nothing.

    ``--dry-run`` rolls the transaction back and says so; a file with any problem
    is refused, each problem named by its line and column.
    """
    from assistant.domain.csv_import import ImportProblems, read_file

    async def apply(session: Any) -> T:
        report = await work(session, read_file(args.file))
        if args.dry_run:
            raise _DryRun(report)
        return report

    try:
        return in_session(args, settings, apply)
    except _DryRun as dry:
        print("dry run: nothing was saved; the import would make these changes")
        return dry.report
    except ImportProblems as exc:
        raise CommandError(f"{args.file}: nothing was imported:\n{exc}") from None
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror or exc}") from None
