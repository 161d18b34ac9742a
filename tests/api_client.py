"""An HTTP client against a real server of the app, with a token of the chosen scope."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from atende.api.app import create_app
from atende.services.bundle import Services
from live_server import serve


@contextmanager
def api_client(
    services: Services, scopes: list[str] | None = None, **token: object
) -> Iterator[httpx.Client]:
    _, clear = services.tokens.create("tests", scopes or ["admin"], **token)  # type: ignore[arg-type]
    with (
        serve(create_app(services)) as base_url,
        httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {clear}"}, timeout=10
        ) as client,
    ):
        yield client
