"""People and the service catalog through the REST API."""

from __future__ import annotations

import httpx

from atende.domain.catalog_defaults import TABELA_1

MARIA = {
    "code": "1234",
    "name": "Maria da Silva",
    "phone": "(45) 99999-1234",
    "extensions": ["2201", "2202"],
    "email": "maria@example.org",
    "card_number": "0001234500012",
    "cpf": "529.982.247-25",
}


def test_person_is_stored_normalised_and_found_by_each_key(api: httpx.Client) -> None:
    created = api.post("/api/v1/people", json=MARIA)
    assert created.status_code == 201, created.text
    person = created.json()
    assert person["phone"] == "+5545999991234"
    assert person["cpf"] == "52998224725"
    assert person["extensions"] == ["2201", "2202"]
    assert api.get("/api/v1/people/1234").json() == person
    for query in (
        {"card_number": "0001234500012"},
        {"phone": "45 99999 1234"},
        {"extension": "2202"},
    ):
        found = api.get("/api/v1/people", params=query).json()
        assert [p["code"] for p in found] == ["1234"], query
    assert api.get("/api/v1/people", params={"extension": "9999"}).json() == []


def test_person_update_and_deactivation(api: httpx.Client) -> None:
    api.post("/api/v1/people", json=MARIA)
    updated = api.patch(
        "/api/v1/people/1234", json={"phone": "+55 41 98888-7777", "extensions": ["3000"]}
    )
    assert updated.json()["phone"] == "+5541988887777"
    assert updated.json()["extensions"] == ["3000"]
    assert updated.json()["email"] == "maria@example.org"
    assert api.delete("/api/v1/people/1234").status_code == 204
    assert api.get("/api/v1/people/1234").json()["active"] is False
    refused = api.post("/api/v1/tickets", json={"person_code": "1234", "item_id": 1})
    assert refused.status_code == 409 and refused.json()["error"]["field"] == "person_code"


def test_person_errors_name_the_field(api: httpx.Client) -> None:
    api.post("/api/v1/people", json=MARIA)
    duplicate = api.post("/api/v1/people", json={**MARIA, "cpf": None, "card_number": None})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["field"] == "code"
    same_card = api.post("/api/v1/people", json={**MARIA, "code": "9", "cpf": None})
    assert same_card.status_code == 409 and same_card.json()["error"]["field"] == "card_number"
    bad_cpf = api.post(
        "/api/v1/people", json={**MARIA, "code": "8", "cpf": "111.111.111-12", "card_number": None}
    )
    assert bad_cpf.status_code == 422 and bad_cpf.json()["error"]["field"] == "cpf"
    bad_phone = api.post("/api/v1/people", json={"code": "7", "name": "X", "phone": "12"})
    assert bad_phone.status_code == 422 and bad_phone.json()["error"]["field"] == "phone"
    unknown_field = api.post("/api/v1/people", json={"code": "6", "name": "X", "age": 3})
    assert unknown_field.status_code == 422 and unknown_field.json()["error"]["field"] == "age"
    assert api.get("/api/v1/people/nobody").status_code == 404
    assert api.get("/api/v1/people").json()["error"]["code"] == "invalid"


def test_fresh_catalog_is_tabela_1(api: httpx.Client) -> None:
    catalog = api.get("/api/v1/catalog").json()
    assert [(c["key"], c["name"]) for c in catalog] == [(c.key, c.name) for c in TABELA_1]
    assert [c["prompt"] for c in catalog][3] == "Liberação de acessos"
    computer = catalog[1]
    assert [i["key"] for i in computer["items"]] == ["1", "2", "3", "4", "5", "6"]
    assert computer["items"][1]["name"] == "Computador não liga"


def test_catalog_is_editable_with_admin_scope(api: httpx.Client) -> None:
    category = api.post("/api/v1/catalog/categories", json={"key": "8", "name": "Telefonia"})
    assert category.status_code == 201, category.text
    category_id = category.json()["id"]
    item = api.post(
        f"/api/v1/catalog/categories/{category_id}/items", json={"key": "1", "name": "Linha muda"}
    )
    assert item.status_code == 201
    renamed = api.patch(f"/api/v1/catalog/items/{item.json()['id']}", json={"name": "Sem linha"})
    assert renamed.json()["name"] == "Sem linha"
    catalog = api.get("/api/v1/catalog").json()
    assert catalog[-1]["name"] == "Telefonia" and catalog[-1]["items"][0]["name"] == "Sem linha"
    taken = api.post("/api/v1/catalog/categories", json={"key": "1", "name": "Outra"})
    assert taken.status_code == 409 and taken.json()["error"]["field"] == "key"
    reserved = api.post("/api/v1/catalog/categories", json={"key": "7", "name": "Outra"})
    assert reserved.status_code == 422 and reserved.json()["error"]["field"] == "key"
    assert api.delete(f"/api/v1/catalog/categories/{category_id}").status_code == 409
    assert api.delete(f"/api/v1/catalog/items/{item.json()['id']}").status_code == 204
    assert api.delete(f"/api/v1/catalog/categories/{category_id}").status_code == 204


def test_an_item_with_tickets_cannot_be_deleted(api: httpx.Client) -> None:
    api.post("/api/v1/people", json=MARIA)
    api.post("/api/v1/tickets", json={"person_code": "1234", "item_id": 1})
    refused = api.delete("/api/v1/catalog/items/1")
    assert refused.status_code == 409
    assert len(api.get("/api/v1/catalog").json()[0]["items"]) == 2


def test_two_active_people_never_share_an_extension(api: httpx.Client) -> None:
    api.post("/api/v1/people", json=MARIA)
    rita = {"code": "2000", "name": "Rita Alves", "extensions": ["3000", "2202"]}
    taken = api.post("/api/v1/people", json=rita)
    assert taken.status_code == 409
    error = taken.json()["error"]
    assert error["field"] == "extensions"
    assert error["message"] == "extension 2202 already belongs to person 1234"
    assert api.get("/api/v1/people/2000").status_code == 404  # nothing half-saved
    assert api.post("/api/v1/people", json={**rita, "extensions": ["3000"]}).status_code == 201
    moved = api.patch("/api/v1/people/2000", json={"extensions": ["3000", "2201"]})
    assert moved.status_code == 409 and moved.json()["error"]["field"] == "extensions"
    assert api.get("/api/v1/people/2000").json()["extensions"] == ["3000"]
    # Caller id still finds the extension's first owner alone.
    found = api.get("/api/v1/people", params={"extension": "2201"}).json()
    assert [p["code"] for p in found] == ["1234"]
    # An inactive person's extension is free; reactivating them then would clash.
    assert api.delete("/api/v1/people/1234").status_code == 204
    assert api.patch("/api/v1/people/2000", json={"extensions": ["2201"]}).status_code == 200
    back = api.patch("/api/v1/people/1234", json={"active": True})
    assert back.status_code == 409
    assert back.json()["error"]["message"] == "extension 2201 already belongs to person 2000"
    assert api.get("/api/v1/people/1234").json()["active"] is False


def test_email_is_validated(api: httpx.Client) -> None:
    for bad in ("maria", "maria@", "maria@@example.org", "maria silva@example.org"):
        refused = api.post("/api/v1/people", json={**MARIA, "email": bad})
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["field"] == "email"
    assert api.get("/api/v1/people/1234").status_code == 404
    assert api.post("/api/v1/people", json=MARIA).status_code == 201
    patched = api.patch("/api/v1/people/1234", json={"email": "não é e-mail"})
    assert patched.status_code == 422 and patched.json()["error"]["field"] == "email"
    assert api.get("/api/v1/people/1234").json()["email"] == "maria@example.org"


def test_only_keypad_digits_are_catalog_keys(api: httpx.Client) -> None:
    first = api.get("/api/v1/catalog").json()[0]
    category_id, item_id = first["id"], first["items"][0]["id"]
    for key in ("¹", "٣", "७", "a"):
        category = api.post("/api/v1/catalog/categories", json={"key": key, "name": "Outra"})
        assert category.status_code == 422, key
        assert category.json()["error"]["field"] == "key"
        item = api.post(
            f"/api/v1/catalog/categories/{category_id}/items", json={"key": key, "name": "X"}
        )
        assert item.status_code == 422 and item.json()["error"]["field"] == "key"
        renamed = api.patch(f"/api/v1/catalog/items/{item_id}", json={"key": key})
        assert renamed.status_code == 422 and renamed.json()["error"]["field"] == "key"
    assert (
        api.post("/api/v1/catalog/categories", json={"key": "8", "name": "Ok"}).status_code == 201
    )
