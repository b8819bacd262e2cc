"""Settings precedence: flags over environment over the TOML file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.config import PROJECT_DIR, load_settings


def test_defaults_put_everything_under_the_data_dir() -> None:
    settings = load_settings(env={})
    assert settings.data_dir == PROJECT_DIR / "data"
    assert (settings.backend_port, settings.actions_port, settings.rasa_port) == (8700, 5055, 5005)
    assert settings.database_url == f"sqlite:///{PROJECT_DIR / 'data' / 'backend.db'}"
    assert settings.tracker_database_url.endswith("data/tracker.db")
    assert settings.backend_base_url == "http://127.0.0.1:8700"


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('backend_port = 9000\nrasa_port = 9001\ntimezone = "Asia/Kolkata"\n')
    env = {"ASSISTANT_CONFIG": str(config), "ASSISTANT_RASA_PORT": "9101", "ASSISTANT_DATA_DIR": str(tmp_path)}
    settings = load_settings(env=env, backend_port=None)
    assert settings.backend_port == 9000  # from the file
    assert settings.rasa_port == 9101  # the environment beats the file
    assert settings.data_dir == tmp_path and isinstance(settings.data_dir, Path)
    assert load_settings(env=env, rasa_port=9200).rasa_port == 9200  # a flag beats both


def test_bad_values_are_reported_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="backend_port"):
        load_settings(env={"ASSISTANT_BACKEND_PORT": "eighty"})
    config = tmp_path / "bad.toml"
    config.write_text("colour = 'blue'\n")
    with pytest.raises(ValueError, match="unknown settings: colour"):
        load_settings(env={"ASSISTANT_CONFIG": str(config)})
    with pytest.raises(FileNotFoundError):
        load_settings(env={"ASSISTANT_CONFIG": str(tmp_path / "missing.toml")})
