"""Load and soak: many workers talking at once for a while, then every record counted.

N simulated workers (``tests.support.scripted_workers``: consults, encounters
and checklists with fresh patient ids, on the REST channel with their own
tokens) talk to a real stack for a set time. The figures:

- turns/s, and turn latency p50/p95/p99, with the same stack's unloaded turn
  (one worker saying "hello", before the load) as the baseline, as a ratio;
- errors: tries that got no answer (a refused connection, a 5xx), turns never
  answered, replies out of place;
- each service's RSS at the start and the end of the load, and its growth per
  1 000 turns;
- records promised to the workers against records in the backend: lost and
  duplicated must both be 0.

Configurations: ``sqlite`` (the default stack, one Rasa server) and
``district`` (PostgreSQL backend and tracker store, Redis lock store, two Rasa
servers taking turns alternately). Loopback only, bounded by time and turns.

Environment: ``BENCH_SOAK_SECONDS`` (default 600), ``BENCH_SOAK_WORKERS``
(default "20", a list such as "20,50" runs each), ``BENCH_SOAK_SETUPS``
(default "sqlite,district"), ``BENCH_SOAK_MAX_TURNS`` (default 200000, a
safety cap), ``BENCH_SOAK_SEED``.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant.domain.api_tokens import local_worker_token
from bench.measure import percentile, rss_mb
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer
from tests.support.scripted_workers import FLOWS, Ledger, PatientIds, RestChannel, ScriptedWorker, Step, records_made
from tests.support.stack import RunningStack, start_district, start_stack

SECONDS = float(os.environ.get("BENCH_SOAK_SECONDS", "600"))
WORKER_COUNTS = [int(count) for count in os.environ.get("BENCH_SOAK_WORKERS", "20").split(",")]
SETUPS = os.environ.get("BENCH_SOAK_SETUPS", "sqlite,district").split(",")
MAX_TURNS = int(os.environ.get("BENCH_SOAK_MAX_TURNS", "200000"))
SEED = int(os.environ.get("BENCH_SOAK_SEED", "1202"))
BASELINE_TURNS = 30


@dataclass
class Target:
    stack: RunningStack
    rasa_urls: list[str]  # turns go round these (one per Rasa server)


def _rss(stack: RunningStack) -> dict[str, float]:
    return {name: rss_mb(process.pid) for name, process in stack.supervisor.processes.items() if process.pid}


@contextmanager
def _setup(name: str, scratch: Path) -> Iterator[Target]:
    if name == "sqlite":
        stack = start_stack(scratch)
        try:
            yield Target(stack, [stack.rasa_url])
        finally:
            stack.stop()
        return
    postgres, redis = PostgresServer().start(), RedisServer().start()
    try:
        stack, second = start_district(scratch, postgres, redis, databases="soak")
        try:
            yield Target(stack, [stack.rasa_url, second])
        finally:
            stack.stop()
    finally:
        redis.stop()
        postgres.stop()


def _baseline_ms(target: Target) -> float:
    """One worker alone saying "hello": the same stack's turn with nothing else going on."""
    worker = target.stack.new_worker()
    channel = RestChannel(target.rasa_urls[0], local_worker_token(target.stack.settings, worker))
    samples = []
    for _ in range(BASELINE_TURNS):
        started = time.perf_counter()
        channel.send("hello", "")
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _talk(worker: ScriptedWorker, patients: PatientIds, deadline: float) -> None:
    while time.monotonic() < deadline and worker.ledger.turns < MAX_TURNS:
        flow = worker.rng.choice(tuple(FLOWS))
        worker.run_flow(flow, patients.new())


@dataclass
class SoakResult:
    elapsed: float
    ledger: Ledger
    rss_before: dict[str, float]
    rss_after: dict[str, float]
    promised: Counter[tuple[str, str, str]]
    found: Counter[tuple[str, str, str]]


def _soak(target: Target, workers: int, rng: random.Random) -> SoakResult:
    stack, warmup, ledger = target.stack, Ledger(), Ledger()
    ids = [stack.new_worker() for _ in range(workers)]
    scripted = [
        ScriptedWorker(
            worker_id,
            RestChannel(target.rasa_urls[index % len(target.rasa_urls)], local_worker_token(stack.settings, worker_id)),
            warmup,
            random.Random(rng.random()),
        )
        for index, worker_id in enumerate(ids)
    ]
    for worker in scripted:  # each worker's first turn checks their token: not part of the load
        worker.turn(Step("hello", ("Namaste",)), "")
        worker.ledger = ledger
    before = _rss(stack)
    patients = PatientIds(random.Random(rng.random()))
    started = time.monotonic()
    threads = [
        threading.Thread(target=_talk, args=(worker, patients, started + SECONDS), daemon=True) for worker in scripted
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    after = _rss(stack)
    time.sleep(5)  # anything queued on the phone goes out
    return SoakResult(elapsed, ledger, before, after, ledger.promised, records_made(stack.backend_db, ids))


def _print(setup: str, workers: int, baseline: float, result: SoakResult) -> None:
    ledger, elapsed = result.ledger, result.elapsed
    latencies = [seconds * 1000 for seconds in ledger.latencies] or [0.0]
    p50, p95, p99 = (percentile(latencies, q) for q in (0.50, 0.95, 0.99))
    print(f"\n{setup}, {workers} workers, {elapsed:.0f} s: {ledger.turns} turns, {ledger.turns / elapsed:.1f} turns/s")
    print(f"  unloaded turn (baseline, same stack): p50 {baseline:.0f} ms")
    print(
        f"  turn latency p50 {p50:.0f} ms ({p50 / baseline:.1f}x), p95 {p95:.0f} ms ({p95 / baseline:.1f}x), "
        f"p99 {p99:.0f} ms ({p99 / baseline:.1f}x)"
    )
    failed_tries = ledger.tries - len(ledger.latencies)
    print(
        f"  errors: {failed_tries} tries unanswered (sent again), {len(ledger.unanswered)} turns never answered, "
        f"{len(ledger.lost_place)} replies out of place, {ledger.apologies} apologies"
    )
    for name, after in sorted(result.rss_after.items()):
        before = result.rss_before.get(name, 0.0)
        growth = (after - before) / max(ledger.turns, 1) * 1000
        print(f"  RSS {name:<8} {before:7.0f} MB -> {after:7.0f} MB ({growth:+.1f} MB / 1000 turns)")
    lost, duplicated = result.promised - result.found, result.found - result.promised
    print(
        f"  records: {sum(result.promised.values())} promised, {sum(result.found.values())} in the backend; "
        f"lost {sum(lost.values())}, duplicated {sum(duplicated.values())}"
    )


def main() -> None:
    rng = random.Random(SEED)
    print(f"soak: {SECONDS:.0f} s per run, workers {WORKER_COUNTS}, setups {SETUPS}, seed {SEED}")
    for setup in SETUPS:
        with (
            tempfile.TemporaryDirectory(prefix=f"bench-soak-{setup}-") as scratch,
            _setup(setup, Path(scratch)) as target,
        ):
            baseline = _baseline_ms(target)
            for workers in WORKER_COUNTS:
                _print(setup, workers, baseline, _soak(target, workers, rng))


if __name__ == "__main__":
    main()
