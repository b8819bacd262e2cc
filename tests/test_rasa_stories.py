"""Rasa's own test stories, on the model the test session trains once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.core.config import PROJECT_DIR
from tests.support.stack import trained_model

pytestmark = [pytest.mark.slow, pytest.mark.model]


# `rasa test`, with the model loaded as `rasa run` loads it (assistant.rasa_server.model_loading).
RASA_WITH_OUR_MODEL_LOADING = (
    "from assistant.rasa_server import model_loading; model_loading.install(); from rasa.__main__ import main; main()"
)


def test_test_stories_have_no_prediction_errors(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            RASA_WITH_OUR_MODEL_LOADING,
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
