"""A health-plan beneficiary API in the style seed 004 describes (documented with Swagger,
authentication mandatory): an OAuth2 client-credentials token endpoint, ``GET`` a beneficiary
by card number, ``POST`` an attendance protocol (``Idempotency-Key`` honoured), ``GET`` a
protocol's situation, list a beneficiary's protocols. Errors are ``{"erro": "..."}`` (and
OAuth2's ``{"error": "invalid_client"}`` / ``invalid_token``)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CLIENT_ID = "atende-ura"
CLIENT_SECRET = "segredo-do-cliente"


@dataclass
class BeneficiaryState:
    beneficiaries: dict[str, dict[str, str]] = field(default_factory=dict)
    protocols: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    lookup_gate: threading.Event | None = None  # when given, lookups wait until it is set
    lock: threading.Lock = field(default_factory=threading.Lock)

    def revoke_tokens(self) -> None:
        self.tokens.clear()


def beneficiary_app(state: BeneficiaryState) -> Starlette:
    def unauthorized(request: Request) -> Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in state.tokens:
            return JSONResponse({"error": "invalid_token"}, 401)
        return None

    async def token(request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return JSONResponse({"error": "invalid_client"}, 401)
        issued = uuid.uuid4().hex
        state.tokens.add(issued)
        state.tokens_issued += 1
        return JSONResponse({"access_token": issued, "token_type": "Bearer", "expires_in": 3600})

    async def beneficiary(request: Request) -> Response:
        if (no := unauthorized(request)) is not None:
            return no
        if state.lookup_gate is not None:
            state.lookup_gate.wait(timeout=20)
        card = request.path_params["card"]
        found = state.beneficiaries.get(card)
        if found is None:
            return JSONResponse({"erro": "Beneficiário não encontrado"}, 404)
        return JSONResponse({"carteirinha": card, **found})

    async def create_protocol(request: Request) -> Response:
        if (no := unauthorized(request)) is not None:
            return no
        body = await request.json()
        for name in ("carteirinha", "motivo"):
            if not body.get(name):
                return JSONResponse({"erro": f"campo obrigatório: {name}"}, 422)
        if body["carteirinha"] not in state.beneficiaries:
            return JSONResponse({"erro": "Beneficiário não encontrado"}, 422)
        key = request.headers.get("Idempotency-Key")
        with state.lock:
            if key and key in state.by_key:
                return JSONResponse(state.protocols[state.by_key[key]], 200)
            number = f"PR{len(state.protocols) + 1:06d}"
            protocol = {"id": str(uuid.uuid4()), "numero": number, "situacao": "ABERTO", **body}
            state.protocols[protocol["id"]] = protocol
            if key:
                state.by_key[key] = protocol["id"]
        return JSONResponse(protocol, 201)

    async def get_protocol(request: Request) -> Response:
        if (no := unauthorized(request)) is not None:
            return no
        protocol = state.protocols.get(request.path_params["protocol_id"])
        if protocol is None:
            return JSONResponse({"erro": "Protocolo não encontrado"}, 404)
        return JSONResponse(protocol)

    async def list_protocols(request: Request) -> Response:
        if (no := unauthorized(request)) is not None:
            return no
        wanted = {k: v for k, v in request.query_params.items() if k in ("carteirinha",)}
        items = [
            p for p in state.protocols.values() if all(p.get(k) == v for k, v in wanted.items())
        ]
        return JSONResponse({"itens": items, "total": len(items)})

    return Starlette(
        routes=[
            Route("/oauth/token", token, methods=["POST"]),
            Route("/v1/beneficiarios/{card}", beneficiary),
            Route("/v1/protocolos", create_protocol, methods=["POST"]),
            Route("/v1/protocolos", list_protocols, methods=["GET"]),
            Route("/v1/protocolos/{protocol_id}", get_protocol),
        ]
    )
