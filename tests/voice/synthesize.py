"""Synthesize the voice tests' speech: ``python -m tests.voice.synthesize OUTDIR < phrases.json``.

espeak-ng carries state from one utterance to the next within a process
(its pitch-flutter position, its noise generator), so the same text sounds
slightly different depending on what was said before it. Each phrase is
therefore synthesized in a forked child with a fresh espeak-ng: the audio of
a phrase is always the same, whatever else the tests ask for, and equal to
what the ``espeak-ng`` command line gives for that voice and rate.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _synthesize_one(language: str, rate: int, text: str, target: Path) -> None:
    from voice.audio import write_wav
    from voice.tts import Synthesizer

    write_wav(target, Synthesizer(rate=rate).synthesize(text, language).audio)


def main(outdir: str) -> None:
    import voice.tts  # noqa: F401  (imported once, before forking; espeak-ng is started in each child)

    phrases = json.load(sys.stdin)  # [[language, rate, text], ...]
    for index, (language, rate, text) in enumerate(phrases):
        pid = os.fork()
        if pid == 0:
            try:
                _synthesize_one(language, rate, text, Path(outdir) / f"{index:03d}.wav")
                status = 0
            except BaseException as exc:  # report, and let the parent fail
                print(f"cannot synthesize {text!r}: {exc}", file=sys.stderr)
                status = 1
            os._exit(status)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
