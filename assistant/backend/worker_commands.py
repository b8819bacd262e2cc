"""``assistant worker ...``: who may use the assistant, and their sign-in details for the chat channels.

``add``, ``list``, ``deactivate`` and ``activate`` manage the people; ``pin``
and ``phone`` their web-chat PIN and WhatsApp number. A deactivated worker is
refused on every channel within 30 seconds (the backend's token cache), and
their records stay.
"""

from __future__ import annotations

import argparse

from assistant.backend.commands import add_db_option, in_session
from assistant.core.commands import command_group
from assistant.core.config import Settings
from assistant.core.vocabulary import PEOPLE_ROLES


def register(subparsers: argparse._SubParsersAction) -> None:
    worker = command_group(subparsers, "worker", "the people who use the assistant, and their sign-in")
    add = worker.add_parser("add", help="register a worker (or a supervisor or admin)")
    add.add_argument("worker_id", help="e.g. W004: letters, digits, '-', '_'")
    add.add_argument("--name", required=True)
    add.add_argument("--facility", required=True, help="facility id, e.g. hwc-ajari")
    add.add_argument("--role", default="worker", choices=PEOPLE_ROLES)
    add.add_argument("--designation", help="ASHA, ANM, CHO, ...")
    add_db_option(add)
    add.set_defaults(handler=add_worker)

    listing = worker.add_parser("list", help="every worker, active or not")
    add_db_option(listing)
    listing.set_defaults(handler=list_workers)

    for verb, active in (("deactivate", False), ("activate", True)):
        change = worker.add_parser(verb, help=f"{verb} a worker (takes effect on every channel within 30 s)")
        change.add_argument("worker_id")
        add_db_option(change)
        change.set_defaults(handler=set_active, active=active)

    pin = worker.add_parser("pin", help="issue (or reset) a worker's web-chat PIN and print it once; clears a lockout")
    pin.add_argument("worker_id", help="e.g. W001")
    pin.add_argument("--pin", help="the PIN to set (6-8 digits); default: a random 6-digit PIN")
    add_db_option(pin)
    pin.set_defaults(handler=issue_pin)

    phone = worker.add_parser("phone", help="register the WhatsApp number a worker writes from")
    phone.add_argument("worker_id", help="e.g. W001")
    phone.add_argument("number", help="international form, e.g. +919812345678")
    add_db_option(phone)
    phone.set_defaults(handler=set_phone)


def add_worker(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.domain import people

    worker = in_session(
        args,
        settings,
        lambda session: people.add_worker(
            session, args.worker_id.upper(), args.name, args.facility, args.role, args.designation
        ),
    )
    print(f"added {worker['role']} {worker['id']} ({worker['name']}) at {worker['facility_id']}")
    return 0


def list_workers(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.domain import people

    for worker in in_session(args, settings, people.all_workers):
        state = "" if worker["active"] else "deactivated"
        print(f"{worker['id']:<10} {worker['role']:<11} {worker['facility_id']:<16} {worker['name']:<28} {state}")
    return 0


def set_active(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.domain import people

    worker_id = args.worker_id.upper()
    in_session(args, settings, lambda session: people.set_active(session, worker_id, args.active))
    print(f"{worker_id} {'activated' if args.active else 'deactivated: refused on every channel within 30 seconds'}")
    return 0


def issue_pin(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.backend import workers

    pin = in_session(args, settings, lambda session: workers.issue_pin(session, args.worker_id.upper(), args.pin))
    print(pin)
    return 0


def set_phone(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.backend import workers

    stored = in_session(args, settings, lambda session: workers.set_phone(session, args.worker_id.upper(), args.number))
    print(f"{args.worker_id.upper()} can now write from WhatsApp number ending {stored[-4:]}")
    return 0
