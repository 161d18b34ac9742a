"""Zammad through its REST API (``/api/v1``, ``Authorization: Token token=...``), and its
generic CTI endpoint so Zammad's caller log shows the URA's calls.

The customer of a ticket is the Zammad user whose ``login`` is the caller's code; one is
created (role Customer) the first time. Our protocol is in the ticket's title, which is how a
retry finds a ticket whose creation answer was lost (``tickets/search``). Zammad's errors are
``{"error": ..., "error_human": ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx

from atende.adapters import CALL_LOGS, HELPDESKS
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

log = logging.getLogger(__name__)

# Zammad's default ticket states.
STATUSES: dict[str, TicketStatus] = {
    "new": TicketStatus.OPEN,
    "open": TicketStatus.IN_PROGRESS,
    "pending reminder": TicketStatus.WAITING,
    "pending close": TicketStatus.RESOLVED,
    "closed": TicketStatus.CLOSED,
    "merged": TicketStatus.CLOSED,
}
# How a call ended, in the causes Zammad's CTI API knows.
HANGUP_CAUSES = {"abandoned": "cancel", "busy": "busy", "transferred": "forwarded"}


def zammad_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


class ZammadHelpdesk(HttpBase):
    name = "zammad"
    reads_status = True

    def __init__(self, base_url: str, token: str, group: str, timeouts: Timeouts) -> None:
        super().__init__(
            base_url.rstrip("/") + "/api/v1", timeouts, {"Authorization": f"Token token={token}"}
        )
        self.group = group

    def ok(self, operation: str, response: httpx.Response, *statuses: int) -> Any:
        if response.status_code not in (statuses or (200,)):
            raise self.failure(operation, response, zammad_error(response))
        return self.json_of(operation, response)

    async def customer_id(self, operation: str, person: DirectoryEntry, create: bool) -> int | None:
        response = await self.send(
            operation, "GET", "users/search", params={"query": f"login:{person.code}", "limit": 1}
        )
        users = [u for u in self.ok(operation, response) if u.get("login") == person.code]
        if users:
            return int(users[0]["id"])
        if not create:
            return None
        first, _, last = person.name.partition(" ")
        user = {"login": person.code, "firstname": first, "lastname": last, "roles": ["Customer"]}
        if person.phone:
            user["phone"] = person.phone
        if person.email:
            user["email"] = person.email
        created = await self.send(operation, "POST", "users", json=user)
        return int((self.ok(operation, created, 200, 201))["id"])

    async def open_ticket(self, draft: TicketDraft) -> ExternalRef:
        customer = await self.customer_id("open_ticket", draft.person, create=True)
        ticket = {
            "title": draft.title,
            "group": self.group,
            "customer_id": customer,
            "article": {
                "subject": draft.title,
                "body": draft.body,
                "type": "phone",
                "sender": "Customer",
                "internal": False,
            },
        }
        response = await self.send("open_ticket", "POST", "tickets", json=ticket)
        created = self.ok("open_ticket", response, 201)
        return ExternalRef(id=str(created["id"]), number=str(created["number"]))

    async def check(self) -> str:
        me = self.ok("check", await self.send("check", "GET", "users/me"))
        return f"token accepted (acting as {me.get('login')})"

    async def search(self, operation: str, query: str) -> list[dict[str, Any]]:
        response = await self.send(
            operation, "GET", "tickets/search", params={"query": query, "expand": "true"}
        )
        return list(self.ok(operation, response))

    async def find_ticket(self, draft: TicketDraft) -> ExternalRef | None:
        found = [
            t
            for t in await self.search("find_ticket", draft.protocol)
            if draft.protocol in t["title"]
        ]
        return (
            ExternalRef(id=str(found[0]["id"]), number=str(found[0]["number"])) if found else None
        )

    async def ticket_status(self, ref: ExternalRef, person: DirectoryEntry) -> ExternalStatus:
        response = await self.send(
            "ticket_status", "GET", f"tickets/{ref.id}", params={"expand": "true"}
        )
        return map_status(str((self.ok("ticket_status", response))["state"]), STATUSES)

    async def list_tickets(self, person: DirectoryEntry) -> list[ExternalSummary]:
        customer = await self.customer_id("list_tickets", person, create=False)
        if customer is None:
            return []
        return [
            ExternalSummary(
                ref=ExternalRef(id=str(t["id"]), number=str(t["number"])),
                title=str(t["title"]),
                status=map_status(str(t["state"]), STATUSES),
            )
            for t in await self.search("list_tickets", f"customer_id:{customer}")
        ]


class ZammadCallLog(HttpBase):
    """Zammad's generic CTI API (``POST /api/v1/cti/<token>``): newCall, answer, hangup.

    Best effort and off the call: an event is sent in the background, and a Zammad that does
    not answer costs the caller nothing. A call's events reach Zammad in the order they
    happened (each waits for the one before it of the same call; Zammad's log needs newCall
    before answer), different calls' events go independently.
    """

    name = "zammad-cti"

    def __init__(self, base_url: str, cti_token: str, timeouts: Timeouts) -> None:
        super().__init__(base_url.rstrip("/") + "/api/v1/cti", timeouts)
        self.cti_token = cti_token
        self.pending: set[asyncio.Task[None]] = set()
        self._last_of_call: dict[str, asyncio.Task[None]] = {}

    def event(self, event: str, call_id: str, caller: str | None, outcome: str | None) -> None:
        fields = {
            "event": event,
            "callId": call_id,
            "direction": "in",
            "from": caller or "anonymous",
            "to": "URA",
        }
        if event == "answer":
            fields["answeringNumber"] = "URA"
        if event == "hangup":
            fields["cause"] = HANGUP_CAUSES.get(outcome or "", "normalClearing")
        task = asyncio.create_task(self._post(fields, self._last_of_call.get(call_id)))
        self._last_of_call[call_id] = task
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        task.add_done_callback(lambda done: self._forget(call_id, done))

    def _forget(self, call_id: str, done: asyncio.Task[None]) -> None:
        if self._last_of_call.get(call_id) is done:
            del self._last_of_call[call_id]

    async def _post(self, fields: dict[str, str], after: asyncio.Task[None] | None) -> None:
        if after is not None:
            await asyncio.wait([after])  # the call's previous event first (its errors are its own)
        try:
            response = await self.send("call_log", "POST", self.cti_token, data=fields)
        except ConnectorError as exc:
            log.info("zammad caller log: %s", exc)
            return
        if not response.is_success:
            log.info("zammad caller log: HTTP %d", response.status_code)

    async def idle(self) -> None:
        """Wait for the events already sent (shutdown, tests)."""
        with contextlib.suppress(Exception):
            await asyncio.gather(*self.pending)


class ZammadSettings(HelpdeskAccess):
    zammad_group: str = "Users"  # the group new tickets go to
    zammad_cti_token: str | None = None  # the caller log's token: every call is told to it


@register(HELPDESKS, "zammad", ZammadSettings)
def build(settings: Settings, own: ZammadSettings) -> ZammadHelpdesk:
    return ZammadHelpdesk(
        own.helpdesk_url, own.helpdesk_token, own.zammad_group, timeouts_of(settings)
    )


@register(CALL_LOGS, "zammad", ZammadSettings)
def build_call_log(settings: Settings, own: ZammadSettings) -> ZammadCallLog | None:
    if not own.zammad_cti_token:
        return None
    return ZammadCallLog(own.helpdesk_url, own.zammad_cti_token, timeouts_of(settings))
