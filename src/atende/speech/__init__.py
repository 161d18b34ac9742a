"""Speech: texts to audio files Asterisk plays, behind one small port.

The call flow asks an :class:`AudioCache` for a text and hands :func:`audio_ref` of the result to
STREAM FILE; which engine speaks is configuration (``ATENDE_TTS``, engines tried in order).
"""

from __future__ import annotations

from collections.abc import Callable

from atende.config import Settings, SettingsError
from atende.speech.cache import AudioCache, AudioFile, audio_ref, cache_directory
from atende.speech.espeak import EspeakEngine
from atende.speech.port import SpeechChain, SpeechEngine, SpeechError

__all__ = [
    "AudioCache",
    "AudioFile",
    "EspeakEngine",
    "SpeechChain",
    "SpeechEngine",
    "SpeechError",
    "audio_cache",
    "audio_ref",
    "cache_directory",
    "speech_engine",
]

ENGINES: dict[str, Callable[[Settings], SpeechEngine]] = {
    "espeak": lambda settings: EspeakEngine(settings.espeak_voice),
}


def speech_engine(settings: Settings) -> SpeechChain:
    """The engines named in ``ATENDE_TTS`` (comma-separated, first preferred), as one chain."""
    names = [name.strip() for name in settings.tts.split(",") if name.strip()]
    known = ", ".join(ENGINES)
    if not names:
        raise SettingsError(f"ATENDE_TTS: name at least one speech engine ({known})")
    for name in names:
        if name not in ENGINES:
            raise SettingsError(f"ATENDE_TTS: unknown speech engine {name!r} (known: {known})")
    return SpeechChain([ENGINES[name](settings) for name in names])


def audio_cache(settings: Settings) -> AudioCache:
    """The installation's audio cache (see :func:`cache_directory`) with its engines."""
    return AudioCache(cache_directory(settings), speech_engine(settings))
