"""Rasa's ``/metrics``: every worker message counted and timed by its input channel.

A turn is timed from the moment Rasa takes the message (waiting for the
conversation's lock included, as the worker waits too) until its replies
are ready. The channel label is the input channel's name (``rest``, ``web``,
``whatsapp``, ``twilio_whatsapp``), never the sender.

Rasa has no hook for either: ``Agent.handle_message``, where every channel's
messages arrive, is wrapped, and so is the app factory, to add the route
(``lan_guard`` lets ``/metrics`` through; it makes its own check).
"""

from __future__ import annotations

import time
from typing import Any

import rasa.core.run
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from assistant.core import metrics
from assistant.core.config import load_settings
from assistant.http.metrics_sanic import add_metrics_route
from assistant.rasa_server.rasa_version import require_supported_rasa

_INSTALLED = "_assistant_turn_metrics"


def _time_turns() -> None:
    original = Agent.handle_message
    if getattr(original, _INSTALLED, False):
        return

    async def handle_message(self: Agent, message: UserMessage) -> Any:
        started = time.perf_counter()
        try:
            return await original(self, message)
        finally:
            metrics.observe_turn(message.input_channel, time.perf_counter() - started)

    setattr(handle_message, _INSTALLED, True)
    Agent.handle_message = handle_message


def _serve_metrics(token: str) -> None:
    original = rasa.core.run.configure_app
    if getattr(original, _INSTALLED, False):
        return

    def configure_app(*args: Any, **kwargs: Any) -> Sanic:
        app = original(*args, **kwargs)
        add_metrics_route(app, token)
        return app

    setattr(configure_app, _INSTALLED, True)
    rasa.core.run.configure_app = configure_app


def install() -> None:
    """Count and time turns, and serve ``/metrics`` on every Rasa app this process makes (idempotent)."""
    require_supported_rasa(__name__)
    _time_turns()
    _serve_metrics(load_settings().metrics_token)
