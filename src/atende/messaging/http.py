"""What every HTTP message provider has in common: one POST, and its failure as a DeliveryError.

Providers differ in request shape and error body, not in what a status code means for a
message: 429 and 5xx are outages to wait out (429's ``Retry-After`` says how long), 401/403
are a wrong token or account, worth retrying once an administrator fixes it, and other 4xx
refuse this message for good (a bad number, a template that does not exist). A network error
is an outage too. Error texts are built from the provider's own message (never the recipient,
which providers do not echo in their error messages) so the log and the message's row say
what went wrong.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from atende.domain.digits import is_digits
from atende.messaging.port import DeliveryError

RETRYABLE_STATUSES = frozenset({401, 403, 408, 409, 425, 429})

ErrorText = Callable[[Any], str]
Classify = Callable[[int, Any], "bool | None"]


def by_status(status: int, body: Any) -> bool | None:
    """No provider-specific opinion: the status code alone decides (see the module's text)."""
    return None


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the ``Retry-After`` header asks for (a number or an HTTP date), if any."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if is_digits(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


async def post(
    provider: str,
    url: str,
    *,
    timeout: float,
    error_text: ErrorText,
    classify: Classify = by_status,
    json: Mapping[str, Any] | None = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> Any:
    """POST to ``provider``; the decoded JSON answer (None if not JSON) or DeliveryError.

    ``error_text`` turns the provider's decoded error body into a readable reason;
    ``classify`` may say from that body whether a retry can help (None: by the status code).
    """
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(
                url,
                json=json,
                data=data,
                headers=headers,
                auth=httpx.USE_CLIENT_DEFAULT if auth is None else auth,
            )
    except httpx.TimeoutException:
        raise DeliveryError(f"{provider}: no answer in {timeout:.0f} s", retryable=True) from None
    except httpx.HTTPError as exc:
        raise DeliveryError(
            f"{provider}: cannot connect ({type(exc).__name__})", retryable=True
        ) from None
    if response.is_success:
        return _body(response)
    status, body = response.status_code, _body(response)
    try:
        detail = error_text(body) if body is not None else ""
        verdict = classify(status, body)
    except (KeyError, TypeError, AttributeError):
        detail, verdict = "", None
    reason = f"{provider}: HTTP {status}" + (f": {detail}" if detail else "")
    retryable = status >= 500 or status in RETRYABLE_STATUSES if verdict is None else verdict
    raise DeliveryError(
        reason, retryable=retryable, retry_after=retry_after(response), status=status
    )
