"""What the data directory's disk says: each database file's size, and the free space left.

Only file names are reported (``backend.db``), never a path, which could
hold a user's name.
"""

from __future__ import annotations

import shutil
from pathlib import Path

DATABASE_SUFFIX = ".db"
# SQLite in WAL mode keeps recent writes beside the file; they are part of its size.
COMPANIONS = ("-wal", "-shm")


def database_sizes(data_dir: Path) -> dict[str, int]:
    """Bytes of each SQLite database directly in the data directory, its WAL included."""
    sizes: dict[str, int] = {}
    try:
        files = sorted(data_dir.glob(f"*{DATABASE_SUFFIX}"))
    except OSError:
        return sizes
    for path in files:
        parts = [path, *(path.with_name(path.name + suffix) for suffix in COMPANIONS)]
        sizes[path.name] = sum(part.stat().st_size for part in parts if part.is_file())
    return sizes


def free_bytes(data_dir: Path) -> int | None:
    """Free space for the data directory (its nearest existing parent while it does not exist yet)."""
    path = data_dir
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None
