"""Tickets and protocols through the REST API, as an integrator would use them."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from atende.domain.protocol_numbers import luhn_valid

PERSON = {
    "code": "1234",
    "name": "Maria da Silva",
    "phone": "(45) 99999-1234",
    "extensions": ["2201"],
}


@pytest.fixture
def person(api: httpx.Client) -> dict[str, object]:
    response = api.post("/api/v1/people", json=PERSON)
    assert response.status_code == 201, response.text
    return response.json()


def item_id(api: httpx.Client, category: str, item: str) -> int:
    for entry in api.get("/api/v1/catalog").json():
        if entry["name"] == category:
            return next(i["id"] for i in entry["items"] if i["name"] == item)
    raise AssertionError(f"{category}/{item} not in catalog")


def test_open_ticket_returns_protocol_item_and_history(api: httpx.Client, person: dict) -> None:
    printer = item_id(api, "Impressoras", "Instalar impressora")
    response = api.post(
        "/api/v1/tickets",
        json={"person_code": "1234", "item_id": printer, "description": "Sala 3", "channel": "web"},
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["person_code"] == "1234"
    assert (ticket["item_name"], ticket["category_name"]) == ("Instalar impressora", "Impressoras")
    assert ticket["status"] == "open" and ticket["channel"] == "web"
    assert ticket["protocol"].startswith(str(date.today().year))
    assert luhn_valid(ticket["protocol"])
    assert [h["to_status"] for h in ticket["history"]] == ["open"]
    assert response.headers["location"] == f"/api/v1/tickets/{ticket['protocol']}"
    again = api.get(f"/api/v1/tickets/{ticket['protocol']}").json()
    assert again == ticket


def test_protocol_numbers_follow_each_other(api: httpx.Client, person: dict) -> None:
    body = {"person_code": "1234", "item_id": 1}
    numbers = [api.post("/api/v1/tickets", json=body).json()["protocol"] for _ in range(3)]
    sequences = [int(n[4:-1]) for n in numbers]
    assert sequences == [1, 2, 3]


def test_idempotency_key_returns_the_same_ticket(api: httpx.Client, person: dict) -> None:
    body = {"person_code": "1234", "item_id": 1, "description": "x"}
    headers = {"Idempotency-Key": "call-42-ticket"}
    first = api.post("/api/v1/tickets", json=body, headers=headers)
    second = api.post("/api/v1/tickets", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["protocol"] == second.json()["protocol"]
    assert len(api.get("/api/v1/tickets").json()["items"]) == 1
    other = api.post("/api/v1/tickets", json={**body, "description": "y"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["field"] == "Idempotency-Key"


def test_status_changes_follow_the_allowed_transitions(api: httpx.Client, person: dict) -> None:
    protocol = api.post("/api/v1/tickets", json={"person_code": "1234", "item_id": 1}).json()[
        "protocol"
    ]
    url = f"/api/v1/tickets/{protocol}"
    moved = api.patch(
        url, json={"status": "in_progress", "note": "a caminho", "assignee": "Carlos"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee"] == "Carlos"
    assert api.patch(url, json={"status": "resolved"}).status_code == 200
    closed = api.patch(url, json={"status": "closed", "note": "confirmado"})
    history = closed.json()["history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "open"),
        ("open", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "closed"),
    ]
    assert history[1]["note"] == "a caminho" and history[1]["actor"] == "api:tests"
    refused = api.patch(url, json={"status": "open"})
    assert refused.status_code == 409
    assert refused.json()["error"]["field"] == "status"
    assert api.get(url).json()["status"] == "closed"


def test_list_filters_and_paginates(api: httpx.Client, person: dict) -> None:
    api.post("/api/v1/people", json={**PERSON, "code": "77", "phone": None, "extensions": []})
    for n in range(5):
        api.post("/api/v1/tickets", json={"person_code": "1234", "item_id": 1 + n % 2})
    api.post("/api/v1/tickets", json={"person_code": "77", "item_id": 1})
    mine = api.get("/api/v1/tickets", params={"person_code": "1234"}).json()["items"]
    assert len(mine) == 5 and {t["person_code"] for t in mine} == {"1234"}
    assert len(api.get("/api/v1/tickets", params={"item_id": 2}).json()["items"]) == 2
    seen, cursor = [], None
    while True:
        page = api.get(
            "/api/v1/tickets", params={"limit": 4, **({"cursor": cursor} if cursor else {})}
        )
        body = page.json()
        seen += [t["protocol"] for t in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 6 and len(set(seen)) == 6
    assert seen == sorted(seen, reverse=True)
    future = api.get("/api/v1/tickets", params={"created_from": "2999-01-01T00:00:00Z"})
    assert future.json()["items"] == []
    assert api.get("/api/v1/tickets", params={"status": "resolved"}).json()["items"] == []


def test_bad_input_gets_json_errors_naming_the_field(api: httpx.Client, person: dict) -> None:
    missing = api.post("/api/v1/tickets", json={"item_id": 1})
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "person_code"
    unknown_item = api.post("/api/v1/tickets", json={"person_code": "1234", "item_id": 999})
    assert unknown_item.status_code == 404
    assert unknown_item.json()["error"] == {
        "code": "not_found",
        "message": "no catalog item 999",
        "field": "item_id",
    }
    bad_channel = api.post(
        "/api/v1/tickets", json={"person_code": "1234", "item_id": 1, "channel": "fax"}
    )
    assert bad_channel.status_code == 422 and bad_channel.json()["error"]["field"] == "channel"
    not_json = api.post(
        "/api/v1/tickets", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422 and "error" in not_json.json()
    assert api.get("/api/v1/tickets/2026999").json()["error"]["code"] == "not_found"
    bad_status = api.get("/api/v1/tickets", params={"status": "lost"})
    assert bad_status.status_code == 422 and bad_status.json()["error"]["field"] == "status"
    bad_cursor = api.get("/api/v1/tickets", params={"cursor": "!!"})
    assert bad_cursor.status_code == 422 and bad_cursor.json()["error"]["field"] == "cursor"


def test_protocols_are_issued_and_read_back(api: httpx.Client, person: dict) -> None:
    ticket = api.post("/api/v1/tickets", json={"person_code": "1234", "item_id": 1}).json()
    response = api.post(
        "/api/v1/protocols",
        json={
            "person_code": "1234",
            "reason": "Autorização de exame",
            "ticket_protocol": ticket["protocol"],
        },
    )
    assert response.status_code == 201, response.text
    protocol = response.json()
    assert protocol["ticket_protocol"] == ticket["protocol"]
    assert protocol["number"] != ticket["protocol"]
    assert api.get(f"/api/v1/protocols/{protocol['number']}").json() == protocol
    anonymous = api.post("/api/v1/protocols", json={"reason": "Informação"})
    assert anonymous.status_code == 201 and anonymous.json()["person_code"] is None
    assert api.post("/api/v1/protocols", json={"person_code": "nobody"}).status_code == 404
