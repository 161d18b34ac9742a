"""Speech: texts to audio files Asterisk plays, behind one small port.

The call flow asks an :class:`AudioCache` for a text and hands :func:`audio_ref` of the result to
STREAM FILE; which engine speaks is configuration (``ATENDE_TTS``, engines tried in order:
``espeak``, the offline default; ``polly``, AWS Polly; ``piper``, a local neural voice; or a
plugin's), each one module that registers itself (see :mod:`atende.adapters`);
:mod:`atende.bootstrap` builds the chain and the cache.
"""

from __future__ import annotations

from atende.speech.cache import AudioCache, AudioFile, audio_ref, cache_directory
from atende.speech.port import SpeechChain, SpeechEngine, SpeechError

__all__ = [
    "AudioCache",
    "AudioFile",
    "SpeechChain",
    "SpeechEngine",
    "SpeechError",
    "audio_ref",
    "cache_directory",
]
