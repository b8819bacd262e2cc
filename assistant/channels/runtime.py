"""What the channels share inside one ``rasa run`` process: settings, state store, backend client.

Settings come from the environment ``assistant up`` gives Rasa (ASSISTANT_*,
see ``assistant.stack.channel_setup``); channel secrets come from
credentials.yml.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from assistant.channels.state import ChannelState
from assistant.core.backend_client import BackendClient
from assistant.core.config import Settings, load_settings


def state_url(settings: Settings) -> str:
    return settings.channels_db_url or f"sqlite:///{settings.data_dir / 'channels.db'}"


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=1)
def channel_state() -> ChannelState:
    current = settings()
    # Any stable secret of the deployment keys the sender hashes; the service token is always there.
    return ChannelState(state_url(current), identity_key=current.service_token or current.web_session_secret)


@lru_cache(maxsize=1)
def backend() -> BackendClient:
    current = settings()
    return BackendClient(current.backend_base_url, current.service_token)


def credential(credentials: dict[str, Any] | None, prefix: str, key: str) -> str:
    """A channel's value from credentials.yml, else from the settings field ``<prefix>_<key>``."""
    value = (credentials or {}).get(key) or getattr(settings(), f"{prefix}_{key}") or ""
    return str(value)
