"""Tickets and the external helpdesk, in our own terms: the push outbox, status read-through,
and the helpdesk's caller log.

- ``status``: a ticket's status, read through from the external helpdesk at query time (within
  the ``ticket_status`` timeout, and not at all while its circuit breaker is open). What it
  says is mirrored into our ticket (a history entry by ``helpdesk:<kind>``) when our status
  rules allow the change, so the dashboard follows; when the helpdesk cannot answer, our own
  record, which holds the last status read, is the answer. Before the push links a ticket, our
  record is the only one and answers alone.
- the push outbox (:mod:`atende.services.helpdesk_push`) and its background loop;
- the helpdesk's caller log (Zammad's CTI), told of every call when configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from atende.connectors.breaker import CircuitBreaker
from atende.connectors.ports import CallLog, ConnectorError, ExternalRef, ExternalStatus, Helpdesk
from atende.db.models import ExternalTicket
from atende.domain.ticket_status import TicketStatus, can_change
from atende.runtime import Runtime
from atende.services.errors import ServiceError
from atende.services.helpdesk_push import TicketPusher, entry_of
from atende.services.tickets import TicketService, TicketView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatusAnswer:
    """What to tell about a ticket: its status, its number in the external helpdesk (once
    linked), and whether the helpdesk can report status at all (osTicket cannot)."""

    status: TicketStatus
    external_number: str | None = None
    readable: bool = True


class HelpdeskSync:
    def __init__(
        self,
        runtime: Runtime,
        tickets: TicketService,
        helpdesk: Helpdesk | None,
        call_log: CallLog | None = None,
    ) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.tickets = tickets
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
    def kind(self) -> str:
        return self.helpdesk.name if self.helpdesk is not None else "builtin"

    # -- tickets ----------------------------------------------------------------------------

    def link_of(self, ticket_id: int) -> ExternalTicket | None:
        with self.runtime.sessions() as session:
            return session.scalar(
                select(ExternalTicket).where(ExternalTicket.ticket_id == ticket_id)
            )

    async def status(self, ticket: TicketView) -> StatusAnswer:
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
        self, ticket: TicketView, link_id: int, external: ExternalStatus
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
            log.info("%s says %s; %s stays %s", self.kind, wanted, ticket.protocol, current)
            return wanted
        try:
            self.tickets.change(
                ticket.protocol,
                actor=f"helpdesk:{self.kind}",
                status=wanted,
                note=f"{self.kind}: {external.raw}",
            )
        except ServiceError as exc:  # changed meanwhile by someone else: theirs stands
            log.info("status of %s not mirrored: %s", ticket.protocol, exc.message)
        return wanted

    # -- the push loop ------------------------------------------------------------------------

    async def push_due(self, holder: int | None = None) -> int:
        return await self.pusher.push_due(holder=holder) if self.pusher is not None else 0

    def push_soon(self) -> None:
        """Wake the push loop (a ticket was just opened)."""
        if self._wake is not None:
            self._wake.set()

    async def run(self, interval: float, holder: int | None = None) -> None:
        """Push due tickets every ``interval`` seconds, or at once when woken; ``holder`` is
        this process's row in ``processes`` (see db.claims), if it has one."""
        if self.pusher is None:
            return
        self._wake = asyncio.Event()
        while True:
            try:
                await self.push_due(holder)
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
        if self.helpdesk is not None:
            await self.helpdesk.close()
