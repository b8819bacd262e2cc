"""The dependency rule between the project's packages (docs/contracts.md), checked on every import.

Each module of each package is parsed, and every import it makes, at the top
or inside a function, must be of a package its own package may use. Private
names (``_scope_for``) are never imported from another package. Importing
the action server or the voice package must not load the backend's web and
database layers.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.core.config import PROJECT_DIR

# package -> the packages it may import (besides itself). Everything may use core.
ALLOWED: dict[str, frozenset[str]] = {
    "assistant": frozenset(),  # the umbrella package itself: a docstring, nothing else
    "assistant.core": frozenset(),
    "assistant.backend": frozenset({"assistant.core"}),
    "assistant.console": frozenset({"assistant.core"}),
    "actions": frozenset({"assistant.core"}),
    "voice": frozenset({"assistant.core"}),
    "assistant.nlu": frozenset({"assistant.core"}),
    "assistant.channels": frozenset({"assistant.core", "voice"}),  # voice notes are transcribed by the voice engine
    "assistant.rasa_server": frozenset({"assistant.core"}),
    # What `assistant up` assembles, and the command line that registers every feature.
    "assistant.stack": frozenset(
        {
            "assistant.core",
            "assistant.backend",
            "assistant.console",
            "assistant.channels",
            "assistant.rasa_server",
            "assistant.cli",
        }
    ),
    "assistant.cli": frozenset(
        {"assistant.core", "assistant.backend", "assistant.console", "assistant.stack", "assistant.nlu", "voice"}
    ),
}
PROJECT_ROOTS = ("assistant", "actions", "voice")


def package_of(module: str) -> str | None:
    """The package of the rule a module belongs to: the longest ``ALLOWED`` key it starts with."""
    matches = [name for name in ALLOWED if module == name or module.startswith(name + ".")]
    return max(matches, key=len) if matches else None


def modules() -> Iterator[tuple[str, Path]]:
    for root in PROJECT_ROOTS:
        for path in sorted((PROJECT_DIR / root).rglob("*.py")):
            relative = path.relative_to(PROJECT_DIR).with_suffix("")
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            yield ".".join(parts), path


def imports_of(path: Path, module: str) -> Iterator[tuple[int, str, list[str]]]:
    """(line, imported module, names taken from it) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if path.name == "__init__.py" else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target, [alias.name for alias in node.names]


def violations() -> list[str]:
    found = []
    for module, path in modules():
        own = package_of(module)
        if own is None:
            found.append(f"{module}: in no package of the rule (add it to ALLOWED in tests/test_layering.py)")
            continue
        for line, target, names in imports_of(path, module):
            if target.split(".")[0] not in PROJECT_ROOTS:
                continue  # the standard library or a third-party package
            other = package_of(target)
            where = f"{path.relative_to(PROJECT_DIR)}:{line}"
            if other is None:
                found.append(f"{where}: imports {target}, which belongs to no package of the rule")
            elif other != own and other not in ALLOWED[own]:
                found.append(f"{where}: {own} may not import {target}")
            elif other != own:
                private = [name for name in names if name.startswith("_") and not name.startswith("__")]
                if private:
                    found.append(f"{where}: imports the private {', '.join(private)} from {target}")
    return found


def test_every_import_follows_the_dependency_rule() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    "entry, heavy",
    [
        ("actions.validation", ("aiohttp.web", "sqlalchemy.ext.asyncio", "assistant.backend")),
        ("actions.consult", ("aiohttp.web", "sqlalchemy.ext.asyncio", "assistant.backend")),
        ("voice.loop", ("sqlalchemy", "assistant.backend", "rasa")),
        ("assistant.core.rules", ("sqlalchemy", "aiohttp")),
    ],
)
def test_a_part_loads_only_what_it_needs(entry: str, heavy: tuple[str, ...]) -> None:
    """The action server once loaded the backend's async engine and aiohttp.web for five constants."""
    probe = f"import sys, {entry}; print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_DIR, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]", f"{entry} loads {loaded.stdout.strip()}"
