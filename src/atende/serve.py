"""One process running the HTTP app on the configured host and port until interrupted."""

from __future__ import annotations

import logging

import uvicorn

from atende.api.app import create_app
from atende.services.bundle import Services

log = logging.getLogger(__name__)


async def run(services: Services) -> None:
    settings = services.runtime.settings
    config = uvicorn.Config(
        create_app(services),
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    log.info("HTTP on http://%s:%d (Swagger UI at /docs)", settings.http_host, settings.http_port)
    await server.serve()
