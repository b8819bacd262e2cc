"""The Hub desk in headless Chromium: a coordinator assigns the urgent consult, the specialist completes it.

The same real console and database as tests/console/test_hub_desk.py,
driven as people use it: sign in, open the assign dialog, pick a slot;
then the specialist's day list, the patient's latest vitals, the call
link, the advice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.console.conftest import PASSWORD, console_over
from tests.console.test_hub_desk import COORDINATOR, SPECIALIST, UDAIPUR_COORDINATOR, HubWorld, build_hub_world
from tests.support.browser import chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator[tuple[HubWorld, str]]:
    hub = build_hub_world(tmp_path_factory.mktemp("hub-browser"))
    # The emergency is dealt with elsewhere, so the queue opens with the WhatsApp consult: urgent, and the oldest.
    with hub.world.backend.begin() as connection:
        connection.execute(
            text("UPDATE consults SET status = 'cancelled' WHERE id = :id"), {"id": hub.consults["emergency"]}
        )
    with console_over(hub.world, artifacts_dir) as (_, console):
        yield hub, console.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


@pytest.fixture()
def open_page(browser: Any, artifacts_dir: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context per person (their own cookies), each screenshotted at the end."""
    contexts = []

    def new_page() -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    yield new_page
    for number, context in enumerate(contexts):
        for page in context.pages:
            page.screenshot(path=str(artifacts_dir / f"hub-desk-{request.node.name}-{number}.png"), full_page=True)
        context.close()


def sign_in(page: Any, url: str, user: str) -> None:
    page.goto(url + "/")
    assert "/login" in page.url
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r"/hub"))


def test_the_urgent_consult_is_assigned_and_completed_through_the_desk(
    desk: tuple[HubWorld, str], open_page: Any
) -> None:
    hub, url = desk
    consult = hub.consults["whatsapp"]
    slot = hub.take_slot(SPECIALIST)

    # The coordinator: the urgent consult heads the queue; assign it to the specialist's first slot tomorrow.
    coordinator = open_page()
    sign_in(coordinator, url, COORDINATOR)
    first = coordinator.locator("#queue-list tr.queued").first
    assert first.get_attribute("data-consult") == str(consult)
    assert first.get_attribute("data-urgency") == "urgent"
    assert "patient 4521" in first.inner_text()
    assert re.search(r"waiting [23] h( \d+ min)?", first.inner_text())  # asked about three hours ago
    first.locator(".assign-dialog summary").click()
    choice = first.locator("select[name=slot_id]")
    assert choice.is_visible()
    choice.select_option(str(slot))
    first.locator(".assign-form button[type=submit]").click()
    coordinator.wait_for_selector("#hub-done")
    assert f"Consult {consult} is scheduled" in coordinator.inner_text("#hub-done")
    assert coordinator.locator(f"#queue-list tr[data-consult='{consult}']").count() == 0
    booked = coordinator.locator(f"li.booked[data-consult='{consult}']")
    assert booked.get_attribute("data-status") == "scheduled"
    assert "07:10" in booked.inner_text()

    # The specialist: today's list by default; the date picker brings tomorrow's, with this patient on it.
    specialist = open_page()
    sign_in(specialist, url, SPECIALIST)
    assert specialist.locator("#queue").count() == 0  # no queue for a specialist
    specialist.fill("#day", hub.day.isoformat())
    specialist.click("#show-day")
    item = specialist.locator(f"li.booked[data-consult='{consult}']")
    item.wait_for()
    context = item.inner_text()
    assert "4521" in context and "BP 152/96 mmHg" in context and "temperature 38.9 °C" in context
    assert "Meena Kumari" in context  # who asked, and from where
    call = item.locator("a.call-link")
    assert call.get_attribute("href").startswith("https://teams.microsoft.com/")
    assert call.get_attribute("target") == "_blank" and "noopener" in call.get_attribute("rel")

    # The worker's own words, one click away, then back to complete the consult with advice.
    item.locator("a.conversation-link").click()
    specialist.wait_for_selector("#turns")
    assert "chest pain" in specialist.inner_text("#turns")
    specialist.go_back()
    item = specialist.locator(f"li.booked[data-consult='{consult}']")
    item.locator(".complete-dialog summary").click()
    item.locator("textarea[name=advice]").fill("Give aspirin 300 mg now and refer to the district hospital for ECG.")
    item.locator("input[name=follow_up]").fill("Review in 2 days")
    item.locator(".complete-form button[type=submit]").click()
    specialist.wait_for_selector("#hub-done")
    assert f"Consult {consult} is completed" in specialist.inner_text("#hub-done")
    assert specialist.locator(f"li.booked[data-consult='{consult}']").get_attribute("data-status") == "completed"

    stored = hub.consult("whatsapp")
    assert (stored.status, stored.specialist_advice, stored.follow_up, stored.closed_by) == (
        "completed",
        "Give aspirin 300 mg now and refer to the district hospital for ECG.",
        "Review in 2 days",
        SPECIALIST,
    )
    assert hub.notices("whatsapp") == ["scheduled", "completed"]
    assert coordinator.context.pages and specialist.context.pages  # both people's screens are kept as artefacts


def test_a_consult_no_specialist_at_its_hub_can_see_is_referred_to_the_other_hub(
    desk: tuple[HubWorld, str], open_page: Any
) -> None:
    hub, url = desk
    consult = hub.consults["udaipur"]
    udaipur = open_page()
    sign_in(udaipur, url, UDAIPUR_COORDINATOR)
    row = udaipur.locator(f"#queue-list tr[data-consult='{consult}']")
    assert "no such specialist at this hub" in row.inner_text()
    row.locator(".refer-dialog summary").click()
    row.locator("select[name=hub_id]").select_option("aiims-jodhpur")
    row.locator(".refer-form input[name=reason]").fill("No cardiologist at Udaipur this month")
    row.locator(".refer-form button[type=submit]").click()
    udaipur.wait_for_selector("#hub-done")
    assert f"Consult {consult} is referred" in udaipur.inner_text("#hub-done")
    assert udaipur.locator(f"#queue-list tr[data-consult='{consult}']").count() == 0

    jodhpur = open_page()
    sign_in(jodhpur, url, COORDINATOR)
    arrived = jodhpur.locator(f"#queue-list tr[data-consult='{consult}']")
    assert "referred by rnt-udaipur: No cardiologist at Udaipur this month" in arrived.inner_text()
    assert arrived.locator("select[name=slot_id] option").count() > 0  # Jodhpur's cardiologists are offered
    assert hub.notices("udaipur") == ["referred"]
    assert hub.audit(UDAIPUR_COORDINATOR, "hub_refer", consult) == [f"consult {consult} to hub aiims-jodhpur"]
