"""``assistant service install`` and ``assistant status``: running the assistant unattended."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
from pathlib import Path

from assistant.core.commands import CommandError
from assistant.core.config import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    service = subparsers.add_parser("service", help="run the assistant as a system service (systemd)")
    actions = service.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    install = actions.add_parser("install", help="write the systemd unit for a user and a data dir")
    install.add_argument("--user", help="the account the assistant runs as (default: who runs this, or SUDO_USER)")
    install.add_argument(
        "--data-dir", dest="unit_data_dir", help="its data dir (default: ASSISTANT_DATA_DIR / --data-dir)"
    )
    install.add_argument("--to", default="/etc/systemd/system", help="where to write the unit (default %(default)s)")
    install.set_defaults(handler=install_service)

    status = subparsers.add_parser(
        "status",
        help="each service's health, the queues, the last backup and the free disk; exit 1 if a person is needed",
    )
    status.set_defaults(handler=status_command)


def _default_user() -> str:
    return os.environ.get("SUDO_USER") or getpass.getuser()


def install_service(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.stack.service_units import SYSTEM_UNITS, install_units

    if args.unit_data_dir:
        settings = dataclasses.replace(settings, data_dir=Path(args.unit_data_dir))
    if any(Path(tmp) in settings.data_dir.resolve().parents for tmp in ("/tmp", "/var/tmp")):
        # PrivateTmp= gives the service a /tmp of its own: it would never see this one.
        raise CommandError(f"{settings.data_dir} is under a temporary directory; give the service a lasting data dir")
    user = args.user or _default_user()
    target = Path(args.to)
    for path in install_units(settings, user, target):
        print(f"wrote {path}")
    data_dir = settings.data_dir.resolve()
    print("\nThen, as root:")
    if target.resolve() != SYSTEM_UNITS:
        print(f"  cp {target / 'assistant.service'} {SYSTEM_UNITS}/")
    print(f"  install -d -m 0700 -o {user} {data_dir}   # the data dir, owned by {user}")
    print("  systemctl daemon-reload && systemctl enable --now assistant")
    print("  journalctl -u assistant -f    # its own log; each service's is in the data dir's logs/")
    return 0


def status_command(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.stack.status import status

    text, code = status(settings)
    print(text)
    return code
