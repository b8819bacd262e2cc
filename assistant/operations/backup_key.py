"""The backup key: 32 random bytes in a text file (0600), made at the first backup.

It is written as hexadecimal so that it can be copied onto paper and typed
back (spaces and dashes are ignored when it is read). Only its path and its
fingerprint are ever shown; the key itself never reaches a terminal or a log.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from assistant.core.config import Settings
from assistant.operations.errors import BackupError

KEY_BYTES = 32  # AES-256
FINGERPRINT_BYTES = 8
_FILE_HEADER = (
    "# The field assistant's backup key. Every backup archive is encrypted with it:\n"
    "# without it no backup can be restored. Keep a copy apart from the backups.\n"
)


def fingerprint(key: bytes) -> str:
    """A short name for the key, stored in each archive, so a wrong key is told apart from a damaged archive.

    A one-way hash: it tells nothing about the key itself.
    """
    digest = hashlib.sha256(b"field-assistant backup key fingerprint\0" + key).hexdigest()[: FINGERPRINT_BYTES * 2]
    return "-".join(digest[index : index + 4] for index in range(0, len(digest), 4))


def read_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise BackupError(f"backup key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"cannot read the backup key file {path}: {exc.__class__.__name__}") from None
    digits = "".join(
        line.replace(" ", "").replace("-", "").strip()
        for line in text.splitlines()
        if not line.lstrip().startswith("#")
    )
    try:
        key = bytes.fromhex(digits)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise BackupError(f"{path} is not a backup key: it should hold {KEY_BYTES * 2} hexadecimal digits")
    return key


def write_key(path: Path, key: bytes) -> bool:
    """Write ``key`` to ``path`` (0600) unless a file is there already; whether it was written.

    The file appears whole or not at all (written aside, then linked into
    place), so two backups starting at once agree on one key.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pending = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(_FILE_HEADER + key.hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(pending, path)
        except FileExistsError:
            return False
        return True
    finally:
        pending.unlink(missing_ok=True)


def ensure_key(settings: Settings) -> tuple[bytes, bool]:
    """The backup key, and whether it was made just now (the caller then tells the operator, once)."""
    path = settings.backup_key_path
    if not path.exists():
        made = write_key(path, secrets.token_bytes(KEY_BYTES))
        return read_key(path), made
    return read_key(path), False


def key_announcement(path: Path, key: bytes) -> str:
    """What the operator is told, once, when the key is made: where it is and to keep a copy apart."""
    return (
        f"A new backup key was made: {path} (fingerprint {fingerprint(key)}).\n"
        "Every backup is encrypted with it, and no backup can be restored without it.\n"
        "Keep a copy apart from the backups now: copy the file to a USB stick kept somewhere else than the\n"
        f"backup disk, or print it (`cat {path}`) and lock the paper away. This is not shown again."
    )
