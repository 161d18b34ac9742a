"""Administration: the service catalog tree the phone menus are read from (add, rename, give
another key, remove). The phone flow reads the catalog at each call, so the next call hears it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from atende.db.ids import RowId
from atende.services.catalog import CatalogService
from atende.web.security import Admin, FormAdmin, services_of
from atende.web.templating import after_form, render

router = APIRouter(prefix="/admin/catalog", include_in_schema=False)

PAGE = "/admin/catalog"
Text = Annotated[str, Form()]
OptionalText = Annotated[str | None, Form()]


def _page(request: Request, error: str = "", status: int = 200) -> Response:
    return render(
        request,
        "admin/catalog.html",
        {"catalog": services_of(request).catalog.tree(), "error": error},
        status,
    )


def _apply(request: Request, change: Callable[[CatalogService], object]) -> Response:
    catalog = services_of(request).catalog
    return after_form(
        request,
        lambda: change(catalog),
        _page,
        PAGE,
        "catalog_saved",
    )


def _save(
    request: Request,
    kind: Literal["category", "item"],
    entry_id: int,
    fields: tuple[str | None, str | None, str | None],
) -> Response:
    """Rename and/or give another key; the entry holding that key takes the old one."""
    key, name, prompt = (_blank_to_none(value) for value in fields)

    def change(catalog: CatalogService) -> None:
        if kind == "category":
            if key and key != catalog.category(entry_id).key:
                catalog.move_category(entry_id, key)
            catalog.update_category(entry_id, key=None, name=name, prompt=prompt)
        else:
            if key and key != catalog.item(entry_id).key:
                catalog.move_item(entry_id, key)
            catalog.update_item(entry_id, key=None, name=name, prompt=prompt)

    return _apply(request, change)


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


@router.get("")
def catalog_page(request: Request, member: Admin) -> Response:
    return _page(request)


@router.post("/categories")
def add_category(
    request: Request, member: FormAdmin, key: Text, name: Text, prompt: Text = ""
) -> Response:
    return _apply(
        request, lambda c: c.add_category(key.strip(), name.strip(), _blank_to_none(prompt))
    )


@router.post("/categories/{category_id}")
def save_category(
    request: Request,
    category_id: RowId,
    member: FormAdmin,
    key: OptionalText = None,
    name: OptionalText = None,
    prompt: OptionalText = None,
) -> Response:
    return _save(request, "category", category_id, (key, name, prompt))


@router.post("/categories/{category_id}/delete")
def delete_category(request: Request, category_id: RowId, member: FormAdmin) -> Response:
    return _apply(request, lambda c: c.delete_category(category_id))


@router.post("/categories/{category_id}/items")
def add_item(
    request: Request,
    category_id: RowId,
    member: FormAdmin,
    key: Text,
    name: Text,
    prompt: Text = "",
) -> Response:
    return _apply(
        request,
        lambda c: c.add_item(category_id, key.strip(), name.strip(), _blank_to_none(prompt)),
    )


@router.post("/items/{item_id}")
def save_item(
    request: Request,
    item_id: RowId,
    member: FormAdmin,
    key: OptionalText = None,
    name: OptionalText = None,
    prompt: OptionalText = None,
) -> Response:
    return _save(request, "item", item_id, (key, name, prompt))


@router.post("/items/{item_id}/delete")
def delete_item(request: Request, item_id: RowId, member: FormAdmin) -> Response:
    return _apply(request, lambda c: c.delete_item(item_id))
