"""What the phone flow, the API and the CLI ask of the connectors, in our own terms.

- ``identify``: a person by code, card number, phone or extension. With an external directory
  the answer is copied into our ``people`` table (tickets point at a local row; the directory
  stays the source of truth and is asked again at every call). When the directory is down,
  people who called before are still found in that copy.
- ``status``: a ticket's status, read through from the external helpdesk at query time (within
  the ``ticket_status`` timeout, and not at all while its circuit breaker is open). What it
  says is mirrored into our ticket (a history entry by ``helpdesk:<kind>``) when our status
  rules allow the change, so the dashboard follows; when the helpdesk cannot answer, our own
  record, which holds the last status read, is the answer. Before the push links a ticket, our
  record is the only one and answers alone.
- the push outbox (:mod:`atende.connectors.push`) and its background loop;
- Zammad's caller log (CTI), told of every call when configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from atende.connectors.breaker import CircuitBreaker
from atende.connectors.ports import (
    ConnectorError,
    Directory,
    DirectoryEntry,
    ExternalRef,
    ExternalStatus,
    Helpdesk,
    LookupField,
    NotSupported,
)
from atende.connectors.push import TicketPusher, entry_of
from atende.connectors.zammad import ZammadCallLog
from atende.db.models import ExternalTicket, Person, Ticket
from atende.domain.identity import mask
from atende.domain.ticket_status import TicketStatus, can_change
from atende.runtime import Runtime
from atende.services.errors import Conflict, Invalid, NotFound, ServiceError
from atende.services.people import PeopleService, PersonData, sole_active_person
from atende.services.tickets import TicketService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatusAnswer:
    """What to tell about a ticket: its status, its number in the external helpdesk (once
    linked), and whether the helpdesk can report status at all (osTicket cannot)."""

    status: TicketStatus
    external_number: str | None = None
    readable: bool = True


class Connectors:
    def __init__(
        self,
        runtime: Runtime,
        people: PeopleService,
        tickets: TicketService,
        directory: Directory | None,
        helpdesk: Helpdesk | None,
        call_log: ZammadCallLog | None = None,
    ) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.people = people
        self.tickets = tickets
        self.directory = directory
        self.helpdesk = helpdesk
        self.call_log = call_log
        self.breaker = CircuitBreaker(
            settings.breaker_failures,
            settings.breaker_reset,
            clock=lambda: runtime.clock().timestamp(),
        )
        self.pusher: TicketPusher | None = None
        if helpdesk is not None:
            self.pusher = TicketPusher(
                runtime.sessions, helpdesk, self.breaker, self._now, settings.category_refs
            )
            tickets.after_insert.append(self.pusher.enqueue)
        self._wake: asyncio.Event | None = None

    def _now(self) -> datetime:
        return self.runtime.clock()

    @property
    def directory_kind(self) -> str:
        return self.directory.name if self.directory is not None else "builtin"

    @property
    def helpdesk_kind(self) -> str:
        return self.helpdesk.name if self.helpdesk is not None else "builtin"

    # -- who is calling -------------------------------------------------------------------

    async def identify(self, field: LookupField, value: str) -> Person | None:
        """The active person ``field`` = ``value`` is, or None."""
        if self.directory is not None:
            try:
                entry = await self.directory.find(field, value)
            except NotSupported:
                pass  # this directory cannot look people up by that field: ours can
            except ConnectorError as exc:
                log.warning("directory %s: %s; looking in the local copy", self.directory.name, exc)
            else:
                if entry is None:
                    return None
                return await asyncio.to_thread(self.copy_locally, entry)
        return await asyncio.to_thread(self.local_person, field, value)

    def local_person(self, field: LookupField, value: str) -> Person | None:
        if field == "code":
            try:
                person = self.people.get(value)
            except NotFound:
                return None
            return person if person.active else None
        return sole_active_person(self.people.find(**{field: value}, active_only=True))

    def copy_locally(self, entry: DirectoryEntry) -> Person | None:
        """Create or refresh our copy of a directory's person (whose deactivation here wins)."""
        full = PersonData(
            code=entry.code,
            name=entry.name,
            phone=entry.phone or "",
            email=entry.email or "",
            card_number=entry.card_number or "",
        )
        for data in (full, PersonData(code=entry.code, name=entry.name)):
            try:
                person = self._upsert(data)
            except (Invalid, Conflict) as exc:
                # A phone we cannot parse, a card number another local person holds: keep
                # the name, which the call needs, and say what was left out.
                log.warning("directory person %s: %s", mask(entry.code), exc.message)
                continue
            return person if person.active else None
        return None

    def _upsert(self, data: PersonData) -> Person:
        code = data.code or ""
        try:
            return self.people.update(code, data)
        except NotFound:
            pass
        try:
            return self.people.create(data)
        except Conflict:  # created meanwhile by another call of the same person
            return self.people.update(code, data)

    # -- tickets ----------------------------------------------------------------------------

    def link_of(self, ticket_id: int) -> ExternalTicket | None:
        with self.runtime.sessions() as session:
            return session.scalar(
                select(ExternalTicket).where(ExternalTicket.ticket_id == ticket_id)
            )

    async def status(self, ticket: Ticket) -> StatusAnswer:
        local = TicketStatus(ticket.status)
        link = await asyncio.to_thread(self.link_of, ticket.id)
        if self.helpdesk is None or link is None or link.external_id is None:
            return StatusAnswer(local)
        ref = ExternalRef(id=link.external_id, number=link.external_ref or link.external_id)
        if not self.helpdesk.reads_status:
            return StatusAnswer(local, ref.number, readable=False)
        if not self.breaker.allows():
            return StatusAnswer(local, ref.number)
        try:
            external = await self.helpdesk.ticket_status(ref, entry_of(ticket.person))
        except ConnectorError as exc:
            if exc.retryable:
                self.breaker.failed()
            log.warning("status of %s from %s: %s", ticket.protocol, self.helpdesk.name, exc)
            return StatusAnswer(local, ref.number)
        self.breaker.succeeded()
        status = await asyncio.to_thread(self._record_status, ticket, link.id, external)
        return StatusAnswer(status, ref.number)

    def _record_status(
        self, ticket: Ticket, link_id: int, external: ExternalStatus
    ) -> TicketStatus:
        """Keep what the helpdesk said; mirror it into our ticket when our rules allow."""
        with self.runtime.sessions.begin() as session:
            link = session.get_one(ExternalTicket, link_id)
            link.external_status = external.raw
            link.status_checked_at = self.runtime.clock()
        current = TicketStatus(ticket.status)
        wanted = external.status
        if wanted is None or wanted == current:
            return current
        if not can_change(current, wanted):
            log.info(
                "%s says %s; %s stays %s", self.helpdesk_kind, wanted, ticket.protocol, current
            )
            return wanted
        try:
            self.tickets.change(
                ticket.protocol,
                actor=f"helpdesk:{self.helpdesk_kind}",
                status=wanted,
                note=f"{self.helpdesk_kind}: {external.raw}",
            )
        except ServiceError as exc:  # changed meanwhile by someone else: theirs stands
            log.info("status of %s not mirrored: %s", ticket.protocol, exc.message)
        return wanted

    # -- the push loop ------------------------------------------------------------------------

    async def push_due(self) -> int:
        return await self.pusher.push_due() if self.pusher is not None else 0

    def push_soon(self) -> None:
        """Wake the push loop (a ticket was just opened)."""
        if self._wake is not None:
            self._wake.set()

    async def run(self, interval: float) -> None:
        """Push due tickets every ``interval`` seconds, or at once when woken."""
        if self.pusher is None:
            return
        self._wake = asyncio.Event()
        while True:
            try:
                await self.push_due()
            except Exception:  # a failing round must not end the loop; the next one retries
                log.exception("helpdesk push round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()

    # -- Zammad's caller log -------------------------------------------------------------

    def call_event(
        self, event: str, call_id: str, caller: str | None, outcome: str | None = None
    ) -> None:
        """Tell the helpdesk's caller log about a call: ``newCall``, ``answer``, ``hangup``
        (with how the call ended), in the background (Zammad's CTI)."""
        if self.call_log is not None:
            self.call_log.event(event, call_id, caller, outcome)

    async def close(self) -> None:
        if self.call_log is not None:
            await self.call_log.idle()
            await self.call_log.close()
        for adapter in (self.directory, self.helpdesk):
            if adapter is not None:
                await adapter.close()
