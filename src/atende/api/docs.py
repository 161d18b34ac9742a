"""Swagger UI at ``/docs``, served from the swagger-ui distribution packaged as a dependency.

atende is self-hosted, often on a network with no way out: FastAPI's own page loads Swagger
UI's script and style sheet from a CDN, and stays blank there. The same files (with their
licence) come with the ``swagger-ui-bundle-v2`` package, so the page and its assets are all
served by atende itself. ReDoc is not offered (``redoc_url=None``): it too would need a CDN.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS = "/docs"
ASSETS = "/docs/assets"


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """Serve Swagger UI for the document at ``openapi_url`` at ``/docs``, assets included."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @app.get(DOCS, include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")  # behind a path-prefix proxy
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon-32x32.png",
            oauth2_redirect_url=None,
        )
