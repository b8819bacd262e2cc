"""The figures each service shows at ``/metrics`` (Prometheus text format), and who may read them.

Every metric of the project is defined here, once, so that a name means the
same on every port and an alert rule (docs/operations.md) can rely on it.
Counters and histograms move where things happen (a turn in Rasa, an action
on the action server, a booking in the backend). Figures that live in a
database (outbox rows, pending notices, dead letters) or on the disk (backup
age, database sizes) are read when Prometheus asks: each service hands its
readings, as metric families built by the functions below, to
``exposition``.

Labels carry only names from fixed sets (channels, actions, states, file
names); never a worker, a patient or a phone number. ``channel_label`` and
``action_label`` fold anything unexpected into ``other``, so not even a
hostile caller can make a label hold what it sent.

Who may read: this machine (a loopback peer, not forwarded by a proxy), or
anyone presenting the metrics token as a bearer (``Settings.metrics_token``,
which ``assistant up`` sets from ``ASSISTANT_METRICS_TOKEN`` or a token it
generates into ``data_dir/secrets``; empty: this machine only). The web
frameworks' glue is in ``assistant.http`` (the kernel imports neither).
"""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from assistant.core.client_address import is_loopback
from assistant.core.vocabulary import CHANNELS

PATH = "/metrics"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
OTHER = "other"
# Rasa's input channels (assistant/channels) and the record channels of the vocabulary.
KNOWN_CHANNELS = frozenset({*CHANNELS, "twilio_whatsapp"})
# The action server's outbox states (actions/outbox.py), each shown even when no row is in it.
OUTBOX_STATES = ("pending", "sending", "delivered", "rejected", "cancelling", "cancelled")
_ACTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,79}")
# Rasa turns take from a few milliseconds (a rule) to seconds (a booking meeting a slow hub).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)

TURNS = Counter("assistant_turns", "Worker messages Rasa handled, by input channel.", ["channel"])
TURN_SECONDS = Histogram(
    "assistant_turn_seconds", "Time from a worker's message to the reply, by channel.", ["channel"],
    buckets=LATENCY_BUCKETS,
)  # fmt: skip
ACTION_CALLS = Counter(
    "assistant_action_calls", "Custom actions the action server ran, by the conversation's channel.", ["channel"]
)
ACTION_SECONDS = Histogram(
    "assistant_action_seconds", "Time the action server took per action, by channel.", ["channel"],
    buckets=LATENCY_BUCKETS,
)  # fmt: skip
ACTION_FAILURES = Counter(
    "assistant_action_failures",
    "Actions that failed: raised on the action server, or could not be run by Rasa.",
    ["action"],
)
CONSULTS = Counter(
    "assistant_consults", "Consult requests the backend saved: booked into a slot, or queued for the hub.", ["outcome"]
)
ENCOUNTERS = Counter("assistant_encounters_saved", "Patient encounters the backend saved, by channel.", ["channel"])
OUTBOX_QUEUED = Counter(
    "assistant_outbox_queued", "Records the action server kept in its offline outbox for later, by kind.", ["kind"]
)


def channel_label(name: object) -> str:
    return name if isinstance(name, str) and name in KNOWN_CHANNELS else OTHER


def action_label(name: object) -> str:
    """An action's name as the domain spells them (``action_book_consult``); anything else is ``other``."""
    return name if isinstance(name, str) and _ACTION_NAME.fullmatch(name) else OTHER


def observe_turn(channel: object, seconds: float) -> None:
    label = channel_label(channel)
    TURNS.labels(label).inc()
    TURN_SECONDS.labels(label).observe(seconds)


def observe_action(channel: object, seconds: float) -> None:
    label = channel_label(channel)
    ACTION_CALLS.labels(label).inc()
    ACTION_SECONDS.labels(label).observe(seconds)


# Figures read at scrape time, as metric families.


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def labelled_gauge(name: str, documentation: str, label: str, values: Mapping[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def outbox_rows(counts: Mapping[str, int]) -> GaugeMetricFamily:
    every_state = {state: counts.get(state, 0) for state in OUTBOX_STATES}
    return labelled_gauge(
        "assistant_outbox_rows", "Rows of the action server's offline outbox, by state.", "state", every_state
    )


def pending_notices(number: int) -> GaugeMetricFamily:
    return gauge("assistant_hub_notices_pending", "Hub notices not yet delivered to the worker who asked.", number)


def hub_queue(number: int) -> GaugeMetricFamily:
    return gauge("assistant_hub_queue_consults", "Consults waiting in a hub's queue for a coordinator.", number)


# The channels that push replies and can end with dead letters (assistant/channels/state.py).
DEAD_LETTER_CHANNELS = ("whatsapp", "twilio_whatsapp")


def dead_letters(counts: Mapping[str, int]) -> GaugeMetricFamily:
    every_channel = dict.fromkeys(DEAD_LETTER_CHANNELS, 0)
    for channel, number in counts.items():
        label = channel_label(channel)
        every_channel[label] = every_channel.get(label, 0) + number
    return labelled_gauge(
        "assistant_dead_letters",
        "Replies WhatsApp or Twilio never took (dead letters), by channel.",
        "channel",
        every_channel,
    )


def backup_age(seconds: float | None) -> GaugeMetricFamily:
    """+Inf when there is no backup at all, so that an "older than" alert fires for it too."""
    return gauge(
        "assistant_backup_age_seconds",
        "Seconds since the newest backup archive was written (+Inf: none).",
        math.inf if seconds is None else seconds,
    )


def database_sizes(sizes: Mapping[str, int]) -> GaugeMetricFamily:
    return labelled_gauge(
        "assistant_database_size_bytes", "Size of each database file in the data directory.", "database", sizes
    )


# A service's scrape-time figures: read anew for every request of /metrics.
Readings = Callable[[], Awaitable[Iterable[Metric]]]


async def no_readings() -> Iterable[Metric]:
    return ()


class _Readings(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def exposition(readings: Iterable[Metric] = ()) -> bytes:
    """This process's counters and histograms, then the figures read for this scrape."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Readings(readings))
    return generate_latest(REGISTRY) + generate_latest(scrape)


# Who may read.


FORWARDED_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def may_read(peer: str | None, headers: Mapping[str, str], token: str) -> bool:
    """Loopback callers, or anyone with the metrics token.

    A request a proxy forwarded comes from the proxy's loopback address but
    from a caller elsewhere: it needs the token too.
    """
    given = headers.get("Authorization") or ""
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    return is_loopback(peer) and not any(headers.get(name) for name in FORWARDED_HEADERS)


REFUSAL = "Metrics answer this machine, or a caller with the metrics token (Authorization: Bearer).\n"
