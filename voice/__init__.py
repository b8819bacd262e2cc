"""Offline voice for the field assistant: audio in, speech recognition, speech out, the loop.

Modules, one job each:

- ``audio``: WAV / raw PCM in and out, channel mixing, the ``Audio`` value type.
- ``resample``: streaming sample-rate conversion to what a recognizer expects.
- ``endpoint``: energy-based utterance detection (and push-to-talk gating).
- ``mic``: the microphone through sounddevice / PortAudio.
- ``engine``: the recognition engine interface and its result types.
- ``vosk_engine`` / ``whisper_engine``: the two engines.
- ``grammar``: the command-mode vocabulary, built from the NLU training data.
- ``tts`` / ``playback`` / ``tones``: speech out.
- ``rasa_client`` / ``loop``: the conversation loop against Rasa's REST channel.
- ``models``: the Vosk model registry, download and install.
- ``cli``: ``assistant voice``, ``assistant transcribe``, ``assistant models``.

Heavy libraries (vosk, faster-whisper, pyttsx3, sounddevice) are imported
where they are used, so importing this package stays cheap.
"""
