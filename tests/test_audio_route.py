"""The /audio route over real HTTP, as Asterisk's media cache fetches it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from atende.api.audio import audio_router
from atende.speech import AudioCache, AudioFile, EspeakEngine


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
