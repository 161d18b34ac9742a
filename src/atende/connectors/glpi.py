"""GLPI through its REST API (``apirest.php``), GLPI 9.5 to 10.

A session is opened with ``initSession`` (``App-Token`` plus ``Authorization: user_token``),
its ``Session-Token`` reused for every call and renewed once when GLPI answers 401
``ERROR_SESSION_TOKEN_INVALID`` (sessions expire with PHP's); ``close`` calls ``killSession``.
Tickets are created with ``POST /Ticket`` ``{"input": {...}}``, the requester being the GLPI
user whose login (``name``) is the caller's code, when there is one. GLPI's errors are JSON
arrays, ``["ERROR_...", "message"]``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from atende.adapters import HELPDESKS
from atende.config import Settings
from atende.connectors.http_base import HelpdeskAccess, HttpBase, Timeouts, timeouts_of
from atende.connectors.ports import (
    ConnectorError,
    DirectoryEntry,
    ExternalRef,
    ExternalStatus,
    ExternalSummary,
    TicketDraft,
    map_status,
)
from atende.domain.ticket_status import TicketStatus
from atende.registry import register

# GLPI's CommonITILObject statuses.
STATUSES: dict[str, TicketStatus] = {
    "1": TicketStatus.OPEN,  # new
    "2": TicketStatus.IN_PROGRESS,  # processing (assigned)
    "3": TicketStatus.IN_PROGRESS,  # processing (planned)
    "4": TicketStatus.WAITING,  # pending
    "5": TicketStatus.RESOLVED,  # solved
    "6": TicketStatus.CLOSED,  # closed
}
# Search option ids of the Ticket itemtype: 1 title, 2 id, 4 requester, 12 status.
NAME, ID, REQUESTER, STATUS = "1", "2", "4", "12"
SESSION_EXPIRED = "ERROR_SESSION_TOKEN_INVALID"


def glpi_error(response: httpx.Response) -> str:
    """The ``ERROR_...`` code of a GLPI error body (the message may echo what was sent)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body[0]) if isinstance(body, list) and body else ""


class GlpiHelpdesk(HttpBase):
    name = "glpi"
    reads_status = True

    def __init__(
        self, base_url: str, user_token: str, app_token: str | None, timeouts: Timeouts
    ) -> None:
        url = base_url.rstrip("/")
        if not url.endswith("apirest.php"):
            url += "/apirest.php"
        super().__init__(url, timeouts, {"App-Token": app_token} if app_token else None)
        self.user_token = user_token
        self.session_token: str | None = None

    async def init_session(self, operation: str) -> str:
        response = await self.send(
            operation,
            "GET",
            "initSession",
            headers={"Authorization": f"user_token {self.user_token}"},
        )
        if response.status_code != 200:
            # A refused token will not work later either; only a GLPI in trouble may.
            raise self.failure(operation, response, glpi_error(response))
        token = self.json_of(operation, response).get("session_token")
        if not token:
            raise ConnectorError(f"glpi {operation}: initSession gave no token", retryable=True)
        self.session_token = str(token)
        return self.session_token

    async def session(self, operation: str) -> str:
        async with self.login_lock():  # concurrent calls share one new session
            return self.session_token or await self.init_session(operation)

    async def call(self, operation: str, method: str, url: str, **options: Any) -> httpx.Response:
        """A request in the session, logging in first, or again once when GLPI says the
        session expired."""
        token = await self.session(operation)
        response = await self.send(
            operation, method, url, headers={"Session-Token": token}, **options
        )
        if response.status_code == 401 and glpi_error(response) == SESSION_EXPIRED:
            if self.session_token == token:
                self.session_token = None
            token = await self.session(operation)
            response = await self.send(
                operation, method, url, headers={"Session-Token": token}, **options
            )
        return response

    async def requester_id(self, operation: str, code: str) -> int | None:
        response = await self.call(
            operation, "GET", "User", params={"searchText[name]": f"^{code}$", "range": "0-1"}
        )
        if response.status_code != 200:
            return None  # no such login: the ticket carries the caller's name in its text
        users = self.json_of(operation, response)
        return int(users[0]["id"]) if isinstance(users, list) and len(users) == 1 else None

    async def open_ticket(self, draft: TicketDraft) -> ExternalRef:
        fields: dict[str, Any] = {"name": draft.title, "content": draft.body, "type": 1}
        if draft.category_ref:
            fields["itilcategories_id"] = int(draft.category_ref)
        requester = await self.requester_id("open_ticket", draft.person.code)
        if requester is not None:
            fields["_users_id_requester"] = requester
        response = await self.call("open_ticket", "POST", "Ticket", json={"input": fields})
        if response.status_code != 201:
            raise self.failure("open_ticket", response, glpi_error(response))
        ticket_id = str(self.json_of("open_ticket", response)["id"])
        return ExternalRef(id=ticket_id, number=ticket_id)

    async def search(
        self, operation: str, field: str, kind: str, value: str
    ) -> list[dict[str, Any]]:
        params = {
            "criteria[0][field]": field,
            "criteria[0][searchtype]": kind,
            "criteria[0][value]": value,
            "forcedisplay[0]": ID,
            "forcedisplay[1]": NAME,
            "forcedisplay[2]": STATUS,
        }
        response = await self.call(operation, "GET", "search/Ticket", params=params)
        if response.status_code not in (200, 206):
            raise self.failure(operation, response, glpi_error(response))
        return list(self.json_of(operation, response).get("data") or [])

    async def find_ticket(self, draft: TicketDraft) -> ExternalRef | None:
        rows = await self.search("find_ticket", NAME, "contains", f"protocolo {draft.protocol}")
        if not rows:
            return None
        ticket_id = str(rows[0][ID])
        return ExternalRef(id=ticket_id, number=ticket_id)

    async def ticket_status(self, ref: ExternalRef, person: DirectoryEntry) -> ExternalStatus:
        response = await self.call("ticket_status", "GET", f"Ticket/{ref.id}")
        if response.status_code != 200:
            raise self.failure("ticket_status", response, glpi_error(response))
        return map_status(str(self.json_of("ticket_status", response)["status"]), STATUSES)

    async def list_tickets(self, person: DirectoryEntry) -> list[ExternalSummary]:
        requester = await self.requester_id("list_tickets", person.code)
        if requester is None:
            return []
        rows = await self.search("list_tickets", REQUESTER, "equals", str(requester))
        return [
            ExternalSummary(
                ref=ExternalRef(id=str(row[ID]), number=str(row[ID])),
                title=str(row[NAME]),
                status=map_status(str(row[STATUS]), STATUSES),
            )
            for row in rows
        ]

    async def check(self) -> str:
        await self.session("check")
        return "initSession accepted the App-Token and user_token"

    async def close(self) -> None:
        token, self.session_token = self.session_token, None
        if token is not None and self._http is not None:
            with contextlib.suppress(ConnectorError):  # GLPI gone: the session went with it
                await self.send("close", "GET", "killSession", headers={"Session-Token": token})
        await super().close()


class GlpiSettings(HelpdeskAccess):
    glpi_app_token: str | None = None  # the API client's App-Token, when GLPI asks for one


@register(HELPDESKS, "glpi", GlpiSettings)
def build(settings: Settings, own: GlpiSettings) -> GlpiHelpdesk:
    return GlpiHelpdesk(
        own.helpdesk_url, own.helpdesk_token, own.glpi_app_token, timeouts_of(settings)
    )
