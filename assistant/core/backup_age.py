"""How old the newest backup is, for ``/metrics`` and ``assistant status``.

Backups are archives named ``assistant-backup-*`` in ``data_dir/backups``.
This reads the newest one's modification time. Once the backup feature
(``assistant.operations.backup.last_backup_age``) lands, this is the one
place to point at it.
"""

from __future__ import annotations

import time
from pathlib import Path

from assistant.core.config import Settings

ARCHIVE_PATTERN = "assistant-backup-*"


def backup_dir(settings: Settings) -> Path:
    return settings.data_dir / "backups"


def last_backup_age(settings: Settings, now: float | None = None) -> float | None:
    """Seconds since the newest archive was written; ``None`` when there is none."""
    directory = backup_dir(settings)
    try:
        times = [path.stat().st_mtime for path in directory.glob(ARCHIVE_PATTERN) if path.is_file()]
    except OSError:
        return None
    if not times:
        return None
    return max(0.0, (time.time() if now is None else now) - max(times))
