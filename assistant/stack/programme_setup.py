"""``assistant init``: a real programme's data dir, empty of the demo; and whether ``assistant up`` may show the demo.

``init`` makes the data dir (private, like every data dir), the tables and
the checklists, the state's first hub and its first admin, marks the
database a real programme's (``assistant.domain.programme``), and prints the
admin's console password once. From then on ``assistant up`` loads no demo
and prints no demo logins, and ``assistant up --demo`` is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets

from assistant.core.commands import CommandError, operating_system_user
from assistant.core.config import Settings

INITIAL_PASSWORD_BYTES = 12  # 16 characters: readable off a terminal, long enough to resist guessing


def register(subparsers: argparse._SubParsersAction) -> None:
    init = subparsers.add_parser(
        "init", help="start a real programme in an empty data dir: no demo, the first hub and its first admin"
    )
    init.add_argument("--admin-id", required=True, help="the first admin's id, e.g. A001")
    init.add_argument("--admin-name", required=True, help="the first admin's name")
    init.add_argument("--hub-id", required=True, help="the first hub's facility id, e.g. aiims-jodhpur")
    init.add_argument("--hub-name", required=True, help='the first hub\'s name, e.g. "AIIMS Jodhpur"')
    init.add_argument("--hub-district", required=True, help="the district the hub is in, e.g. Jodhpur")
    init.set_defaults(handler=init_programme)


async def _init(settings: Settings, args: argparse.Namespace, password: str) -> None:
    from assistant.backend.seed import load_checklists
    from assistant.console.login import set_password
    from assistant.db.engine import Database
    from assistant.domain.programme import FirstHub, start_programme

    db = Database.connect(settings.database_url)
    try:
        await db.migrate()
        hub = FirstHub(args.hub_id, args.hub_name, args.hub_district)
        async with db.write() as session:
            await start_programme(session, hub, args.admin_id.upper(), args.admin_name, operating_system_user())
            await load_checklists(session)
        await set_password(db, args.admin_id.upper(), password)
    finally:
        await db.dispose()


def init_programme(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.private_files import lock_down

    lock_down(settings.data_dir)
    password = secrets.token_urlsafe(INITIAL_PASSWORD_BYTES)
    try:
        asyncio.run(_init(settings, args, password))
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    admin = args.admin_id.upper()
    print(
        "\n".join(
            [
                f"A new programme in {settings.data_dir}: hub {args.hub_id}, admin {admin}. No demo data.",
                f"Console password for {admin} (shown this once; the console cannot make you change it, so change it",
                f"yourself after signing in: assistant console password --worker {admin}):",
                f"  {password}",
                "Next: assistant facilities import, assistant workers import --pins, assistant roster import,",
                "then assistant up (docs/onboarding.md).",
            ]
        )
    )
    return 0


async def _is_real(settings: Settings) -> bool:
    from assistant.db.engine import Database
    from assistant.domain.programme import programme

    db = Database.connect(settings.database_url)
    try:
        await db.migrate()
        async with db.read() as session:
            return await programme(session) is not None
    finally:
        await db.dispose()


def shows_demo(settings: Settings, demo_asked: bool) -> bool:
    """Whether ``assistant up`` shows the demo: only where no ``assistant init`` made the programme real.

    ``--demo`` on a real programme's data dir is refused: fictional specialists
    must never be mixed into a real district.
    """
    from sqlalchemy.exc import SQLAlchemyError

    try:
        real = asyncio.run(_is_real(settings))
    except (SQLAlchemyError, OSError, ValueError) as exc:
        # Not the error's text: a database URL in it may carry a password.
        raise CommandError(
            f"cannot read the backend database ({exc.__class__.__name__}); check ASSISTANT_DB_URL"
        ) from None
    if real and demo_asked:
        raise CommandError(
            f"{settings.data_dir} holds a real programme (assistant init): the demo is never loaded into it. "
            "For the demo, use another data dir: assistant --data-dir DIR up --demo"
        )
    return not real
