"""The daily backup ``assistant up`` takes: its ``backups`` service runs ``assistant backup --daily``.

A service of its own, beside the others the supervisor watches: a backup
that fails, or a process that dies, never touches the services that answer
the workers. Every hour it looks whether the newest archive is a day old;
a backup that failed is tried again at the next look, and the failure is
logged in words (its reason, never a record's content).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from assistant.core.config import Settings
from assistant.core.periodic import HOUR, every
from assistant.operations.backup import daily_backup_due, take_backup
from assistant.operations.errors import BackupError

log = logging.getLogger(__name__)

CHECK_SECONDS = HOUR


def backup_if_due(settings: Settings) -> Path | None:
    """Take the daily backup if it is due; its archive, or None (not due, or failed and logged)."""
    if not daily_backup_due(settings):
        return None
    try:
        return take_backup(settings)
    except BackupError as exc:
        log.error("the daily backup failed: %s. It is tried again in %.0f minutes.", exc, CHECK_SECONDS / 60)
        return None


async def run_daily_backups(settings: Settings, check_seconds: float = CHECK_SECONDS) -> None:
    """Until cancelled: the daily backup, looked for now and then every ``check_seconds``."""
    log.info("daily backups into %s, keeping the newest %d", settings.backup_path, settings.backup_keep)
    # Off the loop's thread: a backup of a large database takes minutes.
    await every(check_seconds, lambda: asyncio.to_thread(backup_if_due, settings), "the daily backup")
