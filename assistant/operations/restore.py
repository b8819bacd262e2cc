"""An archive back into a data directory (and PostgreSQL), on this machine or a fresh one.

Nothing is written until the key and every member's checksum have passed:
the archive is read once only to check it. Then, unless ``force``, a target
that holds anything (a file in the data directory, an existing database file
elsewhere, a PostgreSQL database with tables, a different settings file) is a
refusal. With ``force`` nothing is deleted: the data directory's contents move
into ``before-restore-<time>/`` inside it, other files get a
``.before-restore-<time>`` suffix, and a PostgreSQL database's tables move to
the schema ``before_restore_<time>``. The members are unpacked into a private
folder beside their targets (checked again on the way), and each file then
replaces its target in one rename. The backup folder and the trained models
(which no archive holds: they are made again) stay where they are, and do
not count as something in the way.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from assistant.core.backup_age import STAMP_FORMAT
from assistant.core.config import Settings
from assistant.core.private_files import lock_down
from assistant.db.engine import is_sqlite
from assistant.operations import postgres_tools
from assistant.operations.backup import LOCK_NAME
from assistant.operations.backup_key import write_key
from assistant.operations.errors import BackupError, RestoreRefused
from assistant.operations.manifest import Manifest, Member, file_digest
from assistant.operations.reading import Keep, open_header, read_archive
from assistant.operations.sources import POSTGRESQL, ROLES_BY_NAME, SECRET, SETTINGS, SQLITE, sqlite_path

ASIDE_PREFIX = "before-restore-"
STAGING_PREFIX = ".restore-staging-"
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Placement:
    """Where one member goes: files (SQLite, a secret, the settings file) or PostgreSQL databases."""

    member: Member
    files: tuple[Path, ...] = ()
    databases: tuple[str, ...] = ()


@dataclass
class Restored:
    manifest: Manifest
    restored: list[str] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def verify(archive: Path, key: bytes) -> Manifest:
    """Check the whole archive without writing anything; its manifest."""
    return read_archive(archive, key)


def _role_targets(member: Member, settings: Settings) -> tuple[list[Path], list[str], list[str]]:
    """(SQLite files, PostgreSQL URLs, notes) for a database member, from this machine's settings."""
    files: list[Path] = []
    databases: list[str] = []
    notes: list[str] = []
    for name in member.roles:
        role = ROLES_BY_NAME.get(name)
        if role is None:
            notes.append(f"{member.name} is for a {name!r} database this release does not know; it was left out")
            continue
        url = role.url(settings)
        if member.kind == SQLITE and not is_sqlite(url):
            raise RestoreRefused(
                f"the archive's {name} database is a SQLite file, but {role.variable} names a PostgreSQL database: "
                f"unset {role.variable} to restore it into the data directory"
            )
        if member.kind == POSTGRESQL and is_sqlite(url):
            raise RestoreRefused(
                f"the archive's {name} database is a PostgreSQL dump: set {role.variable or 'its URL'} to the "
                "PostgreSQL database to restore it into (an empty one, made with createdb), then run this again"
            )
        if member.kind == SQLITE:
            files.append(Path(sqlite_path(url)))
        else:
            databases.append(url)
    return list(dict.fromkeys(files)), list(dict.fromkeys(databases)), notes


def plan(manifest: Manifest, settings: Settings, settings_target: Path) -> tuple[list[Placement], list[str]]:
    placements, notes = [], []
    for member in manifest.members:
        if member.kind in (SQLITE, POSTGRESQL):
            files, databases, found = _role_targets(member, settings)
            notes += found
            placements.append(Placement(member, tuple(files), tuple(databases)))
        elif member.kind == SECRET:
            placements.append(Placement(member, (settings.data_dir / member.name,)))
        elif member.kind == SETTINGS:
            placements.append(Placement(member, (settings_target,)))
        else:
            notes.append(f"{member.name} is of a kind this release does not know ({member.kind}); it was left out")
    if any(placement.databases for placement in placements) and postgres_tools.tool(postgres_tools.PG_RESTORE) is None:
        raise RestoreRefused(
            f"the archive holds PostgreSQL dumps and {postgres_tools.PG_RESTORE} is not installed: "
            f"{postgres_tools.INSTALL_HINT}"
        )
    return placements, notes


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


class _DataDir:
    """The data directory's own entries, less what a restore leaves where it is (backups, models, the key)."""

    def __init__(self, settings: Settings, keep_in_place: list[Path]) -> None:
        self.path = settings.data_dir
        self._left = {path.resolve() for path in [settings.backup_path, settings.models_path, *keep_in_place]}
        self._left.add((self.path / LOCK_NAME).resolve())

    def _counts(self, path: Path) -> bool:
        resolved = path.resolve()
        return resolved not in self._left and not any(resolved.is_relative_to(left) for left in self._left)

    def files(self) -> Iterator[Path]:
        if not self.path.is_dir():
            return
        for root, _folders, names in os.walk(self.path):
            for name in names:
                if self._counts(Path(root) / name):
                    yield Path(root) / name

    def entries(self) -> list[Path]:
        """The top-level entries to move aside (a folder that holds the backup folder or the key stays)."""
        if not self.path.is_dir():
            return []
        found = []
        for entry in sorted(self.path.iterdir()):
            resolved = entry.resolve()
            holds_kept = any(left.is_relative_to(resolved) for left in self._left)
            if holds_kept and entry.is_dir() and not entry.is_symlink():
                found += [inner for inner in sorted(entry.iterdir()) if self._counts(inner)]
            elif self._counts(entry) and not entry.name.startswith((ASIDE_PREFIX, STAGING_PREFIX)):
                found.append(entry)
        return found


def _existing(path: Path) -> list[Path]:
    """The file and the journal files SQLite may have left beside it."""
    candidates = [path, *(Path(f"{path}{end}") for end in SQLITE_COMPANIONS)]
    return [candidate for candidate in candidates if candidate.exists()]


def _outside_files(placement: Placement, data_dir: Path) -> list[Path]:
    """The existing files outside the data directory that the member would replace (the same settings file does not).

    Inside the data directory, everything is moved aside as a whole.
    """
    found = []
    for target in placement.files:
        if _inside(target, data_dir):
            continue
        if placement.member.kind == SETTINGS and target.is_file():
            if file_digest(target) == (placement.member.size, placement.member.sha256):
                continue
        found += _existing(target)
    return found


def _refusal(found: list[str], data_dir: Path) -> RestoreRefused:
    return RestoreRefused(
        "; ".join(found) + ". Restore into an empty data directory (--data-dir), or add --force to move what is "
        f"there aside (into {data_dir / ASIDE_PREFIX}<time>/; nothing is deleted)"
    )


def occupied(placements: list[Placement], data_dir: _DataDir) -> list[str]:
    """What a restore would overwrite, in words; empty when the targets are empty."""
    found = []
    files = list(data_dir.files())
    if files:
        shown = ", ".join(str(path.relative_to(data_dir.path)) for path in files[:3])
        found.append(f"the data directory {data_dir.path} is not empty ({shown}{', ...' if len(files) > 3 else ''})")
    for placement in placements:
        found += [f"{path} exists" for path in _outside_files(placement, data_dir.path)]
        for url in placement.databases:
            tables = postgres_tools.table_names(url)
            if tables:
                found.append(f"the PostgreSQL database for {placement.member.name} has {len(tables)} tables")
    return found


def _staged_writer(staging: Path) -> tuple[dict[str, Path], Keep]:
    staged: dict[str, Path] = {}

    def keep(member: Member) -> IO[bytes]:
        path = staging / member.name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        staged[member.name] = path
        return path.open("xb")

    return staged, keep


def _place(staged: Path, target: Path, last: bool) -> None:
    """``staged`` becomes ``target`` in one rename (a copy first when more targets follow, or across disks)."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pending = target.with_name(f".{target.name}.restoring")
    if last:
        shutil.move(str(staged), pending)
    else:
        shutil.copyfile(staged, pending)
    os.chmod(pending, 0o600)
    with pending.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(pending, target)


def _restore_postgres(placement: Placement, staged: Path, force: bool, stamp: str, result: Restored) -> None:
    for url in placement.databases:
        shown = postgres_tools.shown(url)
        aside = None
        if postgres_tools.table_names(url):
            if not force:  # checked before; the database gained tables meanwhile
                raise RestoreRefused(f"the PostgreSQL database {shown} has tables now; nothing more was restored")
            aside = f"before_restore_{stamp.lower()}"
            postgres_tools.set_schema_aside(url, aside)
            result.set_aside.append(f"{shown}: its tables are kept in the schema {aside}")
        try:
            postgres_tools.restore(staged, url)
        except BackupError:
            if aside is not None:
                postgres_tools.put_schema_back(url, aside)
            raise
        result.restored.append(f"{placement.member.name} -> {shown}")


def _move_aside(data_dir: _DataDir, placements: list[Placement], stamp: str, result: Restored) -> None:
    entries = data_dir.entries()
    if entries:
        aside = data_dir.path / f"{ASIDE_PREFIX}{stamp}"
        aside.mkdir(mode=0o700)
        for entry in entries:
            relative = entry.relative_to(data_dir.path)
            (aside / relative).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            entry.rename(aside / relative)
        result.set_aside.append(f"the data directory's earlier contents are in {aside}")
    for placement in placements:
        for path in _outside_files(placement, data_dir.path):
            moved = path.with_name(f"{path.name}.{ASIDE_PREFIX}{stamp}")
            path.rename(moved)
            result.set_aside.append(f"{path} is now {moved}")


def restore(
    archive: Path,
    key: bytes,
    settings: Settings,
    *,
    settings_target: Path,
    key_file: Path | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> Restored:
    """Rebuild ``settings.data_dir`` (and PostgreSQL databases the settings name) from ``archive``.

    ``settings_target`` is where this machine reads its settings file from;
    ``key_file``, when it lies in the data directory, is not counted as
    something there (nor are the backup folder and the models, which stay in place).
    """
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime(STAMP_FORMAT)
    open_header(archive, key)
    data_dir = _DataDir(settings, [path for path in (key_file, archive) if path is not None])
    if not force and any(True for _ in data_dir.files()):  # told at once, before the archive is read through
        raise _refusal(occupied([], data_dir), data_dir.path)
    manifest = verify(archive, key)
    placements, notes = plan(manifest, settings, settings_target)
    if not force:
        found = occupied(placements, data_dir)
        if found:
            raise _refusal(found, data_dir.path)
    result = Restored(manifest, notes=notes)
    created = not data_dir.path.exists()
    data_dir.path.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=data_dir.path))
    try:
        staged, keep = _staged_writer(staging)
        read_archive(archive, key, keep)  # checked again as it is kept
        for placement in placements:
            if placement.databases:
                _restore_postgres(placement, staged[placement.member.name], force, stamp, result)
        _move_aside(data_dir, placements, stamp, result)
        for placement in placements:
            for index, target in enumerate(placement.files):
                _place(staged[placement.member.name], target, last=index == len(placement.files) - 1)
                result.restored.append(f"{placement.member.name} -> {target}")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(data_dir.path.iterdir()):
            data_dir.path.rmdir()
        raise
    shutil.rmtree(staging, ignore_errors=True)
    if write_key(settings.backup_key_path, key):
        result.notes.append(f"the key used is now this machine's backup key: {settings.backup_key_path}")
    lock_down(data_dir.path)
    return result
