"""``assistant serve backend``, ``assistant seed`` and ``assistant token create``."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import TYPE_CHECKING

from assistant.core.commands import CommandError, command_group
from assistant.core.config import Settings

if TYPE_CHECKING:
    from assistant.core.db.engine import Database

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = command_group(subparsers, "serve", "run one service in the foreground")
    backend = serve.add_parser("backend", help="the scheduling backend (HTTP API)")
    _add_db_option(backend)
    backend.add_argument("--host", help="listen address (env ASSISTANT_HOST)")
    backend.add_argument("--port", type=int, help="listen port (env ASSISTANT_BACKEND_PORT, default 8700)")
    backend.add_argument("--no-seed", action="store_true", help="do not load demo data into an empty database")
    backend.set_defaults(handler=serve_backend)

    seed = subparsers.add_parser("seed", help="load the demo data (idempotent)")
    _add_db_option(seed)
    seed.set_defaults(handler=seed_demo)

    token = command_group(subparsers, "token", "manage backend API tokens")
    create = token.add_parser("create", help="create a bearer token and print it (shown once)")
    _add_db_option(create)
    create.add_argument("--role", required=True, choices=["worker", "supervisor", "admin", "service"])
    create.add_argument("--worker", help="worker id the token belongs to (worker and supervisor roles)")
    create.add_argument("--label", help="a note on what the token is for")
    create.set_defaults(handler=create_token)


def _add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="SQLAlchemy URL (env ASSISTANT_DB_URL; default SQLite under the data dir)")


def _database(args: argparse.Namespace, settings: Settings) -> Database:
    from assistant.core.db.engine import Database  # loaded by the commands that use it only

    try:
        return Database.connect(args.db or settings.database_url)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


def serve_backend(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.backend import app, seed

    db = _database(args, settings)

    async def prepare() -> None:
        # Runs in its own event loop; the server gets a fresh Database below.
        if not args.no_seed and not await seed.is_seeded(db):
            log.info("empty database: loading demo data (%s)", await seed.seed(db, settings.timezone))
        elif not args.no_seed:
            log.info("slots topped up: %d added", await seed.top_up_slots(db, settings.timezone))
        else:
            await db.create_schema()
        await db.dispose()

    asyncio.run(prepare())
    app.run(
        _database(args, settings),
        args.host or settings.host,
        args.port or settings.backend_port,
        max_body_bytes=settings.max_body_bytes,
    )
    return 0


def seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.backend import seed

    db = _database(args, settings)

    async def run() -> None:
        try:
            print(await seed.seed(db, settings.timezone))
        finally:
            await db.dispose()

    asyncio.run(run())
    return 0


def create_token(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.backend import auth

    db = _database(args, settings)

    async def run() -> str:
        try:
            await db.create_schema()
            async with db.write() as session:
                return await auth.create_token(session, args.role, args.worker, args.label)
        finally:
            await db.dispose()

    try:
        print(asyncio.run(run()))
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    return 0
