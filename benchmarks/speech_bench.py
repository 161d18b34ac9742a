"""Which way of running espeak-ng is faster: a subprocess per text, or libespeak-ng in process?

``atende.speech.espeak`` runs ``espeak-ng`` as a subprocess; this script measures it against the
library driven through ctypes (the same text, voice and 8 kHz conversion), one text at a time
and from several threads at once, then the audio cache cold (prerendering every fixed prompt)
and warm. Run: ``.venv/bin/python benchmarks/speech_bench.py``; it prints a Markdown section.
"""

from __future__ import annotations

import ctypes
import os
import platform
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from atende.speech import AudioCache
from atende.speech.espeak import EspeakEngine
from atende.speech.port import asterisk_wav
from atende.texts import fixed_prompts

ROUNDS = 5
THREADS = 4

# libespeak-ng's API (speak_lib.h).
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_DONT_EXIT = 0x8000
POS_CHARACTER = 1
CHARS_UTF8 = 1
SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class LibraryEspeak:
    """libespeak-ng in process. Its state is global, so one synthesis runs at a time."""

    def __init__(self, voice: str = "pt-br") -> None:
        self.lib = ctypes.CDLL("libespeak-ng.so.1")
        self.rate = self.lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, None, INITIALIZE_DONT_EXIT
        )
        if self.rate <= 0:
            raise RuntimeError("espeak_Initialize failed")
        self.chunks: list[bytes] = []
        self.callback = SynthCallback(self._collect)  # kept referenced: C holds the pointer
        self.lib.espeak_SetSynthCallback(self.callback)
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"no voice {voice}")
        self.lock = threading.Lock()

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], samples: int, _events: int) -> int:
        if wav and samples > 0:
            self.chunks.append(ctypes.string_at(wav, samples * 2))
        return 0

    def pcm(self, text: str) -> bytes:
        data = text.encode() + b"\0"
        with self.lock:
            self.chunks = []
            self.lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
            return b"".join(self.chunks)

    def synthesize(self, text: str) -> bytes:
        return asterisk_wav(self.pcm(text), self.rate)


def subprocess_pcm(text: str) -> bytes:
    done = subprocess.run(
        ["espeak-ng", "-v", "pt-br", "-b", "1", "--stdout"],
        input=text.encode(),
        capture_output=True,
        check=True,
    )
    return done.stdout


def per_text_ms(function: Callable[[str], bytes], texts: list[str]) -> list[float]:
    timings = []
    for _ in range(ROUNDS):
        for text in texts:
            started = time.perf_counter()
            function(text)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def threaded_ms(function: Callable[[str], bytes], texts: list[str]) -> float:
    """Wall time per text with THREADS threads synthesizing at once."""
    work = texts * ROUNDS
    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(function, work))
    return (time.perf_counter() - started) * 1000 / len(work)


def row(label: str, timings: list[float]) -> str:
    p95 = statistics.quantiles(timings, n=20)[-1]
    return f"| {label} | {statistics.median(timings):.1f} | {p95:.1f} |"


def main() -> None:
    texts = list(dict.fromkeys(fixed_prompts().values()))
    engine = EspeakEngine("pt-br")
    library = LibraryEspeak("pt-br")
    engine.synthesize("aquecimento")
    library.synthesize("aquecimento")
    audio_seconds = sum(len(engine.synthesize(text)) - 44 for text in texts) / 16000

    print(f"## Speech: espeak-ng subprocess vs libespeak-ng ({time.strftime('%Y-%m-%d')})")
    print()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; espeak-ng pt-br; {len(texts)} fixed prompts "
        f"({audio_seconds:.0f} s of audio), {ROUNDS} rounds. Times in ms per text."
    )
    print()
    print("| what | median | p95 |")
    print("|---|---|---|")
    print(row("synthesis only: `espeak-ng` subprocess", per_text_ms(subprocess_pcm, texts)))
    print(row("synthesis only: libespeak-ng (ctypes)", per_text_ms(library.pcm, texts)))
    print(row("to 8 kHz WAV: subprocess + sox (**chosen**)", per_text_ms(engine.synthesize, texts)))
    print(row("to 8 kHz WAV: library + sox", per_text_ms(library.synthesize, texts)))
    print()
    print(f"With {THREADS} threads at once, wall time per text:")
    print(f"subprocess + sox {threaded_ms(engine.synthesize, texts):.1f} ms, ", end="")
    print(f"library + sox {threaded_ms(library.synthesize, texts):.1f} ms.")
    print()
    with tempfile.TemporaryDirectory() as directory:
        cache = AudioCache(Path(directory), engine)
        started = time.perf_counter()
        cache.prerender(texts)
        cold = time.perf_counter() - started
        warm = per_text_ms(lambda text: cache.get(text).path.read_bytes(), texts)
    print(
        f"AudioCache: prerendering all {len(texts)} fixed prompts took {cold * 1000:.0f} ms "
        f"({THREADS} threads); a cache hit takes {statistics.median(warm):.2f} ms (median)."
    )


if __name__ == "__main__":
    main()
