"""Reading an archive back: every member checked against the manifest, and the container to its authenticated end.

``read_archive`` is both of restore's passes: the first only checks (it
writes nothing anywhere), the second keeps each member in a private folder,
checking it again as it goes.
"""

from __future__ import annotations

import gzip
import hashlib
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

from assistant.operations.archive import OpeningReader
from assistant.operations.errors import BackupError, DamagedArchive
from assistant.operations.manifest import MANIFEST_NAME, Manifest, Member

MAX_MANIFEST_BYTES = 4 << 20
_READ_BYTES = 1 << 20

# Where a member's content goes while it is checked (None: nowhere, only checked).
Keep = Callable[[Member], IO[bytes] | None]


def open_header(archive: Path, key: bytes) -> None:
    """Check the key against the archive's header alone: a wrong key is refused at once."""
    with _open(archive) as raw:
        OpeningReader(raw, key)


def _open(archive: Path) -> IO[bytes]:
    try:
        return archive.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read the archive {archive}: {exc.strerror or exc}") from None


def read_archive(archive: Path, key: bytes, keep: Keep | None = None) -> Manifest:
    """The archive's manifest, once every member has matched it; raises ``WrongKey`` or ``DamagedArchive``."""
    with _open(archive) as raw:
        opened = OpeningReader(raw, key)
        try:
            with gzip.GzipFile(fileobj=opened, mode="rb") as unpacked:
                with tarfile.open(fileobj=unpacked, mode="r|") as tar:
                    manifest = _read_members(tar, keep)
                while unpacked.read(_READ_BYTES):  # on to the end: gzip checks its own length and CRC there
                    pass
        except (EOFError, zlib.error, tarfile.TarError, gzip.BadGzipFile) as exc:
            raise DamagedArchive(f"the archive's contents cannot be unpacked ({exc.__class__.__name__})") from None
        if not opened.finished:
            raise DamagedArchive("the archive's contents end before its last chunk")
    return manifest


def _read_members(tar: tarfile.TarFile, keep: Keep | None) -> Manifest:
    manifest: Manifest | None = None
    expected: dict[str, Member] = {}
    for info in tar:
        content = tar.extractfile(info) if info.isfile() else None
        if content is None:
            raise DamagedArchive(f"the archive holds {info.name!r}, which is not a plain file")
        if manifest is None:
            if info.name != MANIFEST_NAME or info.size > MAX_MANIFEST_BYTES:
                raise DamagedArchive("the archive does not begin with its manifest")
            manifest = Manifest.from_json(content.read())
            expected = {member.name: member for member in manifest.members}
            continue
        member = expected.pop(info.name, None)
        if member is None:
            raise DamagedArchive(f"the archive holds {info.name!r}, which its manifest does not list (or lists once)")
        _check(member, content, keep(member) if keep else None)
    if manifest is None:
        raise DamagedArchive("the archive holds no manifest")
    if expected:
        raise DamagedArchive(f"the archive lacks {', '.join(sorted(expected))}, which its manifest lists")
    return manifest


def _check(member: Member, content: IO[bytes], sink: IO[bytes] | None) -> None:
    digest, size = hashlib.sha256(), 0
    try:
        while chunk := content.read(_READ_BYTES):
            digest.update(chunk)
            size += len(chunk)
            if sink is not None:
                _write(sink, chunk, member)
    finally:
        if sink is not None:
            sink.close()
    if size != member.size or digest.hexdigest() != member.sha256:
        raise DamagedArchive(f"{member.name} in the archive does not match its checksum")


def _write(sink: IO[bytes], chunk: bytes, member: Member) -> None:
    try:
        sink.write(chunk)
    except OSError as exc:  # the disk, not the archive: told apart from damage
        raise BackupError(f"cannot write {member.name} while restoring: {exc.strerror or exc}") from None
