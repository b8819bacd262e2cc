"""The consult loop closed, end to end: a worker's request, the hub desk, the notice, the specialist's advice.

Everything is real: ``rasa run`` with the trained model, the action server,
the backend on SQLite, the console, the web chat and the console in headless
Chromium, and the REST channel. Screenshots are kept in
test-artifacts/hub-story/.

1. A worker's urgent consult finds no slot (every obstetrics slot of the
   next day is taken) and is queued for the hub.
2. The demo coordinator signs in, sees it first in the queue and assigns it.
3. The worker's open web chat shows the notice without a reload.
4. The specialist signs in, sees it in their day list with the patient's
   latest vitals, and completes it with advice.
5. The worker asks "consult status" by REST and hears the advice, as the
   specialist's words.

The same story with a WhatsApp worker is in test_hub_story_whatsapp.py.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import random
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text

from assistant.console.demo import DEMO_COORDINATOR, demo_password
from tests.channels.conftest import ChannelWorker
from tests.support.browser import PhonePage
from tests.support.console import set_console_password
from tests.support.stack import RunningStack

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.browser]

SPECIALTY = "obstetrics_gynecology"  # no other test of the session books it
SPECIALIST_PASSWORD = "story-specialist-password-1"
ADVICE = "Start iron and folic acid daily; refer to the district hospital if bleeding starts."
FOLLOW_UP = "Review at the HWC in one week"
NOTICE_WAIT_MS = 30_000  # the promise: within 30 seconds, without a reload


@pytest.fixture
def shots(artifacts_dir: Path) -> Path:
    path = artifacts_dir / "hub-story"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _console_url(stack: RunningStack) -> str:
    return f"http://127.0.0.1:{stack.settings.console_port}"


def take_every_slot_of_the_next_day(stack: RunningStack) -> None:
    """Busy diaries: every free obstetrics slot of the next 26 hours is held by a filler consult."""
    until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=26)).replace(tzinfo=None)
    with stack.backend_db.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO consults (patient_ref, specialty, urgency, status, requested_by, facility_id, slot_id, "
                "specialist_id, scheduled_for, hub_queue, channel, created_at, updated_at) "
                "SELECT 'FILLER', sp.specialty, 'routine', 'scheduled', 'W003', 'chc-pindwara', s.id, s.specialist_id, "
                "s.starts_at, 0, 'api', s.starts_at, s.starts_at FROM slots s JOIN specialists sp "
                "ON sp.id = s.specialist_id WHERE sp.specialty = :specialty AND s.starts_at < :until "
                "AND NOT EXISTS (SELECT 1 FROM consults c WHERE c.slot_id = s.id "
                "AND c.status IN ('scheduled', 'completed', 'no_show'))"
            ),
            {"specialty": SPECIALTY, "until": until},
        )


def _worker_token(stack: RunningStack, worker: ChannelWorker) -> str:
    """The worker's own token (made with asyncio.run, so not on the thread Playwright's loop runs on)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(stack.worker_token, worker.id).result()


def _record_a_visit(stack: RunningStack, worker: ChannelWorker, patient: str) -> None:
    """The patient's visit earlier that day, saved by the worker (their own token, the backend's API)."""
    response = requests.post(
        f"{stack.backend_url}/encounters",
        json={
            "patient_ref": patient,
            "age": 26,
            "sex": "female",
            "complaint": "tiredness in pregnancy",
            "vitals": {"systolic_bp": 146, "diastolic_bp": 94, "pulse": 104},
        },
        headers={"Authorization": f"Bearer {_worker_token(stack, worker)}", "Idempotency-Key": f"visit-{patient}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text


def _chat(page: Page, message: str) -> str:
    page.get_by_role("textbox", name="Message").fill(message)
    page.get_by_role("textbox", name="Message").press("Enter")
    expect(page.locator(".msg.pending")).to_have_count(0)
    return page.locator(".msg.bot").last.inner_text()


def _tap(page: Page, title: str) -> str:
    page.get_by_role("group", name="Choices").get_by_role("button", name=title, exact=True).click()
    expect(page.locator(".msg.pending")).to_have_count(0)
    return page.locator(".msg.bot").last.inner_text()


def _console_sign_in(page: Page, url: str, user: str, password: str) -> None:
    page.goto(url + "/")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/hub"))


def _consult_of(stack: RunningStack, worker: ChannelWorker, patient: str) -> dict[str, object]:
    with stack.backend_db.connect() as connection:
        row = connection.execute(
            text(
                "SELECT id, status, hub_queue, urgency, channel, slot_id, specialist_id, scheduled_for, "
                "specialist_advice FROM consults WHERE requested_by = :worker AND patient_ref = :patient"
            ),
            {"worker": worker.id, "patient": patient},
        ).one()
    return dict(row._mapping)


def specialist_login(stack: RunningStack, specialist_id: int) -> str:
    with stack.backend_db.connect() as connection:
        login = connection.execute(
            text("SELECT id FROM workers WHERE role = 'specialist' AND specialist_id = :id"), {"id": specialist_id}
        ).scalar_one()
    set_console_password(stack.backend_db_url, login, SPECIALIST_PASSWORD)
    return str(login)


def _local_day(moment: object, stack: RunningStack) -> str:
    value = moment if isinstance(moment, dt.datetime) else dt.datetime.fromisoformat(str(moment))
    return value.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(stack.settings.timezone)).date().isoformat()


def test_a_queued_consult_is_assigned_notified_completed_and_its_advice_heard(
    browser: Browser, running_stack: RunningStack, worker: ChannelWorker, shots: Path
) -> None:
    stack, patient = running_stack, str(random.randint(600_000, 699_999))
    take_every_slot_of_the_next_day(stack)
    _record_a_visit(stack, worker, patient)

    # 1. The worker asks on the clinic phone's web chat; nothing is free within a day: queued for the hub.
    phone = PhonePage(browser, shots / "phone")
    chat = phone.page
    chat.goto(f"{stack.rasa_url}/webhooks/web/")
    chat.get_by_label("Worker id").fill(worker.id)
    chat.get_by_label("PIN").fill(worker.pin)
    chat.get_by_role("button", name="Sign in").click()
    expect(chat.get_by_role("log")).to_be_visible()
    _chat(chat, "I need to request a consult")
    assert "urgent" in _tap(chat, "obstetrics and gynecology").lower()
    assert "patient" in _tap(chat, "urgent").lower()
    _chat(chat, f"patient {patient}")
    readback = _chat(chat, "tired and breathless since a week")
    assert patient in readback
    _tap(chat, "Yes")
    phone.screenshot("queued")
    consult = _consult_of(stack, worker, patient)
    assert (consult["status"], consult["hub_queue"], consult["channel"]) == ("requested", True, "web")

    # 2. The coordinator signs in with the demo login `assistant up` prints, and assigns it from the queue.
    desk_context = browser.new_context()
    desk_context.set_default_timeout(60_000)
    desk = desk_context.new_page()
    _console_sign_in(desk, _console_url(stack), DEMO_COORDINATOR, demo_password(stack.settings, DEMO_COORDINATOR))
    first = desk.locator("#queue-list tr.queued").first
    assert first.get_attribute("data-consult") == str(consult["id"])  # urgent and waiting: first in the queue
    first.locator(".assign-dialog summary").click()
    slot = first.locator("select[name=slot_id]")
    slot_id = slot.locator("option").first.get_attribute("value")
    slot.select_option(slot_id)
    first.locator(".assign-form button[type=submit]").click()
    expect(desk.locator("#hub-done")).to_be_visible()
    desk.screenshot(path=str(shots / "assigned.png"), full_page=True)
    consult = _consult_of(stack, worker, patient)
    assert consult["status"] == "scheduled" and str(consult["slot_id"]) == slot_id

    # 3. The worker's open page shows the notice, without a reload; and once.
    notice = chat.locator(".msg.bot.notice", has_text=f"patient {patient}")
    expect(notice).to_have_count(1, timeout=NOTICE_WAIT_MS)
    assert "One update" in notice.inner_text()
    phone.screenshot("notified")
    chat.reload()
    expect(chat.get_by_role("log")).to_be_visible()
    expect(chat.locator(".msg.bot.notice", has_text=f"patient {patient}")).to_have_count(1)
    phone.close()

    # 4. The specialist signs in, finds it in the day list with the latest vitals, and completes it.
    specialist = browser.new_context().new_page()
    specialist.set_default_timeout(60_000)
    login = specialist_login(stack, int(str(consult["specialist_id"])))
    _console_sign_in(specialist, _console_url(stack), login, SPECIALIST_PASSWORD)
    specialist.fill("#day", _local_day(consult["scheduled_for"], stack))
    specialist.click("#show-day")
    item = specialist.locator(f"li.booked[data-consult='{consult['id']}']")
    expect(item).to_be_visible()
    assert "146/94" in item.locator(".vitals").inner_text()
    assert item.locator("a.call-link").get_attribute("href", timeout=5_000).startswith("https://teams.microsoft.com/")
    item.locator(".complete-dialog summary").click()
    item.locator("textarea[name=advice]").fill(ADVICE)
    item.locator("input[name=follow_up]").fill(FOLLOW_UP)
    item.locator(".complete-form button[type=submit]").click()
    expect(specialist.locator("#hub-done")).to_be_visible()
    specialist.screenshot(path=str(shots / "completed.png"), full_page=True)
    assert _consult_of(stack, worker, patient)["specialist_advice"] == ADVICE

    # 5. By REST (as the voice loop does), "consult status" relays the advice as the specialist's words.
    _worker_token(stack, worker)  # kept by the stack for its REST turns
    replies = stack.say(worker.id, "consult status")
    advice = [reply for reply in replies if ADVICE in (reply.get("text") or "")]
    assert len(advice) == 1, replies
    assert "in the specialist's own words" in advice[0]["text"] and FOLLOW_UP in advice[0]["text"]
    desk_context.close()
