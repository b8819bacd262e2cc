"""Voice models: the registry of official Vosk models, download, install, listing.

Installed models live in ``data_dir/voice-models/<name>/`` (or
``ASSISTANT_VOICE_MODELS_DIR``), each with a manifest of its files written at
install time so later damage is reported as such.

About the registry's sizes and checksums: they are the values alphacephei
publishes in its model list (https://alphacephei.com/vosk/models/model-list.json)
for the small en-in and hi models (MD5). For small en-us the published list
we could consult here carried the size but no checksum; the SHA-256 given is
from a third-party record of the same file and is marked as such. This
machine has no internet, so none of the three could be re-verified against
the real files here; ``download`` verifies the size and whatever checksum is
recorded, and prints the file's SHA-256 so it can be pinned.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from assistant.core.rules import MAX_MODEL_BYTES, MAX_MODEL_MEMBERS
from voice.errors import INSTALL_HINT, ModelError, VoiceError
from voice.model_layout import check_vosk_layout, model_root, write_manifest

DOWNLOAD_BASE = "https://alphacephei.com/vosk/models/"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    key: str
    name: str
    language: str
    description: str
    size: int  # bytes of the .zip
    checksum: str | None  # "md5:<hex>" or "sha256:<hex>"
    checksum_source: str
    url: str = ""

    @property
    def download_url(self) -> str:
        return self.url or f"{DOWNLOAD_BASE}{self.name}.zip"


REGISTRY: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="small-en-in",
        name="vosk-model-small-en-in-0.4",
        language="en",
        description="Indian English, small (36 MB): the default for field workers",
        size=37_573_330,
        checksum="md5:62fd085f33c8c5fc01a235030e2a1fe3",
        checksum_source="alphacephei model-list.json (not re-verified offline)",
    ),
    ModelSpec(
        key="small-en-us",
        name="vosk-model-small-en-us-0.15",
        language="en",
        description="US English, small (39 MB)",
        size=41_205_931,
        checksum="sha256:30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
        checksum_source=(
            "third-party record; alphacephei's list gives no checksum we could see (not re-verified offline)"
        ),
    ),
    ModelSpec(
        key="small-hi",
        name="vosk-model-small-hi-0.22",
        language="hi",
        description="Hindi, small (42 MB)",
        size=44_458_845,
        checksum="md5:80f1265262c9a8a515f2707498e1b485",
        checksum_source="alphacephei model-list.json (not re-verified offline)",
    ),
)


def find_spec(key: str) -> ModelSpec:
    for spec in REGISTRY:
        if key in (spec.key, spec.name):
            return spec
    raise VoiceError(f"unknown model {key!r}; choose from {', '.join(spec.key for spec in REGISTRY)}")


@dataclasses.dataclass(frozen=True)
class InstalledModel:
    name: str
    path: Path
    problem: str | None  # None when the layout and manifest check out

    @property
    def ok(self) -> bool:
        return self.problem is None


def installed_models(root: Path) -> list[InstalledModel]:
    found = []
    if root.is_dir():
        for path in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            try:
                check_vosk_layout(path)
                found.append(InstalledModel(path.name, path, None))
            except ModelError as exc:
                found.append(InstalledModel(path.name, path, str(exc).split(". ")[0]))
    return found


def default_model(root: Path) -> Path | None:
    """The installed model to use when none is configured: registry order (en-in first), then any."""
    usable = {model.name: model.path for model in installed_models(root) if model.ok}
    for spec in REGISTRY:
        if spec.name in usable:
            return usable[spec.name]
    return next(iter(usable.values()), None)


# -- install ----------------------------------------------------------------


COPY_CHUNK = 1 << 20


def check_archive(archive: zipfile.ZipFile, max_bytes: int, max_members: int) -> None:
    """Refuse, before anything is written, an archive that would unpack too large, too many files or out of place."""
    members = archive.infolist()
    if len(members) > max_members:
        raise ModelError(f"refusing to install: the archive has {len(members)} entries, more than {max_members}")
    declared = sum(member.file_size for member in members)
    if declared > max_bytes:
        raise ModelError(
            f"refusing to install: the archive unpacks to {declared / 2**30:.1f} GiB, "
            f"more than the {max_bytes / 2**30:.1f} GiB a voice model may take"
        )


def _safe_extract(archive: zipfile.ZipFile, target: Path, max_bytes: int, max_members: int) -> None:
    """Extract refusing absolute paths and '..' (a zip may not write outside ``target``) and zip bombs.

    The declared sizes are checked first (``check_archive``); then each entry
    is copied counting its bytes, and one that yields more than it declared
    (a forged header) stops the install. Python's zip reader itself stops at
    the declared size and then fails the CRC check, which is refused the same
    way; the count does not rely on it.
    """
    check_archive(archive, max_bytes, max_members)
    base = target.resolve()
    for member in archive.infolist():
        destination = (target / member.filename).resolve()
        if base != destination and base not in destination.parents:
            raise ModelError(
                f"refusing to install: the archive entry {member.filename!r} points outside the model folder"
            )
    for member in archive.infolist():
        destination = target / member.filename
        if member.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        _copy_member(archive, member, destination)


def _copy_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, destination: Path) -> None:
    refusal = (
        f"refusing to install: the archive entry {member.filename!r} holds more than the "
        f"{member.file_size} bytes it declares, or is damaged"
    )
    written = 0
    try:
        with archive.open(member) as source, destination.open("wb") as out:
            while chunk := source.read(COPY_CHUNK):
                written += len(chunk)
                if written > member.file_size:
                    raise ModelError(refusal)
                out.write(chunk)
    except zipfile.BadZipFile as exc:  # the reader stopped at the declared size and the CRC did not match
        raise ModelError(f"{refusal} ({exc})") from exc


def _verify_loads(path: Path) -> None:
    """The layout can be complete and the files still garbage: let Vosk load it once."""
    from voice.vosk_engine import VoskEngine

    VoskEngine(path)


def install(
    source: Path,
    root: Path,
    name: str | None = None,
    verify_load: bool = True,
    *,
    max_bytes: int = MAX_MODEL_BYTES,
    max_members: int = MAX_MODEL_MEMBERS,
) -> Path:
    """Install a model from a .zip or an unpacked directory into ``root`` (as ``name``); returns its path.

    A zip that would unpack to more than ``max_bytes`` or ``max_members`` entries is refused.
    """
    source = Path(source)
    root.mkdir(parents=True, exist_ok=True)
    # Work inside root so the final move is a rename on the same filesystem.
    with tempfile.TemporaryDirectory(dir=root, prefix=".install-") as scratch:
        staged = Path(scratch) / "staged"
        if source.is_file():
            extracted = Path(scratch) / "extracted"
            try:
                with zipfile.ZipFile(source) as archive:
                    _safe_extract(archive, extracted, max_bytes, max_members)
            except zipfile.BadZipFile as exc:
                raise ModelError(f"{source} is not a valid zip archive ({exc}). {INSTALL_HINT}") from exc
            unpacked = model_root(extracted)
            name = name or (unpacked.name if unpacked != extracted else source.stem)
            check_vosk_layout(unpacked)
            unpacked.rename(staged)
        elif source.is_dir():
            unpacked = model_root(source)
            name = name or unpacked.name
            check_vosk_layout(unpacked)
            shutil.copytree(unpacked, staged)
        else:
            raise ModelError(f"{source}: no such file or directory. {INSTALL_HINT}")
        write_manifest(staged)
        if verify_load:
            _verify_loads(staged)
        target = root / name
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return target


# -- download ---------------------------------------------------------------


def _digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_archive(path: Path, spec: ModelSpec) -> str:
    """Check size and recorded checksum; returns the SHA-256 (for pinning)."""
    size = path.stat().st_size
    if size != spec.size:
        raise ModelError(f"{spec.name}.zip is {size} bytes, expected {spec.size}: the download is damaged")
    if spec.checksum:
        algorithm, expected = spec.checksum.split(":", 1)
        actual = _digest(path, algorithm)
        if actual != expected:
            raise ModelError(
                f"{spec.name}.zip fails its {algorithm} check ({actual} != {expected}): the download is damaged"
            )
    return _digest(path, "sha256")


class Progress:
    """A one-line progress bar on a terminal (stderr), quiet elsewhere."""

    def __init__(self, label: str, total: int, stream: TextIO = sys.stderr) -> None:
        self.label, self.total, self.stream = label, total, stream
        self._last = -1

    def __call__(self, done: int) -> None:
        percent = int(100 * done / self.total) if self.total else 0
        if percent == self._last:
            return
        self._last = percent
        bar = "#" * (percent // 4)
        self.stream.write(f"\r{self.label} [{bar:<25}] {percent:3d}% {done / 2**20:6.1f}/{self.total / 2**20:.1f} MiB")
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def fetch(
    url: str, target: Path, total: int, progress: Callable[[int], None] | None = None, timeout: float = 30.0
) -> Path:
    """Download ``url`` to ``target``, resuming from ``target.part`` if an earlier try broke off."""
    partial = target.with_name(target.name + ".part")
    have = partial.stat().st_size if partial.exists() else 0
    if have > total:
        partial.unlink()
        have = 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            # 206: the server resumes; 200: it ignored Range, so start over.
            mode = "ab" if have and response.status == 206 else "wb"
            done = have if mode == "ab" else 0
            with partial.open(mode) as out:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have == total:  # nothing left to fetch: it was complete
            pass
        else:
            raise VoiceError(f"download of {url} failed: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise VoiceError(
            f"download of {url} failed ({exc}); what arrived is kept and the next try resumes. "
            "Without internet, copy the zip from another machine and run 'assistant models install FILE.zip'."
        ) from exc
    got = partial.stat().st_size if partial.exists() else 0
    if got < total:  # the connection closed early without an error
        raise VoiceError(
            f"download of {url} broke off at {got} of {total} bytes; what arrived is kept and the next try resumes"
        )
    partial.replace(target)
    return target


def download(spec: ModelSpec, root: Path, progress_stream: TextIO | None = sys.stderr) -> tuple[Path, str]:
    """Fetch, verify and install a registry model; returns its path and the archive's SHA-256."""
    downloads = root / ".downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    archive = downloads / f"{spec.name}.zip"
    if not archive.exists():
        progress = Progress(spec.name, spec.size, progress_stream) if progress_stream else None
        fetch(spec.download_url, archive, spec.size, progress)
    try:
        sha256 = verify_archive(archive, spec)
    except ModelError:
        archive.unlink()  # a damaged file must not be resumed from
        raise
    path = install(archive, root)
    archive.unlink()
    return path, sha256
