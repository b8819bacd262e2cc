"""``assistant backup`` and ``assistant restore`` (README "Backups", docs/operations.md)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.core.commands import CommandError
from assistant.core.config import Settings, config_path

if TYPE_CHECKING:  # the real imports wait for the command: keeps `assistant --help` quick
    from assistant.operations.manifest import Manifest


def register(subparsers: argparse._SubParsersAction) -> None:
    backup = subparsers.add_parser(
        "backup", help="write one encrypted backup of the databases, secrets and settings (while the stack runs)"
    )
    backup.add_argument("--to", metavar="DIR", help="where to write it (env ASSISTANT_BACKUP_DIR, data/backups)")
    backup.add_argument(
        "--keep", type=int, metavar="N", help="keep the newest N archives there (env ASSISTANT_BACKUP_KEEP, 7; 0 all)"
    )
    backup.add_argument(
        "--daily", action="store_true", help="keep running, taking a backup each day (what `assistant up` runs)"
    )
    backup.set_defaults(handler=backup_command)

    restore = subparsers.add_parser(
        "restore", help="rebuild the data dir (--data-dir / ASSISTANT_DATA_DIR) from a backup archive"
    )
    restore.add_argument("archive", metavar="ARCHIVE", help="an assistant-backup-*.tar.enc file")
    restore.add_argument("--key-file", required=True, help="the backup key it was made with")
    restore.add_argument(
        "--force", action="store_true", help="restore over existing data, moving it aside first (nothing is deleted)"
    )
    restore.add_argument("--check", action="store_true", help="only check the archive and the key; write nothing")
    restore.set_defaults(handler=restore_command)


def backup_command(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.operations.errors import BackupError

    try:
        if args.daily:
            import asyncio

            from assistant.operations.daily import run_daily_backups

            asyncio.run(run_daily_backups(settings))
            return 0
        from assistant.operations.backup import take_backup

        path = take_backup(settings, to=Path(args.to) if args.to else None, keep=args.keep, announce=print)
    except BackupError as exc:
        raise CommandError(str(exc)) from exc
    print(f"Backup written: {path}")
    return 0


def _describe(manifest: Manifest) -> list[str]:
    made = f"made {manifest.created_at} by release {manifest.app_version or 'unknown'}"
    if manifest.git_revision:
        made += f" ({manifest.git_revision[:12]})"
    lines = [f"The archive was {made}, with the key of fingerprint {manifest.key_fingerprint}. It holds:"]
    lines += [f"  {member.name}  ({member.size} bytes, {member.kind})" for member in manifest.members]
    lines += [f"  not included: {skipped.what} ({skipped.reason})" for skipped in manifest.skipped]
    return lines


def restore_command(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.operations.backup_key import read_key
    from assistant.operations.errors import BackupError, DamagedArchive, RestoreRefused, WrongKey
    from assistant.operations.restore import restore, verify

    archive, key_file = Path(args.archive), Path(args.key_file)
    try:
        key = read_key(key_file)
        if args.check:
            print("\n".join([*_describe(verify(archive, key)), "Every member matches its checksum."]))
            return 0
        result = restore(
            archive, key, settings, settings_target=config_path(os.environ), key_file=key_file, force=args.force
        )
    except BackupError as exc:
        refused = isinstance(exc, (DamagedArchive, RestoreRefused, WrongKey)) and not args.check
        raise CommandError(f"{exc}. Nothing was written." if refused else str(exc)) from exc
    lines = _describe(result.manifest)
    lines += ["Restored:", *(f"  {line}" for line in result.restored)]
    lines += [f"Set aside: {line}" for line in result.set_aside]
    lines += [f"Note: {line}" for line in result.notes]
    lines.append(f"The data directory {settings.data_dir} is ready: start the assistant with `assistant up`.")
    print("\n".join(lines))
    return 0
