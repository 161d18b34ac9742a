"""Polly against a local stand-in of its endpoint, Piper with a stand-in voice model, and the
chain of engines: fallback within the call, failures counted, audio cached by who spoke."""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from atende.bootstrap import speech_chain
from atende.config import Settings, SettingsError, load_settings
from atende.demo import load_demo_people
from atende.services.bundle import Services
from atende.speech import (
    AudioCache,
    SpeechChain,
    SpeechError,
)
from atende.speech.espeak import EspeakEngine
from atende.speech.piper import PiperEngine
from atende.speech.polly import PollyEngine, PollySettings
from fakes import polly
from fakes.http_fake import FakeServer
from fakes.piper_model import HOP, write_voice
from fakes.piper_model import SAMPLE_RATE as PIPER_RATE
from ura_harness import ScriptedCaller, call_ura

NAME = "Você é Maria da Silva? Tecle 1 para confirmar, 2 se não for você."


def wav_facts(data: bytes) -> tuple[int, int, int, float]:
    with wave.open(io.BytesIO(data)) as wav:
        frames = wav.getnframes()
        rate = wav.getframerate()
        return rate, wav.getnchannels(), wav.getsampwidth(), frames / rate


def failures(engine: str) -> float:
    return REGISTRY.get_sample_value("atende_speech_engine_failures_total", {"engine": engine}) or 0


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard AWS credential chain, through its environment variables."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", polly.ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", polly.SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def polly_fake(aws: None) -> Iterator[tuple[polly.PollyState, FakeServer]]:
    state = polly.PollyState()
    with FakeServer(polly.polly_app(state)) as server:
        yield state, server


def polly_settings(url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "tts": "polly",
        "polly_region": polly.REGION,
        "polly_endpoint_url": url,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def polly_engine(url: str, tmp_path: Path, **overrides: object) -> PollyEngine:
    (engine,) = speech_chain(polly_settings(url, tmp_path, **overrides)).engines
    assert isinstance(engine, PollyEngine)
    return engine


def test_polly_speaks_pt_br_neural_at_asterisks_rate(polly_fake, tmp_path: Path) -> None:
    state, server = polly_fake

    wav = polly_engine(server.url, tmp_path, polly_voice="Vitoria").synthesize("Maria da Silva")

    rate, channels, width, seconds = wav_facts(wav)
    assert (rate, channels, width) == (8000, 1, 2)
    assert seconds == pytest.approx(len("Maria da Silva") * polly.SECONDS_PER_CHARACTER)
    (request,) = state.spoken
    assert request["VoiceId"] == "Vitoria" and request["Engine"] == "neural"
    assert (request["OutputFormat"], request["SampleRate"]) == ("pcm", "8000")
    assert request["LanguageCode"] == "pt-BR" and request["Text"] == "Maria da Silva"
    signed = state.requests[0]["headers"]["authorization"]
    assert f"Credential={polly.ACCESS_KEY}/" in signed and "/sa-east-1/polly/" in signed


def test_polly_errors_name_the_problem_not_the_text(
    polly_fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, server = polly_fake
    engine = polly_engine(server.url, tmp_path)
    state.fail(500, {"message": "Internal failure"}, times=2,
               **{"x-amzn-ErrorType": "ServiceFailureException"})  # fmt: skip
    with pytest.raises(SpeechError, match=r"ServiceFailureException \(HTTP 500\)") as raised:
        engine.synthesize("Maria da Silva")
    assert "Maria" not in str(raised.value)

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGKEY")
    with pytest.raises(SpeechError, match="UnrecognizedClientException"):
        polly_engine(server.url, tmp_path).synthesize("Olá")

    server.stop()
    with pytest.raises(SpeechError, match="polly: Could not connect"):
        engine.synthesize("Olá")


def test_polly_without_a_region_stops_startup(
    tmp_path: Path, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(SettingsError, match=r"ATENDE_POLLY_REGION: .*sa-east-1"):
        load_settings(data_dir=tmp_path, tts="polly")
    with pytest.raises(SettingsError, match="ATENDE_POLLY_REGION"):  # built by other means
        PollyEngine("Camila")
    monkeypatch.setenv("AWS_DEFAULT_REGION", polly.REGION)
    settings = load_settings(data_dir=tmp_path, tts="polly")
    assert settings.of(PollySettings).polly_region is None  # the chain's


# Piper


def test_piper_runs_a_voice_model_and_resamples_to_8_khz(tmp_path: Path) -> None:
    model = write_voice(tmp_path)
    (engine,) = speech_chain(Settings(data_dir=tmp_path, tts="piper", piper_model=model)).engines
    assert isinstance(engine, PiperEngine) and engine.voice == "pt_BR-teste-tiny"

    short, long = engine.synthesize("Olá"), engine.synthesize(NAME)

    rate, channels, width, seconds = wav_facts(long)
    assert (rate, channels, width) == (8000, 1, 2)
    assert seconds > 3 * wav_facts(short)[3]  # more phonemes, more audio
    # The stand-in voice gives HOP samples per phoneme id at 22.05 kHz: whole ids, resampled.
    ids = round(seconds * PIPER_RATE / HOP)
    assert seconds == pytest.approx(ids * HOP / PIPER_RATE, abs=0.002)


def test_piper_settings_are_checked_at_startup(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"ATENDE_PIPER_MODEL: .*needed when ATENDE_TTS"):
        load_settings(data_dir=tmp_path, tts="piper,espeak")
    with pytest.raises(SettingsError, match=r"ATENDE_PIPER_MODEL: .*no such file"):
        load_settings(data_dir=tmp_path, tts="piper", piper_model=tmp_path / "missing.onnx")
    lonely = tmp_path / "voice.onnx"
    lonely.write_bytes(b"onnx")
    with pytest.raises(SettingsError, match=r"voice.onnx.json must be beside it"):
        load_settings(data_dir=tmp_path, tts="piper", piper_model=lonely)
    with pytest.raises(SettingsError, match=r"voice.onnx.json is missing"):  # other means
        PiperEngine(lonely)


def test_a_broken_model_fails_the_text_and_the_chain_speaks_on(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    Path(f"{broken}.json").write_text("{}")
    chain = SpeechChain([PiperEngine(broken), EspeakEngine()])

    assert chain.synthesize("Olá")[:4] == b"RIFF"
    with pytest.raises(SpeechError, match="piper: "):
        PiperEngine(broken).synthesize("Olá")


# The chain


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_fallback_audio_is_cached_under_the_engine_that_spoke(polly_fake, tmp_path: Path) -> None:
    state, server = polly_fake
    clock = Clock()
    chain = SpeechChain([polly_engine(server.url, tmp_path), EspeakEngine()], clock=clock)
    cache = AudioCache(tmp_path / "audio", chain)
    before = failures("polly")

    server.stop()  # Polly down: espeak says the name within the call
    during = cache.get("Maria da Silva")
    assert during.name == f"{cache.key('Maria da Silva', chain.engines[1])}.wav"
    assert failures("polly") == before + 1
    cache.get("João Pereira")  # cooling down: Polly is not waited for again
    assert failures("polly") == before + 1

    server.start()
    assert cache.get("Maria da Silva") == during  # still cooling down: the fallback's file
    clock.now += 60
    after = cache.get("Maria da Silva")  # Polly is back: it renders the name, once
    assert after.name == f"{cache.key('Maria da Silva')}.wav" != during.name
    assert cache.get("Maria da Silva") == after
    assert [r["Text"] for r in state.spoken] == ["Maria da Silva"]
    assert wav_facts(after.path.read_bytes())[3] == pytest.approx(14 * 0.05)


def test_a_call_hears_names_from_the_first_engine_that_answers(
    make_services: Callable[..., Services], polly_fake, tmp_path: Path
) -> None:
    state, server = polly_fake
    services = make_services(
        sounds_dir=tmp_path / "sounds",  # nothing said by an earlier test
        tts="polly,espeak",
        polly_region=polly.REGION,
        polly_endpoint_url=server.url,
        otp="never",
    )
    load_demo_people(services.people)

    def call(code: str, name: str) -> None:
        caller = ScriptedCaller(
            [("abrir um chamado", "1"), ("código de cadastro", f"{code}#"), (f"Você é {name}", "2")]
        )
        call_ura(services, caller, uniqueid=f"1795228819.{code}")
        assert caller.unexpected == [] and caller.steps == []

    call("1001", "Maria da Silva")
    assert NAME in [r["Text"] for r in state.spoken]  # Polly spoke the caller's name
    server.stop()
    call("1002", "João Pereira")  # Polly down: João hears his name all the same, from espeak
    joao = NAME.replace("Maria da Silva", "João Pereira")
    assert joao not in [r["Text"] for r in state.spoken]


def test_the_admin_check_builds_the_chain_from_settings(polly_fake, tmp_path: Path) -> None:
    _, server = polly_fake
    chain = speech_chain(polly_settings(server.url, tmp_path, tts="polly,espeak"))

    assert [engine.name for engine in chain.engines] == ["polly", "espeak"]
    assert asyncio.run(asyncio.to_thread(chain.synthesize, "Olá"))[:4] == b"RIFF"
