"""The offline engine atende runs on by default: espeak-ng, Brazilian Portuguese.

espeak-ng runs as a subprocess (``espeak-ng -v pt-br --stdout``), not in process through
libespeak-ng. The library is about twice as fast (``benchmarks/speech_bench.py``: a few
milliseconds per prompt either way, far below what a caller hears), but it keeps one global
state behind a lock and a crash in its C code would end every call the process serves; a
subprocess can only fail one text, can be killed when it hangs, and runs texts in parallel.

The text goes on stdin: it never reaches an argument list, where a leading ``-`` would be
read as an option. Reading stdin, espeak-ng speaks an unknown voice with its default (English)
one without a word, so the voice is checked against ``espeak-ng --voices`` first.
"""

from __future__ import annotations

import io
import subprocess
import wave
from collections.abc import Mapping
from typing import ClassVar

from atende.adapters import SPEECH
from atende.config import AdapterSettings, Settings
from atende.registry import register
from atende.speech.port import SpeechError, asterisk_wav

ESPEAK_TIMEOUT = 30.0


class EspeakEngine:
    """espeak-ng with one voice (``ATENDE_ESPEAK_VOICE``, ``pt-br`` by default)."""

    name = "espeak"
    # espeak-ng speaks at 22.05 kHz: asterisk_wav resamples with sox. Command -> Debian package.
    system_packages: ClassVar[Mapping[str, str]] = {"espeak-ng": "espeak-ng", "sox": "sox"}

    def __init__(self, voice: str = "pt-br", executable: str = "espeak-ng") -> None:
        self.voice = voice
        self.executable = executable
        self._voice_known = False

    def synthesize(self, text: str) -> bytes:
        if not self._voice_known:
            self._check_voice()
        spoken = self._run(["-v", self.voice, "-b", "1", "--stdout"], text.encode())
        # espeak-ng writes a WAV header with placeholder lengths (it cannot seek a pipe): the
        # wave module still reads its rate and every sample up to the end of the data.
        with wave.open(io.BytesIO(spoken)) as wav:
            rate = wav.getframerate()
            pcm = wav.readframes(wav.getnframes())
        return asterisk_wav(pcm, rate)

    def _check_voice(self) -> None:
        # "pt-br+f3" is the voice pt-br with the variant f3. A voice is named by its language,
        # its name or its file: columns 2, 4 and 5 of the listing.
        wanted = self.voice.split("+")[0].lower()
        listing = self._run(["--voices"], b"").decode(errors="replace").lower().splitlines()
        for columns in (line.split() for line in listing[1:]):
            if len(columns) >= 5 and wanted in (
                columns[1],
                columns[3],
                columns[4],
                columns[4].rsplit("/", 1)[-1],
            ):
                self._voice_known = True
                return
        raise SpeechError(
            f"espeak-ng has no voice {self.voice!r}: see `{self.executable} --voices`"
            " and set ATENDE_ESPEAK_VOICE"
        )

    def _run(self, arguments: list[str], stdin: bytes) -> bytes:
        try:
            done = subprocess.run(
                [self.executable, *arguments],
                input=stdin,
                capture_output=True,
                timeout=ESPEAK_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise SpeechError(f"{self.executable} not found: apt-get install espeak-ng") from None
        except subprocess.TimeoutExpired:
            raise SpeechError(f"{self.executable} took more than {ESPEAK_TIMEOUT:.0f} s") from None
        if done.returncode != 0 or not done.stdout:
            detail = done.stderr.decode(errors="replace").strip()
            raise SpeechError(f"{self.executable} {arguments[0]} failed: {detail}")
        return done.stdout


class EspeakSettings(AdapterSettings):
    espeak_voice: str = "pt-br"


@register(SPEECH, "espeak", EspeakSettings, system_packages=EspeakEngine.system_packages)
def build(settings: Settings, own: EspeakSettings) -> EspeakEngine:
    return EspeakEngine(own.espeak_voice)
