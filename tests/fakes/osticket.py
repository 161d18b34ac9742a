"""An osTicket stand-in for its ticket-creation API (``POST /api/tickets.json``).

``X-API-Key`` must be a key registered for the client's IP address (401 "API key not
authorized" otherwise); the JSON body needs ``name``, ``email``, ``subject``, ``message``;
a missing or bad field answers 400 ``Unable to create new ticket: validation errors`` with one
line per field; success answers 201 with the ticket number as plain text. There is no API to
read, search or list tickets.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

API_KEY = "8F3A0C1D2E4B5A6978C0D1E2F3A4B5C6"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class OsTicketState:
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    allowed_ip: str = "127.0.0.1"
    lock: threading.Lock = field(default_factory=threading.Lock)


def osticket_app(state: OsTicketState) -> Starlette:
    async def create(request: Request) -> Response:
        client = request.client.host if request.client else ""
        if request.headers.get("X-API-Key") != API_KEY or client != state.allowed_ip:
            return PlainTextResponse("API key not authorized", status_code=401)
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return PlainTextResponse("Unsupported data format", status_code=415)
        body = await request.json()
        problems = [
            f"{name}: This field is required"
            for name in ("name", "email", "subject", "message")
            if not body.get(name)
        ]
        if body.get("email") and not EMAIL.match(body["email"]):
            problems.append("email: Valid email address required")
        if problems:
            text = "Unable to create new ticket: validation errors:\n" + "\n".join(problems)
            return PlainTextResponse(text, status_code=400)
        with state.lock:
            number = f"{100000 + len(state.tickets) + 1}"
            state.tickets[number] = body
        return PlainTextResponse(number, status_code=201)

    return Starlette(routes=[Route("/api/tickets.json", create, methods=["POST"])])
