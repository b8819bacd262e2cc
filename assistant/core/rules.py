"""The domain's rules as values: plausible ranges, limits, statuses, sign-in limits.

One place for each rule, read by the backend (which enforces them), the
action server (which re-asks exactly when the backend would refuse) and the
channels. Plain values only: importing this loads nothing else.
"""

from __future__ import annotations

import datetime as dt
import re

MAX_TEXT = 2000
MAX_REF = 64

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
# ``consults.slot_id`` (``assistant.core.db.models``) is what guarantees, in
# the database itself, that no slot is ever booked twice.
SLOT_HOLDING_STATUSES = ("scheduled", "completed")
CANCELLABLE_STATUSES = ("requested", "scheduled")

# Worker PINs for the chat channels.
MAX_FAILED_ATTEMPTS = 5
LOCKOUT = dt.timedelta(minutes=15)
PIN_PATTERN = re.compile(r"^\d{4,8}$")
GENERATED_PIN_DIGITS = 6
MESSAGING_CHANNELS = ("whatsapp",)
