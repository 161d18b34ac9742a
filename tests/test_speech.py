"""Speech: real espeak-ng and sox output, the audio cache on disk, the fallback chain."""

from __future__ import annotations

import array
import asyncio
import hashlib
import json
import logging
import os
import subprocess
import threading
import time
import wave
from datetime import date
from pathlib import Path

import pytest

from atende.bootstrap import speech_chain
from atende.config import Settings, SettingsError
from atende.speech import (
    AudioCache,
    SpeechChain,
    SpeechError,
    audio_ref,
    cache_directory,
)
from atende.speech.cache import FRESH_S
from atende.speech.espeak import EspeakEngine
from atende.speech.numbers import date_for_speech, digit_groups, digit_parts
from atende.texts import PersonalText, fixed_prompts, text


class Counting:
    """A real engine that counts its syntheses (and can be slowed to widen races)."""

    def __init__(self, engine: EspeakEngine, delay: float = 0.0) -> None:
        self.engine = engine
        self.name = engine.name
        self.voice = engine.voice
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()

    def synthesize(self, text: str) -> bytes:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)
        return self.engine.synthesize(text)


class Broken:
    name = "broken"
    voice = "none"

    def synthesize(self, text: str) -> bytes:
        raise SpeechError("service unavailable")


def soxi(path: Path, option: str) -> str:
    return subprocess.run(
        ["soxi", option, str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


def peak(path: Path) -> int:
    with wave.open(str(path)) as wav:
        samples = array.array("h", wav.readframes(wav.getnframes()))
    return max(abs(sample) for sample in samples)


def phonemes(spoken: str) -> list[str]:
    """espeak-ng's phoneme output, one entry per clause (a clause ends in a pause)."""
    out = subprocess.run(
        ["espeak-ng", "-v", "pt-br", "-q", "-x"], input=spoken, capture_output=True, text=True
    ).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def espeak() -> EspeakEngine:
    return EspeakEngine("pt-br")


def test_espeak_output_is_what_asterisk_plays(tmp_path: Path, espeak: EspeakEngine) -> None:
    path = tmp_path / "goodbye.wav"
    path.write_bytes(espeak.synthesize(text("goodbye")))

    assert soxi(path, "-r") == "8000"
    assert soxi(path, "-c") == "1"
    assert soxi(path, "-b") == "16"
    assert soxi(path, "-e") == "Signed Integer PCM"
    # "Obrigado por ligar. Até logo!" takes one to four seconds to say, and is not silence.
    assert 1.0 < float(soxi(path, "-D")) < 4.0
    assert peak(path) > 3000


def test_longer_text_gives_longer_audio(tmp_path: Path, espeak: EspeakEngine) -> None:
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    short.write_bytes(espeak.synthesize(text("wrong_otp")))
    long.write_bytes(espeak.synthesize(text("main_menu")))

    assert float(soxi(long, "-D")) > 3 * float(soxi(short, "-D"))


def test_text_starting_with_a_dash_is_spoken_not_read_as_an_option(espeak: EspeakEngine) -> None:
    assert len(espeak.synthesize("-v en --help")) > 8000


def test_unknown_voice_fails_instead_of_speaking_english() -> None:
    with pytest.raises(SpeechError, match="ATENDE_ESPEAK_VOICE"):
        EspeakEngine("no-such-voice").synthesize("Olá")


@pytest.mark.parametrize("voice", ["pt-br", "pt-BR+f3", "roa/pt-BR", "pt-BR"])
def test_voices_are_accepted_by_language_variant_or_file(voice: str) -> None:
    assert EspeakEngine(voice).synthesize("Olá")[:4] == b"RIFF"


def test_cache_synthesizes_a_text_once(tmp_path: Path, espeak: EspeakEngine) -> None:
    engine = Counting(espeak)
    cache = AudioCache(tmp_path, engine)

    first = cache.get("Olá")
    second = AudioCache(tmp_path, engine).get("Olá")  # another process, same directory

    assert first == second
    assert engine.calls == 1
    assert first.path.is_absolute() and first.path.suffix == ".wav"
    assert first.stream_name == str(first.path)[: -len(".wav")]


def test_concurrent_requests_for_one_text_synthesize_once(
    tmp_path: Path, espeak: EspeakEngine
) -> None:
    engine = Counting(espeak, delay=0.2)
    cache = AudioCache(tmp_path, engine)
    results = []

    def ask() -> None:
        results.append(cache.get("Maria da Silva"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert engine.calls == 1
    assert len(set(results)) == 1
    # no temporary file left behind: the audio and the text it says
    assert sorted(os.listdir(tmp_path)) == sorted([results[0].name, results[0].text_path.name])


def test_different_texts_are_rendered_in_parallel(tmp_path: Path, espeak: EspeakEngine) -> None:
    engine = Counting(espeak, delay=0.5)
    cache = AudioCache(tmp_path, engine)

    started = time.monotonic()
    threads = [threading.Thread(target=cache.get, args=(name,)) for name in ("Ana", "Bia", "Caio")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert engine.calls == 3
    assert time.monotonic() - started < 1.2  # not three delays in a row


def test_file_name_is_the_hash_of_engine_voice_and_text(
    tmp_path: Path, espeak: EspeakEngine
) -> None:
    audio = AudioCache(tmp_path, espeak).get("Olá")
    other_voice = AudioCache(tmp_path, EspeakEngine("pt")).get("Olá")

    expected = hashlib.sha256(
        json.dumps(["espeak", "pt-br", "Olá"], ensure_ascii=False).encode()
    ).hexdigest()
    assert audio.name == f"{expected}.wav"
    assert other_voice.name != audio.name


def test_failed_synthesis_leaves_no_file(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, Broken())

    with pytest.raises(SpeechError):
        cache.get("Olá")

    assert not tmp_path.exists() or os.listdir(tmp_path) == []


def test_url_is_content_addressed_and_long_enough_for_asterisk(
    tmp_path: Path, espeak: EspeakEngine
) -> None:
    audio = AudioCache(tmp_path, espeak).get("Olá")

    url = audio.url("http://ivr.example:8080/audio/")

    assert url == f"http://ivr.example:8080/audio/{audio.path.stem}.wav"
    assert len(audio.path.stem) == 64  # Asterisk bug #444: short URLs fail to play


def test_audio_ref_is_the_url_only_when_a_base_url_is_set(
    tmp_path: Path, espeak: EspeakEngine
) -> None:
    audio = AudioCache(tmp_path, espeak).get("Olá")

    local = Settings(data_dir=tmp_path)
    remote = Settings(data_dir=tmp_path, audio_base_url="https://ivr.example/audio")

    assert audio_ref(audio, local) == audio.stream_name
    assert audio_ref(audio, remote) == f"https://ivr.example/audio/{audio.name}"


def test_cache_directory_follows_settings(tmp_path: Path) -> None:
    assert cache_directory(Settings(data_dir=tmp_path)) == tmp_path / "audio"
    sounds = tmp_path / "asterisk-sounds"
    assert cache_directory(Settings(data_dir=tmp_path, sounds_dir=sounds)) == sounds


def test_files_are_readable_by_asterisk(tmp_path: Path, espeak: EspeakEngine) -> None:
    audio = AudioCache(tmp_path, espeak).get("Olá")

    assert audio.path.stat().st_mode & 0o044 == 0o044


def test_prerender_renders_every_fixed_prompt(tmp_path: Path, espeak: EspeakEngine) -> None:
    prompts = fixed_prompts()
    engine = Counting(espeak)
    cache = AudioCache(tmp_path, engine)

    files = cache.prerender(prompts.values())

    assert len(files) == len(set(prompts.values()))
    assert all(audio.path.stat().st_size > 8000 for audio in files)
    cache.get(prompts["goodbye"])
    assert engine.calls == len(files)


def test_cleanup_removes_only_unused_names(tmp_path: Path, espeak: EspeakEngine) -> None:
    cache = AudioCache(tmp_path, espeak)
    (fixed,) = cache.prerender([text("goodbye")])
    old_name = cache.get("Maria da Silva")
    used_name = cache.get("João Souza")
    stale_temp = tmp_path / ".partial-crashed.wav"
    stale_temp.write_bytes(b"half")
    month_ago = time.time() - 31 * 86400
    for path in (fixed.path, old_name.path, used_name.path, stale_temp):
        os.utime(path, (month_ago, month_ago))

    cache.get("João Souza")  # a hit marks the file as used
    removed = cache.cleanup(max_age_days=30)

    assert removed == 2
    assert fixed.path.exists()
    assert used_name.path.exists()
    assert not old_name.path.exists()
    assert not stale_temp.exists()


def test_chain_falls_back_and_logs_without_the_text(
    espeak: EspeakEngine, caplog: pytest.LogCaptureFixture
) -> None:
    chain = SpeechChain([Broken(), espeak])

    with caplog.at_level(logging.WARNING):
        wav = chain.synthesize("Maria da Silva")

    assert wav[:4] == b"RIFF"
    assert "broken" in caplog.text
    assert "Maria" not in caplog.text
    assert chain.name == "broken+espeak"


def test_chain_raises_when_every_engine_fails() -> None:
    with pytest.raises(SpeechError, match="every speech engine failed"):
        SpeechChain([Broken(), Broken()]).synthesize("Olá")


def test_engine_comes_from_settings(tmp_path: Path) -> None:
    chain = speech_chain(Settings(data_dir=tmp_path, espeak_voice="pt"))

    assert [engine.voice for engine in chain.engines] == ["pt"]
    with pytest.raises(SettingsError, match="ATENDE_TTS"):
        speech_chain(Settings(data_dir=tmp_path, tts="nonexistent"))


def test_protocol_digits_are_read_one_by_one_in_groups() -> None:
    assert digit_parts("20260000421") == [*"2026", "", *"0000", "", *"421"]
    assert digit_groups("12345") == ["12345"]  # never one digit alone after a pause
    assert digit_groups("123456789", size=3) == ["123", "456", "789"]
    with pytest.raises(ValueError):
        digit_parts("2026-421")


def test_a_number_is_joined_from_prerendered_digits_without_new_synthesis(tmp_path: Path) -> None:
    engine = Counting(EspeakEngine())
    cache = AudioCache(tmp_path, engine)
    cache.prerender(["Protocolo:", *"0123456789"])
    before = engine.calls
    first = cache.compose(["Protocolo:", *digit_parts("20260000421")])
    second = cache.compose(["Protocolo:", *digit_parts("20260000438")])
    assert engine.calls == before  # a new number costs no synthesis
    assert first.path != second.path
    assert first.text_path.read_text() == "Protocolo: 2 0 2 6 0 0 0 0 4 2 1"

    def frames(path: Path) -> int:
        with wave.open(str(path), "rb") as clip:
            assert (clip.getframerate(), clip.getnchannels(), clip.getsampwidth()) == (8000, 1, 2)
            return clip.getnframes()

    parts = [cache.get(p).path for p in ["Protocolo:", *"20260000421"]]
    assert frames(first.path) == sum(frames(p) for p in parts) + 2 * 8000 // 4  # two pauses
    assert cache.compose(["Protocolo:", *digit_parts("20260000421")]) == first


def test_a_joined_file_a_power_cut_left_short_is_written_again(
    tmp_path: Path, espeak: EspeakEngine
) -> None:
    """Joined audio is not fsynced (a protocol read back is heard once): after a power cut its
    renamed file may be short, and the next call that needs it must not play it so."""
    parts = ["Olá", "", *digit_parts("421")]
    joined = AudioCache(tmp_path, espeak).compose(parts)
    whole = joined.path.read_bytes()
    joined.path.write_bytes(whole[: len(whole) // 3])
    again = AudioCache(tmp_path, espeak).compose(parts)  # a new process: nothing in memory
    assert again == joined
    assert joined.path.read_bytes() == whole


def test_dates_are_spoken_the_brazilian_way() -> None:
    assert date_for_speech(date(2026, 11, 21)) == (
        "vinte e um de novembro de dois mil e vinte e seis"
    )
    assert date_for_speech(date(2026, 3, 5), with_year=False) == "cinco de março"
    assert date_for_speech(date(2026, 5, 1)) == "primeiro de maio de dois mil e vinte e seis"
    assert phonemes(date_for_speech(date(2026, 5, 1)))[0].startswith("pR,im'eI")  # "primeiro"


def test_a_prompt_seen_on_disk_lately_is_played_without_a_worker_thread(
    tmp_path: Path, espeak: EspeakEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load the worker threads queue behind database work: a prompt already on disk must
    not wait for one. Callers' names always go to the disk (their files are not remembered)."""
    now = [0.0]
    cache = AudioCache(tmp_path, espeak, clock=lambda: now[0])
    said = cache.get("Olá")
    joined = cache.compose(["Olá", "", "Olá"])
    cache.get(PersonalText("Você é Maria da Silva?"))

    def no_thread(*args: object, **kwargs: object) -> object:
        raise AssertionError("a worker thread was asked for")

    monkeypatch.setattr(asyncio, "to_thread", no_thread)
    assert asyncio.run(cache.aget("Olá")) == said
    assert asyncio.run(cache.acompose(["Olá", "", "Olá"])) == joined
    with pytest.raises(AssertionError, match="worker thread"):
        asyncio.run(cache.aget(PersonalText("Você é Maria da Silva?")))
    now[0] += FRESH_S  # seen too long ago: the disk is asked again (cleanup may have run)
    with pytest.raises(AssertionError, match="worker thread"):
        asyncio.run(cache.aget("Olá"))
