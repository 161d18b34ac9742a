"""Browser protections on every HTTP answer: a Content-Security-Policy and its companions.

The dashboard loads only its own files (htmx, Chart.js and its scripts are vendored in
``static/``; it has no inline script or style), so its policy allows scripts, styles and
connections from this origin alone: an injected ``<script>`` or ``style=`` does not run, and no
other site may frame a page (clickjacking). Swagger UI at ``/docs`` is FastAPI's page, which
starts itself with an inline script; only that page gets a policy that lets it run.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_COMMON = "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " + _COMMON
# FastAPI's Swagger UI page: an inline start-up script, and styles its widgets set inline; its
# bundle, styles and icon are served by atende itself (api.docs).
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; " + _COMMON
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """Pure ASGI, like the metrics middleware: adds the headers to the response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"] in DOCS_PATHS else POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", policy)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
