"""The support team's dashboard: server-rendered pt-BR pages at ``/`` of the HTTP app.

Jinja2 templates, one style sheet, htmx for the live queue and Chart.js for the reports (both
vendored in ``static/``: nothing is fetched from elsewhere at run time). Every page needs a
signed-in member; the administration pages need an administrator (see :mod:`.security`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from atende.web import (
    admin_catalog,
    admin_checks,
    admin_hours,
    admin_people,
    admin_tokens,
    admin_users,
    calls,
    login,
    reports,
    tickets,
)
from atende.web.security import AdminOnly, CsrfRejected, LoginRequired
from atende.web.templating import message_page

STATIC_DIR = Path(__file__).parent / "static"
PAGES = (
    login,
    tickets,
    calls,
    reports,
    admin_people,
    admin_catalog,
    admin_hours,
    admin_users,
    admin_tokens,
    admin_checks,
)


def install_dashboard(app: FastAPI) -> None:
    """Add the dashboard's pages, static files and access rules to ``app``."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for page in PAGES:
        app.include_router(page.router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        if request.headers.get("hx-request"):  # htmx follows this header, not a 303
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/"
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(AdminOnly)
    async def _admin_only(request: Request, _: AdminOnly) -> Response:
        return message_page(request, "forbidden_title", "forbidden_admin", 403)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _: CsrfRejected) -> Response:
        return message_page(request, "csrf_title", "csrf_text", 403)
