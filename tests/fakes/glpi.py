"""A GLPI stand-in speaking the documented REST API (apirest.php, GLPI 10).

What it keeps to: ``initSession`` needs ``App-Token`` and ``Authorization: user_token ...``
and answers ``{"session_token": ...}``; other calls need ``Session-Token`` (401
``ERROR_SESSION_TOKEN_INVALID`` when unknown or expired); ``POST /Ticket`` takes
``{"input": {...}}`` and answers 201 ``{"id", "message"}``; errors are JSON arrays
``["ERROR_...", "message"]``; ``search/Ticket`` answers ``{"totalcount", "count", "data"}``
with rows keyed by search option id.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

APP_TOKEN = "app-token-0123"
USER_TOKEN = "user-token-4567"


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse([code, message], status_code=status)


@dataclass
class GlpiState:
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)
    killed: list[str] = field(default_factory=list)
    logins: int = 0
    lose_answers: int = 0  # the next N ticket creations commit, then answer 502 (a proxy)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_user(self, login: str, realname: str) -> int:
        user_id = len(self.users) + 2
        self.users[user_id] = {"id": user_id, "name": login, "realname": realname}
        return user_id

    def expire_sessions(self) -> None:
        self.sessions.clear()


def glpi_app(state: GlpiState) -> Starlette:
    def session(request: Request) -> Response | None:
        if request.headers.get("App-Token") != APP_TOKEN:
            return error(400, "ERROR_WRONG_APP_TOKEN_PARAMETER", "parameter app_token seems wrong")
        token = request.headers.get("Session-Token")
        if not token:
            return error(400, "ERROR_SESSION_TOKEN_MISSING", "parameter session_token is missing")
        if token not in state.sessions:
            return error(401, "ERROR_SESSION_TOKEN_INVALID", "session_token seems invalid")
        return None

    async def init_session(request: Request) -> Response:
        if request.headers.get("App-Token") != APP_TOKEN:
            return error(400, "ERROR_WRONG_APP_TOKEN_PARAMETER", "parameter app_token seems wrong")
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("user_token "):
            return error(
                400, "ERROR_LOGIN_PARAMETERS_MISSING", "parameter(s) login, password missing"
            )
        if authorization.removeprefix("user_token ") != USER_TOKEN:
            return error(401, "ERROR_GLPI_LOGIN_USER_TOKEN", "parameter user_token seems invalid")
        token = uuid.uuid4().hex
        state.sessions.add(token)
        state.logins += 1
        return JSONResponse({"session_token": token})

    async def kill_session(request: Request) -> Response:
        if (refused := session(request)) is not None:
            return refused
        token = request.headers["Session-Token"]
        state.sessions.discard(token)
        state.killed.append(token)
        return JSONResponse([])

    async def users(request: Request) -> Response:
        if (refused := session(request)) is not None:
            return refused
        wanted = request.query_params.get("searchText[name]", "")
        pattern = re.compile(wanted) if wanted else None
        found = [u for u in state.users.values() if pattern is None or pattern.search(u["name"])]
        return JSONResponse(found)

    async def create_ticket(request: Request) -> Response:
        if (refused := session(request)) is not None:
            return refused
        body = await request.json()
        fields = body.get("input") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return error(400, "ERROR_BAD_ARRAY", "input parameter must be an array of objects")
        if not fields.get("name") or not fields.get("content"):
            return error(400, "ERROR_GLPI_ADD", "You must fill the mandatory fields")
        with state.lock:
            ticket_id = len(state.tickets) + 1
            state.tickets[ticket_id] = {"id": ticket_id, "status": 1, **fields}
            if state.lose_answers:
                state.lose_answers -= 1
                return Response("Bad Gateway", status_code=502)
        return JSONResponse(
            {"id": ticket_id, "message": f"Item successfully added: {fields['name']}"},
            status_code=201,
            headers={"Location": f"{request.base_url}apirest.php/Ticket/{ticket_id}"},
        )

    async def get_ticket(request: Request) -> Response:
        if (refused := session(request)) is not None:
            return refused
        ticket = state.tickets.get(int(request.path_params["ticket_id"]))
        if ticket is None:
            return error(404, "ERROR_ITEM_NOT_FOUND", "Item not found")
        return JSONResponse(ticket)

    async def search_tickets(request: Request) -> Response:
        if (refused := session(request)) is not None:
            return refused
        query = request.query_params
        field_id = query.get("criteria[0][field]")
        kind = query.get("criteria[0][searchtype]")
        value = query.get("criteria[0][value]", "")
        rows = []
        for ticket in state.tickets.values():
            if field_id == "1" and kind == "contains":
                match = value.lower() in ticket["name"].lower()
            elif field_id == "4" and kind == "equals":
                match = str(ticket.get("_users_id_requester")) == value
            else:
                return error(400, "ERROR_RIGHT_MISSING", "search criteria not understood")
            if match:
                rows.append({"2": ticket["id"], "1": ticket["name"], "12": ticket["status"]})
        body = {"totalcount": len(rows), "count": len(rows), "sort": 1, "order": "ASC"}
        if rows:
            body["data"] = rows
        return JSONResponse(body, status_code=200)

    return Starlette(
        routes=[
            Route("/apirest.php/initSession", init_session),
            Route("/apirest.php/killSession", kill_session),
            Route("/apirest.php/User", users),
            Route("/apirest.php/Ticket", create_ticket, methods=["POST"]),
            Route("/apirest.php/Ticket/{ticket_id:int}", get_ticket),
            Route("/apirest.php/search/Ticket", search_tickets),
        ]
    )
