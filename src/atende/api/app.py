"""The HTTP application: REST API, Swagger UI, health and metrics, built from a services bundle."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from atende import __version__
from atende.api import calls, catalog, flows, people, tickets
from atende.api.audio import audio_router
from atende.api.docs import install_docs
from atende.api.errors import install_error_handlers
from atende.api.metrics import MetricsMiddleware
from atende.api.responses import document_errors
from atende.api.security_headers import SecurityHeadersMiddleware
from atende.services.bundle import Services
from atende.speech import cache_directory
from atende.web import install_dashboard

DESCRIPTION = """
REST API of **atende**: people who call, the service catalog the phone menus read, tickets with
traceable protocol numbers, attendance protocols (ANS RN 623), the record of every call and the
call flows callers go through.

Authenticate with `Authorization: Bearer <token>` (create one with
`atende token create --name NAME --scope admin`). Errors are always
`{"error": {"code", "message", "field"}}`.
"""

OPENAPI_URL = "/openapi.json"
API_PREFIX = "/api/v1"


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="atende",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=OPENAPI_URL,
        docs_url=None,  # served from the package by install_docs, not from a CDN
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)

    v1 = APIRouter(prefix=API_PREFIX)
    for module in (people, catalog, tickets, calls, flows):
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(audio_router(cache_directory(services.runtime.settings)))

    @app.get("/livez", tags=["health"], summary="The process answers (no database access)")
    def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/healthz", tags=["health"], summary="The process and its database answer")
    def healthz() -> JSONResponse:
        try:
            with services.runtime.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not healthy", said plainly
            return JSONResponse({"status": "error", "database": type(exc).__name__}, 503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    install_docs(app, OPENAPI_URL)
    install_dashboard(app)  # the support team's pages at /
    document_errors(app, API_PREFIX)  # once every route is there
    return app
