"""Seed 000's WhatsApp gateway (Express + venom-bot), as its paper shows it.

``POST /api/send-message`` with JSON ``{"phone", "message"}``; the ``Authorization`` header
must equal the configured secret; when the bot's WhatsApp session is logged out it answers 500
``{"error": "Você precisa estar autenticado para enviar mensagens."}``; on success 200
``{"message": "Mensagem enviada com sucesso."}``.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fakes.scripted import Scripted

SECRET = "32KSKDOF903DDAS"


class GatewayState(Scripted):
    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[dict[str, Any]] = []
        self.logged_in = True


def gateway_app(state: GatewayState) -> Starlette:
    async def send_message(request: Request) -> JSONResponse:
        payload = await request.json()
        scripted = state.next_answer({"headers": dict(request.headers), **payload})
        if scripted is not None:
            return scripted
        if request.headers.get("Authorization") != SECRET:
            return JSONResponse({"error": "Não autorizado."}, status_code=401)
        if not state.logged_in:
            error = "Você precisa estar autenticado para enviar mensagens."
            return JSONResponse({"error": error}, status_code=500)
        state.delivered.append(payload)
        return JSONResponse({"message": "Mensagem enviada com sucesso."})

    return Starlette(routes=[Route("/api/send-message", send_message, methods=["POST"])])
