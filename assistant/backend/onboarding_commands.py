"""``assistant facilities import|list`` and ``assistant workers import``: a programme's own district, from CSV.

Each import is one transaction, all or nothing (``run_import``), its changes
audited under the operating-system user who ran it. ``workers import --pins
OUT`` issues each new worker a web-chat PIN and writes them to a printable
sheet (``pin_sheet``), never to the terminal or a log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
from pathlib import Path
from typing import Any

from assistant.backend.commands import add_db_option, in_session, run_import
from assistant.core.commands import CommandError, command_group, operating_system_user
from assistant.core.config import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    facilities = command_group(subparsers, "facilities", "the programme's facilities and hubs")
    load = facilities.add_parser("import", help="add or update facilities and hubs from a CSV file")
    load.add_argument("file", help="CSV: id,name,kind,parent_id,hub_id[,district] (docs/onboarding.md)")
    load.add_argument(
        "--dry-run", action="store_true", help="check the file and say what it would change; save nothing"
    )
    add_db_option(load)
    load.set_defaults(handler=import_facilities)

    listing = facilities.add_parser("list", help="every facility with its kind, district, parent and serving hub")
    add_db_option(listing)
    listing.set_defaults(handler=list_facilities)

    workers = command_group(subparsers, "workers", "the programme's people, many at once")
    people = workers.add_parser("import", help="add or update people from a CSV file (nobody deactivated unless asked)")
    people.add_argument("file", help="CSV: id,name,role,facility_id[,phone][,language] (docs/onboarding.md)")
    people.add_argument(
        "--dry-run", action="store_true", help="check the file and say what it would change; save nothing"
    )
    people.add_argument(
        "--pins",
        metavar="OUT",
        help="issue each new worker a web-chat PIN and write them to this new HTML file (0600) to print; "
        "the PINs are shown nowhere else",
    )
    people.add_argument(
        "--deactivate-missing",
        action="store_true",
        help="also deactivate the active people of the file's facilities who are not in it (listed; admins and "
        "specialists' logins are kept)",
    )
    add_db_option(people)
    people.set_defaults(handler=import_workers)


def _command_line(args: argparse.Namespace, verb: str) -> str:
    """How the audit log names the command (the file by its name, no directories)."""
    flags = [
        flag
        for flag, on in (
            ("--dry-run", args.dry_run),
            ("--deactivate-missing", getattr(args, "deactivate_missing", False)),
        )
        if on
    ]
    return " ".join(["assistant", verb, "import", shlex.quote(Path(args.file).name), *flags])


def import_facilities(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.domain.facility_import import import_facilities as apply

    actor, command = operating_system_user(), _command_line(args, "facilities")
    report = run_import(args, settings, lambda session, text: apply(session, text, actor, command))
    print("\n".join(report.lines()))
    return 0


def list_facilities(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.domain.facility_import import facility_table

    facilities = in_session(args, settings, facility_table)
    print(f"{'id':<20} {'kind':<18} {'served by':<20} {'parent':<20} {'district':<14} name")
    for facility in facilities:
        print(
            f"{facility.id:<20} {facility.kind:<18} {facility.served_by or '(no hub)':<20} "
            f"{facility.parent_id or '-':<20} {facility.district:<14} {facility.name}"
        )
    print(f"{len(facilities)} facilities")
    return 0


def import_workers(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from assistant.backend import pin_sheet, workers
    from assistant.db.models import Facility
    from assistant.domain.people_import import import_people

    actor, command = operating_system_user(), _command_line(args, "workers")
    sheet = Path(args.pins) if args.pins and not args.dry_run else None
    lines: list[pin_sheet.PinLine] = []

    async def apply(session: Any, text: str) -> Any:
        report = await import_people(session, text, actor, command, deactivate_missing=args.deactivate_missing)
        if sheet is not None and report.new:
            pins = await workers.issue_pins(session, [person.id for person in report.new])
            named = sorted({person.facility_id for person in report.new})
            names = dict(
                (await session.execute(select(Facility.id, Facility.name).where(Facility.id.in_(named)))).all()
            )
            lines.extend(
                pin_sheet.PinLine(
                    names[person.facility_id], person.facility_id, person.name, person.id, pins[person.id]
                )
                for person in report.new
            )
        return report

    if sheet is not None:
        try:
            pin_sheet.claim(sheet)  # before anything is issued: a PIN is never issued without its sheet
        except FileExistsError:
            raise CommandError(f"{sheet} exists already: choose a new file for the PIN sheet") from None
        except OSError as exc:
            raise CommandError(f"cannot create the PIN sheet {sheet}: {exc.strerror or exc}") from None
    try:
        report = run_import(args, settings, apply)
    except BaseException:
        if sheet is not None:
            sheet.unlink(missing_ok=True)
        raise
    print("\n".join(report.lines()))
    if sheet is not None and not lines:
        sheet.unlink(missing_ok=True)
        print("nobody new: no PINs issued, no sheet written")
    elif sheet is not None:
        pin_sheet.write(sheet, lines, dt.date.today())
        print(f"{len(lines)} web-chat PINs written to {sheet} (0600): print it, hand them out, then delete it")
    elif args.pins and report.new:
        print(f"dry run: {len(report.new)} web-chat PINs would be issued")
    return 0
