"""One backup archive of everything the project owns, taken while the stack runs; the archives kept.

An archive is ``assistant-backup-YYYYmmddTHHMMSSZ.tar.enc`` (the UTC time
the backup began), 0600: a tar of ``manifest.json`` and the members it
lists, gzipped, in the encrypted container of ``archive``. It is written
under a hidden name and renamed when whole, so a folder never holds half an
archive under an archive's name. The databases are first copied into a
private folder in the data directory (never onto the backup disk in clear),
then packed. One backup runs at a time per data directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import io
import logging
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from assistant.core.backup_age import (
    ARCHIVE_NAME,
    ARCHIVE_PREFIX,
    archive_name,
    archives,
    last_backup_age,
    now_utc,
)
from assistant.core.config import Settings
from assistant.operations import postgres_tools
from assistant.operations.archive import SealingWriter
from assistant.operations.backup_key import ensure_key, fingerprint, key_announcement
from assistant.operations.errors import BackupError
from assistant.operations.manifest import (
    MANIFEST_NAME,
    MEMBER_NAME,
    Manifest,
    Member,
    Skipped,
    app_version,
    file_digest,
    git_revision,
)
from assistant.operations.snapshot import copy_sqlite
from assistant.operations.sources import (
    SECRET,
    SECRETS_FOLDER,
    SETTINGS,
    SQLITE,
    DatabaseSource,
    database_sources,
    secret_files,
    settings_file,
    sqlite_path,
)

log = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".partial"
STAGING_PREFIX = ".backup-staging-"
LOCK_NAME = ".backup.lock"
SETTINGS_MEMBER = "settings/assistant.toml"
DAY_SECONDS = 24 * 3600.0
# The daily backup is looked for every hour: one a little under a day old is due, so that the time
# of day does not creep later by up to an hour each day.
DUE_AFTER_SECONDS = DAY_SECONDS - 1800.0
COMPRESS_LEVEL = 6  # gzip's own default: most of level 9's gain on SQLite pages, at a fraction of its time

Announce = Callable[[str], None]


def daily_backup_due(settings: Settings, now: datetime | None = None) -> bool:
    age = last_backup_age(settings, now)
    return age is None or age >= DUE_AFTER_SECONDS


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` archives in ``folder`` (0 keeps them all); the ones deleted.

    Only files named as our archives are ever touched.
    """
    if keep <= 0:
        return []
    removed = [path for _, path in archives(folder)[:-keep]]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


@contextlib.contextmanager
def _one_at_a_time(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's backup lock (a manual backup waits for the daily one, and so on)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _clear_leftovers(data_dir: Path, folder: Path) -> None:
    """What a backup killed midway left behind (under the lock, so no backup is using it now)."""
    for staging in data_dir.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(staging, ignore_errors=True)
    for partial in folder.glob(f".{ARCHIVE_PREFIX}*{PARTIAL_SUFFIX}"):
        partial.unlink(missing_ok=True)


def _fresh_name(folder: Path, now: datetime | None) -> tuple[datetime, Path]:
    """The time and path of a new archive; a backup right after another waits for the next second."""
    moment = now or now_utc()
    while (folder / archive_name(moment)).exists():
        if now is not None:
            raise BackupError(f"{folder / archive_name(moment)} exists already")
        time.sleep(0.2)
        moment = now_utc()
    return moment, folder / archive_name(moment)


def _database_member(source: DatabaseSource, staging: Path, announce: Announce) -> Member | Skipped:
    target = staging / source.member
    what = f"the {source.name} database"
    if source.kind == SQLITE:
        path = Path(sqlite_path(source.url))
        if not path.is_file():
            return Skipped(what, f"{path} does not exist yet")
        check = copy_sqlite(path, target)
        if check != "ok":
            announce(f"warning: {what} ({path}) fails SQLite's quick_check ({check}): it may be damaged")
    else:
        if postgres_tools.tool(postgres_tools.PG_DUMP) is None:
            reason = f"{postgres_tools.PG_DUMP} is not installed ({postgres_tools.INSTALL_HINT})"
            announce(f"warning: {what} (PostgreSQL, {source.shown}) is not in this backup: {reason}")
            return Skipped(what, reason)
        postgres_tools.dump(source.url, target)
        check = ""
    size, sha256 = file_digest(target)
    return Member(source.member, source.kind, size, sha256, source.roles, source.shown, check)


def _file_member(path: Path, name: str, kind: str, staging: Path) -> Member:
    """A small file (a secret, the settings file), copied first so that its digest is of what is packed."""
    target = staging / name
    shutil.copyfile(path, target)
    size, sha256 = file_digest(target)
    return Member(name, kind, size, sha256, source=str(path))


def _stage(settings: Settings, staging: Path, announce: Announce) -> tuple[list[Member], list[Skipped]]:
    for folder in ("databases", SECRETS_FOLDER, "settings"):
        (staging / folder).mkdir(mode=0o700)
    members: list[Member] = []
    skipped: list[Skipped] = []
    for source in database_sources(settings):
        taken = _database_member(source, staging, announce)
        if isinstance(taken, Member):
            members.append(taken)
        else:
            skipped.append(taken)
    for path in secret_files(settings):
        name = f"{SECRETS_FOLDER}/{path.name}"
        if MEMBER_NAME.fullmatch(name):
            members.append(_file_member(path, name, SECRET, staging))
        else:
            skipped.append(Skipped(f"secret {path.name!r}", "its name is not a plain file name"))
    config = settings_file()
    if config is not None:
        members.append(_file_member(config, SETTINGS_MEMBER, SETTINGS, staging))
    return members, skipped


def _tar_entry(name: str, size: int, moment: datetime) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(moment.timestamp())
    return info  # no owner names or ids: they mean nothing on the machine it is restored on


def _write_archive(target: Path, key: bytes, manifest: Manifest, staging: Path, moment: datetime) -> None:
    pending = target.with_name(f".{target.name}{PARTIAL_SUFFIX}")
    descriptor = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw:
            sealed = SealingWriter(raw, key)
            with gzip.GzipFile(fileobj=sealed, mode="wb", compresslevel=COMPRESS_LEVEL, mtime=0) as packed:
                with tarfile.open(fileobj=packed, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                    body = manifest.to_json()
                    tar.addfile(_tar_entry(MANIFEST_NAME, len(body), moment), fileobj=io.BytesIO(body))
                    for member in manifest.members:
                        with (staging / member.name).open("rb") as content:
                            tar.addfile(_tar_entry(member.name, member.size, moment), fileobj=content)
            sealed.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.rename(pending, target)
        _sync_folder(target.parent)
    except BaseException:
        pending.unlink(missing_ok=True)
        raise


def _sync_folder(folder: Path) -> None:
    """The rename survives a power cut once the folder itself is on disk."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def take_backup(
    settings: Settings,
    *,
    to: Path | None = None,
    keep: int | None = None,
    now: datetime | None = None,
    announce: Announce = log.warning,
) -> Path:
    """One encrypted archive of every database, the secrets and the settings file; its path.

    Taken while the services run. The backup key is made if there is none
    yet, and ``announce`` tells the operator so (its path, never the key).
    Afterwards the folder keeps its newest ``keep`` archives
    (``settings.backup_keep`` unless given). ``now`` names the archive (tests).
    """
    keep = settings.backup_keep if keep is None else keep
    if keep < 0:
        raise BackupError(f"the number of backups to keep cannot be negative (ASSISTANT_BACKUP_KEEP={keep})")
    key, made = ensure_key(settings)
    if made:
        announce(key_announcement(settings.backup_key_path, key))
    folder = settings.backup_path if to is None else to
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise BackupError(f"cannot make the backup folder {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK):
        raise BackupError(f"cannot write to the backup folder {folder}")
    with _one_at_a_time(settings.data_dir):
        _clear_leftovers(settings.data_dir, folder)
        moment, target = _fresh_name(folder, now)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=settings.data_dir))
        try:
            members, skipped = _stage(settings, staging, announce)
            manifest = Manifest(
                created_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                app_version=app_version(),
                git_revision=git_revision(),
                key_fingerprint=fingerprint(key),
                members=tuple(members),
                skipped=tuple(skipped),
            )
            _write_archive(target, key, manifest, staging, moment)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for old in prune(folder, keep):
            log.info("removed the old backup %s (keeping the newest %d)", old.name, keep)
    log.info("backup written: %s (%d members)", target, len(manifest.members))
    return target


__all__ = [
    "ARCHIVE_NAME",
    "DUE_AFTER_SECONDS",
    "SETTINGS_MEMBER",
    "archive_name",
    "archives",
    "daily_backup_due",
    "last_backup_age",
    "prune",
    "take_backup",
]
