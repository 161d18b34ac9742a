"""Jinja2 set-up of the dashboard: templates, the ``t`` text function, pt-BR number and date
formats in the installation's time zone, and the helpers every page needs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse, RedirectResponse, Response

from atende import __version__
from atende.domain.identity import mask
from atende.services.errors import ServiceError
from atende.web.security import CSRF_FIELD, services_of
from atende.web.texts import web_text

TEMPLATES_DIR = Path(__file__).parent / "templates"
# Texts a redirect after a successful form may ask the next page to show (``?done=KEY``).
NOTICES = frozenset(
    {"saved", "ticket_saved", "catalog_saved", "hours_saved", "person_saved", "user_saved"}
)

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True


def number(value: float, decimals: int = 1) -> str:
    """``56.0`` as ``56,0`` (Brazilian decimal comma)."""
    return f"{value:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def seconds(value: float | None) -> str:
    """A duration as ``1min 05s`` / ``42s``; ``—`` when unknown."""
    if value is None:
        return "—"
    whole = round(value)
    minutes, secs = divmod(whole, 60)
    return f"{minutes}min {secs:02d}s" if minutes else f"{secs}s"


def done(url: str, notice: str) -> RedirectResponse:
    """After a form that worked: back to a page (POST-redirect-GET) that shows ``notice``."""
    separator = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{separator}done={notice}", status_code=303)


def after_form(
    request: Request,
    action: Callable[[], object],
    again: Callable[..., Response],
    back: str,
    notice: str,
) -> Response:
    """Run a form's ``action``: when it worked, back to ``back`` showing ``notice``; when the
    service refused it, the form's page ``again(request, error=..., status=...)`` with the
    reason and the error's status."""
    try:
        action()
    except ServiceError as exc:
        return again(request, error=error_text(request, exc), status=exc.status)
    return done(back, notice)


def error_text(request: Request, exc: ServiceError) -> str:
    """A service error in the member's language: a specific text when there is one for its
    code and field (filled with the error's details), else a general one with the service's
    own message."""
    language = services_of(request).runtime.settings.language
    try:
        return web_text(f"error_{exc.code}_{exc.field}", language, **exc.details)
    except KeyError:
        return web_text("error_generic", language, detail=exc.message)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    services = services_of(request)
    runtime = services.runtime
    language = runtime.settings.language
    member = getattr(request.state, "signed_in", None)

    def t(key: str, /, **fields: object) -> str:
        return web_text(key, language, **fields)

    def label(prefix: str, value: str | None) -> str:
        """The text of a value recorded by other parts (a step, an outcome, a message kind);
        the value itself when the dashboard has no text for it yet."""
        try:
            return web_text(f"{prefix}_{value}", language)
        except KeyError:
            return value or ""

    def local(moment: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
        return moment.astimezone(runtime.zone).strftime(fmt) if moment else "—"

    values: dict[str, Any] = {
        "t": t,
        "label": label,
        "local": local,
        "number": number,
        "seconds": seconds,
        "mask": mask,
        "member": member,
        "csrf_field": CSRF_FIELD,
        "csrf_token": member.csrf_token if member else "",
        "version": __version__,
        "path": request.url.path,
    }
    notice = request.query_params.get("done", "")
    if notice in NOTICES:
        values["notice"] = t(notice)
    values.update(context or {})
    return templates.TemplateResponse(request, template, values, status_code=status)


def message_page(request: Request, title_key: str, text_key: str, status: int) -> HTMLResponse:
    """A page that only says something (access denied, not found, form expired)."""
    language = services_of(request).runtime.settings.language
    return render(
        request,
        "message.html",
        {"title": web_text(title_key, language), "text": web_text(text_key, language)},
        status,
    )


def not_found(request: Request) -> HTMLResponse:
    return message_page(request, "not_found_title", "not_found_text", 404)
