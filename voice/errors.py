"""Errors the voice package raises for problems a user can fix.

Each message says what is wrong and what to do about it; the CLI prints them
without a traceback (it converts them to ``assistant.cli.CommandError``).
"""

from __future__ import annotations


class VoiceError(Exception):
    """Base class: a voice problem with an actionable message."""


class AudioFormatError(VoiceError):
    """The audio is not in a format we can read (not a WAV, 8-bit, ...)."""


class ModelError(VoiceError):
    """A speech model is missing, incomplete or corrupt."""


class AudioDeviceError(VoiceError):
    """No usable microphone or speaker."""


INSTALL_HINT = (
    "Install a Vosk model with 'assistant models download small-en-in' (needs internet) "
    "or 'assistant models install PATH/TO/vosk-model.zip', or point --model / "
    "ASSISTANT_VOICE_MODEL_DIR at an unpacked model directory. "
    "'assistant models list' shows what is installed."
)
