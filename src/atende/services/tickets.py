"""Opening, reading, listing and moving tickets, with their history and protocol numbers."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from atende.db.ids import is_row_id
from atende.db.models import Category, Item, Person, Ticket, TicketEvent
from atende.db.sequences import next_value
from atende.domain.ticket_status import ALLOWED_TRANSITIONS, TicketStatus, can_change
from atende.metrics import TICKETS_OPENED
from atende.runtime import Runtime
from atende.services.errors import Conflict, Invalid, NotFound
from atende.services.notifications import insert_ticket_protocol, queue_status_change
from atende.services.people import PersonView, read_people

CHANNELS = ("phone", "web", "api")
MAX_PAGE = 200


def issue_number(connection: Connection, runtime: Runtime) -> str:
    """The next protocol number, taken inside ``connection``'s transaction (see db.sequences)."""
    day = runtime.today()
    return runtime.scheme.format_number(
        day, next_value(connection, runtime.scheme.sequence_scope(day))
    )


@dataclass(frozen=True)
class TicketCategory:
    """The catalog category of a ticket's item, by name."""

    id: int
    name: str


@dataclass(frozen=True)
class TicketItem:
    """A ticket's catalog item, with its category: what the queue, the page and the API name."""

    id: int
    name: str
    category: TicketCategory

    @classmethod
    def of(cls, item: Item) -> TicketItem:
        return cls(item.id, item.name, TicketCategory(item.category.id, item.category.name))


@dataclass(frozen=True)
class TicketEventView:
    """One entry of a ticket's history: opened, a status change, an assignee or a note."""

    at: datetime
    actor: str
    from_status: str | None
    to_status: str
    note: str = field(repr=False)

    @classmethod
    def of(cls, event: TicketEvent) -> TicketEventView:
        return cls(event.at, event.actor, event.from_status, event.to_status, event.note)


@dataclass(frozen=True)
class TicketView:
    """A ticket as the service hands it to the phone ports, the API, the dashboard and the
    helpdesk sync: plain values read inside the session, never an ORM row. What the requester
    wrote stays out of ``repr`` (the person's view keeps their own data out)."""

    id: int
    protocol: str
    person: PersonView
    item: TicketItem
    description: str = field(repr=False)
    channel: str
    status: str
    assignee: str | None
    call_id: int | None
    created_at: datetime
    updated_at: datetime
    history: tuple[TicketEventView, ...]

    @classmethod
    def of(cls, ticket: Ticket) -> TicketView:
        return cls(
            id=ticket.id,
            protocol=ticket.protocol,
            person=PersonView.of(ticket.person),
            item=TicketItem.of(ticket.item),
            description=ticket.description,
            channel=ticket.channel,
            status=ticket.status,
            assignee=ticket.assignee,
            call_id=ticket.call_id,
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
            history=tuple(TicketEventView.of(event) for event in ticket.history),
        )


@dataclass
class NewTicket:
    person_code: str
    item_id: int
    description: str = ""
    channel: str = "api"
    call_id: int | None = None
    idempotency_key: str | None = None
    # Queue the protocol message to the requester in the ticket's own transaction (the phone:
    # whatever happens to the call after the ticket exists, the number reaches the person).
    send_protocol: bool = False
    protocol_message: str | None = None  # its text (with ``{protocol}``), else atende's


@dataclass
class TicketFilter:
    person_code: str | None = None
    status: TicketStatus | None = None
    item_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    limit: int = 50
    cursor: str | None = None


def encode_cursor(ticket_id: int) -> str:
    return base64.urlsafe_b64encode(str(ticket_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        ticket_id = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except ValueError:
        ticket_id = 0
    if not is_row_id(ticket_id):
        raise Invalid("cursor is not one this API gave", field="cursor")
    return ticket_id


TICKETS = cast(Table, Ticket.__table__)  # a declarative class maps a Table
EVENTS = cast(Table, TicketEvent.__table__)
ITEMS = cast(Table, Item.__table__)
CATEGORIES = cast(Table, Category.__table__)


# Built once: a statement built per call cost more than running it (issue 12).
FIND_KEY = select(TICKETS.c.id).where(TICKETS.c.idempotency_key == bindparam("key"))
FIND_ITEM = (
    select(ITEMS.c.id, ITEMS.c.name, CATEGORIES.c.id, CATEGORIES.c.name)
    .join(CATEGORIES, CATEGORIES.c.id == ITEMS.c.category_id)
    .where(ITEMS.c.id == bindparam("item"))
)
INSERT_TICKET = insert(TICKETS)
INSERT_EVENT = insert(EVENTS)


def _item(connection: Connection, item_id: int) -> TicketItem | None:
    """The catalog item ``item_id`` with its category, in one statement."""
    row = connection.execute(FIND_ITEM, {"item": item_id}).first()
    return TicketItem(row[0], row[1], TicketCategory(row[2], row[3])) if row else None


def ticket_row(
    new: NewTicket, protocol: str, person: PersonView, item: TicketItem, now: datetime
) -> dict[str, object]:
    """The ``tickets`` row of a ticket being opened (INSERT_TICKET's parameters)."""
    return {
        "protocol": protocol,
        "person_id": person.id,
        "item_id": item.id,
        "description": new.description,
        "channel": new.channel,
        "status": TicketStatus.OPEN.value,
        "call_id": new.call_id,
        "idempotency_key": new.idempotency_key,
        "created_at": now,
        "updated_at": now,
    }


def opened_ticket(
    ticket_id: int,
    new: NewTicket,
    protocol: str,
    person: PersonView,
    item: TicketItem,
    now: datetime,
    actor: str,
) -> TicketView:
    """The view of the ticket ``ticket_row`` inserted as ``ticket_id``, with its one event
    (``history[0]``: INSERT_EVENT's parameters)."""
    status = TicketStatus.OPEN.value
    opened = TicketEventView(at=now, actor=actor, from_status=None, to_status=status, note="opened")
    return TicketView(
        id=ticket_id,
        protocol=protocol,
        person=person,
        item=item,
        description=new.description,
        channel=new.channel,
        status=status,
        assignee=None,
        call_id=new.call_id,
        created_at=now,
        updated_at=now,
        history=(opened,),
    )


class TicketService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sessions = runtime.sessions
        self.reads = runtime.reads
        # Run inside the transaction that opens a ticket: the helpdesk push outbox (issue 5),
        # the call's recordings.
        self.after_insert: list[Callable[[Connection, TicketView], None]] = []

    def open(self, new: NewTicket, actor: str) -> tuple[TicketView, bool]:
        """Open a ticket; returns (ticket, created). A known idempotency key returns the
        ticket it made, provided the request is the same one.

        One transaction on SQLAlchemy Core: the key's lookup, the person and the item, the
        protocol number, the ticket and its first event, what ``after_insert`` adds and the
        protocol message. The ORM's unit of work cost most of the request (benchmarks/
        RESULTS.md, issue 12)."""
        if new.channel not in CHANNELS:
            raise Invalid(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
        try:
            with self.runtime.engine.begin() as connection:
                existing = self._by_key(connection, new.idempotency_key)
                if existing is None:
                    ticket = self._insert(connection, new, actor)
        except IntegrityError:
            # Two retries raced with one key: the other one won and its number is the ticket's.
            if not new.idempotency_key:
                raise
            with self.reads() as session:
                existing = self._by_key(session.connection(), new.idempotency_key)
            if existing is None:
                raise
        if existing is not None:
            return self._same_request(existing, new), False
        TICKETS_OPENED.labels(new.channel).inc()
        return ticket, True

    def _insert(self, connection: Connection, new: NewTicket, actor: str) -> TicketView:
        person = next(iter(read_people(connection, {"code": new.person_code})), None)
        if person is None:
            raise NotFound(f"no person with code {new.person_code}", field="person_code")
        if not person.active:
            raise Conflict("this person is deactivated", field="person_code")
        item = _item(connection, new.item_id)
        if item is None:
            raise NotFound(f"no catalog item {new.item_id}", field="item_id")
        now = self.runtime.clock().astimezone(UTC)  # as the database hands it back
        protocol = issue_number(connection, self.runtime)
        inserted = connection.execute(INSERT_TICKET, ticket_row(new, protocol, person, item, now))
        ticket_id = int(cast("tuple[int]", inserted.inserted_primary_key)[0])  # one row: a key
        ticket = opened_ticket(ticket_id, new, protocol, person, item, now, actor)
        connection.execute(
            INSERT_EVENT, {"ticket_id": ticket_id, **dataclasses.asdict(ticket.history[0])}
        )
        for hook in self.after_insert:
            hook(connection, ticket)
        if new.send_protocol:
            settings = self.runtime.settings
            insert_ticket_protocol(connection, ticket, settings, now, new.protocol_message)
        return ticket

    @staticmethod
    def _by_key(connection: Connection, key: str | None) -> TicketView | None:
        """The ticket opened with idempotency key ``key`` (a retry: rare, read on the ORM)."""
        ticket_id = connection.execute(FIND_KEY, {"key": key}).scalar() if key else None
        if ticket_id is None:
            return None
        with Session(connection) as session:
            return TicketView.of(session.get_one(Ticket, ticket_id))

    @staticmethod
    def _same_request(ticket: TicketView, new: NewTicket) -> TicketView:
        if (ticket.person.code, ticket.item.id, ticket.description, ticket.channel) != (
            new.person_code,
            new.item_id,
            new.description,
            new.channel,
        ):
            raise Conflict(
                "this Idempotency-Key was used for a different ticket", field="Idempotency-Key"
            )
        return ticket

    def get(self, protocol: str) -> TicketView:
        with self.reads() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.protocol == protocol))
            if ticket is None:
                raise NotFound(f"no ticket with protocol {protocol}", field="protocol")
            return TicketView.of(ticket)

    def find_for_person(self, protocol: str, person_code: str) -> TicketView | None:
        """The ticket if it exists and belongs to that person; None in both other cases, so a
        caller can never learn that someone else's number exists."""
        if not self.runtime.scheme.looks_valid(protocol):
            return None
        try:
            ticket = self.get(protocol)
        except NotFound:
            return None
        return ticket if ticket.person.code == person_code else None

    def list(self, filters: TicketFilter) -> tuple[list[TicketView], str | None]:
        limit = max(1, min(filters.limit, MAX_PAGE))
        query = select(Ticket).order_by(Ticket.id.desc()).limit(limit + 1)
        if filters.person_code:
            query = query.join(Person, Ticket.person_id == Person.id).where(
                Person.code == filters.person_code
            )
        if filters.status:
            query = query.where(Ticket.status == filters.status.value)
        if filters.item_id:
            query = query.where(Ticket.item_id == filters.item_id)
        if filters.created_from:
            query = query.where(Ticket.created_at >= filters.created_from)
        if filters.created_to:
            query = query.where(Ticket.created_at < filters.created_to)
        if filters.cursor:
            query = query.where(Ticket.id < decode_cursor(filters.cursor))
        with self.reads() as session:
            rows = [TicketView.of(ticket) for ticket in session.scalars(query).unique()]
        next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
        return rows[:limit], next_cursor

    def change(
        self,
        protocol: str,
        *,
        actor: str,
        status: TicketStatus | None = None,
        note: str = "",
        assignee: str | None = None,
    ) -> TicketView:
        with self.sessions.begin() as session:
            ticket = session.scalar(
                select(Ticket)
                .options(lazyload(Ticket.person), lazyload(Ticket.item))  # lock tickets only
                .where(Ticket.protocol == protocol)
                .with_for_update()
            )
            if ticket is None:
                raise NotFound(f"no ticket with protocol {protocol}", field="protocol")
            current = TicketStatus(ticket.status)
            if status is not None and status != current and not can_change(current, status):
                allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[current])) or "none"
                raise Conflict(
                    f"a ticket {current.value} cannot become {status.value} (allowed: {allowed})",
                    field="status",
                )
            if status is None and assignee is None and not note:
                raise Invalid("nothing to change: give status, assignee or note", field="status")
            now = self.runtime.clock()
            if assignee is not None:
                ticket.assignee = assignee or None
            new_status = status or current
            ticket.status = new_status.value
            ticket.updated_at = now
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    at=now,
                    actor=actor,
                    from_status=current.value,
                    to_status=new_status.value,
                    note=note if assignee is None else (note or f"assignee: {assignee or '-'}"),
                )
            )
            if new_status != current:  # the requester hears of it: same transaction, not lost
                queue_status_change(session, ticket, new_status, self.runtime.settings, now)
        return self.get(protocol)
