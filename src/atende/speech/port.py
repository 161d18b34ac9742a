"""What every speech engine promises, and the fallback chain that tries several of them.

Asterisk plays a ``.wav`` file without transcoding only when it is 8 kHz, 16-bit, mono PCM, so
that is the one format an engine hands back; :func:`asterisk_wav` turns any engine's raw PCM
into it. A new vendor (Polly, Piper) is one class with ``name``, ``voice`` and ``synthesize``.

A chain (``ATENDE_TTS=polly,espeak``) tries its engines in order within the call: an engine
that fails is counted in ``/metrics``, then left alone for :data:`COOL_DOWN_S` so that the calls
of an outage do not each wait for its timeout, and the next engine speaks.
"""

from __future__ import annotations

import io
import logging
import subprocess
import threading
import time
import wave
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from atende.metrics import SPEECH_ENGINE_FAILURES

log = logging.getLogger(__name__)

T = TypeVar("T")

COOL_DOWN_S = 30.0
"""How long an engine that failed is skipped before it is tried again."""

SAMPLE_RATE = 8000
"""The rate Asterisk plays ``.wav`` files at without transcoding."""

RESAMPLE_TIMEOUT = 30.0


class SpeechError(Exception):
    """An engine could not turn a text into audio. The message never contains the text."""


class SpeechEngine(Protocol):
    """Turns a text into a WAV file's bytes: 8 kHz, 16-bit, mono PCM.

    ``synthesize`` blocks (a subprocess or a network call): async callers run it in a thread.
    ``name`` and ``voice`` identify the sound of the result, so the audio cache keys on them.
    """

    name: str
    voice: str

    def synthesize(self, text: str) -> bytes: ...


def asterisk_wav(pcm: bytes, rate: int) -> bytes:
    """Signed 16-bit little-endian mono ``pcm`` at ``rate`` Hz as an 8 kHz WAV file.

    Resampling runs ``sox`` (its rate effect is the reference for quality); the header is
    written here because sox cannot fix the lengths of a WAV it writes to a pipe.
    """
    if rate != SAMPLE_RATE:
        command = [
            "sox", "-t", "raw", "-r", str(rate), "-e", "signed", "-b", "16", "-c", "1", "-",
            "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "signed", "-b", "16", "-c", "1", "-",
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command, input=pcm, capture_output=True, timeout=RESAMPLE_TIMEOUT, check=False
            )
        except FileNotFoundError:
            raise SpeechError("sox is not installed: apt-get install sox") from None
        except subprocess.TimeoutExpired:
            raise SpeechError("sox took too long to resample") from None
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip()
            raise SpeechError(f"sox failed ({done.returncode}): {detail}")
        pcm = done.stdout
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm)
    return buffer.getvalue()


class SpeechChain:
    """Engines tried in order: the first that answers speaks.

    The audio cache keeps each text under the engine that actually spoke it (see
    :meth:`speak`), so a fallback's audio never stands in for the first engine's for good.
    """

    def __init__(
        self,
        engines: Sequence[SpeechEngine],
        *,
        cool_down: float = COOL_DOWN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not engines:
            raise ValueError("a speech chain needs at least one engine")
        self.engines = list(engines)
        self.name = "+".join(engine.name for engine in self.engines)
        self.voice = "+".join(engine.voice for engine in self.engines)
        self.cool_down = cool_down
        self.clock = clock
        self._failed_at: dict[int, float] = {}
        self._lock = threading.Lock()

    def synthesize(self, text: str) -> bytes:
        return self.speak(text, lambda engine: None, lambda engine, wav: wav)

    def speak(
        self,
        text: str,
        cached: Callable[[SpeechEngine], T | None],
        store: Callable[[SpeechEngine, bytes], T],
    ) -> T:
        """``text`` from the first engine that has it (``cached``) or says it (then
        ``store``), in order; an engine cooling down after a failure is only asked its cache.
        """
        for index, engine in enumerate(self.engines):
            hit = cached(engine)
            if hit is not None:
                return hit
            if self._cooling(index):
                continue
            try:
                wav = engine.synthesize(text)
            except Exception as exc:
                # Never the text: it may be a caller's name.
                log.warning("speech engine %s failed: %s", engine.name, _describe(exc))
                SPEECH_ENGINE_FAILURES.labels(engine.name).inc()
                with self._lock:
                    self._failed_at[index] = self.clock()
                continue
            with self._lock:
                self._failed_at.pop(index, None)
            return store(engine, wav)
        raise SpeechError(f"every speech engine failed ({self.name})")

    def _cooling(self, index: int) -> bool:
        if index == len(self.engines) - 1:
            return False  # the last resort is always tried
        with self._lock:
            failed_at = self._failed_at.get(index)
        return failed_at is not None and self.clock() - failed_at < self.cool_down


def _describe(exc: Exception) -> str:
    # Our own SpeechError messages never hold the text; other exceptions might, so only their
    # type is logged.
    return str(exc) if isinstance(exc, SpeechError) else type(exc).__name__
