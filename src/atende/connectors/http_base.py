"""What every HTTP adapter shares: one httpx client per event loop, a timeout per operation,
and transport failures turned into :class:`ConnectorError` (retryable or not).

A failure's message names the system, the operation and the HTTP status, never a request body
(which holds personal data).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import Field

from atende.config import AdapterSettings, Settings
from atende.connectors.ports import ConnectorError

RETRYABLE_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Timeouts:
    """Seconds each operation may take: ``default`` (seed 000's RNF01 allows 15 s) unless the
    operation has its own (``ATENDE_CONNECTOR_TIMEOUTS=find_person=5``)."""

    default: float = 15.0
    per_operation: Mapping[str, float] = field(default_factory=dict)

    def of(self, operation: str) -> float:
        return self.per_operation.get(operation, self.default)


def timeouts_of(settings: Settings) -> Timeouts:
    """``ATENDE_CONNECTOR_TIMEOUT`` and ``ATENDE_CONNECTOR_TIMEOUTS``, which every connector
    follows."""
    return Timeouts(settings.connector_timeout, settings.operation_timeouts)


class HelpdeskAccess(AdapterSettings):
    """Where a helpdesk product's API is and the token it takes (GLPI, Zammad, osTicket)."""

    helpdesk_url: str = Field(min_length=1)
    helpdesk_token: str = Field(min_length=1)


def is_retryable(status_code: int) -> bool:
    return status_code >= 500 or status_code in RETRYABLE_STATUSES


class HttpBase:
    """Base of the HTTP adapters; ``name`` is the adapter's kind (``glpi``, ``http``...)."""

    name = "http"

    def __init__(
        self, base_url: str, timeouts: Timeouts, headers: Mapping[str, str] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts
        self.headers = dict(headers or {})
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()

    def client(self) -> httpx.AsyncClient:
        # An httpx client belongs to the event loop that made it: the CLI and the tests run
        # several loops one after another in one process, the server only one.
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop:
            self._http = httpx.AsyncClient(base_url=self.base_url + "/", headers=self.headers)
            self._loop = loop
            self._lock = asyncio.Lock()
        return self._http

    def login_lock(self) -> asyncio.Lock:
        """A lock of the current loop, so concurrent calls share one login."""
        self.client()
        return self._lock

    async def send(self, operation: str, method: str, url: str, **options: Any) -> httpx.Response:
        """One request; a network failure or a timeout is a retryable ConnectorError."""
        timeout = self.timeouts.of(operation)
        try:
            return await self.client().request(method, url.lstrip("/"), timeout=timeout, **options)
        except httpx.TimeoutException:
            raise ConnectorError(
                f"{self.name} {operation}: no answer in {timeout:g} s", retryable=True
            ) from None
        except httpx.HTTPError as exc:
            # The OS's words ("Connection refused"), never the request URL: it may hold a phone.
            reason = str(exc) or type(exc).__name__
            raise ConnectorError(
                f"{self.name} {operation}: cannot reach {self.base_url} ({reason})",
                retryable=True,
            ) from None

    def failure(self, operation: str, response: httpx.Response, detail: str = "") -> ConnectorError:
        """The ConnectorError for an answer that is not a success."""
        text = f"{self.name} {operation}: HTTP {response.status_code}"
        if detail:
            text += f" {detail[:200]}"
        return ConnectorError(text, retryable=is_retryable(response.status_code))

    def json_of(self, operation: str, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(
                f"{self.name} {operation}: the answer is not JSON", retryable=False
            ) from None

    async def close(self) -> None:
        http, self._http = self._http, None
        if http is not None and self._loop is asyncio.get_running_loop():
            await http.aclose()
