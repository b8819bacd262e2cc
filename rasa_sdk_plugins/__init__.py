"""rasa-sdk plugin hook (the package name is rasa-sdk's convention).

``rasa run actions`` imports ``rasa_sdk_plugins`` if it can and calls
``init_hooks``; our hook starts the background delivery of the offline outbox
(``actions.sync``) together with the action server.
"""

from __future__ import annotations

import sys
from typing import Any

import pluggy

hookimpl = pluggy.HookimplMarker("rasa_sdk")


@hookimpl
def attach_sanic_app_extensions(app: Any) -> None:
    from actions.sync import attach

    attach(app)


def init_hooks(manager: pluggy.PluginManager) -> None:
    manager.register(sys.modules[__name__])
