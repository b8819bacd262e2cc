"""Train the Rasa model only when its inputs changed.

A model's file name carries a fingerprint of everything that shapes it
(config, domain, training data, Rasa version), so "stale" is simply "no file
with this fingerprint", and several checkouts or test runs can share one
model directory safely.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.core.config import PROJECT_DIR, Settings

log = logging.getLogger(__name__)

TRAINING_INPUTS = ("config.yml", "domain.yml", "domain", "nlu", "dialogue")
# NLU examples and synonyms; rules and stories (README: why not Rasa's usual data/).
TRAINING_DATA = ("nlu", "dialogue")


class TrainingError(RuntimeError):
    pass


def _input_files(project_dir: Path) -> list[Path]:
    files: list[Path] = []
    for name in TRAINING_INPUTS:
        path = project_dir / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts))
    return files


def fingerprint(project_dir: Path = PROJECT_DIR) -> str:
    from importlib.metadata import version

    digest = hashlib.sha256(f"rasa {version('rasa')}\n".encode())
    for path in _input_files(project_dir):
        digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def domain_path(project_dir: Path = PROJECT_DIR) -> Path:
    directory = project_dir / "domain"
    return directory if directory.is_dir() else project_dir / "domain.yml"


def model_path(settings: Settings) -> Path:
    return settings.models_path / f"model-{fingerprint(settings.project_dir)}.tar.gz"


def ensure_model(settings: Settings) -> Path:
    """The current model, training it first if needed (a few minutes on two cores).

    Two callers at once (two test processes, ``make run`` beside ``make test``)
    train it once: the second waits for the first's lock, then finds the model.
    """
    target = model_path(settings)
    if target.is_file():
        return target
    project = settings.project_dir
    if not (project / "config.yml").is_file():
        raise TrainingError(f"no config.yml in {project}; nothing to train")
    settings.models_path.mkdir(parents=True, exist_ok=True)
    with (settings.models_path / ".training.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process ends
        if not target.is_file():
            _train(project, settings.models_path, target)
    return target


def _train(project: Path, models_path: Path, target: Path) -> None:
    log.info("training the Rasa model (inputs changed or no model yet); this takes a few minutes")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=models_path, prefix=".training-") as scratch:
        command = [
            sys.executable,
            "-m",
            "rasa",
            "train",
            "--config",
            str(project / "config.yml"),
            "--domain",
            str(domain_path(project)),
            "--data",
            *(str(project / name) for name in TRAINING_DATA),
            "--out",
            scratch,
            "--fixed-model-name",
            target.name.removesuffix(".tar.gz"),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
        result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise TrainingError(
                f"rasa train failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        trained = Path(scratch) / target.name
        if not trained.is_file():
            raise TrainingError(f"rasa train produced no {target.name}:\n{result.stdout[-2000:]}")
        # Atomic, so a concurrent run never loads a half-written model.
        os.replace(trained, target)
    log.info("trained %s in %.0fs", target.name, time.monotonic() - started)


def prune_models(settings: Settings, keep: Path) -> None:
    """Old fingerprints are never used again."""
    for stale in settings.models_path.glob("model-*.tar.gz"):
        if stale != keep:
            stale.unlink(missing_ok=True)


__all__ = ["ensure_model", "fingerprint", "model_path", "prune_models", "TrainingError"]
