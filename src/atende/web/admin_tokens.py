"""Administration: API tokens for other systems (create with a scope and an IP allow-list, shown
once in the page that answers the form and never again; revoke)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from atende.db.ids import RowId
from atende.services.errors import ServiceError
from atende.services.tokens import SCOPES
from atende.web.security import Admin, FormAdmin, services_of
from atende.web.templating import after_form, error_text, render
from atende.web.texts import web_text

router = APIRouter(prefix="/admin/tokens", include_in_schema=False)

PAGE = "/admin/tokens"


def _page(request: Request, *, error: str = "", status: int = 200, created: str = "") -> Response:
    response = render(
        request,
        "admin/tokens.html",
        {
            "tokens": services_of(request).tokens.list(),
            "scopes": SCOPES,
            "created": created,
            "error": error,
        },
        status,
    )
    if created:
        response.headers["Cache-Control"] = "no-store"  # the token must not stay in a cache
    return response


@router.get("")
def tokens_page(request: Request, member: Admin) -> Response:
    return _page(request)


@router.post("")
def create_token(
    request: Request,
    member: FormAdmin,
    name: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "read",
    allow: Annotated[str, Form()] = "",
) -> Response:
    networks = [part.strip() for part in allow.replace("\n", ",").split(",") if part.strip()]
    language = services_of(request).runtime.settings.language
    if not name.strip():
        detail = web_text("token_name", language)
        return _page(request, error=web_text("error_generic", language, detail=detail), status=422)
    try:
        _, clear = services_of(request).tokens.create(name.strip(), [scope], networks)
    except ServiceError as exc:
        return _page(request, error=error_text(request, exc), status=exc.status)
    return _page(request, created=clear)


@router.post("/{token_id}/revoke")
def revoke_token(request: Request, token_id: RowId, member: FormAdmin) -> Response:
    return after_form(
        request,
        lambda: services_of(request).tokens.revoke(token_id),
        _page,
        PAGE,
        "saved",
    )
