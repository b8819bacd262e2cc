"""`assistant db`: a new revision holds what the models changed since the head; `upgrade` migrates every database."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from assistant.core.config import PROJECT_DIR
from assistant.db.migrations.authoring import write_revision
from assistant.db.migrations.databases import DATABASES


def test_a_revision_follows_the_head_and_is_empty_while_the_models_agree(tmp_path: Path) -> None:
    versions = tmp_path / "outbox"
    shutil.copytree(DATABASES["outbox"].versions, versions)
    written = write_revision("outbox", "nothing changed", versions)
    assert written.parent == versions
    text = written.read_text(encoding="utf-8")
    assert "down_revision = '0001'" in text
    assert "op." not in text.split("def upgrade() -> None:")[1].split("def downgrade")[0]


def test_assistant_db_upgrade_migrates_every_database_of_the_data_dir(tmp_path: Path) -> None:
    upgraded = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--data-dir", str(tmp_path), "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_DIR,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    heads = {"backend": "0002", "channels": "0001", "outbox": "0001"}  # backend 0002: follow-up tasks
    assert upgraded.stdout.splitlines() == [f"{name}: at revision {head}" for name, head in heads.items()]
    assert {path.name for path in tmp_path.glob("*.db")} == {"backend.db", "channels.db", "actions.db"}
