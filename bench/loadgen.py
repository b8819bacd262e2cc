"""A small closed-loop HTTP load generator: N workers, each sending its next request when the last returns."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

RequestFactory = Callable[[int], tuple[str, str, dict[str, Any]]]  # (method, url, kwargs)
CpuClock = Callable[[], float]  # CPU seconds the server has used so far


@dataclass
class LoadResult:
    label: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    # The server's CPU per request: unlike req/s and latency, hardly moved by what else the machine runs.
    server_cpu_ms: float | None = None

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


async def run_load(
    label: str,
    make_request: RequestFactory,
    total: int,
    concurrency: int,
    expect: set[int],
    server_cpu: CpuClock | None = None,
) -> LoadResult:
    counter = iter(range(total))
    latencies: list[float] = []
    errors = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for number in counter:
            method, url, kwargs = make_request(number)
            started = time.perf_counter()
            async with session.request(method, url, **kwargs) as response:
                await response.read()
                if response.status not in expect:
                    errors += 1
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        cpu_before = server_cpu() if server_cpu else 0.0
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu_ms = (server_cpu() - cpu_before) * 1000 / total if server_cpu and total else None
    return LoadResult(label, total, errors, elapsed, latencies, cpu_ms)


def print_table(rows: list[tuple[str, LoadResult]], baseline_label: str) -> None:
    print(
        f"{'setup':<10} {'endpoint':<34} {'n':>6} {'err':>4} {'req/s':>8} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'p50/base':>9} {'srv cpu ms':>10}"
    )
    baselines = {setup: result.median for setup, result in rows if result.label == baseline_label}
    for setup, result in rows:
        ratio = result.median / baselines[setup] if baselines.get(setup) else float("nan")
        cpu = f"{result.server_cpu_ms:>10.2f}" if result.server_cpu_ms is not None else f"{'-':>10}"
        print(
            f"{setup:<10} {result.label:<34} {result.requests:>6} {result.errors:>4} {result.throughput:>8.1f} "
            f"{result.median:>8.2f} {result.percentile(0.95):>8.2f} {result.percentile(0.99):>8.2f} {ratio:>8.2f}x "
            f"{cpu}"
        )
