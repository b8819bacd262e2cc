"""`assistant up`, the main job, as a newcomer runs it: one command, the whole assistant."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from assistant.core.config import PROJECT_DIR
from tests.support.processes import UP_COMMAND, free_port, http_ok, launch_up, up_env, wait_for_line
from tests.support.stack import MODEL_CACHE, trained_model
from tests.support.standin_up import READY


def processes() -> Iterator[tuple[int, list[str]]]:
    """Every running process's pid and command line."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            yield int(entry.name), (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue


def pid_of(*words: str) -> int:
    """The process whose command line holds all of ``words``."""
    for pid, argv in processes():
        if all(word in argv for word in words):
            return pid
    raise AssertionError(f"no process running {' '.join(words)!r}")


@pytest.mark.stack
def test_assistant_up_serves_restarts_and_stops_cleanly(tmp_path: Path) -> None:
    trained_model()  # shared with the other end-to-end tests; `up` must find it, not retrain
    env, ports = up_env(tmp_path / "data", MODEL_CACHE)
    log = tmp_path / "up.log"
    process = launch_up(env, log)
    backend = f"http://127.0.0.1:{ports['BACKEND']}"
    rasa = f"http://127.0.0.1:{ports['RASA']}"
    try:
        summary = wait_for_line(log, r"Press Ctrl-C to stop", process, timeout=300)
        assert "Training" not in summary  # the model's fingerprint matched
        for port in ports.values():
            assert f"127.0.0.1:{port}" in summary

        assert "/model/parse?token=..." in summary  # where the API is, never the token itself
        api_token = (tmp_path / "data" / "secrets" / "rasa_token").read_text().strip()
        parsed = requests.post(
            f"{rasa}/model/parse",
            params={"token": api_token},
            json={"text": "bacchon ke doctor se consult chahiye"},
            timeout=60,
        ).json()
        assert parsed["intent"]["name"] == "request_consult"
        assert (
            requests.post(f"{rasa}/model/parse", json={"text": "hi"}, timeout=30).status_code == 401
        )  # the API needs the token

        worker_token = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "token", "create", "--role", "worker", "--worker", "W001"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        replies = requests.post(
            f"{rasa}/webhooks/rest/webhook",
            json={"message": "hello"},
            headers={"Authorization": f"Bearer {worker_token}"},
            timeout=60,
        ).json()
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
    env, ports = up_env(tmp_path / "data", tmp_path / "no-model-yet")  # would train for minutes if it went on
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", ports["RASA"]))
        other_program.listen()
        result = subprocess.run(UP_COMMAND, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode != 0
    assert f"rasa port 127.0.0.1:{ports['RASA']} already in use" in result.stderr + result.stdout
    assert not (tmp_path / "no-model-yet").exists() or not any((tmp_path / "no-model-yet").iterdir())


# --- every way of stopping `assistant up` ends every service ----------------------------------
# The ways differ only in what reaches `assistant up` (a signal, a closed pipe, nothing at all when
# it is killed); what it then does is `run_in_foreground` and the supervisor, run by
# tests/support/standin_up.py with stand-in services. The real stack is stopped with Ctrl-C above.

STOP_WAYS = ("ctrl-c with tee", "SIGTERM", "SIGHUP", "closed output pipe", "SIGKILL")
STANDINS = 4  # as many services as the real stack: backend, actions, rasa, console


def _services_of(ports: list[int]) -> list[int]:
    """Pids of processes serving any of ``ports`` (each service has its port on its command line)."""
    return [pid for pid, argv in processes() if any(str(port) in argv for port in ports)]


def _wait_until_all_gone(ports: list[int], timeout: float = 30.0) -> list[int]:
    from assistant.stack.process import port_free

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(port_free("127.0.0.1", port) for port in ports) and not _services_of(ports):
            return []
        time.sleep(0.2)
    return _services_of(ports)


@pytest.mark.parametrize("way", STOP_WAYS)
def test_every_way_of_stopping_ends_every_service(tmp_path: Path, way: str) -> None:
    ports = [free_port() for _ in range(STANDINS)]
    log = tmp_path / "up.log"
    command = [sys.executable, "-m", "tests.support.standin_up", str(tmp_path / "logs")]
    env = {**os.environ, "STANDIN_PORTS": ",".join(map(str, ports))}
    options: dict[str, Any] = {"cwd": PROJECT_DIR, "env": env, "start_new_session": True}
    if way == "ctrl-c with tee":
        # As typed in a terminal: Ctrl-C reaches the whole pipeline, so tee dies too.
        process = subprocess.Popen(
            ["bash", "-c", f"{shlex.join(command)} 2>&1 | tee {log}"], stdout=subprocess.DEVNULL, **options
        )
    elif way == "closed output pipe":
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **options)
    else:
        with log.open("wb") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **options)
    try:
        if way == "closed output pipe":
            assert process.stdout is not None
            seen = b""
            deadline = time.monotonic() + 60
            while READY.encode() not in seen and time.monotonic() < deadline and process.poll() is None:
                seen += process.stdout.readline()
            assert READY.encode() in seen, seen.decode(errors="replace")[-2000:]
            assert len(_services_of(ports)) == STANDINS
            process.stdout.close()  # the reader goes away; assistant up is not told otherwise
        else:
            wait_for_line(log, READY, process, timeout=60)
            assert len(_services_of(ports)) == STANDINS
            if way == "ctrl-c with tee":
                os.killpg(process.pid, signal.SIGINT)
            else:
                process.send_signal(getattr(signal, way))
        process.wait(timeout=60)
        left = _wait_until_all_gone(ports)
        assert left == [], f"{way}: still running {left}"
        if way in ("SIGTERM", "SIGHUP"):
            assert "Stopping..." in log.read_text() and "Stopped." in log.read_text()
    finally:
        for pid in _services_of(ports):  # never leave a service behind for the next test
            os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
