"""The action server's backend token, created in the backend database on first run."""

from __future__ import annotations

from assistant.core.config import Settings
from assistant.domain.api_tokens import stored_token


def service_token(settings: Settings) -> str:
    """The action server's backend token: configured, or stored and still valid in the database."""
    return settings.service_token or stored_token(
        settings, "service_token", "service", None, "action server (assistant up)"
    )
