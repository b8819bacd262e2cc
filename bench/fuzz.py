"""The backend fuzz at length: 10,000 random requests over every route of ``/openapi.json``, per database.

The same generator as ``tests/backend/test_fuzz.py`` (``tests.support.fuzz``):
wrong types, 10**400, NUL and other control characters, unicode, missing and
extra fields, bodies that are not JSON, every kind of credential. Printed:
the answers by status, the number of 5xx (must be 0) and of refusals without
the error shape, and the fuzz rate against GET /health in the same run (the
baseline: what the server answers when there is nothing to check).

Environment: BENCH_FUZZ_REQUESTS (default 10000) per database.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import requests

from tests.support.backend import RunningBackend, start_backend
from tests.support.fuzz import fuzz
from tests.support.postgres import PostgresServer

REQUESTS = int(os.environ.get("BENCH_FUZZ_REQUESTS", "10000"))
BASELINE_REQUESTS = 500


def _health_rate(backend: RunningBackend) -> float:
    with requests.Session() as session:
        started = time.perf_counter()
        for _ in range(BASELINE_REQUESTS):
            session.get(f"{backend.url}/health", timeout=30)
        return BASELINE_REQUESTS / (time.perf_counter() - started)


def _report(name: str, backend: RunningBackend) -> int:
    started = time.perf_counter()
    seen, problems = fuzz(backend, REQUESTS)
    elapsed = time.perf_counter() - started
    sent = sum(seen.values())
    server_errors = sum(count for status, count in seen.items() if status >= 500)
    baseline = _health_rate(backend)
    by_status = ", ".join(f"{status}×{count}" for status, count in sorted(seen.items()))
    print(f"{name}: {sent} requests in {elapsed:.0f} s ({sent / elapsed:.0f}/s; GET /health alone {baseline:.0f}/s)")
    print(f"  answers: {by_status}")
    print(f"  5xx: {server_errors}   refusals without a reason: {len(problems) - server_errors}")
    for problem in problems[:10]:
        print(f"  ! {problem}")
    return len(problems)


def main() -> None:
    print(f"{REQUESTS} fuzzed requests per database, one client, loopback, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as scratch:
        logs = Path(scratch)
        postgres = PostgresServer().start()
        backends = [
            ("SQLite", start_backend(f"sqlite:///{logs / 'fuzz.db'}", logs)),
            ("PostgreSQL", start_backend(postgres.create_database("bench_fuzz"), logs)),
        ]
        try:
            problems = sum(_report(name, backend) for name, backend in backends)
        finally:
            for _, backend in backends:
                backend.stop()
            postgres.stop()
    print("no request got a 5xx or an answer without a reason" if not problems else f"{problems} PROBLEMS")
