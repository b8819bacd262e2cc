"""How ``assistant up`` runs the console: one more supervised service, started after Rasa.

It starts last because it adds its indexes to the events table that ``rasa
run`` creates. ``--demo-login`` gives the demo supervisor the password that
``assistant up`` prints.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from assistant.console.demo import DEMO_SUPERVISOR
from assistant.core.config import Settings, reachable
from assistant.stack.process import http_ok
from assistant.stack.supervisor import ServiceSpec


def console_url(settings: Settings) -> str:
    scheme = "https" if settings.console_tls_cert else "http"
    return f"{scheme}://{reachable(settings.console_host)}:{settings.console_port}"


def console_service(settings: Settings, env: Mapping[str, str], *, demo: bool = True) -> ServiceSpec:
    """The console as ``assistant up`` runs it; the demo's logins only with the demo (never in a real programme)."""
    url = console_url(settings)
    return ServiceSpec(
        name="console",
        command=[
            sys.executable,
            "-m",
            "assistant.cli",
            "serve",
            "console",  # the database URLs (they may hold a password) travel in the environment
            "--host",
            settings.console_host,
            "--port",
            str(settings.console_port),
            *(["--demo-login", DEMO_SUPERVISOR] if demo else []),
        ],
        url=url,
        # Plain http health check; with TLS the port answers https only, so trust the process start.
        ready=(lambda: http_ok(f"{url}/health")) if url.startswith("http:") else (lambda: True),
        env=env,
        # The first start on a large tracker store builds indexes.
        startup_timeout=600.0,
    )
