"""`assistant up`, the main job, as a newcomer runs it: one command, the whole assistant."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.processes import free_port, http_ok
from tests.support.stack import MODEL_CACHE, trained_model

pytestmark = pytest.mark.stack


def wait_for_line(log: Path, pattern: str, process: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        match = re.search(pattern, text)
        if match:
            return text
        if process.poll() is not None:
            raise AssertionError(f"assistant up exited with {process.returncode}:\n{text[-3000:]}")
        time.sleep(0.5)
    raise AssertionError(f"no {pattern!r} within {timeout:.0f}s:\n{log.read_text(errors='replace')[-3000:]}")


def pid_of(*words: str) -> int:
    """The process whose command line holds all of ``words``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if all(word in argv for word in words):
            return int(entry.name)
    raise AssertionError(f"no process running {' '.join(words)!r}")


def test_assistant_up_serves_restarts_and_stops_cleanly(tmp_path: Path) -> None:
    trained_model()  # shared with the other end-to-end tests; `up` must find it, not retrain
    ports = {name: free_port() for name in ("BACKEND", "ACTIONS", "RASA", "CONSOLE")}
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_MODEL_DIR": str(MODEL_CACHE),
        **{f"ASSISTANT_{name}_PORT": str(port) for name, port in ports.items()},
    }
    log = tmp_path / "up.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "up"], stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    backend = f"http://127.0.0.1:{ports['BACKEND']}"
    rasa = f"http://127.0.0.1:{ports['RASA']}"
    try:
        summary = wait_for_line(log, r"Press Ctrl-C to stop", process, timeout=300)
        assert "Training" not in summary  # the model's fingerprint matched
        for port in ports.values():
            assert f"127.0.0.1:{port}" in summary

        parse_url = re.search(r"(http://\S+/model/parse\?token=\S+)", summary).group(1)
        parsed = requests.post(parse_url, json={"text": "bacchon ke doctor se consult chahiye"}, timeout=60).json()
        assert parsed["intent"]["name"] == "request_consult"
        assert requests.post(f"{rasa}/model/parse", json={"text": "hi"}, timeout=30).status_code == 401  # the API needs the token

        replies = requests.post(f"{rasa}/webhooks/rest/webhook", json={"sender": "W001", "message": "hello"}, timeout=60).json()
        assert replies and replies[0].get("text")
        assert requests.get(f"{backend}/health", timeout=5).json() == {"status": "ok"}  # seeded and serving

        # A crashed service comes back by itself.
        os.kill(pid_of("serve", "backend", "--port", str(ports["BACKEND"])), signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not http_ok(f"{backend}/health"):
            time.sleep(0.5)
        assert http_ok(f"{backend}/health"), log.read_text()[-2000:]
        assert "backend stopped" in log.read_text()
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        process.wait(timeout=60)
    assert process.returncode == 0
    for port in ports.values():
        assert not http_ok(f"http://127.0.0.1:{port}/", timeout=1)


def test_assistant_up_refuses_a_taken_port_at_once(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("BACKEND", "ACTIONS", "RASA", "CONSOLE")}
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_MODEL_DIR": str(tmp_path / "no-model-yet"),  # would train for minutes if it went on
        **{f"ASSISTANT_{name}_PORT": str(port) for name, port in ports.items()},
    }
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", ports["RASA"]))
        other_program.listen()
        result = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "up"], capture_output=True, text=True, env=env, timeout=120
        )
    assert result.returncode != 0
    assert f"rasa port {ports['RASA']} on 127.0.0.1 already in use" in result.stderr + result.stdout
    assert not (tmp_path / "no-model-yet").exists() or not any((tmp_path / "no-model-yet").iterdir())
