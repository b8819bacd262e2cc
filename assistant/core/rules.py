"""The domain's rules as values: plausible ranges, limits, statuses, booking horizons, sign-in limits.

One place for each rule, read by the backend (which enforces them), the
action server (which re-asks exactly when the backend would refuse) and the
channels. Plain values only: importing this loads nothing else.
"""

from __future__ import annotations

import datetime as dt
import re

MAX_TEXT = 2000
MAX_REF = 64
# A person's or a facility's name (and a worker's designation), as the tables hold it.
NAME_LIMIT = 200
# A record's conversation id as a client may name it (the backend keeps its author's id instead).
CONVERSATION_ID_LIMIT = 128
# A consult request's reason is "a few words" (the question asking for it says so), read in the hub's queue;
# the action server asks again for a longer one rather than have the backend refuse the request.
CONSULT_REASON_LIMIT = 500

# Plausible human ranges. Outside them a value is a typo or a mis-hearing,
# and the worker is asked again rather than a wrong record being saved.
VITAL_RANGES: dict[str, tuple[float, float, str]] = {
    "systolic_bp": (50, 260, "mmHg"),
    "diastolic_bp": (30, 160, "mmHg"),
    "temperature_c": (30.0, 45.0, "°C"),
    "pulse": (20, 250, "beats/min"),
    "spo2": (50, 100, "%"),
    "weight_kg": (0.3, 300, "kg"),
    "respiratory_rate": (5, 80, "breaths/min"),
}
INTEGER_VITALS = {"systolic_bp", "diastolic_bp", "pulse", "spo2", "respiratory_rate"}
AGE_RANGE = (0, 120)
# An unlabelled temperature in this band can only be Fahrenheit.
FAHRENHEIT_BAND = (86.0, 113.0)

# Consults in these states hold their slot. A partial unique index on
# ``consults.slot_id`` (``assistant.db.models``) is what guarantees, in
# the database itself, that no slot is ever booked twice.
SLOT_HOLDING_STATUSES = ("scheduled", "completed", "no_show")
CANCELLABLE_STATUSES = ("requested", "scheduled")
# The hub acts on these: assigns a requested consult, reschedules a scheduled
# one, completes it or marks the patient absent.
ASSIGNABLE_STATUSES = ("requested",)
RESCHEDULABLE_STATUSES = ("scheduled",)
CLOSABLE_STATUSES = ("scheduled",)
# A coordinator may send a consult to another hub until it has taken place (it leaves its slot here).
REFERABLE_STATUSES = ("requested", "scheduled")
# What a specialist writes back (advice, follow-up) and why the hub cancels.
ADVICE_LIMIT = 4000
HUB_REASON_LIMIT = 500
# A completed consult's advice is read back in "consult status" for this long after it was given.
ADVICE_RECALL = dt.timedelta(days=14)
# Follow-up tasks (issue 28): what a task says, how many one completed consult may leave, how far ahead
# one may fall due, and what states it moves through (open -> done | cancelled; overdue: open and past due).
TASK_TEXT_LIMIT = 200
MAX_FOLLOW_UPS = 5
TASK_DAYS_AHEAD = 365
TASK_STATES = ("open", "done", "cancelled")
# The worker is reminded of an open task on the morning it falls due (from this local hour, by the backend's
# hourly job), and of an overdue one again every TASK_REMINDER_REPEAT_DAYS, at most TASK_REMINDER_CAP times in all.
TASK_REMINDER_HOUR = 7
TASK_REMINDER_REPEAT_DAYS = 2
TASK_REMINDER_CAP = 3
# How often the backend looks for reminders to send, in seconds (and once at its start).
TASK_REMINDER_INTERVAL = 15 * 60.0
# A day's list is spoken: at most this many tasks are read out, overdue first, and the rest counted.
TASKS_SPOKEN = 3
# Slots are generated from weekly availability this far ahead, at start and hourly.
SLOT_WINDOW_DAYS = 14
# How far ahead a new consult looks for a free slot of its specialty (``assistant.backend.booking``);
# with none by then it waits in the hub's queue, for a coordinator to find a time. Routine: the whole
# slot window, since no slot exists beyond it. Urgent: a day, what "urgent" promises the patient;
# later than that a person at the hub should decide, not the earliest free slot. An emergency has no
# horizon: it is booked at once with the on-call specialist.
BOOKING_HORIZONS: dict[str, dt.timedelta] = {
    "routine": dt.timedelta(days=SLOT_WINDOW_DAYS),
    "urgent": dt.timedelta(hours=24),
}
# How long one slot may be, in minutes (weekly hours are cut into slots of this length).
SLOT_MINUTES_RANGE = (5, 240)

# Worker ids: letters, digits, "-", "_" and ".".
WORKER_ID_LENGTH = 64
WORKER_ID = re.compile(rf"^[A-Za-z0-9_.-]{{1,{WORKER_ID_LENGTH}}}$")
# Facility ids (``hwc-ajari``) have the same form. A facility's district is at most this long.
FACILITY_ID = WORKER_ID
DISTRICT_LIMIT = 100

# A specialist's Teams / Remote Assist sign-in (user principal name), which their call link names:
# an address like a.b@hospital.in. Entra ID allows 64 characters before the "@" and 48 after it;
# only the characters a real one uses, so none of "&", "#", "?", "," or a space can reach a link.
UPN_LENGTH = 113
UPN = re.compile(r"\A[A-Za-z0-9_'-][A-Za-z0-9._'-]{0,63}@(?=.{1,48}\Z)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\Z")

# Record ids and every other integer a caller sends are at most this (a
# signed 32-bit integer, what every database here stores).
MAX_ID = 2**31 - 1
# Text never carries NUL or other control characters (tab and newline aside):
# PostgreSQL refuses NUL, and logs and screens must not be steered by them.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# How long a bearer token lives unless ``--days`` says otherwise (None: until revoked).
TOKEN_LIFETIMES: dict[str, dt.timedelta | None] = {
    "worker": dt.timedelta(days=90),
    "supervisor": dt.timedelta(days=30),
    "coordinator": dt.timedelta(days=30),
    "specialist": dt.timedelta(days=30),
    "admin": dt.timedelta(days=30),
    "service": None,
}

# A deactivated worker or a revoked token is refused on every channel within
# 30 seconds: the backend's token cache and each channel's cache of the
# backend's answer each keep an answer at most this long.
IDENTITY_RECHECK_SECONDS = 15.0

# A conversation session ends between flows (no form open, no checklist open)
# once it holds this many of the worker's turns: every turn's cost grows with
# the session Rasa loads, and a busy worker's day is never idle long enough for
# ``session_expiration_time`` (assistant/rasa_server/flow_sessions.py).
SESSION_TURNS_BEFORE_FLOW_BREAK = 5

# Worker PINs for the chat channels.
MAX_FAILED_ATTEMPTS = 5
LOCKOUT = dt.timedelta(minutes=15)
# One address (a phone, a browser) may fail this many times the per-account
# limit within the lockout window: staff often share a clinic's machine.
ADDRESS_FAILURE_FACTOR = 4
PIN_PATTERN = re.compile(r"^\d{6,8}$")  # for a PIN being issued; one issued earlier still works
GENERATED_PIN_DIGITS = 6
# A PIN typed at sign-in longer than this is refused unchecked, by the web chat and the backend alike:
# it is longer than any PIN ever issued, so no PIN check is spent on it.
PIN_INPUT_LIMIT = 16
MESSAGING_CHANNELS = ("whatsapp",)

# One message, one turn (``assistant.channels.state``, ``assistant.channels.once``). The process running
# a message's turn renews its claim every ``CLAIM_RENEWAL``; a claim not renewed for ``CLAIM_LEASE`` was
# left by a process that died mid-turn, and a redelivery takes it over (at once when the process is
# provably gone: ``assistant.core.liveness``).
CLAIM_LEASE = dt.timedelta(seconds=15)
CLAIM_RENEWAL = dt.timedelta(seconds=4)
# A message id a client makes (REST's optional ``message_id``, the web page's): a UUID fits.
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# How long a redelivered message waits for its first delivery's turn, still running, before it is
# answered "still working on it" (never run twice). Each is below how long its caller waits for an
# answer: the voice client and the web page 60 s; Twilio hangs up after 15 s; Meta wants its answer in seconds.
REDELIVERY_WAITS: dict[str, dt.timedelta] = {
    "rest": dt.timedelta(seconds=45),
    "web": dt.timedelta(seconds=45),
    "whatsapp": dt.timedelta(seconds=15),
    "twilio": dt.timedelta(seconds=12),
}
# A voice note whose fetch failed (other than for its size) is tried this many times in all, with
# ``MEDIA_BACKOFF`` (``assistant.core.retry``) between tries, then the worker is told in words.
MEDIA_FETCH_ATTEMPTS = 3

# The Rasa input channels (``/webhooks/<name>/``) that phones, Meta and Twilio
# reach. With Rasa on the clinic LAN, nothing else answers a caller that is
# not on this machine (``assistant.rasa_server.lan_guard``).
LAN_INPUT_CHANNELS = ("web", "whatsapp", "twilio_whatsapp")

# How long the backend keeps an Idempotency-Key's result. Long, because a
# clinic's action server may hold a record in its offline outbox for days
# (a hub or link down over a long weekend) and then send it again with the
# same key: inside the window that replays the first result instead of
# booking twice. Purged in the background (``assistant.backend.idempotency``).
IDEMPOTENCY_WINDOW = dt.timedelta(days=30)

# A WhatsApp reply that could not be delivered (``assistant.channels.state``)
# is kept this long as a dead letter, for supervisors to see on the console.
DEAD_LETTER_RETENTION = dt.timedelta(days=30)

# The largest voice note the channels fetch (WhatsApp's own limit for audio;
# Twilio's media are fetched with the same cap).
MAX_MEDIA_BYTES = 16 * 1024 * 1024

# A voice-model archive is refused before anything is extracted when it
# declares more than this in total, or more members: the largest official
# Vosk models are about 2-4 GB unpacked with a few hundred files.
MAX_MODEL_BYTES = 8 * 1024**3
MAX_MODEL_MEMBERS = 10_000

# A CSV file an import reads (``assistant roster import``, ``facilities import``, ``workers import``): a
# district's ~1,100 workers or ~200 facilities are far below both, and a file past either is refused
# before anything is parsed, so a wrong file (a database dump, a log) costs nothing.
IMPORT_MAX_BYTES = 5 * 1024 * 1024
IMPORT_MAX_ROWS = 20_000
