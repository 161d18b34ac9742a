"""What integrators read: Swagger UI at /docs works with no internet (every asset served by
atende), and the OpenAPI document lists the errors each operation can answer, in the error
shape the API really sends."""

from __future__ import annotations

import re

import httpx

LOCAL_URL = re.compile(r"""(?:src|href)="([^"]+)"|url: '([^']+)'""")
ERROR_SCHEMA = "#/components/schemas/ErrorOut"
BODY_LOOKUPS = {"POST /api/v1/tickets", "POST /api/v1/protocols"}  # person, item, ticket


def test_swagger_ui_is_served_by_atende_itself(api: httpx.Client) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert "://" not in page.text, "the page loads something from another host"
    urls = [a or b for a, b in LOCAL_URL.findall(page.text)]
    assert "/openapi.json" in urls and len(urls) >= 4
    kinds = {}
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = api.get(url)
        assert asset.status_code == 200, url
        kinds[url.rsplit(".", 1)[-1]] = asset.headers["content-type"]
    assert kinds["js"].startswith("text/javascript")
    assert kinds["css"].startswith("text/css")
    assert kinds["json"].startswith("application/json")
    assert "SwaggerUIBundle" in api.get("/docs/assets/swagger-ui-bundle.js").text
    assert api.get("/redoc").status_code == 404  # ReDoc would need a CDN: not offered


def operations(document: dict) -> dict[str, dict]:
    return {
        f"{method.upper()} {path}": operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def test_every_operation_documents_its_errors_with_the_error_shape(api: httpx.Client) -> None:
    document = api.get("/openapi.json").json()
    error = document["components"]["schemas"]["ErrorOut"]
    assert error["properties"]["error"]["$ref"].endswith("/ErrorDetail")
    assert "HTTPValidationError" not in document["components"]["schemas"]
    scheme = {"bearerToken": {"type": "http", "scheme": "bearer"}}
    assert document["components"]["securitySchemes"] == scheme
    ops = operations(document)
    for name, operation in ops.items():
        responses = operation["responses"]
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_SCHEMA}, f"{name} {status}"
        if name.split()[1].startswith("/api/v1/"):
            assert {"401", "403"} <= responses.keys(), name
            assert operation["security"] == [{"bearerToken": []}], name
            looks_up = "{" in name or name in BODY_LOOKUPS
            assert ("404" in responses) == looks_up, name
    assert "422" in ops["POST /api/v1/tickets"]["responses"]
    assert "422" not in ops["GET /api/v1/catalog"]["responses"]  # it takes no input
    conflicts = {name for name, op in ops.items() if "409" in op["responses"]}
    assert conflicts == {
        "POST /api/v1/people",
        "PATCH /api/v1/people/{code}",
        "POST /api/v1/catalog/categories",
        "PATCH /api/v1/catalog/categories/{category_id}",
        "DELETE /api/v1/catalog/categories/{category_id}",
        "POST /api/v1/catalog/categories/{category_id}/items",
        "PATCH /api/v1/catalog/items/{item_id}",
        "DELETE /api/v1/catalog/items/{item_id}",
        "POST /api/v1/tickets",
        "PATCH /api/v1/tickets/{protocol}",
        "POST /api/v1/flows",  # another process published the same flow at that moment
    }
