"""``assistant worker pin`` and ``assistant worker phone``: sign-in details for the chat channels."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from assistant.backend.commands import _add_db_option, _database
from assistant.core.commands import CommandError, command_group
from assistant.core.config import Settings

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction) -> None:
    worker = command_group(subparsers, "worker", "worker sign-in for the web chat and WhatsApp")
    pin = worker.add_parser("pin", help="issue (or reset) a worker's web-chat PIN and print it once; clears a lockout")
    pin.add_argument("worker_id", help="e.g. W001")
    pin.add_argument("--pin", help="the PIN to set (4-8 digits); default: a random 6-digit PIN")
    _add_db_option(pin)
    pin.set_defaults(handler=issue_pin)

    phone = worker.add_parser("phone", help="register the WhatsApp number a worker writes from")
    phone.add_argument("worker_id", help="e.g. W001")
    phone.add_argument("number", help="international form, e.g. +919812345678")
    _add_db_option(phone)
    phone.set_defaults(handler=set_phone)


def _in_session(args: argparse.Namespace, settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
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


def issue_pin(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.backend import workers

    pin = _in_session(args, settings, lambda session: workers.issue_pin(session, args.worker_id.upper(), args.pin))
    print(pin)
    return 0


def set_phone(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.backend import workers

    stored = _in_session(
        args, settings, lambda session: workers.set_phone(session, args.worker_id.upper(), args.number)
    )
    print(f"{args.worker_id.upper()} can now write from WhatsApp number ending {stored[-4:]}")
    return 0
