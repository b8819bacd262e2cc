"""How long the trained model takes to load, Rasa's own way and ours, and that both predict exactly the same.

Each way loads the model in a fresh process (as ``rasa run`` does at every
start and restart), three times, and then parses the held-out utterances
(``tests/nlu_holdout.yml``). The baseline is Rasa 3.6's own loading; ours is
``assistant.rasa_server.model_loading`` (the weight-building step run
eagerly). The figures are the medians; the benchmark stops loudly if the two
ways differ in a single intent, confidence or entity.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from typing import Any

import yaml

from assistant.core.config import PROJECT_DIR
from tests.support.stack import trained_model

RUNS = 3
# Loads the model one way, then prints the seconds it took and every parse, as JSON.
PROBE = """
import asyncio, json, sys, time
if sys.argv[1] == "ours":
    from assistant.rasa_server import model_loading
    model_loading.install()
from rasa.core.agent import load_agent
started = time.monotonic()
agent = asyncio.run(load_agent(model_path=sys.argv[2]))
seconds = time.monotonic() - started
parses = []
for text in json.loads(sys.argv[3]):
    parsed = asyncio.run(agent.parse_message(text))
    parses.append([parsed["intent"]["name"], parsed["intent"]["confidence"],
                   [(e["entity"], e["value"], e.get("confidence_entity")) for e in parsed["entities"]],
                   [(i["name"], i["confidence"]) for i in parsed["intent_ranking"]]])
print(json.dumps({"seconds": seconds, "parses": parses}))
"""


def held_out_utterances() -> list[str]:
    """The examples of the held-out set, without their entity annotations."""
    data = yaml.safe_load((PROJECT_DIR / "tests" / "nlu_holdout.yml").read_text(encoding="utf-8"))
    texts = []
    for block in data.get("nlu", []):
        for line in str(block.get("examples", "")).splitlines():
            example = line.strip().removeprefix("- ").strip()
            if example:
                # [text](entity) and [text]{"entity": ...} annotations keep their text only.
                texts.append(_plain(example))
    return texts


def _plain(example: str) -> str:
    return re.sub(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})", r"\1", example)


def load(way: str, model: str, texts: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, way, model, json.dumps(texts)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"loading the model ({way}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    model, texts = str(trained_model()), held_out_utterances()
    print(f"model {model}; {len(texts)} held-out utterances; {RUNS} loads each way, each in a new process")
    results: dict[str, list[dict[str, Any]]] = {"rasa": [], "ours": []}
    for _ in range(RUNS):
        for way in results:
            results[way].append(load(way, model, texts))
    medians = {way: statistics.median(run["seconds"] for run in runs) for way, runs in results.items()}
    print(f"  Rasa 3.6's own loading  median {medians['rasa']:6.1f} s  (baseline)")
    print(f"  ours (eager weights)    median {medians['ours']:6.1f} s  ({medians['ours'] / medians['rasa']:.2f}x)")
    reference = results["rasa"][0]["parses"]
    differing = [
        text
        for runs in results.values()
        for run in runs
        for text, parse, expected in zip(texts, run["parses"], reference, strict=True)
        if parse != expected
    ]
    if differing:
        raise SystemExit(f"the two ways of loading predict differently, e.g. for {differing[:3]}")
    print(f"  predictions: identical for all {len(texts)} utterances, in every run of both ways")
