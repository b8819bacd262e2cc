"""``assistant voice``, ``assistant transcribe`` and ``assistant models``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.core.commands import CommandError, command_group
from assistant.core.config import Settings
from voice.errors import VoiceError


def register(subparsers: argparse._SubParsersAction) -> None:
    voice = subparsers.add_parser("voice", help="talk to a running assistant through a headset (or a WAV file)")
    voice.add_argument("--input", default="mic", help="'mic' (default) or FILE.wav, which may hold several utterances")
    _engine_options(voice)
    voice.add_argument("--tts", default="speaker", help="speaker (default), wav:DIR or none")
    voice.add_argument("--worker", default="W001", help="the worker's id: the conversation's sender (default W001)")
    voice.add_argument("--rasa-url", help="Rasa server (default http://HOST:RASA_PORT)")
    voice.add_argument(
        "--push-to-talk", action="store_true", help="mic: press Enter to start and to end each utterance"
    )
    voice.add_argument("--realtime", action="store_true", help="FILE.wav: feed it at real-time pace, like a microphone")
    voice.add_argument("--no-barge-in", action="store_true", help="do not let speech cut off a reply (open speakers)")
    voice.add_argument("--json", action="store_true", help="print each turn as a JSON line")
    voice.set_defaults(handler=_guard(voice_command))

    transcribe = subparsers.add_parser("transcribe", help="transcribe a WAV file and print JSON")
    transcribe.add_argument("file", type=Path, help="a PCM WAV file (any common rate, mono or stereo)")
    transcribe.add_argument(
        "--grammar",
        choices=("command", "none"),
        default="none",
        help="command: restrict to the assistant's vocabulary; none: open dictation (default)",
    )
    transcribe.add_argument("--alternatives", type=int, default=0, help="also return up to N alternative texts (Vosk)")
    _engine_options(transcribe)
    transcribe.set_defaults(handler=_guard(transcribe_command))

    models = command_group(subparsers, "models", help="list, install and download speech models")
    listing = models.add_parser("list", help="the registry and what is installed")
    listing.set_defaults(handler=_guard(models_list))
    install = models.add_parser("install", help="install a Vosk model from a .zip or a directory")
    install.add_argument("source", type=Path)
    install.add_argument("--name", help="folder name to install as (default: the model's own)")
    install.set_defaults(handler=_guard(models_install))
    download = models.add_parser("download", help="download, verify and install a registry model (needs internet)")
    download.add_argument("name", help="registry key, e.g. small-en-in")
    download.set_defaults(handler=_guard(models_download))


def _engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=("auto", "vosk", "whisper"),
        help="recognition engine (env ASSISTANT_VOICE_ENGINE; auto = Vosk if a model is installed)",
    )
    parser.add_argument("--model", help="model directory (Vosk or Whisper, matching --engine)")


def _guard(handler: Callable[[argparse.Namespace, Settings], int]) -> Callable[[argparse.Namespace, Settings], int]:
    """Voice errors carry advice for the user: show them as command errors, without a traceback."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return handler(args, settings)
        except VoiceError as exc:
            raise CommandError(str(exc)) from exc

    return run


def _engine(args: argparse.Namespace, settings: Settings) -> Any:
    from voice.engine_choice import create_engine

    return create_engine(args.engine or settings.voice_engine, settings, args.model)


# -- transcribe -------------------------------------------------------------


def transcribe_command(args: argparse.Namespace, settings: Settings) -> int:
    from voice.audio import read_wav
    from voice.engine import Mode, transcribe
    from voice.resample import to_mono_rate

    audio = read_wav(args.file)  # first: a bad file fails before the slow model load
    started = time.perf_counter()
    engine = _engine(args, settings)
    loaded = time.perf_counter()
    samples = to_mono_rate(audio, engine.sample_rate)
    mode: Mode = "command" if args.grammar == "command" else "dictation"
    result = transcribe(engine, samples, mode, alternatives=args.alternatives, detailed=True)
    decode = time.perf_counter() - loaded
    report = {
        **result.as_dict(),
        "engine": engine.name,
        "model": str(getattr(engine, "model_dir", "")),
        "mode": mode,
        "audio_duration": round(audio.duration, 3),
        "load_time": round(loaded - started, 3),
        "decode_time": round(decode, 3),
        "real_time_factor": round(decode / audio.duration, 3),
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


# -- voice ------------------------------------------------------------------


def _print_turn(as_json: bool) -> Callable[[Any], None]:
    def show(turn: Any) -> None:
        if as_json:
            print(
                json.dumps(
                    {
                        "heard": turn.transcript.text,
                        "confidence": round(turn.transcript.confidence, 3),
                        "mode": turn.mode,
                        "sent": turn.sent,
                        "rejected": turn.rejected,
                        "replies": turn.replies,
                        "reply_language": turn.reply_language,
                        "interrupted": turn.interrupted,
                        "response_seconds": None if turn.response_seconds is None else round(turn.response_seconds, 3),
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )
            return
        heard = turn.sent if turn.sent is not None else f"({turn.transcript.text or 'nothing'}: not sure, asking again)"
        print(f"you [{turn.mode}, {turn.transcript.confidence:.2f}]> {heard}", flush=True)
        for reply in turn.replies:
            print(f"assistant> {reply}", flush=True)

    return show


def _push_to_talk_keys(segmenter: Any) -> None:
    """Enter toggles talking; runs on a daemon thread beside the loop."""

    def read_keys() -> None:
        for _line in sys.stdin:
            segmenter.toggle()
            print("(listening... Enter when done)" if segmenter.pressed else "(sent)", file=sys.stderr, flush=True)

    threading.Thread(target=read_keys, name="push-to-talk", daemon=True).start()


def voice_command(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.domain.api_tokens import command_worker_token
    from voice.audio import read_wav
    from voice.endpoint import EndpointConfig, PushToTalk
    from voice.loop import VoiceLoop
    from voice.playback import sink_from_spec
    from voice.rasa_client import RasaClient
    from voice.sources import FileSource
    from voice.tts import Synthesizer

    token = command_worker_token(settings, args.worker.upper())
    sink = sink_from_spec(args.tts)
    from_file = args.input != "mic"
    audio = read_wav(args.input) if from_file else None
    engine = _engine(args, settings)
    synthesizer = Synthesizer(settings.tts_rate, {"en": settings.tts_voice_en, "hi": settings.tts_voice_hi})
    endpoint = EndpointConfig(silence_ms=settings.vad_silence_ms, max_utterance_ms=settings.vad_max_utterance_ms)
    if audio is not None:
        source: Any = FileSource(audio, paced=args.realtime)
    else:
        from voice.mic import Microphone

        source = Microphone(engine.sample_rate)
    segmenter = None
    if args.push_to_talk and not from_file:
        segmenter = PushToTalk(engine.sample_rate, settings.vad_max_utterance_ms)
        _push_to_talk_keys(segmenter)
        print("push-to-talk: press Enter to speak, Enter again when done", file=sys.stderr)

    async def converse() -> list[Any]:
        async with RasaClient(args.rasa_url or settings.rasa_base_url, token) as rasa:
            loop = VoiceLoop(
                engine,
                rasa,
                synthesizer,
                sink,
                args.worker,
                min_confidence=settings.asr_min_confidence,
                endpoint=endpoint,
                barge_in=not args.no_barge_in,
                on_turn=_print_turn(args.json),
            )
            if from_file:
                return await loop.run(source, segmenter)
            with source:
                return await loop.run(source, segmenter)

    turns = asyncio.run(converse())
    if from_file and not turns:
        raise CommandError(f"{args.input}: no speech found (is it silent, or very quiet?)")
    return 0


# -- models -----------------------------------------------------------------


def _models_root(settings: Settings) -> Path:
    from voice.engine_choice import models_root

    return models_root(settings)


def models_list(args: argparse.Namespace, settings: Settings) -> int:
    from voice.models import REGISTRY, installed_models

    root = _models_root(settings)
    installed = {model.name: model for model in installed_models(root)}
    print(f"Vosk models (installed under {root}):")
    for spec in REGISTRY:
        model = installed.pop(spec.name, None)
        state = "not installed" if model is None else ("installed" if model.ok else f"BROKEN: {model.problem}")
        print(f"  {spec.key:<12} {spec.name:<28} {spec.size / 2**20:5.1f} MiB  {state}")
        print(f"  {'':<12} {spec.description}; checksum {spec.checksum or 'none recorded'} ({spec.checksum_source})")
    for model in installed.values():
        state = "installed" if model.ok else f"BROKEN: {model.problem}"
        print(f"  {'(other)':<12} {model.name:<28} {'':>9}  {state}")
    if not any(model.ok for model in installed_models(root)):
        print(
            "No Vosk model is installed: 'assistant models download small-en-in' (needs internet) "
            "or 'assistant models install FILE.zip'."
        )
    return 0


def models_install(args: argparse.Namespace, settings: Settings) -> int:
    from voice.models import install

    path = install(args.source, _models_root(settings), name=args.name)
    print(f"installed {path.name} at {path}")
    return 0


def models_download(args: argparse.Namespace, settings: Settings) -> int:
    from voice.models import download, find_spec

    path, sha256 = download(find_spec(args.name), _models_root(settings))
    print(f"installed {path.name} at {path} (archive sha256 {sha256})")
    return 0
