"""What the hub did to a consult reaches the worker once, in their conversation: web chat, REST and voice.

The running stack is real (backend on its database, ``rasa run``, the action
server); a notice is made as the hub desk makes it, a ``hub_notices`` row
next to its consult, and read by the channels through ``GET /notices``. The
web page is Debian's headless Chromium.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, Response, expect
from sqlalchemy import text
from sqlalchemy.orm import Session

from assistant.db.models import Consult, HubNotice
from assistant.db.types import utcnow
from tests.channels.conftest import ChannelWorker
from tests.support.browser import PhonePage
from tests.support.logs import logs_mentioning
from tests.support.stack import RunningStack

pytestmark = pytest.mark.stack

WAIT_SECONDS = 90.0


# --- notices, as the hub desk leaves them (shared with test_whatsapp_notices) ------------------------


def patient_ref() -> str:
    """A patient id no other test uses, to look for in transcripts and logs."""
    return str(700000 + secrets.randbelow(299999))


def notice_texts(patient: str) -> dict[str, str]:
    return {
        "en": f"One update: your cardiology consult for patient {patient} is on 3 Dec at 3:30 PM, with Dr. Rekha "
        "Panwar.",
        "hi": f"एक सूचना: मरीज़ {patient} के लिए आपका कार्डियोलॉजी कंसल्ट 3 दिसंबर को दोपहर 3:30 बजे है, डॉ. रेखा पंवार के साथ।",
    }


def new_notice(stack: RunningStack, worker_id: str, channel: str, patient: str) -> int:
    """A scheduled consult of ``worker_id``'s and its notice, written together as the hub's operations do."""
    texts = notice_texts(patient)
    with Session(stack.backend_db) as session, session.begin():
        consult = Consult(
            patient_ref=patient,
            specialty="cardiology",
            urgency="urgent",
            status="scheduled",
            requested_by=worker_id,
            facility_id="hwc-ajari",
            channel=channel,
            conversation_id=worker_id,
        )
        session.add(consult)
        session.flush()
        notice = HubNotice(
            consult_id=consult.id,
            worker_id=worker_id,
            event="scheduled",
            channel=channel,
            text_en=texts["en"],
            text_hi=texts["hi"],
            created_at=utcnow(),
        )
        session.add(notice)
        session.flush()
        return int(notice.id)


def delivery_of(stack: RunningStack, notice_id: int) -> tuple[Any, str | None]:
    """(delivered_at, delivered_via) of a notice at the backend."""
    with stack.backend_db.connect() as connection:
        row = connection.execute(
            text("SELECT delivered_at, delivered_via FROM hub_notices WHERE id = :id"), {"id": notice_id}
        ).one()
    return row[0], row[1]


def forget_delivery(stack: RunningStack, notice_id: int) -> None:
    """As if the channel had told the notice and then lost the answer to its delivered mark."""
    with stack.backend_db.begin() as connection:
        connection.execute(
            text("UPDATE hub_notices SET delivered_at = NULL, delivered_via = NULL WHERE id = :id"), {"id": notice_id}
        )


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"still waiting for {what}")


def wait_delivered(stack: RunningStack, notice_id: int) -> str | None:
    """The channel the notice was marked delivered through, once it is."""
    return wait_until(lambda: delivery_of(stack, notice_id)[0] and delivery_of(stack, notice_id)[1], "the mark")


def told_in_tracker(stack: RunningStack, worker_id: str, notice_id: int) -> list[dict[str, Any]]:
    """The bot events of the conversation (every session) that tell the notice."""
    response = requests.get(
        f"{stack.rasa_url}/conversations/{worker_id}/tracker",
        params={"token": stack.rasa_token, "include_events": "ALL"},
        timeout=30,
    )
    response.raise_for_status()
    return [
        event
        for event in response.json()["events"]
        if event["event"] == "bot"
        and ((event.get("data") or {}).get("custom") or {}).get("hub_notice", {}).get("id") == notice_id
    ]


def assert_no_patient_in_logs(stack: RunningStack, patient: str) -> None:
    assert logs_mentioning(stack.settings.data_dir / "logs", [patient]) == []


# --- REST and voice --------------------------------------------------------------------------


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [message.get("text") or "" for message in messages]


@pytest.mark.parametrize("channel", ["rest", "voice"])
def test_a_rest_or_voice_turn_starts_with_the_pending_notice_once(running_stack: RunningStack, channel: str) -> None:
    worker_id, patient = running_stack.new_worker(), patient_ref()
    running_stack.say(worker_id, "help", {"channel": channel})
    notice_id = new_notice(running_stack, worker_id, channel, patient)

    first = running_stack.say(worker_id, "help", {"channel": channel})
    assert first[0]["text"] == notice_texts(patient)["en"]
    about = first[0]["custom"]["hub_notice"]
    assert (about["id"], about["event"]) == (notice_id, "scheduled") and isinstance(about["consult_id"], int)
    assert len(first) > 1  # and then the turn's own answer
    assert wait_delivered(running_stack, notice_id) == channel

    again = running_stack.say(worker_id, "help", {"channel": channel})
    assert not any(patient in said for said in _texts(again))
    assert len(told_in_tracker(running_stack, worker_id, notice_id)) == 1
    assert_no_patient_in_logs(running_stack, patient)


def test_a_notice_on_record_but_not_marked_is_marked_without_telling_it_again(running_stack: RunningStack) -> None:
    worker_id, patient = running_stack.new_worker(), patient_ref()
    notice_id = new_notice(running_stack, worker_id, "rest", patient)
    assert running_stack.say(worker_id, "help")[0]["text"] == notice_texts(patient)["en"]
    wait_delivered(running_stack, notice_id)

    forget_delivery(running_stack, notice_id)  # the mark was lost: the backend has it pending again
    reply = running_stack.say(worker_id, "help")
    assert not any(patient in said for said in _texts(reply))
    assert wait_delivered(running_stack, notice_id) == "rest"
    assert len(told_in_tracker(running_stack, worker_id, notice_id)) == 1


def test_a_notice_is_told_in_the_workers_language(running_stack: RunningStack) -> None:
    worker_id, patient = running_stack.new_worker(), patient_ref()
    running_stack.say(worker_id, "मदद चाहिए", {"channel": "voice", "language": "hi"})
    assert running_stack.tracker(worker_id)["slots"]["language"] == "hi"
    notice_id = new_notice(running_stack, worker_id, "voice", patient)
    reply = running_stack.say(worker_id, "मदद चाहिए", {"channel": "voice", "language": "hi"})
    assert reply[0]["text"] == notice_texts(patient)["hi"]
    assert wait_delivered(running_stack, notice_id) == "voice"


# --- web chat: the HTTP side ------------------------------------------------------------------------


def _web(stack: RunningStack) -> str:
    return f"{stack.rasa_url}/webhooks/web"


def _sign_in(stack: RunningStack, worker: ChannelWorker) -> dict[str, str]:
    response = requests.post(f"{_web(stack)}/login", json={"worker_id": worker.id, "pin": worker.pin}, timeout=30)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _updates(stack: RunningStack, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = requests.get(f"{_web(stack)}/updates", headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def test_the_poll_needs_a_session(running_stack: RunningStack) -> None:
    assert requests.get(f"{_web(running_stack)}/updates", timeout=30).status_code == 401
    forged = {"Authorization": "Bearer not-a-session"}
    assert requests.get(f"{_web(running_stack)}/updates", headers=forged, timeout=30).status_code == 401


def test_the_poll_takes_the_workers_notices_of_every_channel_once_and_a_web_turn_any_pending_one(
    running_stack: RunningStack, worker: ChannelWorker
) -> None:
    headers = _sign_in(running_stack, worker)
    patients = {channel: patient_ref() for channel in ("voice", "web")}
    asked = {channel: new_notice(running_stack, worker.id, channel, patient) for channel, patient in patients.items()}

    polled = _updates(running_stack, headers)  # the headset's news too: the open page is where the worker looks
    assert {m["custom"]["hub_notice"]["id"]: m["text"] for m in polled} == {
        asked[channel]: notice_texts(patient)["en"] for channel, patient in patients.items()
    }
    assert [wait_delivered(running_stack, notice) for notice in asked.values()] == ["web", "web"]
    assert _updates(running_stack, headers) == []

    from_rest = new_notice(running_stack, worker.id, "rest", patient_ref())
    turn = {"message": "help", "message_id": uuid.uuid4().hex}
    reply = requests.post(f"{_web(running_stack)}/webhook", json=turn, headers=headers, timeout=120).json()["messages"]
    assert reply[0]["custom"]["hub_notice"]["id"] == from_rest and len(reply) > 1
    assert wait_delivered(running_stack, from_rest) == "web"
    assert _updates(running_stack, headers) == []
    history = requests.get(f"{_web(running_stack)}/history", headers=headers, timeout=30).json()["messages"]
    told = [m["custom"]["hub_notice"]["id"] for m in history if "hub_notice" in (m.get("custom") or {})]
    assert sorted(told[:2]) == sorted(asked.values()) and told[2:] == [from_rest]  # each told once


# --- web chat: the page ------------------------------------------------------------------------------


def _signed_in_page(phone: PhonePage, stack: RunningStack, worker: ChannelWorker) -> Page:
    page = phone.page
    page.goto(f"{stack.rasa_url}/webhooks/web/")
    page.get_by_label("Worker id").fill(worker.id)
    page.get_by_label("PIN").fill(worker.pin)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("log")).to_be_visible()
    return page


def _tells(answer: Response, notice_id: int) -> bool:
    answer.finished()
    messages = answer.json().get("messages") if answer.ok else []
    return any(message["custom"]["hub_notice"]["id"] == notice_id for message in messages)


def _wait_on_page(page: Page, condition: Callable[[], bool], what: str) -> None:
    """Like ``wait_until``, letting Playwright deliver the page's events meanwhile."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        page.wait_for_timeout(250)


@pytest.mark.slow
@pytest.mark.browser
def test_a_notice_reaches_the_open_page_without_a_reload_once_and_survives_a_reload(
    phone: PhonePage, running_stack: RunningStack, worker: ChannelWorker
) -> None:
    page = _signed_in_page(phone, running_stack, worker)
    page.get_by_role("textbox", name="Message").fill("I need to request a consult")
    page.get_by_role("textbox", name="Message").press("Enter")
    choices = page.get_by_role("group", name="Choices")
    expect(choices.get_by_role("button")).to_have_count(12)  # the specialist question stays open
    patient = patient_ref()
    notice_id = new_notice(running_stack, worker.id, "web", patient)

    notice = page.locator(".msg.bot.notice")
    expect(notice).to_have_text(notice_texts(patient)["en"], timeout=30_000)  # the page polls every 10 s
    expect(choices.get_by_role("button")).to_have_count(12)  # news does not close the question
    phone.screenshot("notice")
    assert wait_delivered(running_stack, notice_id) == "web"

    # The mark is lost: the next poll brings the notice to the page again, and the page draws it once.
    polls: list[Response] = []
    page.on("response", lambda answer: polls.append(answer) if answer.url.endswith("/updates") else None)
    forget_delivery(running_stack, notice_id)
    _wait_on_page(page, lambda: any(_tells(answer, notice_id) for answer in polls), "the notice polled again")
    page.evaluate("() => new Promise(done => setTimeout(done, 0))")  # the page has handled that answer
    expect(notice).to_have_count(1)
    assert wait_delivered(running_stack, notice_id) == "web"

    page.evaluate("sessionStorage.removeItem('fa.log')")  # what the reloaded page shows comes from /history
    page.reload()
    expect(page.get_by_role("log")).to_be_visible()
    expect(page.locator(".msg.bot", has_text=patient)).to_have_count(1)
    expect(notice).to_have_count(1)
    phone.screenshot("after-reload")
    assert len(told_in_tracker(running_stack, worker.id, notice_id)) == 1
    assert phone.console_errors == []
    assert_no_patient_in_logs(running_stack, patient)
