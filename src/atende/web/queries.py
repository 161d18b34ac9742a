"""The dashboard's list queries: tickets and calls with the filters of its pages.

They read only, with filters the REST API does not offer (category, channel, a search by
protocol or name, local dates), so they live beside the pages rather than in the services
shared with the phone flow. Dates are local calendar days in ``ATENDE_TIMEZONE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from atende.db.ids import is_row_id
from atende.db.models import Call, Item, Message, Person, Ticket
from atende.domain.digits import is_digits, only_digits
from atende.runtime import Runtime
from atende.services.calls import CallView
from atende.services.people import PersonView
from atende.services.tickets import TicketView

Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])

PAGE = 100


def parse_day(value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` form value, or None when empty or not a date."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def parse_id(value: str | None) -> int | None:
    """A row id typed in a filter, or None when empty or not one (too big included)."""
    number = int(value) if value and is_digits(value) else None
    return number if number is not None and is_row_id(number) else None


def _within(
    query: Q,
    column: InstrumentedAttribute[datetime],
    runtime: Runtime,
    first: date | None,
    last: date | None,
) -> Q:
    """``query`` limited to rows whose ``column`` falls from local day ``first`` to ``last``."""
    if first:
        query = query.where(column >= datetime.combine(first, time(), runtime.zone))
    if last:
        query = query.where(
            column < datetime.combine(last + timedelta(days=1), time(), runtime.zone)
        )
    return query


@dataclass(frozen=True)
class TicketQuery:
    status: str = ""
    category_id: int | None = None
    item_id: int | None = None
    person_code: str = ""
    first_day: date | None = None
    last_day: date | None = None
    channel: str = ""
    search: str = ""

    def statement(self, runtime: Runtime) -> Select[Ticket]:
        query = (
            select(Ticket)
            .join(Person, Ticket.person_id == Person.id)
            .join(Item, Ticket.item_id == Item.id)
            .order_by(Ticket.id.desc())
        )
        if self.status:
            query = query.where(Ticket.status == self.status)
        if self.category_id:
            query = query.where(Item.category_id == self.category_id)
        if self.item_id:
            query = query.where(Ticket.item_id == self.item_id)
        if self.person_code:
            query = query.where(Person.code == self.person_code)
        if self.channel:
            query = query.where(Ticket.channel == self.channel)
        query = _within(query, Ticket.created_at, runtime, self.first_day, self.last_day)
        words = self.search.strip()
        if words:
            digits = only_digits(words)
            by_name = func.lower(Person.name).contains(words.lower(), autoescape=True)
            query = query.where(
                or_(Ticket.protocol.startswith(digits, autoescape=True), by_name)
                if digits and digits == words.replace(" ", "").replace("-", "")
                else by_name
            )
        return query

    def run(self, runtime: Runtime, limit: int = PAGE) -> list[TicketView]:
        with runtime.sessions() as session:
            rows = session.scalars(self.statement(runtime).limit(limit)).unique()
            return [TicketView.of(ticket) for ticket in rows]


def ticket_messages(runtime: Runtime, ticket_id: int) -> list[Message]:
    """The messages sent to the requester about this ticket, oldest first."""
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)
            )
        )


def ticket_call(runtime: Runtime, call_id: int | None) -> CallView | None:
    if call_id is None:
        return None
    with runtime.sessions() as session:
        call = session.get(Call, call_id)
        return CallView.of(call) if call is not None else None


@dataclass(frozen=True)
class CallQuery:
    outcome: str = ""
    first_day: date | None = None
    last_day: date | None = None
    caller: str = ""

    def run(self, runtime: Runtime, limit: int = PAGE) -> list[tuple[CallView, PersonView | None]]:
        query = (
            select(Call, Person)
            .outerjoin(Person, Call.person_id == Person.id)
            .order_by(Call.id.desc())
            .limit(limit)
        )
        if self.outcome:
            query = query.where(Call.outcome == self.outcome)
        if self.caller:
            query = query.where(Call.caller_id.contains(self.caller, autoescape=True))
        query = _within(query, Call.started_at, runtime, self.first_day, self.last_day)
        with runtime.sessions() as session:
            return [
                (CallView.of(call), _view(person))
                for call, person in session.execute(query).unique()
            ]


def call_with_tickets(
    runtime: Runtime, uniqueid: str
) -> tuple[CallView, PersonView | None, list[TicketView]]:
    """A call, who it was, and the tickets it opened; LookupError when unknown."""
    with runtime.sessions() as session:
        call = session.scalar(select(Call).where(Call.uniqueid == uniqueid))
        if call is None:
            raise LookupError(uniqueid)
        person = session.get(Person, call.person_id) if call.person_id else None
        tickets = session.scalars(select(Ticket).where(Ticket.call_id == call.id)).unique()
        return CallView.of(call), _view(person), [TicketView.of(ticket) for ticket in tickets]


def _view(person: Person | None) -> PersonView | None:
    return PersonView.of(person) if person is not None else None


def people(runtime: Runtime, search: str = "", limit: int = PAGE) -> list[Person]:
    """People by name or code (all when ``search`` is empty), by name."""
    query = select(Person).order_by(Person.name).limit(limit)
    words = search.strip().lower()
    if words:
        query = query.where(
            or_(Person.code == words, func.lower(Person.name).contains(words, autoescape=True))
        )
    with runtime.sessions() as session:
        return list(session.scalars(query).unique())
