"""Run benchmarks: ``python -m bench [NAME ...]`` (all of them by default).

To add one, create ``bench/<name>.py`` with a ``main() -> None`` and list it
in ``BENCHMARKS``.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS: tuple[str, ...] = (
    "backend",
    "console",
    "district",
    "fuzz",
    "imports",
    "model_load",
    "soak",
    "voice",
    "turns",
    "webchat",
)


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"\n=== bench/{name} ===", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
