"""Workers registered for the chat channels on the session's running stack."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import text

from tests.support.processes import assistant_cli
from tests.support.stack import RunningStack
from tests.support.whatsapp import new_phone

WEB_PIN = "258014"


@dataclass(frozen=True)
class ChannelWorker:
    id: str
    phone: str
    pin: str


@pytest.fixture
def worker(running_stack: RunningStack) -> ChannelWorker:
    """A fresh field worker with a WhatsApp number and a web-chat PIN (issued by the real CLI)."""
    worker_id, phone = running_stack.new_worker(), new_phone()
    with running_stack.backend_db.begin() as connection:
        connection.execute(
            text("UPDATE workers SET phone = :phone WHERE id = :id"), {"phone": "+" + phone, "id": worker_id}
        )
    assistant_cli("worker", "pin", worker_id, "--pin", WEB_PIN, "--db", running_stack.backend_db_url)
    return ChannelWorker(worker_id, phone, WEB_PIN)
