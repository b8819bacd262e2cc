"""What a usable Vosk model directory looks like, checked before loading.

Vosk itself only says "Failed to create a model"; checking the layout first
lets us say which file is missing, and the size manifest written at install
time catches a truncated copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from voice.errors import INSTALL_HINT, ModelError

MANIFEST = ".assistant-manifest.json"

_REQUIRED = ("am/final.mdl", "conf/mfcc.conf", "conf/model.conf")
# A static graph (HCLG.fst + words.txt) or a lookahead graph (HCLr.fst + Gr.fst);
# only the lookahead kind can take a runtime grammar.
_STATIC_GRAPH = ("graph/HCLG.fst", "graph/words.txt")
_LOOKAHEAD_GRAPH = ("graph/HCLr.fst", "graph/Gr.fst")


@dataclasses.dataclass(frozen=True)
class VoskLayout:
    path: Path
    supports_grammar: bool
    sample_rate: int


def _sample_rate(path: Path) -> int:
    for line in (path / "conf" / "mfcc.conf").read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip().startswith("--sample-frequency="):
            try:
                return int(float(line.split("=", 1)[1]))
            except ValueError:
                break
    return 16_000


def model_root(path: Path) -> Path:
    """The model directory itself, also when ``path`` is a folder holding exactly one model."""
    if (path / "am").is_dir() or not path.is_dir():
        return path
    children = [child for child in path.iterdir() if child.is_dir() and (child / "am").is_dir()]
    return children[0] if len(children) == 1 else path


def check_vosk_layout(path: Path) -> VoskLayout:
    """Raise ``ModelError`` naming what is missing or truncated; else describe the model."""
    path = model_root(Path(path))
    if not path.is_dir():
        raise ModelError(f"no Vosk model at {path}. {INSTALL_HINT}")
    missing = [name for name in _REQUIRED if not (path / name).is_file()]
    lookahead = all((path / name).is_file() for name in _LOOKAHEAD_GRAPH)
    static = all((path / name).is_file() for name in _STATIC_GRAPH)
    if not (lookahead or static):
        missing.append("graph/HCLG.fst + graph/words.txt, or graph/HCLr.fst + graph/Gr.fst")
    if missing:
        raise ModelError(f"{path} is not a complete Vosk model: missing {', '.join(missing)}. {INSTALL_HINT}")
    _check_manifest(path)
    return VoskLayout(path=path, supports_grammar=lookahead, sample_rate=_sample_rate(path))


def _model_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name != MANIFEST)


def write_manifest(path: Path) -> Path:
    """Record every file's size and SHA-256, so later damage can be told apart from a bad download."""
    entries = {}
    for file in _model_files(path):
        digest = hashlib.sha256()
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        entries[file.relative_to(path).as_posix()] = {"size": file.stat().st_size, "sha256": digest.hexdigest()}
    target = path / MANIFEST
    target.write_text(json.dumps({"files": entries}, indent=1, sort_keys=True), encoding="utf-8")
    return target


def _check_manifest(path: Path) -> None:
    """Sizes only: cheap enough for every load, and a truncated file changes size."""
    manifest = path / MANIFEST
    if not manifest.is_file():
        return
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError) as exc:
        raise ModelError(f"{manifest} is unreadable; reinstall the model. {INSTALL_HINT}") from exc
    damaged = [
        name
        for name, entry in entries.items()
        if not (path / name).is_file() or (path / name).stat().st_size != entry["size"]
    ]
    if damaged:
        raise ModelError(
            f"the Vosk model at {path} is corrupt: {', '.join(sorted(damaged)[:5])} changed size "
            f"or disappeared since it was installed. {INSTALL_HINT}"
        )
