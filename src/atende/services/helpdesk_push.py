"""The ticket push outbox: every ticket opened while an external helpdesk is configured gets an
``external_tickets`` row in the same transaction, and this worker sends it there.

Nothing is lost when the helpdesk is slow or down: a failed attempt is retried with growing
delays (10 s doubling to 15 min, for as long as it takes), the circuit breaker stops calls to a
helpdesk that keeps failing, and only an answer saying the ticket itself is wrong (a 4xx) ends
the retries, with the error kept for the dashboard. Each row is sent under an idempotency key
(derived from our protocol); before trying again after a failure the worker asks the helpdesk
whether an earlier attempt went through after all (its answer lost on the way), so a ticket
ends up there exactly once. Rows are claimed by bumping their attempt count, as messages are
(see messaging.messenger), so several processes may push at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Table, insert, update
from sqlalchemy.orm import Session, sessionmaker

from atende.connectors.breaker import CircuitBreaker
from atende.connectors.ports import (
    ConnectorError,
    DirectoryEntry,
    ExternalRef,
    Helpdesk,
    TicketDraft,
)
from atende.db.claims import claim_due
from atende.db.models import ExternalTicket, Person, Ticket
from atende.services.people import PersonView
from atende.services.tickets import TicketView

log = logging.getLogger(__name__)

PENDING, LINKED, FAILED = "pending", "linked", "failed"
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(minutes=15)
LEASE = timedelta(minutes=5)
INSERT_PUSH = insert(cast(Table, ExternalTicket.__table__))  # built once (a declarative Table)


def idempotency_key(protocol: str) -> str:
    return f"atende-{protocol}"


def entry_of(person: Person | PersonView) -> DirectoryEntry:
    """A person of ours as the ports describe people."""
    return DirectoryEntry(
        code=person.code,
        name=person.name,
        phone=person.phone,
        email=person.email,
        card_number=person.card_number,
    )


def retry_delay(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: 10 s, 20 s, 40 s... at most 15 min."""
    return min(FIRST_RETRY * (1 << max(attempts - 1, 0)), MAX_RETRY)


@dataclass(frozen=True)
class Claimed:
    row_id: int
    attempts: int
    draft: TicketDraft


class TicketPusher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        helpdesk: Helpdesk,
        breaker: CircuitBreaker,
        clock: Callable[[], datetime],
        category_refs: dict[str, str],
    ) -> None:
        self.sessions = sessions
        self.helpdesk = helpdesk
        self.breaker = breaker
        self.clock = clock
        self.category_refs = category_refs

    def enqueue(self, connection: Connection, ticket: TicketView) -> None:
        """Insert the outbox row for a ticket being opened (inside its transaction)."""
        now = self.clock()
        connection.execute(
            INSERT_PUSH,
            {
                "ticket_id": ticket.id,
                "system": self.helpdesk.name,
                "idempotency_key": idempotency_key(ticket.protocol),
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )

    async def push_due(self, limit: int = 50, holder: int | None = None) -> int:
        """Send the rows whose time has come, claimed for process ``holder`` (see db.claims);
        returns how many got linked."""
        if not self.breaker.allows():
            return 0
        claimed = await asyncio.to_thread(self._claim_due, limit, holder)
        linked = 0
        for position, row in enumerate(claimed):
            if not self.breaker.allows():
                # The helpdesk went down during this round: the rest wait for the breaker.
                await asyncio.to_thread(self._release, claimed[position:])
                break
            linked += await self._push(row)
        return linked

    async def _push(self, row: Claimed) -> int:
        try:
            ref = await self.helpdesk.find_ticket(row.draft) if row.attempts > 1 else None
            ref = ref or await self.helpdesk.open_ticket(row.draft)
        except ConnectorError as exc:
            if exc.retryable:
                self.breaker.failed()
            else:
                self.breaker.succeeded()  # it answered: the system is up, this ticket is wrong
            await asyncio.to_thread(self._failed, row, str(exc), exc.retryable)
            return 0
        except Exception as exc:  # an adapter bug must not stop the outbox: retried later
            log.exception("push of ticket %s failed", row.draft.protocol)
            await asyncio.to_thread(self._failed, row, type(exc).__name__, True)
            return 0
        self.breaker.succeeded()
        await asyncio.to_thread(self._link, row, ref)
        log.info(
            "ticket %s is %s %s (attempt %d)",
            row.draft.protocol,
            self.helpdesk.name,
            ref.number,
            row.attempts,
        )
        return 1

    def _claim_due(self, limit: int, holder: int | None) -> list[Claimed]:
        now = self.clock()
        claimed: list[Claimed] = []
        with self.sessions.begin() as session:
            waiting = ExternalTicket.state == PENDING
            for row, attempts in claim_due(
                session, ExternalTicket, waiting, now, LEASE, limit, holder
            ):
                ticket = session.get_one(Ticket, row.ticket_id)
                claimed.append(Claimed(row.id, attempts, self.draft(ticket, row)))
        return claimed

    def draft(self, ticket: Ticket, row: ExternalTicket) -> TicketDraft:
        item = ticket.item
        menu_path = f"{item.category.key}.{item.key}"
        return TicketDraft(
            protocol=ticket.protocol,
            idempotency_key=row.idempotency_key,
            person=entry_of(ticket.person),
            category=item.category.name,
            item=item.name,
            menu_path=menu_path,
            category_ref=self.category_refs.get(menu_path),
            description=ticket.description,
            channel=ticket.channel,
            opened_at=ticket.created_at,
        )

    def _set(self, row_id: int, **values: object) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(ExternalTicket)
                .where(ExternalTicket.id == row_id)
                .values(claimed_by=None, **values)
            )

    def _link(self, row: Claimed, ref: ExternalRef) -> None:
        self._set(
            row.row_id,
            state=LINKED,
            external_id=ref.id,
            external_ref=ref.number,
            next_attempt_at=None,
            linked_at=self.clock(),
            error=None,
        )

    def _failed(self, row: Claimed, error: str, retryable: bool) -> None:
        if retryable:
            later = self.clock() + retry_delay(row.attempts)
            self._set(row.row_id, error=error, next_attempt_at=later)
            log.warning("ticket %s not pushed yet: %s", row.draft.protocol, error)
        else:
            self._set(row.row_id, state=FAILED, error=error, next_attempt_at=None)
            log.error("ticket %s refused by %s: %s", row.draft.protocol, self.helpdesk.name, error)

    def _release(self, rows: list[Claimed]) -> None:
        """Give back claimed rows not tried: due again when the breaker allows a trial."""
        later = self.clock() + timedelta(seconds=self.breaker.retry_in())
        for row in rows:
            self._set(row.row_id, attempts=row.attempts - 1, next_attempt_at=later)

    def retry_failed(self) -> int:
        """Put refused rows back in the queue (after the integrator fixed the mapping)."""
        with self.sessions.begin() as session:
            result = session.execute(
                update(ExternalTicket)
                .where(ExternalTicket.state == FAILED)
                .values(state=PENDING, next_attempt_at=self.clock(), error=None)
            )
            return int(cast("CursorResult[Any]", result).rowcount)  # an UPDATE's result
