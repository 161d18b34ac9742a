"""/api/v1/catalog: the service tree the phone menus are read from (editable by admins)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from atende.api.deps import Admin, Reader, ServicesDep
from atende.api.responses import error_responses
from atende.api.schemas import CatalogEntryIn, CatalogEntryPatch, CategoryOut, ItemOut
from atende.db.ids import RowId

router = APIRouter(prefix="/catalog", tags=["catalog"])


@router.get("", response_model=list[CategoryOut])
def read_catalog(services: ServicesDep, _: Reader) -> list[CategoryOut]:
    return [CategoryOut.model_validate(c) for c in services.catalog.tree()]


@router.post(
    "/categories",
    status_code=status.HTTP_201_CREATED,
    response_model=CategoryOut,
    responses=error_responses(409),
)
def add_category(body: CatalogEntryIn, services: ServicesDep, _: Admin) -> CategoryOut:
    category = services.catalog.add_category(body.key, body.name, body.prompt)
    return CategoryOut.model_validate(category)


@router.patch(
    "/categories/{category_id}", response_model=CategoryOut, responses=error_responses(409)
)
def edit_category(
    category_id: RowId, body: CatalogEntryPatch, services: ServicesDep, _: Admin
) -> CategoryOut:
    category = services.catalog.update_category(category_id, **body.model_dump())
    return CategoryOut.model_validate(category)


@router.delete(
    "/categories/{category_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(409),
)
def delete_category(category_id: RowId, services: ServicesDep, _: Admin) -> Response:
    services.catalog.delete_category(category_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/categories/{category_id}/items",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemOut,
    responses=error_responses(409),
)
def add_item(category_id: RowId, body: CatalogEntryIn, services: ServicesDep, _: Admin) -> ItemOut:
    item = services.catalog.add_item(category_id, body.key, body.name, body.prompt)
    return ItemOut.model_validate(item)


@router.patch("/items/{item_id}", response_model=ItemOut, responses=error_responses(409))
def edit_item(item_id: RowId, body: CatalogEntryPatch, services: ServicesDep, _: Admin) -> ItemOut:
    item = services.catalog.update_item(item_id, **body.model_dump())
    return ItemOut.model_validate(item)


@router.delete(
    "/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(409),
)
def delete_item(item_id: RowId, services: ServicesDep, _: Admin) -> Response:
    services.catalog.delete_item(item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
