"""The web chat in a real browser (Debian's headless Chromium, 360 px), against the running stack.

Screenshots of every step are kept in test-artifacts/webchat/<test>/.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from tests.channels.conftest import ChannelWorker
from tests.support.browser import PhonePage
from tests.support.stack import RunningStack

pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.browser]

MIN_TAP_PX = 44  # WCAG 2.5.5 / Android's 48 dp, less the border
MIN_CONTRAST = 4.5  # WCAG AA for body text


def _open(phone: PhonePage, stack: RunningStack) -> Page:
    phone.page.goto(f"{stack.rasa_url}/webhooks/web/")
    return phone.page


def _sign_in(page: Page, worker_id: str, pin: str) -> None:
    page.get_by_label("Worker id").fill(worker_id)
    page.get_by_label("PIN").fill(pin)
    page.get_by_role("button", name="Sign in").click()


def _signed_in(phone: PhonePage, stack: RunningStack, worker: ChannelWorker) -> Page:
    page = _open(phone, stack)
    _sign_in(page, worker.id, worker.pin)
    expect(page.get_by_role("log")).to_be_visible()
    return page


def _settled(page: Page) -> None:
    """Every sent message has its answer."""
    expect(page.locator(".msg.pending")).to_have_count(0)


def _type(page: Page, message: str) -> str:
    page.get_by_role("textbox", name="Message").fill(message)
    page.get_by_role("textbox", name="Message").press("Enter")
    _settled(page)
    return _last_bot(page)


def _tap(page: Page, title: str) -> str:
    page.get_by_role("group", name="Choices").get_by_role("button", name=title, exact=True).click()
    _settled(page)
    return _last_bot(page)


def _last_bot(page: Page) -> str:
    return page.locator(".msg.bot").last.inner_text()


def _contrast(page: Page, selector: str) -> float:
    """WCAG contrast of an element's text against its (first opaque) background."""
    return page.locator(selector).first.evaluate(
        """element => {
            const rgb = value => value.match(/[\\d.]+/g).map(Number);
            const lum = ([r, g, b]) => {
                const channel = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
                return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
            };
            let node = element, background = null;
            while (node && !background) {
                const color = rgb(getComputedStyle(node).backgroundColor);
                if (color.length < 4 || color[3] > 0) background = color;
                node = node.parentElement;
            }
            const [a, b] = [lum(rgb(getComputedStyle(element).color)), lum(background || [255, 255, 255])];
            return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }"""
    )


def _fonts_for(phone: PhonePage, selector: str) -> list[str]:
    """The platform fonts Chromium actually drew the last matching element's text with."""
    cdp = phone.context.new_cdp_session(phone.page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"][-1]  # the latest
    return [font["familyName"] for font in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]


def test_a_wrong_pin_is_refused_then_the_right_one_signs_in(
    phone: PhonePage, running_stack: RunningStack, worker: ChannelWorker
) -> None:
    page = _open(phone, running_stack)
    expect(page.get_by_label("Worker id")).to_be_focused()
    phone.screenshot("login")
    _sign_in(page, worker.id, "9731")
    expect(page.get_by_role("alert")).to_have_text("Worker id or PIN is wrong.")
    expect(page.get_by_role("log")).to_be_hidden()
    phone.screenshot("wrong-pin")

    _sign_in(page, worker.id.lower(), worker.pin)
    expect(page.get_by_role("log")).to_be_visible()
    expect(page.locator("#who")).to_have_text("Test Worker")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()  # ready to type, keyboard only
    phone.screenshot("signed-in")

    # Accessible: labelled controls, large tap targets, readable contrast, Hindi drawn in a Devanagari font.
    for control in (
        page.get_by_role("textbox", name="Message"),
        page.get_by_role("button", name="Send"),
        page.get_by_role("button", name="Log out"),
    ):
        box = control.bounding_box()
        assert box is not None and box["height"] >= MIN_TAP_PX and box["width"] >= MIN_TAP_PX
    for selector in ("body", "header h1", "#send button", "#logout"):
        assert _contrast(page, selector) >= MIN_CONTRAST, selector
    assert any("Devanagari" in family for family in _fonts_for(phone, "h1 span[lang=hi]"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone


def test_a_consult_booked_with_buttons_and_typing_is_in_the_backend(
    phone: PhonePage, running_stack: RunningStack, worker: ChannelWorker
) -> None:
    page = _signed_in(phone, running_stack, worker)
    asked = _type(page, "I need to request a consult")
    assert "specialist" in asked.lower()
    expect(page.get_by_role("group", name="Choices").get_by_role("button")).to_have_count(12)
    phone.screenshot("specialties")
    assert "urgent" in _tap(page, "cardiology").lower()
    assert "patient" in _tap(page, "urgent").lower()
    assert "problem" in _type(page, "patient 5521").lower()
    readback = _type(page, "chest pain since morning")
    assert "5521" in readback and "cardiology" in readback.lower()
    phone.screenshot("read-back")
    booked = _tap(page, "Yes")
    phone.screenshot("booked")

    with running_stack.backend_db.connect() as connection:
        rows = connection.execute(
            text("SELECT specialty, urgency, channel, status FROM consults WHERE requested_by = :worker"),
            {"worker": worker.id},
        ).all()
    assert rows == [("cardiology", "urgent", "web", "scheduled")]
    assert re.search(r"\d", booked)  # a time, told to the worker


def test_a_checklist_is_stepped_with_buttons_and_survives_a_reload(
    phone: PhonePage, running_stack: RunningStack, worker: ChannelWorker
) -> None:
    page = _signed_in(phone, running_stack, worker)
    first = _type(page, "hand hygiene checklist")
    assert first.startswith("Step 1 of")
    total = int(re.search(r"Step 1 of (\d+)", first).group(1))
    assert _tap(page, "Next").startswith("Step 2 of")
    assert _tap(page, "Next").startswith("Step 3 of")
    assert _tap(page, "Back").startswith("Step 2 of")
    assert _tap(page, "Repeat").startswith("Step 2 of")
    phone.screenshot("step-2")

    page.reload()
    expect(page.get_by_role("log")).to_be_visible()
    expect(page.locator(".msg.bot").last).to_have_text(re.compile(r"^Step 2 of"))
    phone.screenshot("after-reload")
    for number in range(3, total + 1):
        assert _tap(page, "Next").startswith(f"Step {number} of")
    assert "checklist complete" in _tap(page, "Next")
    expect(page.get_by_role("group", name="Choices")).to_have_count(0)  # nothing left to step
    phone.screenshot("completed")


def test_unreachable_shows_and_the_message_is_sent_once_when_back(
    phone: PhonePage, running_stack: RunningStack, worker: ChannelWorker
) -> None:
    page = _signed_in(phone, running_stack, worker)
    phone.context.set_offline(True)
    page.get_by_role("textbox", name="Message").fill("help")
    page.get_by_role("textbox", name="Message").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Can't reach the assistant")
    expect(page.locator(".msg.user.pending")).to_contain_text("Waiting to send")
    phone.screenshot("offline")
    phone.context.set_offline(False)
    _settled(page)
    expect(page.get_by_role("status")).to_be_hidden()
    phone.screenshot("back-online")
    turns = [e for e in running_stack.tracker(worker.id)["events"] if e["event"] == "user"]
    assert [turn["text"] for turn in turns] == ["help"]


def test_logout_returns_to_sign_in_and_forgets_the_conversation(
    phone: PhonePage, running_stack: RunningStack, worker: ChannelWorker
) -> None:
    page = _signed_in(phone, running_stack, worker)
    _type(page, "help")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("alert")).to_have_text("You are signed out.")
    expect(page.get_by_role("log")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0
    page.reload()
    expect(page.get_by_label("Worker id")).to_be_visible()
    expect(page.get_by_role("log")).to_be_hidden()
    phone.screenshot("signed-out")


def test_a_consult_saved_offline_is_shown_and_delivered_when_the_hub_returns(
    phone: PhonePage, running_stack: RunningStack, worker: ChannelWorker
) -> None:
    page = _signed_in(phone, running_stack, worker)
    _type(page, "I need to request a consult")
    _tap(page, "pediatrics")
    _tap(page, "routine")
    _type(page, "patient 6612")
    assert "6612" in _type(page, "fever for three days")
    running_stack.supervisor.stop("backend")
    try:
        _tap(page, "Yes")
        expect(page.locator(".msg.queued")).to_contain_text("Queued offline")
        expect(page.get_by_role("status")).to_contain_text("Queued offline")
        phone.screenshot("saved-offline")
    finally:
        running_stack.supervisor.start("backend")

    query = text("SELECT specialty, channel FROM consults WHERE requested_by = :worker")
    deadline = time.monotonic() + 120
    rows: list = []
    while time.monotonic() < deadline and not rows:
        with running_stack.backend_db.connect() as connection:
            rows = connection.execute(query, {"worker": worker.id}).all()
        time.sleep(1)
    assert rows == [("pediatrics", "web")]  # the action server's outbox delivered it, once


def test_a_hindi_conversation_is_drawn_in_devanagari_with_hindi_choices(
    phone: PhonePage, running_stack: RunningStack, worker: ChannelWorker
) -> None:
    page = _signed_in(phone, running_stack, worker)
    step = _type(page, "हाथ धोने की चेकलिस्ट")
    assert "1" in step and re.search(r"[\u0900-\u097F]", step)
    expect(page.locator(".msg.bot").last).to_have_attribute("lang", "hi")
    expect(page.get_by_role("group", name="Choices").get_by_role("button", name="अगला")).to_be_visible()
    phone.screenshot("hindi")
    assert any("Devanagari" in family for family in _fonts_for(phone, ".msg.bot"))
    assert "2" in _tap(page, "अगला")
