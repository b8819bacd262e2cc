"""The three imports at district scale and beyond: time per row at 1,000, 4,000 and 16,000 rows.

Each size runs in a new data dir made by ``assistant init``, through the
real ``assistant`` command (in-process, on SQLite): ``facilities import``
(5 hubs, then district hospitals, CHCs and sub-centres under them),
``workers import`` (people spread over those facilities) and ``roster
import`` (specialists at the hubs, four weekly rows each, cut into slots).
The baseline, in the same run, is the 1,000-row file: an import is linear
when its time per row stays flat as the rows grow (ratio near 1). Then the
PINs of ``workers import --pins`` (scrypt, slow by design) per new worker.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.processes import run_assistant

SIZES = tuple(int(size) for size in os.environ.get("BENCH_IMPORT_ROWS", "1000,4000,16000").split(","))
PIN_WORKERS = int(os.environ.get("BENCH_IMPORT_PINS", "200"))
HUBS = 5
WEEKDAYS = ("mon", "tue", "wed", "thu")


def facilities_csv(rows: int) -> str:
    lines = ["id,name,kind,parent_id,hub_id,district"]
    lines += [f"hub-{n},Hub {n},hub,,,District {n}" for n in range(HUBS)]
    for n in range(rows - HUBS):  # every 50th a district hospital, every 10th a CHC under it, sub-centres under that
        block = n - n % 10
        if n % 50 == 0:
            lines.append(f"dh-{n},District hospital {n},district_hospital,,hub-{n % HUBS},District {n}")
        elif n % 10 == 0:
            lines.append(f"chc-{n},CHC {n},chc,dh-{n - n % 50},,")
        else:
            lines.append(f"sc-{n},Sub-centre {n},sub_centre,{'dh' if block % 50 == 0 else 'chc'}-{block},,")
    return "\n".join(lines) + "\n"


def field_facilities(rows: int) -> list[str]:
    return [line.split(",")[0] for line in facilities_csv(rows).splitlines()[1:] if line.startswith("sc-")]


def workers_csv(rows: int, facilities: list[str], prefix: str = "W") -> str:
    lines = ["id,name,role,facility_id,phone,language"]
    lines += [
        f"{prefix}{n:06d},Worker {n},worker,{facilities[n % len(facilities)]},+9198{n:08d},{'hi' if n % 2 else 'en'}"
        for n in range(rows)
    ]
    return "\n".join(lines) + "\n"


def roster_csv(rows: int) -> str:
    lines = ["upn,name,specialty,facility,day,start,end,slot_minutes,login"]
    for n in range(rows):
        specialist, day = divmod(n, len(WEEKDAYS))
        lines.append(
            f"s{specialist}@hub.example,Dr. S {specialist},pediatrics,hub-{specialist % HUBS},{WEEKDAYS[day]},"
            f"09:00,11:00,30,{f'L{specialist:06d}' if day == 0 else ''}"
        )
    return "\n".join(lines) + "\n"


def timed(data_dir: Path, *args: str) -> float:
    env = {"ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_DB_URL": ""}
    started = time.perf_counter()
    done = run_assistant(*args, env=env, timeout=1800)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"assistant {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def new_programme(root: Path) -> Path:
    data_dir = root / "data"
    timed(
        data_dir,
        "init",
        "--admin-id",
        "A001",
        "--admin-name",
        "Bench Admin",
        "--hub-id",
        "hub-0",
        "--hub-name",
        "Hub 0",
        "--hub-district",
        "District 0",
    )
    return data_dir


def measure(rows: int) -> dict[str, float]:
    """Seconds of each import of ``rows`` rows, each into a programme holding what the ones before it imported."""
    with tempfile.TemporaryDirectory(prefix=f"bench-imports-{rows}-") as root:
        data_dir = new_programme(Path(root))
        files: dict[str, Callable[[], str]] = {
            "facilities": lambda: facilities_csv(rows),
            "workers": lambda: workers_csv(rows, field_facilities(rows)),
            "roster": lambda: roster_csv(rows),
        }
        seconds = {}
        for name, make in files.items():
            path = Path(root) / f"{name}.csv"
            path.write_text(make(), encoding="utf-8")
            verb = "roster" if name == "roster" else name
            seconds[name] = timed(data_dir, verb, "import", str(path))
            seconds[f"{name} again"] = timed(data_dir, verb, "import", str(path))  # nothing to change
        return seconds


def pins_per_worker() -> float:
    with tempfile.TemporaryDirectory(prefix="bench-pins-") as root:
        data_dir = new_programme(Path(root))
        facilities = Path(root) / "facilities.csv"
        facilities.write_text(facilities_csv(100), encoding="utf-8")
        timed(data_dir, "facilities", "import", str(facilities))
        people = Path(root) / "workers.csv"
        people.write_text(workers_csv(PIN_WORKERS, field_facilities(100), prefix="P"), encoding="utf-8")
        return timed(data_dir, "workers", "import", "--pins", str(Path(root) / "pins.html"), str(people)) / PIN_WORKERS


def main() -> None:
    results = {rows: measure(rows) for rows in SIZES}
    baseline = results[SIZES[0]]
    print(f"{'import':<18}" + "".join(f"{rows:>10,} rows  ms/row" for rows in SIZES) + "   ratio (ms/row vs first)")
    for name in baseline:
        cells = "".join(f"{results[rows][name]:>10.2f} s {1000 * results[rows][name] / rows:>7.3f}" for rows in SIZES)
        ratios = " ".join(f"{(results[rows][name] / rows) / (baseline[name] / SIZES[0]):.2f}" for rows in SIZES[1:])
        print(f"{name:<18}{cells}   {ratios}")
    print(f"workers --pins: {1000 * pins_per_worker():.1f} ms per new worker's PIN ({PIN_WORKERS} workers; scrypt)")


if __name__ == "__main__":
    main()
