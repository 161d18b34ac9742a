"""Seed 000's ticket system API (its chapter 6.1.2, Figures 22 and 24), as a stand-in.

Every endpoint is ``POST /api/<name>`` with a JSON body and answers JSON. ``autenticar_sessao``
checks the hash and starts a PHP session (cookie ``PHPSESSID``); every other endpoint calls
``protectSession()`` and refuses a request without a live session. ``verificar_usuario``
answers ``json_encode($result['status'])`` (a bare ``true``/``false``); ``novo_chamado``
splits ``servico`` (``"3-1"``: category, service) with ``splitDados``; ``verificar_chamado``
answers only for the user's own ticket.

The thesis' figures of the answers are unreadable in the extracted text: the field names of
``get_user_to_speech`` (beyond ``url`` and ``nome_audio``), ``novo_chamado`` and
``verificar_chamado`` below are our reading of it, and the YAML in ``examples/connectors``
is written against them.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

API_HASH = "hash-da-prefeitura-123"


@dataclass
class LegacyState:
    users: dict[str, dict[str, str]] = field(default_factory=dict)
    chamados: dict[int, dict[str, Any]] = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)
    logins: int = 0
    slow_lookups: threading.Event | None = None  # when set, lookups wait for it
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_sessions(self) -> None:
        self.sessions.clear()


def legacy_app(state: LegacyState) -> Starlette:
    def refused(request: Request) -> Response | None:
        if request.cookies.get("PHPSESSID") not in state.sessions:
            return JSONResponse({"status": False, "erro": "Sessão não autenticada"}, 401)
        return None

    async def autenticar_sessao(request: Request) -> Response:
        body = await request.json()
        if body.get("hash") != API_HASH:
            return JSONResponse({"status": False, "erro": "Hash inválido"}, 401)
        session_id = uuid.uuid4().hex
        state.sessions.add(session_id)
        state.logins += 1
        response = JSONResponse({"status": True})
        response.set_cookie("PHPSESSID", session_id, httponly=True)
        return response

    async def verificar_usuario(request: Request) -> Response:
        if (no := refused(request)) is not None:
            return no
        body = await request.json()
        return JSONResponse(body.get("usuario") in state.users)

    async def get_user_to_speech(request: Request) -> Response:
        if (no := refused(request)) is not None:
            return no
        if state.slow_lookups is not None:
            state.slow_lookups.wait(timeout=20)
        code = str((await request.json()).get("usuario", ""))
        user = state.users.get(code)
        if user is None:
            return JSONResponse({"status": False})
        return JSONResponse(
            {
                "status": True,
                "usuario": code,
                "nome": user["nome"],
                "telefone": user.get("telefone"),
                "url": f"/audios/{code}.mp3",
                "nome_audio": f"{code}.mp3",
            }
        )

    async def novo_chamado(request: Request) -> Response:
        if (no := refused(request)) is not None:
            return no
        body = await request.json()
        parts = str(body.get("servico", "")).split("-")  # splitDados
        if body.get("usuario") not in state.users or len(parts) != 2:
            return JSONResponse({"status": False, "erro": "Dados inválidos"}, 400)
        with state.lock:
            number = 5000 + len(state.chamados) + 1
            state.chamados[number] = {
                "chamado": number,
                "usuario": body["usuario"],
                "categoria": parts[0],
                "servico": parts[1],
                "descricao": body.get("descricao", ""),
                "situacao": "Aberto",
            }
        return JSONResponse({"status": True, "chamado": number})

    async def verificar_chamado(request: Request) -> Response:
        if (no := refused(request)) is not None:
            return no
        body = await request.json()
        chamado = state.chamados.get(int(body.get("chamado") or 0))
        if chamado is None or chamado["usuario"] != body.get("usuario"):
            return JSONResponse({"status": False})
        return JSONResponse({"status": True, **chamado})

    routes = [
        Route(f"/api/{function.__name__}", function, methods=["POST"])
        for function in (
            autenticar_sessao,
            verificar_usuario,
            get_user_to_speech,
            novo_chamado,
            verificar_chamado,
        )
    ]
    return Starlette(routes=routes)
