"""Serve a fake product's ASGI app on a fixed loopback port, and take it down and bring it back
on the same port (an outage, as a client sees it: connection refused, then answers again)."""

from __future__ import annotations

import socket
from contextlib import ExitStack
from types import TracebackType

from live_server import serve


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeServer:
    def __init__(self, app: object) -> None:
        self.app = app
        self.port = free_port()
        self._serving: ExitStack | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        serving = ExitStack()
        serving.enter_context(serve(self.app, self.port))
        self._serving = serving
        return self

    def stop(self) -> None:
        if self._serving is not None:
            self._serving.close()
            self._serving = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
