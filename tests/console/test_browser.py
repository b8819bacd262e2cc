"""A supervisor in headless Chromium, against the running stack, after real conversations.

The conversations go through Rasa's REST channel of the real stack (trained
model, action server, backend); the console started by the same stack reads
them from Rasa's SQL tracker store.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from assistant.console.demo import DEMO_SUPERVISOR, demo_password
from assistant.core.passwords import hash_secret
from tests.support.browser import chromium
from tests.support.console import set_console_password

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.browser]

ADMIN_PASSWORD = "browser-admin-password"
VOICE = {"channel": "voice", "asr_confidence": 0.62, "language": "en", "input_mode": "command"}
# What a worker answers to each question of the encounter form.
ANSWERS = {
    "patient_id": "4521",
    "age": "34 years",
    "sex": "female",
    "complaint": "fever since two days",
    "vitals": "bp 140 over 90 temperature 101 pulse 88",
    "notes": "no notes",
    "confirmed": "yes",
}


def log_encounter(stack: Any, worker: str) -> int:
    """Hold a real encounter conversation, answering whatever the form asks; the saved encounter's id."""
    stack.say(worker, "log encounter", VOICE)
    for _ in range(12):
        asked = stack.tracker(worker)["slots"].get("requested_slot")
        if asked is None:
            break
        stack.say(worker, ANSWERS.get(asked, "yes"), VOICE)
    with stack.backend_db.connect() as connection:
        saved = connection.execute(
            text("SELECT id FROM encounters WHERE conversation_id = :w ORDER BY id DESC"), {"w": worker}
        ).scalar_one_or_none()
    assert saved is not None, f"the assistant did not save the encounter; tracker: {stack.tracker(worker)['slots']}"
    return saved


@pytest.fixture(scope="module")
def conversation(running_stack: Any) -> dict[str, Any]:
    worker = running_stack.new_worker(facility="hwc-ajari", name="Browser Test Worker")
    encounter_id = log_encounter(running_stack, worker)
    running_stack.say(worker, "thank you", {"channel": "voice", "asr_confidence": 0.91, "language": "en"})
    set_console_password(running_stack.backend_db_url, "A001", ADMIN_PASSWORD)
    return {"worker": worker, "encounter": encounter_id, "url": running_stack.supervisor.spec("console").url}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()  # Debian's Chromium, as every browser test drives it


@pytest.fixture()
def page(browser: Any, artifacts_dir: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    page.screenshot(path=str(artifacts_dir / f"console-{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(page: Any, url: str, user: str, password: str) -> None:
    page.goto(url + "/conversations")
    assert "/login" in page.url
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#sign-in")


def test_supervisor_reviews_a_real_conversation(
    page: Any, conversation: dict[str, Any], running_stack: Any, artifacts_dir: Path
) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    url, worker = conversation["url"], conversation["worker"]
    sign_in(page, url, DEMO_SUPERVISOR, demo_password(running_stack.settings))
    page.wait_for_selector("#conversation-list")
    assert DEMO_SUPERVISOR in page.inner_text("#signed-in-as")

    # Filter: this worker, voice, saved an encounter.
    page.select_option("#filter-worker", worker)
    page.select_option("#filter-channel", "voice")
    page.check("#filter-encounter")
    page.click("#apply-filters")
    rows = page.locator("#conversation-list tbody tr[data-conversation]")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-sender") == worker
    assert f"encounter #{conversation['encounter']}" in rows.first.inner_text()
    page.select_option("#filter-channel", "whatsapp")
    page.click("#apply-filters")
    assert page.locator("#conversation-list tbody tr[data-conversation]").count() == 0
    page.go_back()

    # The transcript: the worker's words, ASR confidence, intents, and the saved encounter.
    page.locator("#conversation-list tbody tr[data-conversation] a").first.click()
    page.wait_for_selector("#turns")
    conversation_id = int(re.search(r"/conversations/(\d+)", page.url).group(1))
    turns = page.inner_text("#turns")
    assert "log encounter" in turns and "ASR 62%" in turns
    assert "intent log_encounter" in turns
    assert page.locator("div.bot").count() >= 3  # the bot's replies, one or more per turn
    assert page.locator(f'a.encounter-link[href="/encounters/{conversation["encounter"]}"]').count() == 1

    # Flag the first turn, then export the flagged turns as NLU training data.
    first = page.locator("li.turn[data-event]").filter(has_text="log encounter").first
    first.locator("summary").click()
    first.locator("select[name=reason]").select_option("wrong_intent")
    first.locator("input[name=comment]").fill("browser test flag")
    first.locator("button[type=submit]").click()
    page.wait_for_selector("text=browser test flag")
    page.click("text=Flags")
    with page.expect_download() as download:
        page.click("#export-nlu")
    exported = Path(download.value.path()).read_text()
    (artifacts_dir / "console-flagged_nlu.yml").write_text(exported)
    examples = {
        (message.get("intent"), message.get("text")) for message in RasaYAMLReader().reads(exported).intent_examples
    }
    assert ("log_encounter", "log encounter") in examples

    # The saved encounter's record and FHIR export are one click away.
    page.goto(f"{url}/encounters/{conversation['encounter']}")
    assert "4521" in page.inner_text("#record")

    # The audit log, read by an admin, recorded all of it.
    page.click("text=Sign out")
    sign_in(page, url, "A001", ADMIN_PASSWORD)
    page.goto(f"{url}/audit?actor={DEMO_SUPERVISOR}")
    log = page.inner_text("#audit-log")
    assert f"view_conversation\tconversation {conversation_id}" in log or f"conversation {conversation_id}" in log
    assert "export_flags_nlu" in log and "view_encounter" in log and "127.0.0.1" in log


def test_worker_login_is_refused(page: Any, conversation: dict[str, Any], running_stack: Any) -> None:
    # Even a field worker who somehow holds a console password does not get in.
    worker = running_stack.new_worker(facility="hwc-ajari", name="Curious Worker")
    with running_stack.backend_db.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO console_passwords (worker_id, password_hash, updated_at) VALUES (:w, :h, "
                "CURRENT_TIMESTAMP)"
            ),
            {"w": worker, "h": hash_secret("worker-password-1")},
        )
    sign_in(page, conversation["url"], worker, "worker-password-1")
    assert "Only supervisors and admins" in page.inner_text("#login-error")
    page.goto(conversation["url"] + "/conversations")
    assert "/login" in page.url
