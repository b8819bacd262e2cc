"""What the channels share inside one ``rasa run`` process: settings, state store, backend client, housekeeping.

Settings come from the environment ``assistant up`` gives Rasa (ASSISTANT_*,
see ``assistant.stack.channel_setup``); channel secrets come from
credentials.yml.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sanic import Blueprint

from assistant.channels.state import ChannelState
from assistant.core.config import Settings, load_settings
from assistant.core.periodic import HOUR, every
from assistant.http.backend_client import BackendClient


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=1)
def channel_state() -> ChannelState:
    current = settings()
    # Any stable secret of the deployment keys the sender hashes; the service token is always there.
    return ChannelState(current.channels_database_url, identity_key=current.service_token or current.web_session_secret)


@lru_cache(maxsize=1)
def backend() -> BackendClient:
    current = settings()
    return BackendClient(current.backend_base_url, current.service_token)


def credential(credentials: dict[str, Any] | None, prefix: str, key: str) -> str:
    """A channel's value from credentials.yml, else from the settings field ``<prefix>_<key>``."""
    value = (credentials or {}).get(key) or getattr(settings(), f"{prefix}_{key}") or ""
    return str(value)


def cloud_api_pushes() -> bool:
    """Whether this deployment pushes hub notices through WhatsApp's Cloud API (it has a number and a token)."""
    current = settings()
    return bool(current.whatsapp_access_token and current.whatsapp_phone_number_id)


def twilio_pushes() -> bool:
    """Whether it pushes them through Twilio's Messages API (an account, its token and our WhatsApp sender)."""
    current = settings()
    return bool(current.twilio_account_sid and current.twilio_auth_token and current.twilio_whatsapp_number)


def tidy_state_hourly(blueprint: Blueprint) -> None:
    """Purge the channel state hourly while the server runs (``ChannelState.purge``).

    Every channel that keeps state calls this on its blueprint; the state is
    shared by the whole process, so the first to start registers the task and
    the others find it there.
    """

    @blueprint.listener("after_server_start")
    async def start_purging(app: Any, _: Any) -> None:
        if getattr(app.ctx, "channel_state_purge", False):
            return
        app.ctx.channel_state_purge = True
        state = channel_state()
        app.add_task(every(HOUR, state.purge, "purge of the channel state", first_delay=HOUR))
