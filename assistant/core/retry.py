"""When a failed delivery is tried again, and which failures are worth trying again.

Shared by the action server's outbox (records for the hub) and the channels'
outbound messages (replies for Meta and Twilio) and voice-note fetches, so all back off the same
way: exponential, capped, with jitter, so that a hub coming back after an
outage is not hit by every clinic's queue in the same second.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

# HTTP answers that say "not now" rather than "never": a rotated or not yet
# valid token (401, 403), a timeout (408), a rate limit (429), the server's
# own trouble (5xx). A 403 that says the worker is not (or no longer) an
# active worker is final: retrying cannot change who they are.
RETRYABLE_STATUSES = frozenset({401, 403, 408, 429})
FINAL_FORBIDDEN_CODES = frozenset({"unknown_worker", "inactive_worker"})


def worth_retrying(status: int, code: str = "") -> bool:
    """Whether a failed HTTP request may succeed later, unchanged."""
    if status >= 500:
        return True
    if status == 403 and code in FINAL_FORBIDDEN_CODES:
        return False
    return status in RETRYABLE_STATUSES


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt ``n + 1`` after ``n`` failed ones: ``base · 2^(n-1)``, at most ``cap``, jittered."""

    base: float  # seconds before the second attempt (before jitter)
    cap: float  # the longest wait between two attempts (before jitter)
    jitter: float = 0.5  # each delay is drawn from [(1 - jitter) · d, d]

    def delay(self, failed_attempts: int, rng: random.Random | None = None) -> float:
        exponent = max(failed_attempts - 1, 0)
        ceiling = self.cap if exponent >= 64 else min(self.cap, self.base * 2**exponent)
        draw = (rng or random).random()
        return ceiling * (1 - self.jitter * draw)

    def next_attempt(self, failed_attempts: int, now: dt.datetime, rng: random.Random | None = None) -> dt.datetime:
        return now + dt.timedelta(seconds=self.delay(failed_attempts, rng))


# The outbox: the hub is usually back within minutes; a worker's record should follow soon after.
OUTBOX_BACKOFF = Backoff(base=3.0, cap=60.0)
# Replies through Meta or Twilio: retried for about an hour, then kept as dead letters.
OUTBOUND_BACKOFF = Backoff(base=10.0, cap=600.0)
MAX_OUTBOUND_ATTEMPTS = 12
# A voice note the app could not hand over: tried again within the webhook (``rules.MEDIA_FETCH_ATTEMPTS``),
# since the app waits for its answer and the worker for theirs.
MEDIA_BACKOFF = Backoff(base=1.0, cap=4.0)
