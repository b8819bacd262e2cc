"""End-to-end conversations through Rasa's REST channel of the real running stack.

Each test is one worker typing (or a voice channel transcribing) to `rasa run`
with the trained model, which calls the real action server, which calls the
real backend on a real SQLite database; the test checks what the worker read
and what the backend stored.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import text

from actions.outbox import Outbox
from assistant.core.config import PROJECT_DIR
from assistant.core.secrets import ACTION_SECRET_HEADER, action_secret, metrics_token
from assistant.db.device import open_engine
from tests.support.logs import logs_mentioning
from tests.support.metrics import assert_no_identifier_in_labels, samples, value
from tests.support.processes import run_assistant
from tests.support.stack import RunningStack

pytestmark = pytest.mark.stack

DEVANAGARI = range(0x0900, 0x0980)


class Chat:
    """One worker's conversation."""

    def __init__(self, stack: RunningStack, channel: str = "rest") -> None:
        self.stack = stack
        self.worker = stack.new_worker()
        self.channel = channel

    def say(self, message: str) -> str:
        replies = self.stack.say(self.worker, message, {"channel": self.channel})
        # A question's custom payload (docs/contracts.md) comes as a message without text.
        return "\n".join(reply["text"] for reply in replies if reply.get("text"))

    def slots(self) -> dict[str, Any]:
        return self.stack.tracker(self.worker)["slots"]

    def rows(self, table: str) -> list[dict[str, Any]]:
        column = "requested_by" if table == "consults" else "worker_id"
        with self.stack.backend_db.connect() as connection:
            result = connection.execute(
                text(f"SELECT * FROM {table} WHERE {column} = :w ORDER BY id"), {"w": self.worker}
            )
            return [dict(row._mapping) for row in result]


def domain_reply(name: str) -> str:
    """The English text of a static reply in domain.yml."""
    return yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))["responses"][name][0]["text"]


def hindi(reply: str) -> bool:
    return any(ord(ch) in DEVANAGARI for ch in reply)


def test_consult_in_one_sentence_is_read_back_and_booked(running_stack: RunningStack) -> None:
    chat = Chat(running_stack, channel="voice")  # the channel that heard the worker is recorded
    readback = chat.say("urgent cardiology consult for patient 4521, chest pain")
    assert "cardiology" in readback and "4521" in readback and "chest pain" in readback and "yes or no" in readback
    assert chat.rows("consults") == []  # nothing booked before "yes"

    booked = chat.say("yes")
    assert booked.startswith("Booked: Dr.") and "teams.microsoft.com/l/call/0/0?users=" in booked
    (consult,) = chat.rows("consults")
    assert (consult["specialty"], consult["urgency"], consult["patient_ref"], consult["reason"]) == (
        "cardiology",
        "urgent",
        "4521",
        "chest pain",
    )
    assert (
        consult["status"] == "scheduled" and consult["channel"] == "voice" and consult["conversation_id"] == chat.worker
    )


def test_consult_in_hinglish_asks_only_what_is_missing(running_stack: RunningStack) -> None:
    chat = Chat(running_stack)
    first = chat.say("bacchon ke doctor se consult chahiye")
    assert hindi(first) and chat.slots()["requested_slot"] == "urgency"
    chat.say("jaldi")
    chat.say("mareez number 7781")
    readback = chat.say("bachche ko tez bukhar hai")
    assert hindi(readback) and "7781" in readback and "bachche ko tez bukhar hai" in readback
    assert "बुक हो गया" in chat.say("haan")
    (consult,) = chat.rows("consults")
    assert (consult["specialty"], consult["urgency"], consult["patient_ref"]) == ("pediatrics", "urgent", "7781")


def test_an_emergency_books_at_once_and_says_108(running_stack: RunningStack) -> None:
    chat = Chat(running_stack)
    reply = chat.say("emergency! need gynae doctor now, heavy bleeding after delivery, patient 3390")
    assert "108" in reply and "joins now" in reply
    (consult,) = chat.rows("consults")
    assert consult["urgency"] == "emergency" and consult["status"] == "scheduled" and consult["patient_ref"] == "3390"


def test_status_then_cancel_the_one_named(running_stack: RunningStack) -> None:
    chat = Chat(running_stack)
    for specialty, patient, reason in (("dermatology", "1111", "itchy rash"), ("orthopedics", "2222", "knee pain")):
        assert "yes or no" in chat.say(f"routine {specialty} consult for patient {patient}, {reason}")
        chat.say("yes")
    status = chat.say("what is the status of my consult")
    assert "1111" in status and "2222" in status

    question = chat.say("cancel my consult")
    assert "1:" in question and "2:" in question
    readback = chat.say("2")
    assert "1111" in readback  # newest first: number 2 is the first one booked
    assert chat.say("yes").startswith("Cancelled")
    assert [(c["patient_ref"], c["status"]) for c in chat.rows("consults")] == [
        ("1111", "cancelled"),
        ("2222", "scheduled"),
    ]


def test_encounter_with_vitals_in_one_sentence_and_a_correction_at_read_back(running_stack: RunningStack) -> None:
    chat = Chat(running_stack, channel="voice")
    chat.say("log a visit for patient 6620")
    chat.say("forty five")
    chat.say("female")
    chat.say("fever and cough for three days")
    chat.say("bp one forty over ninety temperature one oh one pulse eighty eight")
    readback = chat.say("no")
    assert "45 years" in readback and "BP 140/90" in readback and "101 °F" in readback and "pulse 88" in readback

    assert "Which one should I change" in chat.say("no")
    chat.say("age")
    readback = chat.say("46")
    assert "46 years" in readback and "yes or no" in readback
    assert chat.rows("encounters") == []  # nothing saved before "yes"

    assert "Saved" in chat.say("yes")
    (encounter,) = chat.rows("encounters")
    assert (
        encounter["age_years"],
        encounter["sex"],
        encounter["systolic_bp"],
        encounter["diastolic_bp"],
        encounter["pulse"],
    ) == (46, "female", 140, 90, 88)
    assert encounter["temperature_c"] == pytest.approx(38.3) and encounter["channel"] == "voice"


def test_encounter_in_hinglish_with_an_impossible_value_asked_again(running_stack: RunningStack) -> None:
    chat = Chat(running_stack)
    assert hindi(chat.say("mareez ki entry karni hai"))
    chat.say("patient 5510")
    reason = chat.say("ek sau pachas saal")
    assert "150" in reason and "120" in reason  # the reason, then the question again
    chat.say("chalis saal")
    chat.say("aurat")
    chat.say("pet mein dard aur ulti")
    chat.say("bp ek sau bees bata assi, pulse nabbe")
    readback = chat.say("kuch nahi")
    assert "40 साल" in readback and "बीपी 120/80" in readback
    assert "सेव हो गया" in chat.say("haan")
    (encounter,) = chat.rows("encounters")
    assert (encounter["patient_ref"], encounter["age_years"], encounter["sex"], encounter["pulse"]) == (
        "5510",
        40,
        "female",
        90,
    )


def test_stop_in_the_middle_of_a_form_saves_nothing(running_stack: RunningStack) -> None:
    chat = Chat(running_stack)
    chat.say("log encounter for patient 8080, 30 year old male")
    assert chat.slots()["requested_slot"] == "complaint"
    assert "Nothing was saved" in chat.say("stop")
    slots = chat.slots()
    assert slots["requested_slot"] is None and slots["patient_id"] is None
    assert chat.rows("encounters") == []
    assert "Namaste" in chat.say("hello")  # the conversation goes on normally


def test_checklist_navigation_survives_an_interruption(running_stack: RunningStack) -> None:
    chat = Chat(running_stack)
    opening = chat.say("show me the hand hygiene checklist")
    assert "Source: WHO" in opening and "Step 1 of" in opening
    assert chat.say("next").startswith("Step 2 of")
    assert "consult" in chat.say("what can you do")
    assert chat.say("consult status").startswith("You have no open consults")
    assert chat.say("next").startswith("Step 3 of")  # where the worker was
    assert chat.say("go to step 5").startswith("Step 5 of")
    assert chat.say("go back").startswith("Step 4 of")
    assert chat.say("repeat").startswith("Step 4 of")
    assert chat.say("stop") == "Checklist stopped."


def test_a_new_flow_started_inside_a_form_takes_over(running_stack: RunningStack) -> None:
    chat = Chat(running_stack)
    chat.say("log a new encounter")
    assert "old" in chat.say("patient 4521")  # the form asks for the age
    opening = chat.say("show me the hand hygiene checklist")
    assert "Nothing from it was saved" in opening and "Step 1 of" in opening
    assert chat.say("next").startswith("Step 2 of")  # the checklist, not the abandoned form, takes "next"
    switched = chat.say("i need a cardiology consult")
    assert "How urgent" in switched and "Nothing from it was saved" not in switched  # no form was open
    assert "Nothing from it was saved" in chat.say("log a new encounter")
    assert chat.rows("encounters") == [] and chat.rows("consults") == []


def test_checklist_in_hinglish_is_read_in_hindi(running_stack: RunningStack) -> None:
    chat = Chat(running_stack)
    opening = chat.say("ORS kaise banate hain")
    assert "स्टेप 1," in opening
    assert chat.say("agla").startswith("स्टेप 2,")


def test_out_of_scope_and_unclear_input_get_a_redirect_and_no_action(running_stack: RunningStack) -> None:
    chat = Chat(running_stack)
    assert "can't give a diagnosis" in chat.say("what disease does he have, tell me the medicine")
    assert "can't help with that" in chat.say("who won the cricket match")
    # Gibberish: whichever way the NLU leans, the answer is a redirect, never an action.
    redirects = {
        domain_reply(name) for name in ("utter_default", "utter_out_of_scope", "utter_nothing_to_confirm", "utter_help")
    }
    assert chat.say("xqzt blorp vrrm") in redirects
    assert chat.slots()["requested_slot"] is None and chat.rows("consults") == [] and chat.rows("encounters") == []


def test_with_the_backend_down_the_encounter_is_queued_then_delivered_exactly_once(running_stack: RunningStack) -> None:
    chat = Chat(running_stack)
    chat.say("hello")  # the worker has used the assistant before the hub goes away: their token is known
    running_stack.supervisor.stop("backend")
    try:
        chat.say("log encounter for patient 9191, 30 year old male, headache")
        chat.say("skip")
        readback = chat.say("no")
        assert "9191" in readback
        queued = chat.say("yes")
        assert "saved on this phone" in queued and "will be sent" in queued
    finally:
        running_stack.supervisor.start("backend")

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not chat.rows("encounters"):
        time.sleep(1)
    (encounter,) = chat.rows("encounters")
    assert (encounter["patient_ref"], encounter["complaint"], encounter["conversation_id"]) == (
        "9191",
        "headache",
        chat.worker,
    )
    time.sleep(8)  # more sync rounds come and go: still exactly one
    assert len(chat.rows("encounters")) == 1


def test_a_queued_record_the_hub_refuses_is_told_to_the_worker_at_their_next_turn(
    running_stack: RunningStack,
) -> None:
    chat = Chat(running_stack)
    chat.say("hello")
    # Queued by an older version that still took this specialty, then the hub refuses it for good.
    body = {"patient_ref": "5521", "specialty": "astrology", "urgency": "routine", "reason": "x", "channel": "rest"}
    queue = Outbox(open_engine(running_stack.settings.data_dir))
    key = f"consult-refused-{chat.worker}"
    asyncio.run(queue.enqueue("consult", key, chat.worker, body))
    deadline = time.monotonic() + 60
    while (found := asyncio.run(queue.get(key))) is not None and found.status == "pending":
        assert time.monotonic() < deadline, "the action server never tried to deliver it"
        time.sleep(1)
    assert found is not None and found.status == "rejected"

    notice, *reply = chat.say("hello").split("\n")
    assert notice == (
        "The astrology consult request for patient 5521 could not be sent: the hub did not accept the specialty. "
        "Please request it again, or ask your supervisor."
    )
    assert reply == [domain_reply("utter_greet")]
    assert chat.say("hello") == domain_reply("utter_greet")  # told once
    said = [event.get("text") for event in running_stack.tracker(chat.worker)["events"] if event["event"] == "bot"]
    assert notice in said  # the supervisor's transcript shows it too


# --- a request for another flow inside a free-text answer ------------------------------------


def test_a_new_flow_asked_for_as_the_reason_switches_flows_and_keeps_the_patient_apart(
    running_stack: RunningStack,
) -> None:
    """The transcript of the field report: the reason question must not swallow "log a new encounter"."""
    chat = Chat(running_stack)
    assert "what is the problem" in chat.say("routine cardiology consult for patient 4400")
    switched = chat.say("log a new encounter for patient 8813")
    assert "Shall I book it" not in switched and "Nothing from it was saved" in switched
    assert "How old is the patient?" in switched  # the encounter took patient 8813 from the request
    slots = chat.slots()
    assert slots["patient_id"] == "8813" and slots["requested_slot"] == "age" and slots["reason"] is None
    assert chat.rows("consults") == []


@pytest.mark.parametrize(
    "opening, question, asked, answer",
    [
        ("routine cardiology consult for patient 4400", "what is the problem", "हाथ धोने की चेकलिस्ट दिखाओ", "स्टेप 1,"),
        (
            "log a visit for patient 4400, 30 year old male",
            "main complaint",
            "show me the hand hygiene checklist",
            "Step 1 of",
        ),
        ("log a visit for patient 4400, 30 year old male", "main complaint", "consult cancel kar do", "रद्द"),
        ("routine cardiology consult for patient 4400", "what is the problem", "visit darj karo patient 8813", "उम्र"),
    ],
)
def test_requests_in_hindi_and_hinglish_inside_free_text_switch_too(
    running_stack: RunningStack, opening: str, question: str, asked: str, answer: str
) -> None:
    chat = Chat(running_stack)
    assert question in chat.say(opening)
    switched = chat.say(asked)
    assert answer in switched, switched
    assert chat.slots()["reason"] is None and chat.slots()["complaint"] is None


def test_a_status_question_inside_the_reason_is_answered_and_the_consult_keeps_its_patient(
    running_stack: RunningStack,
) -> None:
    chat = Chat(running_stack)
    chat.say("routine cardiology consult for patient 4400")
    status = chat.say("status of consult for patient 8813")
    assert "open consults" in status and "what is the problem" in status  # answered, then the question again
    readback = chat.say("patient has chest pain")
    assert "patient 4400: patient has chest pain" in readback
    assert chat.say("yes").startswith("Booked")
    (consult,) = chat.rows("consults")
    assert (consult["patient_ref"], consult["reason"]) == ("4400", "patient has chest pain")


def test_help_and_a_bare_cancel_inside_free_text(running_stack: RunningStack) -> None:
    chat = Chat(running_stack)
    chat.say("log a visit for patient 4400, 30 year old male")
    helped = chat.say("help")
    assert "I book specialist consults" in helped and "main complaint" in helped
    assert chat.say("cancel") == "Stopped. Nothing was saved."
    assert chat.slots()["patient_id"] is None and chat.rows("encounters") == []


# --- a value that was half heard ------------------------------------------------------------


def test_a_half_heard_blood_pressure_is_asked_for_again_and_saved_whole(running_stack: RunningStack) -> None:
    chat = Chat(running_stack, channel="voice")
    chat.say("log a visit for patient 6621, 32 year old female")
    chat.say("fever and cough for three days")
    # What tiny.en heard for "... one hundred forty over ninety ..." on one machine.
    asked = chat.say("blood pressure 140 overnight temperature 98.6 pulse 88")
    assert (
        asked == "I have temperature 98.6 °F, pulse 88, but I did not get the BP. Please say the BP again, or say skip."
    )
    assert "notes" in chat.say("bp one forty over ninety").lower()
    readback = chat.say("no")
    assert "BP 140/90, temperature 98.6 °F, pulse 88" in readback
    assert "Saved" in chat.say("yes")
    (encounter,) = chat.rows("encounters")
    assert (encounter["systolic_bp"], encounter["diastolic_bp"], encounter["pulse"]) == (140, 90, 88)


def test_an_age_cut_short_is_asked_again_never_saved_in_part(running_stack: RunningStack) -> None:
    chat = Chat(running_stack)
    chat.say("log a visit for patient 6622")
    assert chat.say("forty five point") == "I did not get the whole age. Please say it again.\nHow old is the patient?"
    assert chat.slots()["age"] is None
    assert "male, female or other" in chat.say("forty five")
    assert chat.slots()["age"] == 45.0


# --- last: what the conversations above left in the logs ---------------------------------------


def test_no_log_the_stack_wrote_holds_a_patient_id_from_these_conversations(running_stack: RunningStack) -> None:
    with running_stack.backend_db.connect() as connection:
        said = {
            ref
            for table in ("consults", "encounters")
            for (ref,) in connection.execute(text(f"SELECT DISTINCT patient_ref FROM {table}"))
            if ref and len(ref) >= 4
        }
    assert len(said) >= 10  # the conversations above saved records for these patients
    assert logs_mentioning(running_stack.settings.data_dir / "logs", said) == []


# --- figures to watch (issue 25) ----------------------------------------------------------


def _metrics(url: str, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.get(f"{url}/metrics", headers=headers or {}, timeout=30)


def test_real_turns_move_the_figures_on_rasas_and_the_action_servers_metrics(running_stack: RunningStack) -> None:
    rasa, actions = running_stack.rasa_url, running_stack.settings.actions_base_url
    before = {url: _metrics(url).text for url in (rasa, actions)}
    chat = Chat(running_stack)  # the REST channel
    assert "Step 1 of" in chat.say("show me the hand hygiene checklist")  # a custom action runs
    chat.say("next")
    after = {url: _metrics(url).text for url in (rasa, actions)}

    def moved(url: str, name: str, **labels: str) -> float:
        return value(after[url], name, **labels) - value(before[url], name, **labels)

    assert moved(rasa, "assistant_turns_total", channel="rest") >= 2
    assert moved(rasa, "assistant_turn_seconds_count", channel="rest") >= 2
    assert moved(rasa, "assistant_turn_seconds_sum", channel="rest") > 0
    assert moved(rasa, "assistant_turn_seconds_bucket", channel="rest", le="+Inf") >= 2
    assert moved(actions, "assistant_action_calls_total", channel="rest") >= 2
    assert moved(actions, "assistant_action_seconds_count", channel="rest") >= 2
    assert ("assistant_outbox_rows", (("state", "pending"),)) in samples(after[actions])
    for exposition in after.values():
        assert_no_identifier_in_labels(exposition, chat.worker, "W001", "4521")

    # Another machine (through a proxy on this one) needs the metrics token, on Rasa's port too.
    proxied = {"X-Forwarded-For": "192.168.1.20"}
    token = {"Authorization": f"Bearer {metrics_token(running_stack.settings)}"}
    for url in (rasa, actions):
        assert _metrics(url, proxied).status_code == 403
        assert _metrics(url, {**proxied, **token}).status_code == 200


def test_an_action_that_raises_counts_as_a_failure_of_that_action(running_stack: RunningStack) -> None:
    actions = running_stack.settings.actions_base_url
    secret = {ACTION_SECRET_HEADER: action_secret(running_stack.settings)}
    before = value(_metrics(actions).text, "assistant_action_failures_total", action="action_consult_status")
    # A call the action cannot run (no tracker at all): it raises, and the server answers a bare 500.
    call = {"next_action": "action_consult_status", "tracker": None, "domain": {}, "version": "3.6.21"}
    assert requests.post(f"{actions}/webhook", json=call, headers=secret, timeout=30).status_code == 500
    after = value(_metrics(actions).text, "assistant_action_failures_total", action="action_consult_status")
    assert after - before == 1


def test_status_on_the_running_stack_finds_every_service_up_and_reads_the_queues(running_stack: RunningStack) -> None:
    settings = running_stack.settings
    ports = {
        "ASSISTANT_BACKEND_PORT": settings.backend_port,
        "ASSISTANT_ACTIONS_PORT": settings.actions_port,
        "ASSISTANT_RASA_PORT": settings.rasa_port,
        "ASSISTANT_CONSOLE_PORT": settings.console_port,
    }
    env = {"ASSISTANT_DATA_DIR": str(settings.data_dir), **{name: str(port) for name, port in ports.items()}}
    done = run_assistant("status", env=env)
    for service in ("backend", "actions", "rasa", "console"):
        assert re.search(rf"^  {service} +up ", done.stdout, re.MULTILINE), done.stdout
    assert "is not answering" not in done.stdout
    assert re.search(r"consults waiting in the hub queue +\d+$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"outbox records waiting for the hub +\d+$", done.stdout, re.MULTILINE), done.stdout
