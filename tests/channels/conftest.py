"""Workers registered for the chat channels on the session's running stack."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import text

from tests.support import whatsapp as wa
from tests.support.browser import PhonePage, chromium
from tests.support.fake_graph import FakeGraphApi
from tests.support.processes import assistant_cli
from tests.support.stack import RunningStack, start_stack
from tests.support.whatsapp import new_phone

WEB_PIN = "258014"
# The push stack's WhatsApp template and Twilio sender (tests/support/fake_graph.py plays both apps).
TWILIO_ACCOUNT = "AC" + "5" * 32
TWILIO_NUMBER = "+14155238886"
CONTENT_SID = "HX" + "7" * 32
TEMPLATE = "consult_update"


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


@pytest.fixture(scope="session")
def push_stack(tmp_path_factory: pytest.TempPathFactory, fake_graph: FakeGraphApi) -> Iterator[RunningStack]:
    """A second stack with an approved WhatsApp template and a Twilio sender, pushing hub notices every second."""
    fake_graph.allow_twilio(TWILIO_ACCOUNT, wa.TWILIO_AUTH_TOKEN)
    stack = start_stack(
        tmp_path_factory.mktemp("push-stack"),
        **{
            **wa.stack_settings(fake_graph.url),
            "twilio_account_sid": TWILIO_ACCOUNT,
            "twilio_api_url": fake_graph.url,
            "twilio_whatsapp_number": TWILIO_NUMBER,
            "twilio_notice_content_sid": CONTENT_SID,
            "whatsapp_notice_template": TEMPLATE,
            "whatsapp_notice_template_language": "hi",
            "hub_notice_push_seconds": 1.0,
        },
    )
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, one per test module (tests/support/browser.py)."""
    yield from chromium()


@pytest.fixture
def phone(browser: Browser, artifacts_dir: Path, request: pytest.FixtureRequest) -> Iterator[PhonePage]:
    """A fresh 360 px phone; its screenshots go to test-artifacts/webchat/<test>/."""
    phone = PhonePage(browser, artifacts_dir / "webchat" / request.node.name)
    yield phone
    phone.close()
