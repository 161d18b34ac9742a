"""Administration: the people who call (add, deactivate, import a CSV with the same rules as
``atende people import``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from atende.services.errors import ServiceError
from atende.services.people import PersonData
from atende.services.spreadsheets import line_ranges
from atende.web.queries import people
from atende.web.security import Admin, FormAdmin, services_of
from atende.web.templating import after_form, error_text, render
from atende.web.texts import web_text

router = APIRouter(prefix="/admin/people", include_in_schema=False)

PAGE = "/admin/people"
Field = Annotated[str, Form()]


def _page(
    request: Request,
    *,
    error: str = "",
    status: int = 200,
    imported: str = "",
    rejected: list[str] | None = None,
) -> Response:
    search = request.query_params.get("q", "")
    return render(
        request,
        "admin/people.html",
        {
            "people": people(services_of(request).runtime, search),
            "search": search,
            "error": error,
            "notice": imported,
            "rejected": rejected or [],
        },
        status,
    )


def _apply(request: Request, action: Callable[[], object]) -> Response:
    return after_form(
        request,
        action,
        _page,
        PAGE,
        "person_saved",
    )


@router.get("")
def people_page(request: Request, member: Admin) -> Response:
    return _page(request)


@router.post("")
def add_person(
    request: Request,
    member: FormAdmin,
    code: Field = "",
    name: Field = "",
    phone: Field = "",
    extensions: Field = "",
    email: Field = "",
    card_number: Field = "",
    cpf: Field = "",
) -> Response:
    data = PersonData(
        code=code.strip(),
        name=name.strip(),
        phone=phone.strip(),
        extensions=extensions.replace(";", " ").split(),  # as in a CSV row
        email=email.strip(),
        card_number=card_number.strip(),
        cpf=cpf.strip(),
    )
    return _apply(request, lambda: services_of(request).people.create(data))


@router.post("/import")
async def import_people(request: Request, member: FormAdmin, file: UploadFile) -> Response:
    raw = await file.read()
    return await run_in_threadpool(_import, request, raw)


def _import(request: Request, raw: bytes) -> Response:
    """Import, then the page: the lines imported as a notice, each rejected line (or the
    whole file) as an error, in the member's language."""
    language = services_of(request).runtime.settings.language
    try:
        result = services_of(request).people.import_csv(raw)
    except ServiceError as exc:
        return _page(request, error=error_text(request, exc), status=exc.status)
    rejected = [
        web_text(
            "people_import_line", language, line=row.line, detail=error_text(request, row.error)
        )
        for row in result.rejected
    ]
    summary = ""
    if result.imported_lines:
        summary = web_text(
            "people_imported",
            language,
            lines=line_ranges(result.imported_lines),
            created=result.created,
            updated=result.updated,
        )
    status = 422 if rejected and not summary else 200
    return _page(request, imported=summary, rejected=rejected, status=status)


@router.post("/{code}/active")
def set_active(
    request: Request, code: str, member: FormAdmin, active: Annotated[bool, Form()] = False
) -> Response:
    return _apply(
        request, lambda: services_of(request).people.update(code, PersonData(active=active))
    )
