"""The services ``assistant up`` runs, and how each is started and checked."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from assistant.core.config import PROJECT_DIR, Settings, settings_environment
from assistant.core.secrets import (
    ACTION_SECRET_VARIABLE,
    METRICS_TOKEN_VARIABLE,
    RASA_TOKEN_VARIABLE,
    action_secret,
    metrics_token,
)
from assistant.stack.backup_service import backup_service
from assistant.stack.channel_setup import channel_environment
from assistant.stack.console_service import console_service
from assistant.stack.endpoints import write_endpoints
from assistant.stack.process import http_ok
from assistant.stack.supervisor import ServiceSpec

CREDENTIALS_FILE = PROJECT_DIR / "credentials.yml"


def _rasa_model_loaded(settings: Settings, token: str) -> bool:
    """Rasa answers HTTP before its model is in; wait for the model."""
    try:
        with urllib.request.urlopen(f"{settings.rasa_base_url}/status?token={token}", timeout=2) as response:
            return bool(json.load(response).get("model_file"))
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
        return False


def service_environment(settings: Settings, service_token: str) -> dict[str, str]:
    """All settings travel to the children as ASSISTANT_* variables, so all agree."""
    return {
        **settings_environment(settings),
        "ASSISTANT_DB_URL": settings.database_url,
        "ASSISTANT_BACKEND_URL": settings.backend_base_url,
        "ASSISTANT_SERVICE_TOKEN": service_token,
        ACTION_SECRET_VARIABLE: action_secret(settings),
        # Resolved here, once: four services generating it at once would each keep another.
        METRICS_TOKEN_VARIABLE: metrics_token(settings),
        "PYTHONHASHSEED": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **channel_environment(settings),
    }


def rasa_service(
    settings: Settings, model: Path, rasa_token: str, env: Mapping[str, str], name: str = "rasa"
) -> ServiceSpec:
    """One ``rasa run``; a district runs several against one tracker store and lock store."""
    return ServiceSpec(
        name=name,
        command=[
            sys.executable,
            "-m",
            "assistant.rasa_server",
            "run",
            "--enable-api",  # its token comes from the environment: argv is visible to every user (ps)
            "--model",
            str(model),
            "--endpoints",
            str(write_endpoints(settings)),
            "--credentials",
            str(CREDENTIALS_FILE),
            "--interface",
            settings.host,
            "--port",
            str(settings.rasa_port),
        ],
        url=settings.rasa_base_url,
        ready=lambda: _rasa_model_loaded(settings, rasa_token),
        env={**env, "ASSISTANT_RASA_PORT": str(settings.rasa_port), RASA_TOKEN_VARIABLE: rasa_token},
        startup_timeout=300.0,
    )


def stack_services(
    settings: Settings, model: Path, service_token: str, rasa_token: str, *, demo: bool = True
) -> list[ServiceSpec]:
    """The services of ``assistant up``; ``demo``: the console gives the demo's logins their passwords."""
    env = service_environment(settings, service_token)
    python = sys.executable
    backend = ServiceSpec(
        name="backend",
        command=[
            python,
            "-m",
            "assistant.cli",
            "serve",
            "backend",  # the database URL (it may hold a password) travels in the environment
            "--host",
            settings.backend_host,
            "--port",
            str(settings.backend_port),
        ],
        url=settings.backend_base_url,
        ready=lambda: http_ok(f"{settings.backend_base_url}/health"),
        env=env,
    )
    actions = ServiceSpec(
        name="actions",
        command=[python, "-m", "actions.server", "--port", str(settings.actions_port)],
        url=settings.actions_base_url,
        ready=lambda: http_ok(f"{settings.actions_base_url}/health"),
        env=env,
    )
    rasa = rasa_service(settings, model, rasa_token, env)
    # The console starts after Rasa: it indexes the events table that `rasa run` creates. The daily
    # backup comes last, once every database it copies is there.
    return [backend, actions, rasa, console_service(settings, env, demo=demo), backup_service(settings, env)]
