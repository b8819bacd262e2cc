"""Databases made by earlier releases, with those releases' own code (the upgrade tests).

Each release's tree is taken from git (``git archive``) once per test
session, and its own code (``tests/support/old_release_builder.py``, run with
that tree first on the path and today's nowhere on it) makes its databases.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, select

from assistant.core.config import PROJECT_DIR

# The releases a database may come from: the 2026-12-01 release, and the last one before migrations.
RELEASES = {"2026-12-01": "54912d5", "before-migrations": "34bf31a"}
BUILDER = Path(__file__).with_name("old_release_builder.py")


@functools.cache
def release_tree(commit: str) -> Path:
    """The files of ``commit``, extracted into a directory of their own (once per session)."""
    tree = Path(tempfile.mkdtemp(prefix=f"release-{commit}-"))
    archive = subprocess.run(
        ["git", "-C", str(PROJECT_DIR), "archive", commit], check=True, capture_output=True, timeout=120
    )
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True, timeout=120)
    return tree


def build_old_databases(commit: str, data_dir: Path, backend_url: str, channels_url: str) -> dict[str, Any]:
    """The release's backend, channel state and outbox databases, with records; what it made (ids)."""
    tree = release_tree(commit)
    data_dir.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(
        [sys.executable, "-c", BUILDER.read_text(encoding="utf-8"), str(data_dir), backend_url, channels_url],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree), "ASSISTANT_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr[-4000:]
    return dict(json.loads(made.stdout.strip().splitlines()[-1]))


def every_row(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table but the migrations' own, as plain values, by table."""
    engine = create_engine(url, future=True)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {
                name: [dict(row) for row in connection.execute(select(table)).mappings()]
                for name, table in metadata.tables.items()
                if not name.startswith("alembic_version")
            }
    finally:
        engine.dispose()
