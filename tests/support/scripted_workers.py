"""Simulated health workers holding real conversations with a running ``assistant up``.

Each worker talks through a real channel (the REST channel with their own
worker token, or the web chat signed in with their PIN) and behaves as the
clients do when the assistant is having a bad moment: a refused connection,
a dropped answer or a 5xx is sent again (the web chat with the same message
id, so the channel can recognise it), and "please say it again" is said
again. What the assistant *promised* (booked, saved, queued) is written into
a ledger, which the fault suite and the soak benchmark compare with the
backend's tables at the end.

Flows (each with patient ids no other conversation uses):

- consult: "urgent <specialty> consult for patient N, chest pain" → read-back → "yes";
- encounter: "log encounter for patient N, 30 year old male, headache" → "skip" → "no" → "yes";
- checklist: "show me the hand hygiene checklist" → "next" → "next" → "stop".
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

APOLOGY = "Please say it again."  # utter_action_failed: the turn was rewound, say it again
CONSULT_PROMISES = ("Booked:", "consult booked", "is with the hub", "hub has been alerted", "saved on this phone")
ENCOUNTER_PROMISES = ("Saved. The visit", "saved on this phone")
TURN_DEADLINE_SECONDS = 240.0  # one turn, however many tries: longer means a turn went unanswered
RETRY_PAUSE_SECONDS = 1.0


@dataclass(frozen=True)
class Step:
    message: str
    expect: tuple[str, ...]  # the reply holds one of these (where the conversation should be)
    promises: str | None = None  # "consult" or "encounter": a reply with a promise records one


def consult_flow(patient: str) -> list[Step]:
    return [
        Step(f"urgent cardiology consult for patient {patient}, chest pain", ("yes or no",)),
        Step("yes", CONSULT_PROMISES, promises="consult"),
    ]


def encounter_flow(patient: str) -> list[Step]:
    return [
        Step(f"log encounter for patient {patient}, 30 year old male, headache", ("vitals",)),
        Step("skip", ("notes",)),
        Step("no", (patient,)),
        Step("yes", ENCOUNTER_PROMISES, promises="encounter"),
    ]


def checklist_flow(_patient: str) -> list[Step]:
    return [
        Step("show me the hand hygiene checklist", ("Step 1 of",)),
        Step("next", ("Step 2 of",)),
        Step("next", ("Step 3 of",)),
        Step("stop", ("Checklist stopped.",)),
    ]


FLOWS: dict[str, Callable[[str], list[Step]]] = {
    "consult": consult_flow,
    "encounter": encounter_flow,
    "checklist": checklist_flow,
}


@dataclass
class Ledger:
    """What every worker was told, and how the turns went; shared by the worker threads."""

    promised: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (kind, worker, patient)
    turns: int = 0
    tries: int = 0  # requests sent, including the ones sent again
    apologies: int = 0
    unanswered: list[str] = field(default_factory=list)
    lost_place: list[str] = field(default_factory=list)  # a reply that was not where the conversation was
    latencies: list[float] = field(default_factory=list)  # seconds per answered try
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, **counts: Any) -> None:
        with self._lock:
            for name, value in counts.items():
                current = getattr(self, name)
                if isinstance(current, list):
                    current.append(value)
                else:
                    setattr(self, name, current + value)

    def promise(self, kind: str, worker: str, patient: str) -> None:
        with self._lock:
            self.promised[(kind, worker, patient)] += 1


class Channel:
    """How one worker reaches the assistant; ``send`` returns the reply texts, or raises to be tried again."""

    name = "rest"

    def send(self, message: str, message_id: str) -> list[str]:
        raise NotImplementedError


class RestChannel(Channel):
    name = "rest"

    def __init__(self, rasa_url: str, token: str) -> None:
        self.url, self.token = f"{rasa_url}/webhooks/rest/webhook", token

    def send(self, message: str, message_id: str) -> list[str]:
        answer = requests.post(
            self.url,
            json={"message": message, "metadata": {"channel": "rest"}},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=90,
        )
        answer.raise_for_status()
        return [item["text"] for item in answer.json() if item.get("text")]


class WebChannel(Channel):
    """The web chat: sign in with the PIN once (again if the session is refused), resend with the same id."""

    name = "web"

    def __init__(self, rasa_url: str, worker_id: str, pin: str) -> None:
        self.base, self.worker_id, self.pin = f"{rasa_url}/webhooks/web", worker_id, pin
        self.session: str | None = None

    def send(self, message: str, message_id: str) -> list[str]:
        if self.session is None:
            login = requests.post(f"{self.base}/login", json={"worker_id": self.worker_id, "pin": self.pin}, timeout=30)
            login.raise_for_status()
            self.session = login.json()["token"]
        answer = requests.post(
            f"{self.base}/webhook",
            json={"message": message, "message_id": message_id},
            headers={"Authorization": f"Bearer {self.session}"},
            timeout=90,
        )
        if answer.status_code == 401:
            self.session = None
        answer.raise_for_status()
        return [item["text"] for item in answer.json()["messages"] if item.get("text")]


@dataclass
class ScriptedWorker:
    worker_id: str
    channel: Channel
    ledger: Ledger
    rng: random.Random

    def turn(self, step: Step, patient: str) -> str:
        """One turn, tried until it is answered (a refused connection, a 5xx, an apology: again)."""
        message_id = uuid.uuid4().hex  # the same for every try of this turn
        started = time.monotonic()
        while time.monotonic() - started < TURN_DEADLINE_SECONDS:
            self.ledger.record(tries=1)
            sent = time.monotonic()
            try:
                replies = self.channel.send(step.message, message_id)
            except (requests.RequestException, ValueError, KeyError):
                time.sleep(RETRY_PAUSE_SECONDS)
                continue
            reply = "\n".join(replies)
            if not replies:
                time.sleep(RETRY_PAUSE_SECONDS)
                continue
            self.ledger.record(latencies=time.monotonic() - sent)
            if reply.endswith(APOLOGY):
                self.ledger.record(apologies=1)
                message_id = uuid.uuid4().hex  # a new try of the same words: the rewound turn did not stand
                continue
            self.ledger.record(turns=1)
            if step.promises and any(promise in reply for promise in step.expect):
                self.ledger.promise(step.promises, self.worker_id, patient)
            if not any(expected in reply for expected in step.expect):
                self.ledger.record(lost_place=f"{self.worker_id} {step.message!r} -> {reply[:160]!r}")
            return reply
        self.ledger.record(unanswered=f"{self.worker_id} {step.message!r}")
        return ""

    def run_flow(self, flow: str, patient: str) -> bool:
        """One whole flow; False once a reply shows the conversation is not where it was."""
        for step in FLOWS[flow](patient):
            reply = self.turn(step, patient)
            if not any(expected in reply for expected in step.expect):
                if flow != "checklist":
                    self.turn(Step("stop", ("Stopped", "stopped")), patient)  # leave the form, as a worker would
                return False
        return True


class PatientIds:
    """Patient ids no two flows share (so "exactly once" can be counted), from a seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self._rng, self._used, self._lock = rng, set[str](), threading.Lock()

    def new(self) -> str:
        with self._lock:
            while True:
                patient = str(self._rng.randint(100_000, 999_999))
                if patient not in self._used:
                    self._used.add(patient)
                    return patient


def records_made(backend_db: Engine, workers: list[str]) -> Counter[tuple[str, str, str]]:
    """Every consult and encounter of ``workers`` in the backend, as ``(kind, worker, patient)`` counts."""
    queries = {
        "consult": "SELECT requested_by, patient_ref FROM consults WHERE requested_by IN :workers",
        "encounter": "SELECT worker_id, patient_ref FROM encounters WHERE worker_id IN :workers",
    }
    found: Counter[tuple[str, str, str]] = Counter()
    with backend_db.connect() as connection:
        for kind, query in queries.items():
            statement = text(query).bindparams(bindparam("workers", expanding=True))
            for worker, patient in connection.execute(statement, {"workers": workers}):
                found[(kind, worker, patient)] += 1
    return found
