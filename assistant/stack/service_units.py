"""``assistant service install``: the systemd unit of ``deploy/systemd/``, filled in for a user and a data dir.

One unit runs ``assistant up``: it already starts the services in order,
gives them their secrets in their environment (never on a command line),
restarts each one that dies, and takes the model's first training. Units
per service would have to repeat all of that; systemd's part is to start
``up`` at boot and start it again should it fail.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from assistant.core.config import PROJECT_DIR, Settings

TEMPLATES = PROJECT_DIR / "deploy" / "systemd"
UNIT = "assistant.service"
SYSTEM_UNITS = Path("/etc/systemd/system")
# Paths ProtectHome= hides; a data dir or an installation under one needs it read-only instead.
MARKER = re.compile(r"@@[A-Z_]+@@")
HOME_PATHS = (Path("/home"), Path("/root"), Path("/run/user"))


@dataclass(frozen=True)
class UnitValues:
    user: str
    data_dir: Path
    exec_start: str
    writable: tuple[Path, ...]
    protect_home: str
    after_database: str


def assistant_command() -> str:
    """``assistant up`` from this installation: the venv's ``assistant``, else this Python's module."""
    script = Path(sys.executable).parent / "assistant"
    if script.is_file() and os.access(script, os.X_OK):
        return f"{script} up"
    return f"{sys.executable} -m assistant.cli up"


def _uses_postgresql(settings: Settings) -> bool:
    urls = (settings.database_url, settings.tracker_database_url, settings.channels_database_url)
    return any(make_url(url).get_backend_name() == "postgresql" for url in urls)


def _under_a_home(path: Path) -> bool:
    return any(path == home or home in path.parents for home in HOME_PATHS)


def unit_values(settings: Settings, user: str) -> UnitValues:
    data_dir = settings.data_dir.resolve()
    writable = [data_dir]
    models = settings.models_path.resolve()
    if models != data_dir and data_dir not in models.parents:
        writable.append(models)
    installed = (PROJECT_DIR, Path(sys.executable), *writable)
    return UnitValues(
        user=user,
        data_dir=data_dir,
        exec_start=assistant_command(),
        writable=tuple(writable),
        # "read-only" still hides nothing from the service while keeping it from writing there.
        protect_home="read-only" if any(_under_a_home(path) for path in installed) else "yes",
        after_database=" postgresql.service" if _uses_postgresql(settings) else "",
    )


def render(template: str, values: UnitValues) -> str:
    filled = {
        "USER": values.user,
        "DATA_DIR": str(values.data_dir),
        "PROJECT_DIR": str(PROJECT_DIR),
        "EXEC_START": values.exec_start,
        "WRITABLE": " ".join(str(path) for path in values.writable),
        "PROTECT_HOME": values.protect_home,
        "AFTER_DATABASE": values.after_database,
    }
    for name, value in filled.items():
        template = template.replace(f"@@{name}@@", value)
    left = MARKER.search(template)
    if left:
        raise ValueError(f"{UNIT}: {left.group()} was left unfilled")
    return template


def install_units(settings: Settings, user: str, target: Path) -> list[Path]:
    """Write each unit of ``deploy/systemd`` into ``target``; the files written."""
    values = unit_values(settings, user)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for template in sorted(TEMPLATES.glob("*.service")):
        path = target / template.name
        path.write_text(render(template.read_text(encoding="utf-8"), values), encoding="utf-8")
        path.chmod(0o644)  # systemd reads units as any user; they hold no secret
        written.append(path)
    return written
