"""What an archive holds: ``manifest.json``, its first member, with each other member's size and SHA-256.

Restore reads the manifest first and checks every member against it before
it writes anything; a member's name is also where it goes back to, so names
are held to a plain pattern (no absolute paths, no ``..``).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from assistant.core.config import PROJECT_DIR
from assistant.operations.errors import DamagedArchive

MANIFEST_NAME = "manifest.json"
FORMAT = "field-assistant-backup"
FORMAT_VERSION = 1
DISTRIBUTION = "field-assistant"
MEMBER_NAME = re.compile(r"(databases|secrets|settings)/[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_READ_BYTES = 1 << 20


@dataclass(frozen=True)
class Member:
    name: str  # its path in the archive: databases/backend.db, secrets/rasa_token, settings/assistant.toml
    kind: str  # sqlite | postgresql | secret | settings (assistant.operations.sources)
    size: int
    sha256: str
    roles: tuple[str, ...] = ()  # the databases' roles: backend, channels, tracker, actions
    source: str = ""  # where it was taken from (never a password)
    check: str = ""  # SQLite's quick_check of the copy: "ok", or what it found


@dataclass(frozen=True)
class Skipped:
    what: str
    reason: str


@dataclass(frozen=True)
class Manifest:
    created_at: str  # ISO 8601, UTC: when the backup began
    app_version: str | None
    git_revision: str | None
    key_fingerprint: str
    members: tuple[Member, ...]
    skipped: tuple[Skipped, ...] = field(default=())

    def to_json(self) -> bytes:
        body = {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(self)}
        return json.dumps(body, indent=2, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            body = json.loads(data)
            if body.get("format") != FORMAT or body.get("format_version") != FORMAT_VERSION:
                raise DamagedArchive("the archive's manifest is of an unknown format")
            members = tuple(_member(entry) for entry in body["members"])
            skipped = tuple(Skipped(str(entry["what"]), str(entry["reason"])) for entry in body.get("skipped", ()))
            manifest = cls(
                str(body["created_at"]),
                body.get("app_version"),
                body.get("git_revision"),
                str(body["key_fingerprint"]),
                members,
                skipped,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DamagedArchive(f"the archive's manifest cannot be read ({exc.__class__.__name__})") from None
        names = [member.name for member in members]
        if len(set(names)) != len(names) or not all(MEMBER_NAME.fullmatch(name) for name in names):
            raise DamagedArchive("the archive's manifest names a member twice or names one outside its folders")
        return manifest


def _member(entry: dict[str, Any]) -> Member:
    return Member(
        name=str(entry["name"]),
        kind=str(entry["kind"]),
        size=int(entry["size"]),
        sha256=str(entry["sha256"]),
        roles=tuple(str(role) for role in entry.get("roles", ())),
        source=str(entry.get("source", "")),
        check=str(entry.get("check", "")),
    )


def file_digest(path: Path) -> tuple[int, str]:
    """(size, SHA-256 hex) of a file, read a chunk at a time."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_READ_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def app_version() -> str | None:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def git_revision() -> str | None:
    """The commit the code runs from, when it runs from a git checkout (a release installed by pip has none)."""
    if not (PROJECT_DIR / ".git").exists():
        return None
    try:
        found = subprocess.run(
            ["git", "-C", str(PROJECT_DIR), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    revision = found.stdout.strip()
    return revision if found.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", revision) else None
