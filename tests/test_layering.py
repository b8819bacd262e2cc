"""The dependency rule between the project's packages (docs/contracts.md), checked on every import.

Each module of each package is parsed, and every import it makes, at the top
or inside a function, must be of a package its own package may use. Private
names (``_scope_for``) are never imported from another package. The kernel
(``assistant.core``) imports neither SQLAlchemy nor aiohttp: the databases are
``assistant.db``, the backend's domain ``assistant.domain`` and shared HTTP
plumbing ``assistant.http``. Importing the action server or the voice package
must not load the backend's web and database layers.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.core.config import PROJECT_DIR

# package -> the packages it may import (besides itself).
KERNEL = frozenset({"assistant.core"})
ALLOWED: dict[str, frozenset[str]] = {
    "assistant": frozenset(),  # the umbrella package itself: a docstring, nothing else
    "assistant.core": frozenset(),
    # Infrastructure and the backend's domain, on top of the kernel.
    "assistant.db": KERNEL,
    "assistant.http": KERNEL,
    "assistant.domain": KERNEL | {"assistant.db"},
    # The parts.
    "assistant.backend": KERNEL | {"assistant.db", "assistant.domain", "assistant.http"},
    "assistant.console": KERNEL | {"assistant.db", "assistant.domain", "assistant.http"},
    "actions": KERNEL | {"assistant.db", "assistant.http"},  # its own outbox tables; the backend client
    "voice": KERNEL | {"assistant.domain"},  # `assistant voice` makes the worker's own token
    "assistant.nlu": KERNEL,
    # Voice notes are transcribed by the voice engine.
    "assistant.channels": KERNEL | {"assistant.db", "assistant.http", "voice"},
    # Reads the action server's outbox; serves /metrics with the shared Sanic route.
    "assistant.rasa_server": KERNEL | {"assistant.db", "assistant.http"},
    # Backups and restores of every database the parts own (it knows their files and URLs, not their code).
    "assistant.operations": KERNEL | {"assistant.db"},
    # What `assistant up` assembles, and the command line that registers every feature.
    "assistant.stack": KERNEL
    | {
        "assistant.db",
        "assistant.domain",
        "assistant.backend",
        "assistant.console",
        "assistant.channels",
        "assistant.rasa_server",
        "assistant.operations",
        "assistant.cli",
    },
    "assistant.cli": KERNEL
    | {
        "assistant.domain",
        "assistant.backend",
        "assistant.console",
        "assistant.stack",
        "assistant.nlu",
        "assistant.operations",
        "voice",
    },
}
# Third-party packages a package of ours must never import: the kernel stays pure values and functions.
FORBIDDEN_LIBRARIES: dict[str, frozenset[str]] = {
    "assistant.core": frozenset({"sqlalchemy", "aiohttp"}),
    "assistant.db": frozenset({"aiohttp"}),
    "assistant.http": frozenset({"sqlalchemy"}),
}
PROJECT_ROOTS = ("assistant", "actions", "voice")
KERNEL_MODULES = sorted(path.stem for path in (PROJECT_DIR / "assistant" / "core").glob("[!_]*.py"))


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


def imports_of(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str, list[str]]]:
    """(line, imported module, names taken from it) for every import in a module's source."""
    tree = ast.parse(source, module)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target, [alias.name for alias in node.names]


def module_violations(module: str, source: str, where: str, is_package: bool = False) -> list[str]:
    """What one module's imports break of the rule."""
    own = package_of(module)
    if own is None:
        return [f"{module}: in no package of the rule (add it to ALLOWED in tests/test_layering.py)"]
    found = []
    for line, target, names in imports_of(source, module, is_package):
        root = target.split(".")[0]
        at = f"{where}:{line}"
        if root not in PROJECT_ROOTS:  # the standard library or a third-party package
            if root in FORBIDDEN_LIBRARIES.get(own, ()):
                found.append(f"{at}: {own} may not import {root}")
            continue
        other = package_of(target)
        if other is None:
            found.append(f"{at}: imports {target}, which belongs to no package of the rule")
        elif other != own and other not in ALLOWED[own]:
            found.append(f"{at}: {own} may not import {target}")
        elif other != own:
            private = [name for name in names if name.startswith("_") and not name.startswith("__")]
            if private:
                found.append(f"{at}: imports the private {', '.join(private)} from {target}")
    return found


def violations() -> list[str]:
    found = []
    for module, path in modules():
        source = path.read_text(encoding="utf-8")
        where = str(path.relative_to(PROJECT_DIR))
        found += module_violations(module, source, where, is_package=path.name == "__init__.py")
    return found


def test_every_import_follows_the_dependency_rule() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    "module, source",
    [
        ("assistant.core.example", "from sqlalchemy import select"),
        ("assistant.core.example", "def later():\n    import aiohttp.web"),
        ("assistant.core.example", "from assistant.db.models import Consult"),
        ("assistant.core.example", "from assistant.domain import records"),
        ("assistant.db.example", "from assistant.domain.hub_operations import assign"),
        ("actions.example", "from assistant.backend.booking import book"),
        ("actions.example", "from assistant.core.rules import _private"),
    ],
)
def test_the_rule_refuses_a_forbidden_import(module: str, source: str) -> None:
    """The checker itself: each of these would be a layering break, and is reported."""
    assert module_violations(module, source, "example.py") != []


@pytest.mark.parametrize(
    "entry, heavy",
    [
        ("actions.validation", ("aiohttp.web", "sqlalchemy.ext.asyncio", "assistant.backend")),
        ("actions.consult", ("aiohttp.web", "sqlalchemy.ext.asyncio", "assistant.backend")),
        ("voice.loop", ("sqlalchemy", "assistant.backend", "rasa")),
        ("assistant.core.rules", ("sqlalchemy", "aiohttp")),
        (", ".join(f"assistant.core.{name}" for name in KERNEL_MODULES), ("sqlalchemy", "aiohttp", "assistant.db")),
    ],
)
def test_a_part_loads_only_what_it_needs(entry: str, heavy: tuple[str, ...]) -> None:
    """The action server once loaded the backend's async engine and aiohttp.web for five constants."""
    probe = f"import sys, {entry}; print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_DIR, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]", f"{entry} loads {loaded.stdout.strip()}"
