"""On the clinic LAN, Rasa answers other machines on the phones' routes only.

``ASSISTANT_HOST=0.0.0.0`` opens Rasa to the LAN so phones reach the web chat
and Meta or Twilio (through the clinic's TLS proxy) reach their webhooks.
Everything else Rasa serves (the REST channel, the HTTP API under its
token, ``/``) stays for this machine: a request for it from another address
gets 404, as if it were not there. A reverse proxy on this machine is
loopback too, so it must forward only ``/webhooks/<channel>/`` of the
channels in ``LAN_INPUT_CHANNELS`` (README, "Deployment").

Rasa has no hook for this; its app factory is wrapped once at start-up.
"""

from __future__ import annotations

from typing import Any

import rasa.core.run
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.core.client_address import is_loopback
from assistant.core.metrics import PATH as METRICS_PATH
from assistant.core.rules import LAN_INPUT_CHANNELS

_INSTALLED = "_assistant_lan_guard"


def phone_facing(path: str) -> bool:
    return any(path.startswith(f"/webhooks/{name}/") or path == f"/webhooks/{name}" for name in LAN_INPUT_CHANNELS)


def from_this_machine(address: str) -> bool:
    return is_loopback(address)


async def refuse_lan_callers(request: Request) -> HTTPResponse | None:
    # /metrics makes its own check: this machine, or the metrics token (assistant.core.metrics).
    if phone_facing(request.path) or request.path == METRICS_PATH or from_this_machine(request.ip):
        return None
    return response.json({"error": {"code": "not_found", "message": "Not found."}}, status=404)


def install() -> None:
    """Every Rasa app this process makes refuses LAN callers off the phones' routes (idempotent)."""
    original = rasa.core.run.configure_app
    if getattr(original, _INSTALLED, False):
        return

    def configure_app(*args: Any, **kwargs: Any) -> Sanic:
        app = original(*args, **kwargs)
        app.register_middleware(refuse_lan_callers, "request")
        return app

    setattr(configure_app, _INSTALLED, True)
    rasa.core.run.configure_app = configure_app
