"""Where speech goes: the headset, WAV files, or nowhere; playback can be cut off.

``Playback`` plays one clip on a background thread, block by block, and
stops between blocks when asked: that is what "stop" and barge-in use. The
clip may come in parts that are still being synthesized while the first one
plays (``voice.tts.SpokenReplies``); the sink sees one clip either way. The
sinks themselves only know how to write blocks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from voice.audio import Audio, blocks, concatenate, write_wav
from voice.errors import AudioDeviceError, VoiceError

BLOCK_SECONDS = 0.05  # how quickly a stop takes effect


class Sink(Protocol):
    name: str
    realtime: bool  # True when writing takes as long as the audio lasts

    def begin(self, audio: Audio, label: str) -> None: ...

    def write(self, block: Audio) -> None: ...

    def end(self) -> None: ...


class SpeakerSink:
    """The default output device (the headset), through sounddevice / PortAudio."""

    name = "speaker"
    realtime = True

    def __init__(self, device: Any = None) -> None:
        import sounddevice

        self.device = device
        self._stream: Any = None
        try:  # fail now, not after the first turn has gone to Rasa
            sounddevice.query_devices(device, "output")
        except (sounddevice.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"no speaker or headset found ({exc}); use --tts wav:DIR or --tts none") from exc

    def begin(self, audio: Audio, label: str) -> None:
        import sounddevice

        try:
            self._stream = sounddevice.OutputStream(
                samplerate=audio.rate, channels=audio.channels, dtype="int16", device=self.device
            )
            self._stream.start()
        except (sounddevice.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"cannot open the speaker: {exc}; use --tts wav:DIR or --tts none") from exc

    def write(self, block: Audio) -> None:
        self._stream.write(block.samples)  # blocks until the device has room: real-time pacing

    def end(self) -> None:
        if self._stream is not None:
            self._stream.stop()  # drains what was written, then stops
            self._stream.close()
            self._stream = None


class WavDirSink:
    """Each clip becomes ``DIR/NNNN-label.wav``; ``files`` lists them in order."""

    name = "wav"
    realtime = False

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.files: list[Path] = []
        self._parts: list[Audio] = []
        self._label = ""

    def begin(self, audio: Audio, label: str) -> None:
        self._parts, self._label = [], label

    def write(self, block: Audio) -> None:
        self._parts.append(block)

    def end(self) -> None:
        if not self._parts:
            return
        path = self.directory / f"{len(self.files) + 1:04d}-{self._label}.wav"
        self.files.append(write_wav(path, concatenate(self._parts)))
        self._parts = []


class NullSink:
    name = "none"
    realtime = False

    def begin(self, audio: Audio, label: str) -> None:
        pass

    def write(self, block: Audio) -> None:
        pass

    def end(self) -> None:
        pass


def sink_from_spec(spec: str) -> Sink:
    """``speaker``, ``wav:DIR`` or ``none`` (the ``--tts`` option)."""
    if spec == "speaker":
        return SpeakerSink()
    if spec == "none":
        return NullSink()
    if spec.startswith("wav:") and len(spec) > 4:
        return WavDirSink(Path(spec[4:]))
    raise VoiceError(f"--tts {spec!r}: use speaker, wav:DIR or none")


class Playback:
    """One clip playing on a thread; ``stop()`` cuts it off at the next block.

    ``audio`` is the clip, or its parts in order (an iterator may still be
    producing them): the sink gets them as one clip, begun with the first part.
    """

    def __init__(self, sink: Sink, audio: Audio | Iterable[Audio], label: str) -> None:
        self.sink = sink
        self._parts: Iterator[Audio] = iter([audio] if isinstance(audio, Audio) else audio)
        self.label = label
        self.played_seconds = 0.0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._complete = False
        self._thread = threading.Thread(target=self._run, name=f"playback-{label}", daemon=True)

    def start(self) -> Playback:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            first = next(self._parts, None)
            if first is None:
                self._complete = True
                return
            self.sink.begin(first, self.label)
            try:
                part: Audio | None = first
                while part is not None and not self._stop.is_set():
                    if (part.rate, part.channels) != (first.rate, first.channels):
                        raise VoiceError(f"{self.label}: a part at {part.rate} Hz in a clip begun at {first.rate} Hz")
                    for block in blocks(part, BLOCK_SECONDS):
                        if self._stop.is_set():
                            break
                        self.sink.write(block)
                        self.played_seconds += block.duration
                    else:
                        part = next(self._parts, None)
                self._complete = part is None
            finally:
                self.sink.end()
        except BaseException as exc:  # surfaced to the caller by wait()
            self.error = exc

    def stop(self) -> None:
        self._stop.set()

    @property
    def interrupted(self) -> bool:
        return self._stop.is_set() and not self._complete

    @property
    def playing(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the end; True when it played to the end, False when cut off."""
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return not self.interrupted


def play(sink: Sink, audio: Audio, label: str) -> bool:
    """Play a clip to the end (or until it fails)."""
    return Playback(sink, audio, label).start().wait()
