"""Backup archives by name, and how old the newest is: for backups, ``/metrics`` and ``assistant status``.

An archive is ``assistant-backup-YYYYmmddTHHMMSSZ.tar.enc`` (the UTC time the
backup began) in ``Settings.backup_path``. The time is read from the name, not
the file's modification time, so a copy (to a USB disk and back) keeps its age.
Kept in the kernel so that the backend's metrics and the status command read
the same rule as ``assistant.operations.backup``, which writes the archives.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from assistant.core.config import Settings

ARCHIVE_PREFIX, ARCHIVE_SUFFIX = "assistant-backup-", ".tar.enc"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
ARCHIVE_NAME = re.compile(r"assistant-backup-(\d{8}T\d{6}Z)\.tar\.enc")


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def archive_name(moment: datetime) -> str:
    return f"{ARCHIVE_PREFIX}{moment.astimezone(timezone.utc).strftime(STAMP_FORMAT)}{ARCHIVE_SUFFIX}"


def archives(folder: Path) -> list[tuple[datetime, Path]]:
    """The archives in ``folder``, oldest first, by the time in their names (a copy keeps its name)."""
    found = []
    try:
        paths = list(folder.iterdir()) if folder.is_dir() else []
    except OSError:
        paths = []
    for path in paths:
        match = ARCHIVE_NAME.fullmatch(path.name)
        if match and path.is_file():
            moment = datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=timezone.utc)
            found.append((moment, path))
    return sorted(found)


def backup_dir(settings: Settings) -> Path:
    return settings.backup_path


def last_backup_age(settings: Settings, now: datetime | None = None) -> float | None:
    """Seconds since the newest archive in the backup folder began, or None when there is none."""
    found = archives(settings.backup_path)
    if not found:
        return None
    return max(0.0, ((now or now_utc()) - found[-1][0]).total_seconds())
