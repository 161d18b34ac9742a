"""One JSON error shape for every failure: ``{"error": {"code", "message", "field"?}}``.

Clients (and the phone flow's integrators) branch on ``code`` and show ``message``; ``field``
names the input at fault. No stack trace ever leaves the process: unexpected errors are logged
and answered with a plain 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from atende.services.errors import ServiceError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid",
    429: "too_many_requests",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    error: dict[str, object] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


class ApiError(Exception):
    """Raised by the HTTP layer itself (authentication, scopes)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


def _field_of(location: tuple[object, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(location[-1] if location else "body")


def _not_json(document: object, error: Mapping[str, Any]) -> str:
    """Where a body failed to parse, as ``json`` tells it (FastAPI keeps only the offset)."""
    reason = str(error.get("ctx", {}).get("error", "syntax error"))
    position = error.get("loc", ())[-1]
    if not isinstance(document, str) or not isinstance(position, int):
        return f"the body is not valid JSON: {reason}"
    where = json.JSONDecodeError(reason, document, position)
    return (
        f"the body is not valid JSON: {reason} at line {where.lineno}, column {where.colno}"
        f" (character {position})"
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.field), status_code=exc.status)

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(
            error_body(HTTP_CODES.get(exc.status, "error"), exc.message, exc.field),
            status_code=exc.status,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        if first.get("type") == "json_invalid":
            field, message = "body", _not_json(exc.body, first)
        else:
            field = _field_of(tuple(first.get("loc", ())))
            message = f"{field}: {first.get('msg', 'invalid value')}"
        return JSONResponse(error_body("invalid", message, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal", "internal error; the server log has the details"),
            status_code=500,
        )
