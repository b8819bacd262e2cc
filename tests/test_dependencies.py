"""Every package our code imports is declared in pyproject.toml, not merely installed because Rasa needs it.

A package that arrives only through another's pins (sanic, PyJWT, twilio
through Rasa) goes away or changes version when that other package does, and
nobody would know our code needs it. The product's own code (``assistant``,
``actions``, ``voice``) may use the dependencies (and the ``whisper`` extra's
packages, which ``voice`` loads only when that engine is chosen); the tests
and the benchmarks may also use the ``dev`` extra.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from collections.abc import Iterator
from importlib import metadata

import pytest
import tomli

from assistant.core.config import PROJECT_DIR

OURS = ("assistant", "actions", "voice", "tests", "bench")
PRODUCT = ("assistant", "actions", "voice")


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, set[str]]:
    """Each group of requirements (``dependencies`` and every extra): the distributions it names."""
    project = tomli.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"dependencies": project["dependencies"], **project["optional-dependencies"]}
    return {
        group: {normalised(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]) for requirement in requirements}
        for group, requirements in groups.items()
    }


def imported_names(root: str) -> Iterator[tuple[str, str]]:
    """(top-level name, where) of every absolute import in ``root``'s modules, at the top or in a function."""
    for path in sorted((PROJECT_DIR / root).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in OURS and top not in sys.stdlib_module_names and top != "__future__":
                    yield top, f"{path.relative_to(PROJECT_DIR)}:{node.lineno}"


@functools.cache
def _providers() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


@functools.cache
def distribution_of(top: str) -> str:
    """The installed distribution that provides the import name ``top``."""
    providers = _providers().get(top)
    if providers:
        return normalised(providers[0])
    return normalised(metadata.distribution(top).metadata["Name"])  # a package whose record lists no top level


def undeclared(imports: Iterator[tuple[str, str]], allowed: set[str]) -> list[str]:
    return sorted(
        {f"{top} ({distribution_of(top)}) at {where}" for top, where in imports if distribution_of(top) not in allowed}
    )


@pytest.mark.parametrize("root", OURS)
def test_every_imported_package_is_declared(root: str) -> None:
    groups = declared()
    allowed = groups["dependencies"] | groups["whisper"] | (set() if root in PRODUCT else groups["dev"])
    assert undeclared(imported_names(root), allowed) == []


def test_the_check_refuses_a_package_that_only_arrives_through_rasa() -> None:
    """The checker itself: sanic is installed (Rasa needs it), yet our import of it must be declared."""
    imports = [("sanic", "assistant/channels/rest.py:26"), ("yaml", "assistant/core/canonical.py:9")]
    assert undeclared(iter(imports), {"pyyaml", "rasa"}) == ["sanic (sanic) at assistant/channels/rest.py:26"]
    assert "pytest" in declared()["dev"] and "pytest" not in declared()["dependencies"]
