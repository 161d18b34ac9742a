"""Run the ``atende`` command in a subprocess, as a person at a shell would.

``run_atende``, ``served_atende`` and ``ATENDE`` in ``run_shell`` scripts start it through the
session's zygote (see :mod:`zygote`): a process of its own, without the interpreter's start-up
each time. ``served_atende(command=...)`` execs its command as it is.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

import zygote

README = Path(__file__).resolve().parent.parent / "README.md"
ATENDE = zygote.COMMAND  # what the README's ``scripts/run`` stands for (with ``run_shell``)


def readme_block(heading: str) -> str:
    """The first ``sh`` block under ``heading`` in the README."""
    section = README.read_text().split(f"\n{heading}\n", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def run_shell(script: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """``script`` in bash, where ``ATENDE`` runs the command through the session's zygote."""
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, zygote.ADDRESS: zygote.zygote().address, **env},
        timeout=120,
    )


def run_atende(
    *args: str, input: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``atende ARGS`` with ``env`` added to this process's environment, ``input`` on its stdin;
    output captured."""
    return zygote.run(args, env={**os.environ, **env}, timeout=120, input=input)


@dataclass
class ServedAtende:
    process: subprocess.Popen[str] | zygote.Process
    url: str
    agi_port: int
    token: str  # printed on the first start only
    log: list[str]  # what it wrote to stderr after starting (read all along: a full pipe blocks)


@functools.cache
def session_sounds() -> Path:
    """An audio cache shared by the ``atende serve`` processes of this test session."""
    directory = Path(tempfile.mkdtemp(prefix="atende-sounds-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_atende(
    data_dir: Path,
    args: tuple[str, ...] = ("serve",),
    command: list[str] | None = None,
    umask: int | None = None,
    host: str = "127.0.0.1",
    **env: str,
) -> Iterator[ServedAtende]:
    """``atende ARGS`` (or ``command`` exec'd as it is), under ``umask``, in a subprocess on
    free HTTP and FastAGI ports of ``host``, once it is healthy; stops it at the end (unless
    the test killed it). ``atende ARGS`` renders its prompts into the session's audio cache
    (``ATENDE_SOUNDS_DIR``, unless ``env`` names one): each text once per session, not 99
    prompts (4 s) per start; ``command`` keeps its own in ``data_dir``."""
    port, agi_port = free_port(), free_port()
    environment = {
        **os.environ,
        **({} if command else {"ATENDE_SOUNDS_DIR": str(session_sounds())}),
        "ATENDE_DATA_DIR": str(data_dir),
        "ATENDE_HTTP_HOST": host,
        "ATENDE_HTTP_PORT": str(port),
        "ATENDE_AGI_HOST": host,
        "ATENDE_AGI_PORT": str(agi_port),
        **env,
    }
    server: subprocess.Popen[str] | zygote.Process = (
        subprocess.Popen(
            command,
            env=environment,
            stderr=subprocess.PIPE,
            text=True,
            umask=-1 if umask is None else umask,
        )
        if command
        else zygote.Process(args, env=environment, umask=umask, stderr=subprocess.PIPE)
    )
    try:
        token = ""
        assert server.stderr is not None
        for line in server.stderr:
            if line.startswith("atd_"):
                token = line.strip()
            if "HTTP on" in line:
                break
        log: list[str] = []
        threading.Thread(target=log.extend, args=(server.stderr,), daemon=True).start()
        url = f"http://{host}:{port}"
        deadline = time.monotonic() + 30
        while not _healthy(url):
            assert time.monotonic() < deadline, "atende serve did not become healthy in 30 s"
            time.sleep(0.05)
        yield ServedAtende(server, url, agi_port, token, log)
    finally:
        if server.poll() is None:
            server.terminate()
        server.wait(timeout=30)


@contextmanager
def running_atende(data_dir: Path, **env: str) -> Iterator[tuple[str, str]]:
    """``atende serve``, first start on an empty data directory; yields the base URL and the
    admin token it prints."""
    with served_atende(data_dir, **env) as served:
        assert served.token, "the first start prints an admin token"
        yield served.url, served.token


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz").status_code == 200
    except httpx.TransportError:
        return False
