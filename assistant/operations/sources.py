"""What a backup holds: every database the project owns, the secrets and the settings file, found from the settings.

The console's tables live in the backend's database; the action server's
outbox is always a SQLite file in the data directory. Trained models, speech
models and logs are left out: they are made again (``assistant up``
retrains, ``assistant models download``) and would make each archive
gigabytes larger.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from assistant.core.config import ENV_PREFIX, Settings, config_file
from assistant.db.device import FILENAME as ACTIONS_FILENAME
from assistant.db.engine import is_sqlite

SQLITE, POSTGRESQL, SECRET, SETTINGS = "sqlite", "postgresql", "secret", "settings"
DATABASES_FOLDER, SECRETS_FOLDER, SETTINGS_FOLDER = "databases", "secrets", "settings"


@dataclass(frozen=True)
class DatabaseRole:
    name: str
    url: Callable[[Settings], str]
    variable: str  # the setting that names it, for messages ("" when it is always in the data dir)


ROLES = (
    DatabaseRole("backend", lambda settings: settings.database_url, ENV_PREFIX + "DB_URL"),
    DatabaseRole("channels", lambda settings: settings.channels_database_url, ENV_PREFIX + "CHANNELS_DB_URL"),
    DatabaseRole("tracker", lambda settings: settings.tracker_database_url, ENV_PREFIX + "TRACKER_DB_URL"),
    DatabaseRole("actions", lambda settings: f"sqlite:///{settings.data_dir / ACTIONS_FILENAME}", ""),
)
ROLES_BY_NAME = {role.name: role for role in ROLES}


@dataclass(frozen=True)
class DatabaseSource:
    """One database, under the name of the first role that uses it (two roles may share one)."""

    roles: tuple[str, ...]
    url: str

    @property
    def name(self) -> str:
        return self.roles[0]

    @property
    def kind(self) -> str:
        return SQLITE if is_sqlite(self.url) else POSTGRESQL

    @property
    def member(self) -> str:
        return f"{DATABASES_FOLDER}/{self.name}.{'db' if self.kind == SQLITE else 'pgdump'}"

    @property
    def shown(self) -> str:
        """Where it is, without a password."""
        return sqlite_path(self.url) if self.kind == SQLITE else make_url(self.url).render_as_string(hide_password=True)


def sqlite_path(url: str) -> str:
    return make_url(url).database or ""


def database_sources(settings: Settings) -> list[DatabaseSource]:
    by_url: dict[str, list[str]] = {}
    for role in ROLES:
        by_url.setdefault(role.url(settings), []).append(role.name)
    return [DatabaseSource(tuple(roles), url) for url, roles in by_url.items()]


def secret_files(settings: Settings) -> list[Path]:
    """The files of the secrets directory, but the backup key: an archive is no place for its own key."""
    folder = settings.data_dir / "secrets"
    if not folder.is_dir():
        return []
    key = settings.backup_key_path.resolve()
    return sorted(path for path in folder.iterdir() if path.is_file() and path.resolve() != key)


def settings_file() -> Path | None:
    """The settings file in use (``ASSISTANT_CONFIG`` or ``assistant.toml``), if there is one."""
    return config_file(os.environ)
