"""osTicket through its API (``POST /api/tickets.json`` with ``X-API-Key``).

osTicket's API only creates tickets: it answers 201 with the new ticket's number as plain
text, and has no call to read a ticket's status, search or list tickets. So status questions
are answered from our own record, and the caller is told that the helpdesk does not report
status by phone (``reads_status = False``); a retry after a lost answer cannot ask whether the
first attempt went through. osTicket requires an e-mail address: a person without one is sent
as ``<code>@sem-email.invalid`` with the automatic reply turned off. The API key is bound to
the client's IP address in osTicket's admin panel.
"""

from __future__ import annotations

from urllib.parse import quote

from atende.adapters import HELPDESKS
from atende.config import Settings
from atende.connectors.http_base import HelpdeskAccess, HttpBase, Timeouts, timeouts_of
from atende.connectors.ports import (
    ConnectorError,
    DirectoryEntry,
    ExternalRef,
    ExternalStatus,
    ExternalSummary,
    NotSupported,
    TicketDraft,
)
from atende.registry import register

NO_EMAIL_DOMAIN = "sem-email.invalid"  # RFC 2606: a domain that can never receive mail


class OsTicketHelpdesk(HttpBase):
    name = "osticket"
    reads_status = False

    def __init__(self, base_url: str, api_key: str, timeouts: Timeouts) -> None:
        super().__init__(base_url.rstrip("/") + "/api", timeouts, {"X-API-Key": api_key})

    async def open_ticket(self, draft: TicketDraft) -> ExternalRef:
        email = draft.person.email
        ticket: dict[str, object] = {
            "alert": True,
            "autorespond": bool(email),
            "source": "Phone",
            "name": draft.person.name,
            "email": email or f"{draft.person.code}@{NO_EMAIL_DOMAIN}",
            "subject": draft.title,
            "message": "data:text/plain;charset=utf-8," + quote(draft.body),
        }
        if draft.person.phone:
            ticket["phone"] = draft.person.phone
        if draft.category_ref:
            ticket["topicId"] = int(draft.category_ref)
        response = await self.send("open_ticket", "POST", "tickets.json", json=ticket)
        if response.status_code != 201:
            first_line = next(iter(response.text.strip().splitlines()), "")
            raise self.failure("open_ticket", response, first_line)
        number = response.text.strip()
        if not number:
            raise ConnectorError(
                "osticket open_ticket: no ticket number in the answer", retryable=False
            )
        return ExternalRef(id=number, number=number)

    async def check(self) -> str:
        # An empty ticket: osTicket checks the key first (401), then refuses the fields (400).
        response = await self.send("check", "POST", "tickets.json", json={})
        if response.status_code == 401:
            raise self.failure("check", response, response.text.strip())
        return "API key accepted (an empty ticket was refused, as it should be)"

    async def find_ticket(self, draft: TicketDraft) -> ExternalRef | None:
        return None  # the API has no search

    async def ticket_status(self, ref: ExternalRef, person: DirectoryEntry) -> ExternalStatus:
        raise NotSupported("osticket: its API cannot read a ticket's status")

    async def list_tickets(self, person: DirectoryEntry) -> list[ExternalSummary]:
        raise NotSupported("osticket: its API cannot list tickets")


@register(HELPDESKS, "osticket", HelpdeskAccess)
def build(settings: Settings, own: HelpdeskAccess) -> OsTicketHelpdesk:
    return OsTicketHelpdesk(own.helpdesk_url, own.helpdesk_token, timeouts_of(settings))
