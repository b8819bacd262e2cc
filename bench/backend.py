"""Backend throughput and latency: POST /consults and GET /checklists/{slug}, SQLite vs PostgreSQL.

Closed-loop load on loopback with bounded concurrency. The baseline, in the
same run and on the same server, is GET /health (routing, auth-free, one
trivial query), so the ratios show what the endpoint's own work costs. The
last column is the server's CPU per request (all its processes), which the
other programs on the machine hardly move; below the table, the SQL
statements one booking sends (``bench.backend_queries``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from assistant.core.vocabulary import SPECIALTIES
from bench.backend_queries import BookingCost, booking_cost, print_costs
from bench.loadgen import LoadResult, print_table, run_load
from tests.support.backend import RunningBackend, start_backend
from tests.support.postgres import PostgresServer
from tests.support.sockets import descendants

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
BASELINE = "GET /health (baseline)"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU of ``pid`` and every process under it (the backend may serve from several)."""
    total = 0
    for process in descendants(pid):
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


async def measure(backend: RunningBackend) -> list[LoadResult]:
    headers = backend.headers("service", "W001")
    specialties = list(SPECIALTIES)
    pid = backend.process.pid
    assert pid is not None

    def server_cpu() -> float:
        return cpu_seconds(pid)

    def health(_: int) -> tuple[str, str, dict[str, Any]]:
        return "GET", f"{backend.url}/health", {}

    def checklist(n: int) -> tuple[str, str, dict[str, Any]]:
        lang = "hi" if n % 2 else "en"
        return "GET", f"{backend.url}/checklists/hand_hygiene?lang={lang}", {"headers": headers}

    def consult(n: int) -> tuple[str, str, dict[str, Any]]:
        body = {"patient_ref": f"BENCH-{n}", "specialty": specialties[n % len(specialties)], "urgency": "routine"}
        return (
            "POST",
            f"{backend.url}/consults",
            {"json": body, "headers": {**headers, "Idempotency-Key": f"bench-{os.getpid()}-{n}"}},
        )

    # Warm up connections and caches before measuring.
    await run_load("warm-up", health, 50, CONCURRENCY, {200})
    return [
        await run_load(BASELINE, health, REQUESTS, CONCURRENCY, {200}, server_cpu),
        await run_load("GET /checklists/hand_hygiene", checklist, REQUESTS, CONCURRENCY, {200}, server_cpu),
        await run_load("POST /consults (idempotent)", consult, REQUESTS, CONCURRENCY, {201}, server_cpu),
    ]


def main() -> None:
    print(f"{REQUESTS} requests per endpoint, {CONCURRENCY} concurrent clients, loopback, {os.cpu_count()} cores")
    rows: list[tuple[str, LoadResult]] = []
    costs: list[BookingCost] = []
    with tempfile.TemporaryDirectory(prefix="bench-backend-") as scratch:
        logs = Path(scratch)
        postgres = PostgresServer().start()
        try:
            for setup, url in (
                ("sqlite", f"sqlite:///{logs / 'bench.db'}"),
                ("postgres", postgres.create_database("bench")),
            ):
                backend = start_backend(url, logs)
                try:
                    serving = len(descendants(backend.process.pid or 0))
                    print(f"{setup}: the backend serves from {max(1, serving - 1)} process(es)")
                    rows += [(setup, result) for result in asyncio.run(measure(backend))]
                finally:
                    backend.stop()
            for setup, url in (
                ("sqlite", f"sqlite:///{logs / 'queries.db'}"),
                ("postgres", postgres.create_database("queries")),
            ):
                costs.append(asyncio.run(booking_cost(url, setup)))
        finally:
            postgres.stop()
    print_table(rows, BASELINE)
    print()
    print_costs(costs, verbose=True)


if __name__ == "__main__":
    sys.exit(main())
