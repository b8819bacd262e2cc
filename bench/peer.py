"""The peer a user would compare us with: a bare ``rasa init --no-prompt`` bot, trained here, run beside the stack.

The project is made once per Rasa version in ``.cache/peer/`` (``rasa init``
trains its model as it creates it) and reused. It is served by ``rasa run``
on a free loopback port with Rasa's REST channel, its in-memory tracker store
and no action server (the starter bot's "hello" needs none).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import rasa
import requests

from assistant.core.config import PROJECT_DIR
from assistant.stack.process import ManagedProcess, http_ok
from tests.support.processes import free_port

PEER_DIR = PROJECT_DIR / ".cache" / "peer" / f"rasa-{rasa.__version__}"
RASA = [sys.executable, "-m", "rasa"]


def peer_project() -> Path:
    """The starter project with its trained model (made on first use, about a minute on two cores)."""
    if not list((PEER_DIR / "models").glob("*.tar.gz")):
        PEER_DIR.mkdir(parents=True, exist_ok=True)
        print(f"training the bare rasa init bot once, log in {PEER_DIR.parent / 'init.log'}", flush=True)
        with open(PEER_DIR.parent / "init.log", "wb") as log:  # training's progress bars, out of the figures
            subprocess.run(
                [*RASA, "init", "--no-prompt", "--init-dir", str(PEER_DIR)],
                cwd=PEER_DIR,
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=1800,
            )
    return PEER_DIR


class PeerBot:
    """``rasa run`` of the starter project; ``say`` is one REST turn."""

    def __init__(self, log_dir: Path) -> None:
        project = peer_project()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = ManagedProcess(
            "peer-rasa",
            [
                *RASA,
                "run",
                "--port",
                str(self.port),
                "-i",
                "127.0.0.1",
                "--model",
                str(project / "models"),
                # Its own files, not ours (this project's credentials name our channels).
                "--credentials",
                str(project / "credentials.yml"),
                "--endpoints",
                str(project / "endpoints.yml"),
            ],
            log_dir / "peer-rasa.log",
        )

    def start(self) -> PeerBot:
        self.process.start()
        self.process.wait_until_ready(lambda: http_ok(self.url + "/"), timeout=300)
        return self

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        response = requests.post(
            f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
        )
        response.raise_for_status()
        replies: list[dict[str, Any]] = response.json()
        return replies

    def stop(self) -> None:
        self.process.stop()
