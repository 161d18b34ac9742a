"""Administration: the support team's own accounts (add a member, change role, reset a
password, deactivate). The last active administrator cannot be demoted or deactivated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from atende.db.ids import RowId
from atende.services.errors import ServiceError
from atende.services.users import Role
from atende.web.security import Admin, FormAdmin, services_of
from atende.web.templating import after_form, error_text, render
from atende.web.texts import web_text

router = APIRouter(prefix="/admin/users", include_in_schema=False)

PAGE = "/admin/users"
Field = Annotated[str, Form()]


def _page(request: Request, error: str = "", status: int = 200) -> Response:
    return render(
        request,
        "admin/users.html",
        {"users": services_of(request).users.list(), "roles": list(Role), "error": error},
        status,
    )


@router.get("")
def users_page(request: Request, member: Admin) -> Response:
    return _page(request)


@router.post("")
def add_user(
    request: Request,
    member: FormAdmin,
    username: Field = "",
    name: Field = "",
    password: Field = "",
    role: Field = Role.TECHNICIAN.value,
) -> Response:
    return after_form(
        request,
        lambda: services_of(request).users.create(username, name, password, role),
        _page,
        PAGE,
        "user_saved",
    )


@router.post("/{user_id}")
def update_user(
    request: Request,
    user_id: RowId,
    member: FormAdmin,
    role: Annotated[str | None, Form()] = None,
    active: Annotated[bool | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
) -> Response:
    users = services_of(request).users
    try:
        target = users.get(user_id)
    except ServiceError as exc:
        return _page(request, error_text(request, exc), exc.status)
    losing_admin = (
        target.role == Role.ADMIN
        and target.active
        and ((role is not None and role != Role.ADMIN) or active is False)
    )
    if losing_admin and users.count_admins() <= 1:
        language = services_of(request).runtime.settings.language
        return _page(request, web_text("error_last_admin", language), 409)
    return after_form(
        request,
        lambda: users.update(user_id, role=role, active=active, password=password or None),
        _page,
        PAGE,
        "user_saved",
    )
