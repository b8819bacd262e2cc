"""End-to-end latency of conversation turns through the REST channel, against a bare Rasa bot in the same run.

The whole stack runs as in `assistant up` (trained model, `rasa run`,
action server, backend on SQLite), one worker talking at a time, as on a
clinic phone. Beside it runs the peer a user would compare us with: a bare
``rasa init --no-prompt`` bot trained here (``bench/peer.py``), its turns
interleaved with ours. Four kinds of our turn are timed:

- plain reply: "hello" (NLU, a rule, the language action);
- checklist step: "next" inside an open checklist (the action reads the step);
- consult booking: the "yes" after a read-back (the action books on the backend);
- encounter save: the "yes" after a read-back (the action saves on the backend).

Each is reported as a ratio to the peer's plain "hello" turn, and to POST
/model/parse on the same texts (what understanding alone costs). Then a
worker's day: one worker (and one peer sender) talk BENCH_DAY_TURNS turns of
mixed flows, and the same kinds are compared at the day's start (turns up
to 90: ten of each kind) and its end (the last 90). Also printed: the stack's cold start
(model already trained) and each service's resident memory.

Environment: BENCH_TURNS (default 40) turns of each kind; BENCH_DAY_TURNS
(default 500) turns in the day.
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
from bench.peer import PeerBot, peer_project
from tests.support.stack import RunningStack, start_stack, trained_model

TURNS = int(os.environ.get("BENCH_TURNS", "40"))
DAY_TURNS = int(os.environ.get("BENCH_DAY_TURNS", "500"))
DAY_EDGE = 90  # turns at each end of the day compared: ten of each kind, for a steady median
PEER = "bare rasa init 'hello'"
# What each timed turn must answer, or the bench is timing something else (a re-prompt, a misheard
# vital): the English texts of actions/texts.py.
OUTCOMES = {
    "plain reply": ("Namaste",),
    "checklist step": ("Step", "complete"),
    "consult booking": ("Booked:", "is with the hub"),
    "encounter save": ("Saved.",),
}


def checked(kind: str, said: str, answer: str) -> str:
    """``answer`` when it is what a ``kind`` turn answers; otherwise the bench stops, saying what it got."""
    if not any(marker in answer for marker in OUTCOMES[kind]):
        raise RuntimeError(f"{kind}: {said!r} was answered {answer!r}, not a {kind}")
    return answer


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


class Bench:
    def __init__(self, stack: RunningStack, peer: PeerBot) -> None:
        self.stack = stack
        self.peer = peer
        self.samples: dict[str, list[float]] = {}
        self.parse_samples: list[float] = []

    def turn(self, kind: str, worker: str, text: str) -> str:
        replies: list[dict[str, str]] = []
        self.samples.setdefault(kind, []).append(_timed(lambda: replies.extend(self.stack.say(worker, text))))
        self.parse_samples.append(_timed(lambda: self._parse(text)))
        # One peer conversation per kind: each as long as the worker's it is compared with.
        self.samples.setdefault(PEER, []).append(_timed(lambda: self.peer.say(f"peer-{kind}", "hello")))
        return checked(kind, text, " ".join(reply.get("text", "") for reply in replies))

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
        peer = statistics.median(self.samples[PEER])
        print(
            f"{TURNS} turns of each kind, one worker at a time, loopback, {os.cpu_count()} cores; fresh conversations"
        )
        print(f"{'turn':<34} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'p50 / peer':>11} {'p50 / parse':>12}")
        print(
            f"{'POST /model/parse (baseline)':<34} {len(self.parse_samples):>4} {base:>8.1f} "
            f"{percentile(self.parse_samples, 0.95):>8.1f} {base / peer:>10.2f}x {1.0:>11.2f}x"
        )
        for kind, samples in self.samples.items():
            p50 = statistics.median(samples)
            p95 = percentile(samples, 0.95)
            name = kind if kind == PEER else "REST " + kind
            print(f"{name:<34} {len(samples):>4} {p50:>8.1f} {p95:>8.1f} {p50 / peer:>10.2f}x {p50 / base:>11.2f}x")
        print(f"\ncold start of the stack (model trained): {cold_start:.1f} s")
        print(
            "resident memory: "
            + ", ".join(
                f"{name} {rss_mb(process.pid):.0f} MB"
                for name, process in self.stack.supervisor.processes.items()
                if process.pid
            )
        )


class WorkersDay:
    """One worker's long day of mixed flows beside a peer sender's, timed by kind and by turn number."""

    def __init__(self, stack: RunningStack, peer: PeerBot) -> None:
        self.stack, self.peer = stack, peer
        self.worker = stack.new_worker()
        self.turns = 0
        self.timed: list[tuple[int, str, float]] = []  # (turn number, kind, ms)

    def _say(self, text: str, kind: str | None = None) -> str:
        self.turns += 1
        replies: list[dict[str, str]] = []
        spent = _timed(lambda: replies.extend(self.stack.say(self.worker, text)))
        if kind is not None:
            self.timed.append((self.turns, kind, spent))
            self.timed.append((self.turns, PEER, _timed(lambda: self.peer.say("peer-day", "hello"))))
        else:
            self.peer.say("peer-day", "hello")  # the peer's conversation grows as ours does
        answer = " ".join(reply.get("text", "") for reply in replies)
        return answer if kind is None else checked(kind, text, answer)

    def run(self) -> None:
        n = 0
        while self.turns < DAY_TURNS:
            n += 1
            self._say("hello", "plain reply")
            self._say("show me the hand hygiene checklist")
            self._say("next", "checklist step")
            self._say("stop")
            self._say(f"routine dermatology consult for patient {20000 + n}, itchy rash")
            self._say("yes", "consult booking")
            self._say(f"log encounter for patient {30000 + n}, 45 year old female, fever, bp 120 over 80 pulse 80")
            self._say("no")
            self._say("yes", "encounter save")

    def report(self) -> None:
        def p50(kind: str, first: bool) -> float:
            edge = [
                ms
                for turn, k, ms in self.timed
                if k == kind and (turn <= DAY_EDGE if first else turn > self.turns - DAY_EDGE)
            ]
            return statistics.median(edge) if edge else float("nan")

        peer_start, peer_end = p50(PEER, True), p50(PEER, False)
        print(f"\na worker's day: {self.turns} turns of mixed flows; p50 of the first and the last {DAY_EDGE} turns")
        print(f"{'turn':<34} {'start ms':>9} {'end ms':>9} {'end / start':>12} {'start / peer':>13} {'end / peer':>11}")
        for kind in (PEER, "plain reply", "checklist step", "consult booking", "encounter save"):
            start, end = p50(kind, True), p50(kind, False)
            name = kind if kind == PEER else "REST " + kind
            print(
                f"{name:<34} {start:>9.1f} {end:>9.1f} {end / start:>11.2f}x "
                f"{start / peer_start:>12.2f}x {end / peer_end:>10.2f}x"
            )


def main() -> None:
    trained_model()  # training is not part of the cold start
    peer_project()
    with tempfile.TemporaryDirectory(prefix="bench-turns-") as scratch:
        peer = PeerBot(Path(scratch)).start()
        started = time.perf_counter()
        stack = start_stack(Path(scratch))
        cold_start = time.perf_counter() - started
        try:
            bench = Bench(stack, peer)
            bench.run()
            bench.report(cold_start)
            day = WorkersDay(stack, peer)
            day.run()
            day.report()
        finally:
            stack.stop()
            peer.stop()
