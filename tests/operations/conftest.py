"""A clinic's data directory, and one backup of it taken while encounters were being saved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.core.config import Settings
from assistant.operations.backup import take_backup
from tests.operations.clinic import EncounterWriter, clinic_settings, make_clinic, worker_token


@dataclass(frozen=True)
class LiveBackup:
    settings: Settings
    archive: Path
    committed_before: set[int]  # the encounters committed before the backup began
    token: str  # W001's token, made before the backup
    announcements: list[str]


@pytest.fixture(scope="module")
def live_backup(tmp_path_factory: pytest.TempPathFactory) -> LiveBackup:
    settings = clinic_settings(tmp_path_factory.mktemp("clinic") / "data")
    make_clinic(settings)
    token = worker_token(settings.database_url)
    writer = EncounterWriter(settings.database_url).start()
    try:
        writer.wait_for(20)
        committed_before = writer.committed()
        announcements: list[str] = []
        archive = take_backup(settings, announce=announcements.append)
        writer.wait_for(len(committed_before) + 10)  # it went on writing while the backup ran
    finally:
        writer.stop()
    return LiveBackup(settings, archive, committed_before, token, announcements)
