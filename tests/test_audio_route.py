"""The /audio route over real HTTP, as Asterisk's media cache fetches it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from atende.agi.emulator import HANGUP, CallerInput, EmulatedCommand
from atende.api.app import create_app
from atende.api.audio import audio_router
from atende.bootstrap import speech_chain
from atende.demo import load_demo_people
from atende.services.bundle import Services
from atende.speech import AudioCache, AudioFile
from atende.speech.espeak import EspeakEngine
from atende.texts import text
from live_server import serve
from ura_harness import place_call, running_ura


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sounds") / "audio"
    directory.mkdir()
    (directory.parent / "secret.txt").write_text("not audio")
    (directory / "notes.txt").write_text("not audio either")
    return directory


@pytest.fixture(scope="module")
def greeting(audio_dir: Path) -> AudioFile:
    return AudioCache(audio_dir, EspeakEngine()).get("Olá! Você ligou para o suporte.")


@pytest.fixture(scope="module")
def base_url(audio_dir: Path) -> Iterator[str]:
    app = FastAPI()
    app.include_router(audio_router(audio_dir))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_audio_is_served_as_immutable_wav(base_url: str, greeting: AudioFile) -> None:
    response = httpx.get(greeting.url(f"{base_url}/audio"))

    assert response.status_code == 200
    assert response.content == greeting.path.read_bytes()
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["etag"] == f'"{greeting.path.stem}"'


def test_etag_stays_when_the_file_is_touched(base_url: str, greeting: AudioFile) -> None:
    url = greeting.url(f"{base_url}/audio")
    before = httpx.get(url).headers["etag"]
    AudioCache(greeting.path.parent, EspeakEngine()).get("Olá! Você ligou para o suporte.")

    assert httpx.get(url).headers["etag"] == before


def test_revalidation_answers_not_modified(base_url: str, greeting: AudioFile) -> None:
    url = greeting.url(f"{base_url}/audio")
    etag = httpx.get(url).headers["etag"]

    response = httpx.get(url, headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""


def test_head_gives_headers_without_body(base_url: str, greeting: AudioFile) -> None:
    response = httpx.head(greeting.url(f"{base_url}/audio"))

    assert response.status_code == 200
    assert int(response.headers["content-length"]) == greeting.path.stat().st_size
    assert response.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/audio/" + "0" * 64 + ".wav",  # well formed, never rendered
        "/audio/notes.txt",  # in the directory, but not audio
        "/audio/..%2Fsecret.txt",
        "/audio/%2E%2E%2Fsecret.txt",
        "/audio/..%5Csecret.txt",
        "/audio/" + "A" * 64 + ".wav",
    ],
)
def test_anything_else_is_not_found(base_url: str, greeting: AudioFile, path: str) -> None:
    response = httpx.get(base_url + path)

    assert response.status_code == 404
    assert b"not audio" not in response.content


def test_a_callers_name_cannot_be_found_from_its_words(
    make_services: Callable[..., Services], tmp_path: Path
) -> None:
    sounds = tmp_path / "sounds"
    services = make_services(otp="never", sounds_dir=sounds, audio_personal_transcripts=False)
    load_demo_people(services.people)
    played: list[str] = []
    # Nothing at the greeting, open a ticket, hang up at "Você é Maria da Silva?"
    keys = iter([None, "1", HANGUP])

    async def caller(command: EmulatedCommand) -> CallerInput:
        if command.verb == "WAIT FOR DIGIT":
            return None
        played.append(command.args[0])
        return next(keys)

    async def call() -> None:
        async with running_ura(services) as (server, _):
            await place_call(server.port, caller, callerid="2001")  # type: ignore[arg-type]

    asyncio.run(call())
    _, menu, confirm = (Path(name) for name in played)
    assert menu.with_suffix(".txt").read_text(encoding="utf-8").startswith("Para abrir")
    assert not confirm.with_suffix(".txt").exists()  # the name is not written down
    assert not any("Maria" in path.read_text(encoding="utf-8") for path in sounds.glob("*.txt"))
    # Its file name is not what hashing the words gives (the content address of any audio).
    words = str(text("confirm_name", name="Maria da Silva"))
    assert confirm.name != AudioCache(sounds, speech_chain(services.runtime.settings)).key(words)
    with serve(create_app(services)) as base_url:  # still served to a remote Asterisk
        assert httpx.get(f"{base_url}/audio/{confirm.name}.wav").status_code == 200
