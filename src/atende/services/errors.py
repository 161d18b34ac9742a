"""The errors a use case can end with; entry points turn them into HTTP statuses or prompts."""

from __future__ import annotations

from collections.abc import Mapping


class ServiceError(Exception):
    """Base: ``code`` is stable for API clients, ``field`` names the input at fault and
    ``details`` holds the values a translated message names (the dashboard's texts)."""

    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, field: str | None = None, details: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = dict(details or {})


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Invalid(ServiceError):
    status = 422
    code = "invalid"
