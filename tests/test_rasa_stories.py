"""Rasa's own test stories, on the model the test session trains once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.core.config import PROJECT_DIR
from tests.support.stack import trained_model

pytestmark = [pytest.mark.slow, pytest.mark.model]


def test_test_stories_have_no_prediction_errors(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa",
            "test",
            "core",
            "--model",
            str(trained_model()),
            "--stories",
            str(PROJECT_DIR / "tests" / "test_stories.yml"),
            "--fail-on-prediction-errors",
            "--out",
            str(tmp_path),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
    )
    failed = (
        (tmp_path / "failed_test_stories.yml").read_text(encoding="utf-8")
        if (tmp_path / "failed_test_stories.yml").exists()
        else ""
    )
    assert result.returncode == 0, failed + result.stdout[-2000:] + result.stderr[-2000:]
    assert "None of the test stories failed" in failed
