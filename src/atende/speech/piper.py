"""Piper: a local neural voice from a ``.onnx`` model file the installation provides.

Piper voices (e.g. ``pt_BR-faber-medium.onnx`` with its ``.onnx.json`` beside it, from the
Piper voices collection) run on the CPU through onnxruntime, offline like espeak-ng but with a
natural voice. They speak at 16 or 22.05 kHz; soxr resamples to the 8 kHz Asterisk plays.
``piper-tts`` is an optional dependency (``pip install 'atende[piper]'``; GPL-3.0-or-later);
the model is loaded on first use and kept. Piper's phonemizer keeps global state, so one text
is synthesized at a time per process.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import field_validator

from atende.adapters import SPEECH
from atende.config import AdapterSettings, Settings, SettingsError
from atende.registry import register
from atende.speech.port import SAMPLE_RATE, SpeechError, asterisk_wav


def _import_piper() -> tuple[Any, Any, Any]:
    try:
        import numpy
        import soxr
        from piper import PiperVoice
    except ImportError:
        raise SettingsError(
            "ATENDE_TTS: piper needs the optional packages: pip install 'atende[piper]'"
        ) from None
    return numpy, soxr, PiperVoice


class PiperEngine:
    name = "piper"
    system_packages: ClassVar[Mapping[str, str]] = {}  # nothing to install with apt-get

    def __init__(self, model: Path) -> None:
        config = Path(f"{model}.json")
        if not config.is_file():
            raise SettingsError(f"ATENDE_PIPER_MODEL: the voice's {config.name} is missing")
        self.model = model
        self.voice = model.stem  # e.g. pt_BR-faber-medium
        self._numpy, self._soxr, self._piper = _import_piper()
        self._loaded: Any = None
        self._lock = threading.Lock()

    def synthesize(self, text: str) -> bytes:
        numpy = self._numpy
        with self._lock:
            try:
                if self._loaded is None:
                    self._loaded = self._piper.load(str(self.model))
                chunks = list(self._loaded.synthesize(text))
            except Exception as exc:  # onnxruntime and piper raise many kinds
                raise SpeechError(f"piper: {type(exc).__name__}") from None
        if not chunks:
            raise SpeechError("piper: no audio for this text")
        audio = numpy.concatenate([chunk.audio_float_array for chunk in chunks])
        resampled = self._soxr.resample(audio, chunks[0].sample_rate, SAMPLE_RATE)
        pcm = (numpy.clip(resampled, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        return asterisk_wav(pcm, SAMPLE_RATE)


class PiperSettings(AdapterSettings):
    piper_model: Path  # a voice's .onnx file, its .onnx.json beside it

    @field_validator("piper_model")
    @classmethod
    def _model(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError("no such file")
        if not Path(f"{value}.json").is_file():
            raise ValueError(f"the voice's {value.name}.json must be beside it")
        if importlib.util.find_spec("piper") is None:
            raise ValueError("piper needs its packages: pip install 'atende[piper]'")
        return value


@register(SPEECH, "piper", PiperSettings)
def build(settings: Settings, own: PiperSettings) -> PiperEngine:
    return PiperEngine(own.piper_model)
