"""Secrets the stack generates on first run and keeps under ``data_dir/secrets`` (mode 0600)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from assistant.core.config import Settings


def secrets_dir(settings: Settings) -> Path:
    path = settings.data_dir / "secrets"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def read_secret(settings: Settings, name: str) -> str | None:
    path = secrets_dir(settings) / name
    return path.read_text().strip() if path.is_file() else None


def write_secret(settings: Settings, name: str, value: str) -> None:
    path = secrets_dir(settings) / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value + "\n")


def stored_secret(settings: Settings, name: str, make: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
    """The secret called ``name``, created on first use."""
    value = read_secret(settings, name)
    if not value:
        value = make()
        write_secret(settings, name, value)
    return value


# Secrets reach child processes in their environment, never on their command line.
RASA_TOKEN_VARIABLE = "ASSISTANT_RASA_TOKEN"
# Rasa sends it to the action server in this header (``action_endpoint`` in endpoints.yml).
ACTION_SECRET_VARIABLE = "ASSISTANT_ACTION_SECRET"
ACTION_SECRET_HEADER = "X-Action-Secret"
METRICS_TOKEN_VARIABLE = "ASSISTANT_METRICS_TOKEN"


def rasa_token(settings: Settings) -> str:
    return settings.rasa_token or stored_secret(settings, "rasa_token")


def action_secret(settings: Settings) -> str:
    return settings.action_secret or stored_secret(settings, "action_secret")


def metrics_token(settings: Settings) -> str:
    """The bearer token that opens /metrics to other machines.

    ``assistant up`` resolves it and hands it to every service in its
    environment; a service run on its own without it answers this machine only
    (and so never writes a secret into the data dir itself).
    """
    return settings.metrics_token or stored_secret(settings, "metrics_token")
