"""Property-based requests to every operation of the OpenAPI document (schemathesis), against
the app served on loopback with an admin token: whatever a client sends, the API answers it
with a response its OpenAPI document lists (status, content type and body), never a 5xx.

Bounded (a few examples per operation) and derandomized, so it stays quick and the same run
after run; the requests are generated from the document the app serves, so new operations are
covered without touching this file.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api_client import api_client
from atende.services.bundle import Services

# No 5xx, and every answer documented: its status, content type and body schema.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SETTINGS = settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)


def test_no_request_gets_a_server_error_or_an_undocumented_answer(services: Services) -> None:
    failures: dict[str, str] = {}
    with api_client(services) as client:
        token = {"Authorization": client.headers["Authorization"]}
        schema = schemathesis.openapi.from_url(f"{client.base_url}/openapi.json")
        for result in schema.get_all_operations():
            operation = result.ok()

            @SETTINGS
            @given(case=operation.as_strategy())
            def call(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=token, checks=CHECKS)

            try:
                call()
            except Exception as exc:  # every failing operation is reported, not just the first
                failures[operation.label] = str(exc)
    assert not failures, "\n\n".join(f"{label}: {why}" for label, why in failures.items())
