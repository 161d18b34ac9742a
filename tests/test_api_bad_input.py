"""Bad input to the REST API and the dashboard gets a clear 4xx naming the field, never a 500:
empty idempotency keys, numbers too big for any database id, bodies that are not JSON."""

from __future__ import annotations

import base64

import httpx
import pytest

from atende.services.bundle import Services
from e2e.site import ADMIN, browser_like, csrf_in, dashboard

HUGE = "986255784257282939948105728"  # past 64 bits: no database id can be this
PERSON = {"code": "1234", "name": "Maria da Silva"}


@pytest.fixture
def person(api: httpx.Client) -> None:
    assert api.post("/api/v1/people", json=PERSON).status_code == 201


def error_of(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    return response.json()["error"]


@pytest.mark.parametrize("key", ["", "k" * 129])
def test_empty_or_overlong_idempotency_keys_are_refused(
    api: httpx.Client, person: None, key: str
) -> None:
    body = {"person_code": "1234", "item_id": 1}
    for _ in range(2):
        answer = api.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": key})
        assert error_of(answer, 422)["field"] == "Idempotency-Key"
    assert api.get("/api/v1/tickets").json()["items"] == []
    kept = api.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "k" * 128})
    assert kept.status_code == 201, kept.text


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("PATCH", f"/api/v1/catalog/items/{HUGE}", "item_id"),
        ("DELETE", f"/api/v1/catalog/items/{HUGE}", "item_id"),
        ("PATCH", f"/api/v1/catalog/categories/{HUGE}", "category_id"),
        ("DELETE", f"/api/v1/catalog/categories/{HUGE}", "category_id"),
        ("POST", f"/api/v1/catalog/categories/{HUGE}/items", "category_id"),
        ("GET", f"/api/v1/tickets?item_id={HUGE}", "item_id"),
        ("PATCH", "/api/v1/catalog/items/0", "item_id"),
    ],
)
def test_ids_past_64_bits_are_refused_naming_the_field(
    api: httpx.Client, method: str, path: str, field: str
) -> None:
    body = {"name": "Telefonia"} if method in ("PATCH", "POST") else None
    assert error_of(api.request(method, path, json=body), 422)["field"] == field


def test_ticket_body_and_cursor_with_huge_numbers_are_refused(
    api: httpx.Client, person: None
) -> None:
    opened = api.post("/api/v1/tickets", json={"person_code": "1234", "item_id": int(HUGE)})
    assert error_of(opened, 422)["field"] == "item_id"
    cursor = base64.urlsafe_b64encode(HUGE.encode()).decode().rstrip("=")
    listed = api.get("/api/v1/tickets", params={"cursor": cursor})
    assert error_of(listed, 422)["field"] == "cursor"


def test_dashboard_ids_past_64_bits_are_not_server_errors(services: Services) -> None:
    with dashboard(services) as base_url, browser_like(base_url, ADMIN) as client:
        csrf = csrf_in(client.get("/admin/catalog").text)
        for path in (
            f"/admin/catalog/items/{HUGE}/delete",
            f"/admin/catalog/categories/{HUGE}/delete",
            f"/admin/hours/days/{HUGE}/delete",
            f"/admin/tokens/{HUGE}/revoke",
        ):
            answer = client.post(path, data={"csrf_token": csrf})
            assert answer.status_code in (404, 422), f"{path}: {answer.status_code}"
        for query in (f"item={HUGE}", f"category={HUGE}"):
            assert client.get(f"/?{query}").status_code == 200, query
        assert client.get(f"/tickets/rows?since={HUGE}").status_code == 200


def test_malformed_json_says_the_body_is_not_json_and_where(api: httpx.Client) -> None:
    answer = api.post(
        "/api/v1/people",
        content=b'{"code": "1",\n "name": }',
        headers={"Content-Type": "application/json"},
    )
    error = error_of(answer, 422)
    assert error["field"] == "body"
    assert "not valid JSON" in error["message"]
    assert "line 2, column 10" in error["message"]
