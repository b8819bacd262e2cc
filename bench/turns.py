"""End-to-end latency of conversation turns through the REST channel, against /model/parse alone.

The whole stack runs as in `assistant up` (trained model, `rasa run`,
action server, backend on SQLite), one worker talking at a time, as on a
clinic phone. Four kinds of turn are timed:

- plain reply: "hello" (NLU, a rule, the language action);
- checklist step: "next" inside an open checklist (the action reads the step);
- consult booking: the "yes" after a read-back (the action books on the backend);
- encounter save: the "yes" after a read-back (the action saves on the backend).

The baseline in the same run is POST /model/parse on the same texts: what
understanding alone costs. Also printed: the stack's cold start (model
already trained) and each service's resident memory.

Environment: BENCH_TURNS (default 40) turns of each kind.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from bench.measure import percentile, rss_mb
from tests.support.stack import RunningStack, start_stack, trained_model

TURNS = int(os.environ.get("BENCH_TURNS", "40"))


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


class Bench:
    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.samples: dict[str, list[float]] = {}
        self.parse_samples: list[float] = []

    def turn(self, kind: str, worker: str, text: str) -> str:
        replies: list[dict[str, str]] = []
        self.samples.setdefault(kind, []).append(_timed(lambda: replies.extend(self.stack.say(worker, text))))
        self.parse_samples.append(_timed(lambda: self._parse(text)))
        return " ".join(reply.get("text", "") for reply in replies)

    def _parse(self, text: str) -> None:
        response = requests.post(
            f"{self.stack.rasa_url}/model/parse",
            params={"token": self.stack.rasa_token},
            json={"text": text},
            timeout=60,
        )
        response.raise_for_status()

    def run(self) -> None:
        greeter, reader, booker, recorder = (self.stack.new_worker() for _ in range(4))
        self.stack.say(greeter, "hello")  # warm-up: first turns load lazily
        self.stack.say(reader, "show me the hand hygiene checklist")
        for n in range(TURNS):
            self.turn("plain reply", greeter, "hello")

            if "complete" in self.turn("checklist step", reader, "next"):
                self.stack.say(reader, "show me the hand hygiene checklist")

            self.stack.say(booker, f"routine dermatology consult for patient {7000 + n}, itchy rash")
            self.turn("consult booking", booker, "yes")

            self.stack.say(
                recorder, f"log encounter for patient {8000 + n}, 45 year old female, fever, bp 120 over 80 pulse 80"
            )
            self.stack.say(recorder, "no")  # no notes: the read-back follows
            self.turn("encounter save", recorder, "yes")

    def report(self, cold_start: float) -> None:
        base = statistics.median(self.parse_samples)
        print(f"{TURNS} turns of each kind, one worker at a time, loopback, {os.cpu_count()} cores")
        print(f"{'turn':<34} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'p50 / parse':>12}")
        print(
            f"{'POST /model/parse (baseline)':<34} {len(self.parse_samples):>4} {base:>8.1f} "
            f"{percentile(self.parse_samples, 0.95):>8.1f} {1.0:>11.2f}x"
        )
        for kind, samples in self.samples.items():
            p50 = statistics.median(samples)
            p95 = percentile(samples, 0.95)
            print(f"{'REST ' + kind:<34} {len(samples):>4} {p50:>8.1f} {p95:>8.1f} {p50 / base:>11.2f}x")
        print(f"\ncold start of the stack (model trained): {cold_start:.1f} s")
        print(
            "resident memory: "
            + ", ".join(
                f"{name} {rss_mb(process.pid):.0f} MB"
                for name, process in self.stack.supervisor.processes.items()
                if process.pid
            )
        )


def main() -> None:
    trained_model()  # training is not part of the cold start
    with tempfile.TemporaryDirectory(prefix="bench-turns-") as scratch:
        started = time.perf_counter()
        stack = start_stack(Path(scratch))
        cold_start = time.perf_counter() - started
        try:
            bench = Bench(stack)
            bench.run()
            bench.report(cold_start)
        finally:
            stack.stop()
