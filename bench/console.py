"""Supervisor console at scale: list and filter response times with 100,000 conversations.

Seeds a tracker store (Rasa's own schema and row format) with 100,000
conversations from 300 workers over 90 days, links encounters and consults to
them in the backend database, starts the real ``assistant serve console`` and
times real HTTP requests (sign-in cookie, audit write and HTML rendering
included). The baseline, in the same run with the same code, is a store of
1,000 conversations: the ratio column shows how the console grows with 100x
the history.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from tests.support.console import ConsoleClient, RunningConsole, assistant_cli, set_console_password, start_console
from tests.support.conversations import (
    add_linked_records,
    add_workers,
    synthetic_conversations,
    tracker_engine,
    write_rows,
)

CONVERSATIONS = int(os.environ.get("BENCH_CONSOLE_CONVERSATIONS", "100000"))
BASELINE_CONVERSATIONS = 1000
WORKERS = 300
DAYS = 90
REPEAT = int(os.environ.get("BENCH_CONSOLE_REPEAT", "5"))
PASSWORD = "bench-console-password"
SIROHI_FACILITIES = ["hwc-ajari", "sc-abu-road", "chc-pindwara", "chc-abu-road"]
BATCH = 50_000


class Store:
    """A backend database and a tracker store filled with ``count`` conversations."""

    def __init__(self, root: Path, count: int) -> None:
        self.root = root
        self.count = count
        self.db_url = f"sqlite:///{root / 'backend.db'}"
        self.tracker_url = f"sqlite:///{root / 'tracker.db'}"

    def build(self) -> dict[str, float]:
        started = time.perf_counter()
        assistant_cli("seed", "--db", self.db_url)
        backend = create_engine(self.db_url, future=True)
        workers = add_workers(backend, SIROHI_FACILITIES, WORKERS)
        facility_of = {worker: SIROHI_FACILITIES[n % len(SIROHI_FACILITIES)] for n, worker in enumerate(workers)}
        tracker = tracker_engine(self.tracker_url)
        now = time.time()
        batch, linked, events = [], [], 0
        for item in synthetic_conversations(workers, self.count, now - DAYS * 86400, now - 3600):
            batch.extend(item.rows)
            if item.kind in ("encounter", "consult"):
                linked.append(item)
            if len(batch) >= BATCH:
                write_rows(tracker, batch)
                events += len(batch)
                batch = []
        write_rows(tracker, batch)
        events += len(batch)
        records = add_linked_records(backend, linked, facility_of)
        for worker in ("A001", "S001", "S002"):
            set_console_password(self.db_url, worker, PASSWORD)
        backend.dispose()
        tracker.dispose()
        size_mb = (self.root / "tracker.db").stat().st_size / 1e6
        return {"events": events, "seconds": time.perf_counter() - started, "tracker_mb": size_mb, **records}


Scenario = tuple[str, str, str]  # label, user, path


def scenarios(first_conversation: str) -> list[Scenario]:
    week = (
        time.strftime("%Y-%m-%d", time.localtime(time.time() - 14 * 86400)),
        time.strftime("%Y-%m-%d", time.localtime(time.time() - 7 * 86400)),
    )
    return [
        ("list, newest page (admin)", "A001", "/conversations"),
        ("list, district supervisor (300 workers)", "S001", "/conversations"),
        ("list, block supervisor", "S002", "/conversations"),
        ("filter: one worker", "S001", "/conversations?worker=B00007"),
        ("filter: facility subtree", "S001", "/conversations?facility=chc-abu-road"),
        ("filter: one week", "A001", f"/conversations?date_from={week[0]}&date_to={week[1]}"),
        ("filter: channel voice", "A001", "/conversations?channel=voice"),
        ("filter: intent get_checklist", "A001", "/conversations?intent=get_checklist"),
        ("filter: fallback / low confidence", "A001", "/conversations?fallback=1"),
        ("filter: saved an encounter", "A001", "/conversations?encounter=1"),
        ("filter: booked a consult", "S001", "/conversations?consult=1"),
        (
            "filter: voice + fallback + week",
            "S001",
            f"/conversations?channel=voice&fallback=1&date_from={week[0]}&date_to={week[1]}",
        ),
        (
            "filter: rare (whatsapp + encounter, 1 worker)",
            "S001",
            "/conversations?worker=B00011&channel=whatsapp&encounter=1",
        ),
        ("transcript view", "A001", f"/conversations/{first_conversation}"),
        ("dashboard, 30 days", "S001", "/dashboard?days=30"),
    ]


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def measure(console: RunningConsole, repeat: int) -> dict[str, tuple[float, float]]:
    clients: dict[str, ConsoleClient] = {}
    for user in ("A001", "S001", "S002"):
        clients[user] = console.client()
        response = clients[user].login(user, PASSWORD)
        assert response.status_code == 303, f"bench login failed for {user}: {response.status_code}"
    newest = clients["A001"].get("/conversations").text
    first = newest.split('href="/conversations/', 1)[1].split('"', 1)[0]
    results: dict[str, tuple[float, float]] = {}
    for label, user, path in scenarios(first):
        client = clients[user]

        def fetch(client: Any = client, path: str = path) -> None:
            response = client.get(path)
            assert response.status_code == 200, f"{path}: {response.status_code}"

        fetch()  # warm the page cache and the connection pool
        times = [_timed(fetch) for _ in range(repeat)]
        results[label] = (statistics.median(times), max(times))
    # Deep pagination: follow "Older" links 20 pages down, timing each step.
    client, path, steps = clients["A001"], "/conversations", []
    for _ in range(20):
        started = time.perf_counter()
        page = client.get(path).text
        steps.append((time.perf_counter() - started) * 1000)
        marker = 'id="older" href="'
        if marker not in page:
            break
        path = page.split(marker, 1)[1].split('"', 1)[0].replace("&amp;", "&")
    results["paging: 20 pages of Older"] = (statistics.median(steps), max(steps))
    return results


def run_store(root: Path, count: int) -> tuple[dict[str, float], float, dict[str, tuple[float, float]]]:
    store = Store(root, count)
    built = store.build()
    started = time.perf_counter()
    console = start_console(store.db_url, store.tracker_url, root / "logs", timeout=600)
    startup = time.perf_counter() - started  # includes creating the console's indexes
    try:
        return built, startup, measure(console, REPEAT)
    finally:
        console.stop()


def _row(label: str, big: tuple[float, float], small: tuple[float, float] | None) -> str:
    ratio = f"{big[0] / small[0]:5.1f}x" if small and small[0] else "   -"
    baseline = f"{small[0]:8.1f}" if small else "       -"
    return f"  {label:<46} {big[0]:8.1f} {big[1]:8.1f}   {baseline}   {ratio}"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        root = Path(tmp)
        (root / "big").mkdir()
        (root / "small").mkdir()
        print(
            f"seeding {CONVERSATIONS:,} conversations (and a {BASELINE_CONVERSATIONS:,}-conversation baseline)...",
            flush=True,
        )
        built, startup, big = run_store(root / "big", CONVERSATIONS)
        small_built, small_startup, small = run_store(root / "small", BASELINE_CONVERSATIONS)
    print(
        (
            f"tracker store: {CONVERSATIONS:,} conversations, {built['events']:,.0f} events, "
            f"{built['tracker_mb']:.0f} MB SQLite; "
        )(
            f"{built['encounters']:,.0f} encounters and {built['consults']:,.0f} consults linked; seeded in "
            f"{built['seconds']:.0f} s"
        )
    )
    print(
        f"console start-up (creates its indexes on Rasa's table): {startup:.1f} s ({small_startup:.1f} s at "
        f"{BASELINE_CONVERSATIONS:,})"
    )
    print(f"\nHTTP response time, ms (median and max of {REPEAT}, after one warm-up; signed in, audited, rendered)")
    print(f"  {'request':<46} {'median':>8} {'max':>8}   {'baseline':>8}   ratio")
    print(f"  {'':<46} {CONVERSATIONS:>8,} {'':>8}   {BASELINE_CONVERSATIONS:>8,}")
    for label, figures in big.items():
        print(_row(label, figures, small.get(label)))


if __name__ == "__main__":
    main()
