"""``assistant up``'s foreground life with light stand-in services: ``python -m tests.support.standin_up LOG_DIR``.

The ports come in ``STANDIN_PORTS`` (comma-separated), so that only the
services name them on their command lines, as under ``assistant up``.

Everything that decides how ``assistant up`` ends (its signal handling, the
closed-pipe check, the supervisor stopping its children, each child armed to
die with its parent) is ``assistant.stack.shutdown.run_in_foreground`` and
``assistant.stack.supervisor.Supervisor``, run here unchanged. Only the
services are stand-ins: one small HTTP server per port, started in well under
a second where a real stack takes a minute (Rasa loading its model).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from assistant.stack.process import http_ok
from assistant.stack.shutdown import run_in_foreground
from assistant.stack.supervisor import ServiceSpec, Supervisor

READY = "Press Ctrl-C to stop everything."


def standin(name: str, port: int) -> ServiceSpec:
    """A service that listens on ``port`` (and names it on its command line, as the real services do)."""
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    return ServiceSpec(name=name, command=command, url=url, ready=lambda: http_ok(url + "/"))


def main(ports: list[int], log_dir: Path) -> None:
    supervisor = Supervisor([standin(f"standin-{port}", port) for port in ports], log_dir)
    run_in_foreground(supervisor, "Starting the stand-ins...", lambda: f"The stand-ins are up.\n{READY}")


if __name__ == "__main__":
    main([int(port) for port in os.environ["STANDIN_PORTS"].split(",")], Path(sys.argv[1]))
