"""A Zammad stand-in speaking its documented REST API (``/api/v1``) and generic CTI API.

``Authorization: Token token=...`` on every REST call (401 ``{"error": "Invalid token!"}``
otherwise); ``users/search?query=login:...``; ``POST users``; ``POST tickets`` with an
``article``, answering 201 with ``id`` and ``number``; ``GET tickets/<id>?expand=true`` with the
state's name; ``tickets/search?query=...&expand=true`` answering a list; errors are
``{"error": ..., "error_human": ...}``. ``POST /api/v1/cti/<token>`` takes form fields
``event`` (newCall, answer, hangup), ``from``, ``to``, ``direction``, ``callId``, ``cause``...
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

API_TOKEN = "zammad-token-89ab"
CTI_TOKEN = "cti-token-cdef"
STATE_IDS = {
    1: "new",
    2: "open",
    3: "pending reminder",
    4: "closed",
    5: "merged",
    7: "pending close",
}


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "error_human": message}, status_code=status)


@dataclass
class ZammadState:
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    groups: set[str] = field(default_factory=lambda: {"Users"})
    cti_events: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def zammad_app(state: ZammadState) -> Starlette:
    def unauthorized(request: Request) -> Response | None:
        if request.headers.get("Authorization") != f"Token token={API_TOKEN}":
            return error(401, "Invalid token!")
        return None

    def expanded(ticket: dict[str, Any]) -> dict[str, Any]:
        return {**ticket, "state": STATE_IDS[ticket["state_id"]]}

    async def me(request: Request) -> Response:
        if (no := unauthorized(request)) is not None:
            return no
        return JSONResponse({"id": 1, "login": "atende@example.org"})

    async def search_users(request: Request) -> Response:
        if (no := unauthorized(request)) is not None:
            return no
        query = request.query_params.get("query", "")
        login = query.removeprefix("login:")
        return JSONResponse([u for u in state.users.values() if u["login"] == login])

    async def create_user(request: Request) -> Response:
        if (no := unauthorized(request)) is not None:
            return no
        body = await request.json()
        if not body.get("login") and not body.get("email"):
            return error(422, "Attribute 'login' or 'email' required!")
        with state.lock:
            user_id = len(state.users) + 2
            state.users[user_id] = {"id": user_id, **body}
        return JSONResponse(state.users[user_id], status_code=201)

    async def create_ticket(request: Request) -> Response:
        if (no := unauthorized(request)) is not None:
            return no
        body = await request.json()
        if body.get("group") not in state.groups:
            return error(422, f"No lookup value found for 'group': {body.get('group')!r}")
        if body.get("customer_id") not in state.users:
            return error(422, "No lookup value found for 'customer'")
        if not body.get("title") or not isinstance(body.get("article"), dict):
            return error(422, "Need at least article: { body: '...' } on create")
        with state.lock:
            ticket_id = len(state.tickets) + 1
            ticket = {
                "id": ticket_id,
                "number": str(31000 + ticket_id),
                "title": body["title"],
                "group": body["group"],
                "customer_id": body["customer_id"],
                "state_id": 1,
                "article": body["article"],
            }
            state.tickets[ticket_id] = ticket
        return JSONResponse(ticket, status_code=201)

    async def get_ticket(request: Request) -> Response:
        if (no := unauthorized(request)) is not None:
            return no
        ticket = state.tickets.get(int(request.path_params["ticket_id"]))
        if ticket is None:
            return error(404, "Couldn't find Ticket with 'id'")
        return JSONResponse(expanded(ticket))

    async def search_tickets(request: Request) -> Response:
        if (no := unauthorized(request)) is not None:
            return no
        query = request.query_params.get("query", "")
        if query.startswith("customer_id:"):
            wanted = int(query.removeprefix("customer_id:"))
            found = [t for t in state.tickets.values() if t["customer_id"] == wanted]
        else:
            found = [t for t in state.tickets.values() if query in t["title"]]
        return JSONResponse([expanded(t) for t in found])

    async def cti(request: Request) -> Response:
        if request.path_params["token"] != CTI_TOKEN:
            return error(401, "Invalid token, please contact your admin!")
        form = await request.form()
        if form.get("event") not in ("newCall", "answer", "hangup"):
            return error(422, "Invalid event")
        state.cti_events.append({k: str(v) for k, v in form.items()})
        return JSONResponse({})

    return Starlette(
        routes=[
            Route("/api/v1/users/me", me),
            Route("/api/v1/users/search", search_users),
            Route("/api/v1/users", create_user, methods=["POST"]),
            Route("/api/v1/tickets", create_ticket, methods=["POST"]),
            Route("/api/v1/tickets/search", search_tickets),
            Route("/api/v1/tickets/{ticket_id:int}", get_ticket),
            Route("/api/v1/cti/{token}", cti, methods=["POST"]),
        ]
    )
