"""``assistant serve backend``, ``assistant seed`` and ``assistant token create``."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from assistant.core.commands import CommandError, command_group
from assistant.core.config import Settings

if TYPE_CHECKING:
    from assistant.core.db.engine import Database

log = logging.getLogger(__name__)
T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = command_group(subparsers, "serve", "run one service in the foreground")
    backend = serve.add_parser("backend", help="the scheduling backend (HTTP API)")
    add_db_option(backend)
    backend.add_argument("--host", help="listen address (env ASSISTANT_BACKEND_HOST, default 127.0.0.1)")
    backend.add_argument("--port", type=int, help="listen port (env ASSISTANT_BACKEND_PORT, default 8700)")
    backend.add_argument("--no-seed", action="store_true", help="do not load demo data into an empty database")
    backend.set_defaults(handler=serve_backend)

    seed = subparsers.add_parser("seed", help="load the demo data (idempotent)")
    add_db_option(seed)
    seed.set_defaults(handler=seed_demo)

    token = command_group(subparsers, "token", "manage backend API tokens")
    create = token.add_parser("create", help="create a bearer token and print it (shown once)")
    add_db_option(create)
    create.add_argument("--role", required=True, choices=["worker", "supervisor", "admin", "service"])
    create.add_argument("--worker", help="worker id the token belongs to (worker and supervisor roles)")
    create.add_argument("--label", help="a note on what the token is for")
    create.add_argument(
        "--days", type=int, help="days until it expires (default: worker 90, supervisor and admin 30; 0: never)"
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


def add_db_option(parser: argparse.ArgumentParser) -> None:
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
        args.host or settings.backend_host,
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
    from assistant.core import api_tokens as auth

    lifetime = auth.DEFAULT if args.days is None else (dt.timedelta(days=args.days) if args.days > 0 else None)
    worker = args.worker.upper() if args.worker else None
    token = in_session(
        args, settings, lambda session: auth.create_token(session, args.role, worker, args.label, lifetime)
    )
    print(token)
    return 0


def revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core import api_tokens as auth

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

    from assistant.core.db.models import ApiToken

    async def tokens(session: Any) -> list[Any]:
        return list((await session.execute(select(ApiToken).order_by(ApiToken.id))).scalars())

    for record in in_session(args, settings, tokens):
        state = "revoked" if record.revoked_at else f"expires {record.expires_at:%Y-%m-%d}" if record.expires_at else ""
        print(f"{record.id:>5}  {record.role:<10} {record.worker_id or '-':<10} {state:<18} {record.label or ''}")
    return 0


def in_session(args: argparse.Namespace, settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """``work(session)`` in one write transaction on the database the command names; a ValueError is the user's."""
    db = _database(args, settings)

    async def run() -> T:
        try:
            await db.create_schema()
            async with db.write() as session:
                return await work(session)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
