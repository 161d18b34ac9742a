"""The error answers each operation lists in the OpenAPI document, in the shape it really sends.

FastAPI documents only success and a 422 in its own validation shape, so generated clients
know neither the bearer token nor the 401/403 of a missing or weak one, nor the 404 of an
unknown id, and parse 422s wrongly. ``document_errors`` completes the document from what each
operation takes (a token: the bearer scheme, 401 and 403; an id in the path: 404; input that
can be malformed: 422, in the error shape); what only the service knows (409s, a 404 for an id
in the body) is listed on the route itself with ``error_responses``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from atende.api.schemas import ErrorOut

DESCRIPTIONS = {
    401: "No bearer token, or an unknown, expired or revoked one",
    403: "The token lacks the scope, or is not allowed from this address",
    404: "Nothing has this identifier (`field` names it)",
    409: "Conflicts with what is stored: a duplicate, a change not allowed, an entry in use",
    422: "Invalid input (`field` names it)",
}
COMPONENTS = "#/components/schemas/"
BEARER = "bearerToken"
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
Document = dict[str, Any]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these error statuses, with the error schema."""
    return {status: {"model": ErrorOut, "description": DESCRIPTIONS[status]} for status in statuses}


def document_errors(app: FastAPI, api_prefix: str) -> None:
    """Make ``app``'s OpenAPI document list, on every operation, the errors its inputs imply;
    operations under ``api_prefix`` need a token."""
    generate = app.openapi

    def openapi() -> Document:
        if app.openapi_schema is None:  # FastAPI caches its document there: complete it once
            _complete_document(generate(), api_prefix)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _complete_document(document: Document, api_prefix: str) -> None:
    components = document.setdefault("components", {})
    components["securitySchemes"] = {BEARER: {"type": "http", "scheme": "bearer"}}
    schemas = components.setdefault("schemas", {})
    error = ErrorOut.model_json_schema(ref_template=COMPONENTS + "{model}")
    schemas.update(error.pop("$defs"), ErrorOut=error)
    for name in FASTAPI_VALIDATION:
        schemas.pop(name, None)
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            _complete(operation, needs_token=path.startswith(api_prefix))


def _complete(operation: Document, needs_token: bool) -> None:
    parameters = operation.get("parameters", [])
    statuses = [401, 403] if needs_token else []
    if needs_token:  # Swagger UI's Authorize button and generated clients send the token
        operation["security"] = [{BEARER: []}]
    if needs_token and any(p["in"] == "path" for p in parameters):
        statuses.append(404)
    if "requestBody" in operation or not all(map(_free_text_in_path, parameters)):
        statuses.append(422)
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's own shape, which this API never sends
    for status in statuses:
        responses.setdefault(str(status), _error_response(status))


def _error_response(status: int) -> Document:
    schema = {"$ref": COMPONENTS + ErrorOut.__name__}
    return {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": schema}},
    }


def _free_text_in_path(parameter: Document) -> bool:
    """A path segment taken as any text: nothing there can be refused."""
    schema = parameter.get("schema", {})
    return (
        parameter["in"] == "path"
        and set(schema) <= {"type", "title"}
        and schema["type"] == "string"
    )
