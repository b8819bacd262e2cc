"""Choosing and building an engine from settings and command-line flags."""

from __future__ import annotations

from pathlib import Path

from assistant.core.config import Settings
from voice.engine import Engine
from voice.errors import INSTALL_HINT, ModelError, VoiceError
from voice.grammar import CommandVocabulary, build_command_vocabulary
from voice.models import default_model
from voice.whisper_engine import WHISPER_HINT, default_whisper_model_dir

ENGINES = ("auto", "vosk", "whisper")


def models_root(settings: Settings) -> Path:
    return Path(settings.voice_models_dir) if settings.voice_models_dir else settings.data_dir / "voice-models"


def vosk_model_dir(settings: Settings, explicit: str | None = None) -> Path | None:
    configured = explicit or settings.voice_model_dir
    return Path(configured) if configured else default_model(models_root(settings))


def whisper_model_dir(settings: Settings, explicit: str | None = None) -> Path | None:
    configured = explicit or settings.whisper_model_dir
    return Path(configured) if configured else default_whisper_model_dir()


def resolve_kind(kind: str, settings: Settings, model: str | None) -> str:
    """``auto``: Vosk when a Vosk model is configured or installed, else whisper when available."""
    if kind not in ENGINES:
        raise VoiceError(f"unknown engine {kind!r}; choose from {', '.join(ENGINES)}")
    if kind != "auto":
        return kind
    if vosk_model_dir(settings, model) is not None:
        return "vosk"
    if whisper_model_dir(settings, model) is not None:
        return "whisper"
    raise ModelError(f"no speech model is installed. {INSTALL_HINT} {WHISPER_HINT}")


def create_engine(
    kind: str, settings: Settings, model: str | None = None, vocabulary: CommandVocabulary | None = None
) -> Engine:
    """Load the engine (slow: once per process) with the command vocabulary from the NLU data."""
    kind = resolve_kind(kind, settings, model)
    vocabulary = vocabulary if vocabulary is not None else build_command_vocabulary()
    if kind == "vosk":
        path = vosk_model_dir(settings, model)
        if path is None:
            raise ModelError(f"no Vosk model is installed. {INSTALL_HINT}")
        from voice.vosk_engine import VoskEngine

        return VoskEngine(path, vocabulary)
    from voice.whisper_engine import WhisperEngine

    return WhisperEngine(whisper_model_dir(settings, model), vocabulary, cpu_threads=settings.whisper_threads)
