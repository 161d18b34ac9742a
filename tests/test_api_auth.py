"""Who may call the API: bearer tokens, scopes, IP allow-lists; health needs none."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from api_client import api_client
from atende.api.app import create_app
from atende.db.models import ApiToken
from atende.services.bundle import Services
from live_server import serve


def test_health_and_metrics_need_no_token(services: Services) -> None:
    with serve(create_app(services)) as url:
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "database": "ok"}
        assert httpx.get(f"{url}/livez").status_code == 200
        assert "atende_http_requests_total" in httpx.get(f"{url}/metrics").text
        assert "/api/v1/tickets" in httpx.get(f"{url}/openapi.json").json()["paths"]
        assert "swagger" in httpx.get(f"{url}/docs").text.lower()


def test_missing_wrong_and_revoked_tokens_get_401(services: Services) -> None:
    token, clear = services.tokens.create("ops", ["read"])
    with serve(create_app(services)) as url:
        none = httpx.get(f"{url}/api/v1/catalog")
        assert none.status_code == 401 and none.json()["error"]["code"] == "unauthorized"
        assert none.headers["www-authenticate"] == "Bearer"
        wrong = httpx.get(f"{url}/api/v1/catalog", headers={"Authorization": "Bearer atd_nope"})
        assert wrong.status_code == 401
        good = {"Authorization": f"Bearer {clear}"}
        assert httpx.get(f"{url}/api/v1/catalog", headers=good).status_code == 200
        services.tokens.revoke(token.id)
        assert httpx.get(f"{url}/api/v1/catalog", headers=good).status_code == 401


def test_scopes_are_enforced(services: Services) -> None:
    with api_client(services, ["read"]) as reader:
        assert reader.get("/api/v1/catalog").status_code == 200
        refused = reader.post("/api/v1/people", json={"code": "1", "name": "X"})
        assert refused.status_code == 403 and "write" in refused.json()["error"]["message"]
    with api_client(services, ["write"]) as writer:
        assert writer.post("/api/v1/people", json={"code": "1", "name": "X"}).status_code == 201
        assert (
            writer.post("/api/v1/catalog/categories", json={"key": "8", "name": "Y"}).status_code
            == 403
        )


def test_ip_allow_list(services: Services) -> None:
    with api_client(services, ["read"], allow=["10.0.0.0/8"]) as outsider:
        refused = outsider.get("/api/v1/catalog")
        assert refused.status_code == 403
        assert "127.0.0.1" in refused.json()["error"]["message"]
    with api_client(services, ["read"], allow=["127.0.0.0/8"]) as insider:
        assert insider.get("/api/v1/catalog").status_code == 200


def test_tokens_are_stored_hashed_and_last_use_recorded(services: Services) -> None:
    with api_client(services, ["read"]) as client:
        header = client.headers["Authorization"].split()[1]
        client.get("/api/v1/catalog")
    with services.runtime.sessions() as session:
        stored = session.scalars(select(ApiToken)).one()
    assert stored.token_hash != header and header not in stored.token_hash
    assert services.tokens.list()[0].last_used_at is not None
