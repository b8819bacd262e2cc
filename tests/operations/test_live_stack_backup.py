"""A backup of the running assistant, taken while a worker chats and books, restored onto another machine's data dir.

The session's shared stack is backed up by ``take_backup`` (what ``assistant
backup`` and the daily service run) while a worker's turns go through Rasa and
their consults through the backend. The archive is restored into an empty data
dir, and the console and the backend are served from it on ports of their own:
every turn answered and every consult booked before the backup began is there,
and the worker's conversation reads in the console.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from assistant.core.config import Settings
from assistant.operations.backup import take_backup
from assistant.operations.backup_key import read_key
from assistant.operations.restore import restore
from tests.support.backend import serve_backend
from tests.support.console import ConsoleClient, ConsoleServer, set_console_password
from tests.support.stack import RunningStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SUPERVISOR_PASSWORD = "backup-supervisor-1"


class BusyWorker:
    """A worker chatting and booking consults on a thread, noting what was answered when."""

    def __init__(self, stack: RunningStack) -> None:
        self.stack, self.id = stack, stack.new_worker()
        self.turns: list[tuple[float, str]] = []  # (answered at, what the worker said)
        self.consults: list[tuple[float, int]] = []  # (answered at, consult id)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="busy-worker", daemon=True)

    def start(self) -> BusyWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def _work(self) -> None:
        token = self.stack.worker_token(self.id)
        for count in range(1, 200):
            if self._stop.is_set():
                return
            said = f"hello {count}"
            self.stack.say(self.id, said)
            self.turns.append((time.monotonic(), said))
            booked = requests.post(
                f"{self.stack.backend_url}/consults",
                json={"patient_ref": f"77{count:04d}", "specialty": "cardiology", "reason": "chest pain on exertion"},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                timeout=30,
            )
            assert booked.status_code in (200, 201), booked.text
            self.consults.append((time.monotonic(), int(booked.json()["id"])))

    def wait_for(self, turns: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.turns) < turns and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.2)
        assert len(self.turns) >= turns, "the worker's turns did not go through"


def _restored_settings(stack: RunningStack, data_dir: Path) -> Settings:
    """This machine's settings on the new data dir: its databases are the SQLite files restored into it."""
    return dataclasses.replace(stack.settings, data_dir=data_dir, db_url="", tracker_db_url="", channels_db_url="")


def test_a_backup_taken_while_a_worker_chats_and_books_restores_their_turns_consults_and_conversation(
    running_stack: RunningStack, tmp_path: Path
) -> None:
    stack = running_stack
    supervisor = stack.new_worker(role="supervisor", name="Backup supervisor")
    set_console_password(stack.backend_db_url, supervisor, SUPERVISOR_PASSWORD)
    worker = BusyWorker(stack).start()
    try:
        worker.wait_for(turns=3)
        began = time.monotonic()
        archive = take_backup(stack.settings, to=tmp_path / "backups", announce=lambda _: None)
        ended = time.monotonic()
        worker.wait_for(turns=len(worker.turns) + 2)  # the worker went on while the backup ran
    finally:
        worker.stop()
    promised_turns = [said for at, said in worker.turns if at < began]
    promised_consults = {consult for at, consult in worker.consults if at < began}
    assert any(at > ended for at, _ in worker.turns)

    target = _restored_settings(stack, tmp_path / "new-machine" / "data")
    restore(archive, read_key(stack.settings.backup_key_path), target, settings_target=tmp_path / "assistant.toml")

    backend = serve_backend(target.database_url)
    try:
        listed = requests.get(
            f"{backend.url}/consults",
            params={"limit": "200"},
            headers={"Authorization": f"Bearer {stack.worker_token(worker.id)}"},
            timeout=30,
        )
    finally:
        backend.stop()
    assert listed.status_code == 200, listed.text
    assert promised_consults <= {item["id"] for item in listed.json()["items"]}

    console = ConsoleServer(target, target.database_url, target.tracker_database_url).start()
    try:
        client = ConsoleClient(console.url)
        assert client.login(supervisor, SUPERVISOR_PASSWORD).status_code == 303
        listing = client.get("/conversations", params={"worker": worker.id})
        assert listing.status_code == 200, listing.text
        links = sorted(set(re.findall(r'href="(/conversations/\d+)"', listing.text)))
        assert links, listing.text
        pages = " ".join(client.get(link).text for link in links)  # the worker's sessions
    finally:
        console.stop()
    for said in promised_turns:
        assert f"{said}<" in pages, said  # "hello 1" and not "hello 12"
