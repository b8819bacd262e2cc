"""The data directory holds patient records, transcripts and secrets: only its owner may read it.

Every ``assistant`` command runs with umask 077, so what it and its services
create is 0600 (directories 0700). ``lock_down`` also tightens what an
earlier version, or another tool, left readable.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077


def private_umask() -> None:
    os.umask(PRIVATE_UMASK)


def lock_down(data_dir: Path) -> None:
    """``data_dir`` and the directories under it 0700, its files 0600 (symbolic links are left alone)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    for root, directories, files in os.walk(data_dir):
        for name in directories:
            _set(Path(root) / name, 0o700)
        for name in files:
            _set(Path(root) / name, 0o600)


def _set(path: Path, mode: int) -> None:
    try:
        info = path.lstat()
        if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) != mode:
            os.chmod(path, mode)
    except FileNotFoundError:  # a service removed it meanwhile (a SQLite journal)
        pass
