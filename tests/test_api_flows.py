"""/api/v1/flows: reading the flows and their history with a read token, publishing with admin."""

from __future__ import annotations

import httpx
import yaml

from api_client import api_client
from atende.flows.loader import SHIPPED
from atende.services.bundle import Services
from unit.flow_samples import SMALL, small


def test_a_reader_sees_the_flows_their_versions_and_texts(services: Services) -> None:
    services.flows.set_route("4001", "plano-de-saude")
    with api_client(services, ["read"]) as reader:
        listed = reader.get("/api/v1/flows").json()
        assert [(f["name"], f["version"], f["numbers"]) for f in listed] == [
            ("plano-de-saude", 1, ["4001"]),
            ("ti", 1, []),
        ]
        ti = reader.get("/api/v1/flows/ti").json()
        assert (ti["version"], ti["published_by"], ti["current"]) == (1, "atende", True)
        assert ti["text"] == (SHIPPED / "ti.yaml").read_text(encoding="utf-8")
        history = reader.get("/api/v1/flows/ti/versions").json()
        assert [v["version"] for v in history] == [1]
        refused = reader.post("/api/v1/flows", json={"text": yaml.safe_dump(SMALL)})
        assert refused.status_code == 403
        missing = reader.get("/api/v1/flows/vendas")
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "name"
        no_version = reader.get("/api/v1/flows/ti", params={"version": 5})
        assert no_version.status_code == 404
        assert no_version.json()["error"]["message"] == "flow 'ti' has no version 5"


def test_an_admin_publishes_and_an_invalid_flow_gets_every_error(api: httpx.Client) -> None:
    created = api.post("/api/v1/flows", json={"text": yaml.safe_dump(SMALL), "note": "novo"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["version"], body["note"]) == ("pequeno", 1, "novo")
    assert body["published_by"] == "api:tests"
    second = api.post("/api/v1/flows", json={"text": yaml.safe_dump(SMALL)}).json()
    assert second["version"] == 2
    old = api.get("/api/v1/flows/pequeno", params={"version": 1}).json()
    assert (old["version"], old["current"]) == (1, False)

    broken = small(menu={**SMALL["nodes"]["menu"], "options": {"1": "nowhere", "2": "info"}})
    refused = api.post("/api/v1/flows", json={"text": yaml.safe_dump(broken)})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("invalid", "text")
    assert "node 'menu', field 'options.1'" in error["message"]
    assert "node 'bye': no path from start" in error["message"]
    assert api.get("/api/v1/flows/pequeno").json()["version"] == 2
