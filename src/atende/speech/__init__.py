"""Speech: texts to audio files Asterisk plays, behind one small port.

The call flow asks an :class:`AudioCache` for a text and hands :func:`audio_ref` of the result to
STREAM FILE; which engine speaks is configuration (``ATENDE_TTS``, engines tried in order:
``espeak``, the offline default; ``polly``, AWS Polly; ``piper``, a local neural voice).
"""

from __future__ import annotations

from collections.abc import Callable

from atende.config import Settings, named_chain
from atende.speech.cache import AudioCache, AudioFile, audio_ref, cache_directory
from atende.speech.espeak import EspeakEngine
from atende.speech.piper import PiperEngine
from atende.speech.polly import PollyEngine
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
    "polly": PollyEngine.from_settings,
    "piper": PiperEngine.from_settings,
}


def speech_engine(settings: Settings) -> SpeechChain:
    """The engines named in ``ATENDE_TTS`` (comma-separated, first preferred), as one chain."""
    return SpeechChain(
        [make(settings) for make in named_chain("ATENDE_TTS", settings.tts, ENGINES)]
    )


def audio_cache(settings: Settings) -> AudioCache:
    """The installation's audio cache (see :func:`cache_directory`) with its engines."""
    return AudioCache(
        cache_directory(settings),
        speech_engine(settings),
        personal_transcripts=settings.audio_personal_transcripts,
    )
