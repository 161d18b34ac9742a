"""Speech: texts to audio files Asterisk plays, behind one small port.

The call flow asks an :class:`AudioCache` for a text and hands :func:`audio_ref` of the result to
STREAM FILE; which engine speaks is configuration (``ATENDE_TTS``, engines tried in order:
``espeak``, the offline default; ``polly``, AWS Polly; ``piper``, a local neural voice).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from typing import Protocol

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
    "missing_system_packages",
    "speech_engine",
]


class EngineKind(Protocol):
    """An engine class: built from the settings; names the programs it runs, by package."""

    system_packages: Mapping[str, str]  # command -> the Debian/Ubuntu package that installs it

    def from_settings(self, settings: Settings) -> SpeechEngine: ...


ENGINES: dict[str, EngineKind] = {
    "espeak": EspeakEngine,
    "polly": PollyEngine,
    "piper": PiperEngine,
}


def speech_engine(settings: Settings) -> SpeechChain:
    """The engines named in ``ATENDE_TTS`` (comma-separated, first preferred), as one chain."""
    return SpeechChain(
        [kind.from_settings(settings) for kind in named_chain("ATENDE_TTS", settings.tts, ENGINES)]
    )


def missing_system_packages(settings: Settings) -> dict[str, str]:
    """The programs the engines of ``ATENDE_TTS`` run that are not on PATH, with the package
    that installs each: checked at start-up, so that a missing one is named in one line rather
    than found by the first text every engine fails to say."""
    needed: dict[str, str] = {}
    for kind in named_chain("ATENDE_TTS", settings.tts, ENGINES):
        needed.update(kind.system_packages)
    return {command: package for command, package in needed.items() if not shutil.which(command)}


def audio_cache(settings: Settings) -> AudioCache:
    """The installation's audio cache (see :func:`cache_directory`) with its engines."""
    return AudioCache(
        cache_directory(settings),
        speech_engine(settings),
        personal_transcripts=settings.audio_personal_transcripts,
    )
