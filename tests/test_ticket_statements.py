"""Opening a ticket is one transaction of a few statements (issue 12): the idempotency key's
lookup, the person, the item, the protocol number, the ticket, its first event and what the
ticket brings along (the helpdesk push, the call's recordings, the protocol message), counted
with SQLAlchemy's events on every database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import Connection, Engine, event, select

from atende.db.models import Call, ExternalTicket, Message, Recording
from atende.services.bundle import Services
from atende.services.people import PersonData
from atende.services.tickets import NewTicket

PERSON = PersonData(code="1234", name="Maria da Silva", phone="(45) 99999-1234")
ITEM = 1


@dataclass
class Transactions:
    """The statements the engine ran, by transaction (BEGINs left out: SQLite's are explicit)."""

    each: list[list[str]] = field(default_factory=list)
    _open: dict[int, list[str]] = field(default_factory=dict)

    def begin(self, connection: Connection) -> None:
        self._open[id(connection)] = statements = []
        self.each.append(statements)

    def statement(self, connection: Connection, _cursor: object, sql: str, *_: object) -> None:
        if not sql.lstrip().upper().startswith("BEGIN"):
            self._open.setdefault(id(connection), []).append(sql)

    def apart_from_authentication(self) -> list[list[str]]:
        """All but the token check's (its cache is another change of issue 12)."""
        return [t for t in self.each if not all("api_tokens" in sql for sql in t)]


@contextmanager
def counted(engine: Engine) -> Iterator[Transactions]:
    seen = Transactions()
    event.listen(engine, "begin", seen.begin)
    event.listen(engine, "before_cursor_execute", seen.statement)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", seen.statement)
        event.remove(engine, "begin", seen.begin)


def ceiling(engine: Engine, statements: int) -> int:
    """MariaDB reads the protocol counter back after bumping it: one statement more."""
    return statements + (engine.dialect.name in ("mysql", "mariadb"))


def test_one_api_ticket_is_one_transaction(services: Services, api: httpx.Client) -> None:
    services.people.create(PERSON)
    body = {"person_code": PERSON.code, "item_id": ITEM, "description": "Sala 3"}
    assert api.post("/api/v1/tickets", json=body).status_code == 201  # the token is now fresh
    engine = services.runtime.engine

    with counted(engine) as seen:
        response = api.post("/api/v1/tickets", json=body, headers={"Idempotency-Key": "k-1"})

    assert response.status_code == 201, response.text
    transactions = seen.apart_from_authentication()
    assert len(transactions) == 1, transactions
    # key, person with extensions, item with category, counter, ticket, event
    assert len(transactions[0]) <= ceiling(engine, 6), transactions[0]


def test_a_phone_ticket_and_all_it_brings_is_one_transaction(
    make_services: Callable[..., Services],
) -> None:
    services = make_services(
        helpdesk="glpi",
        helpdesk_url="http://127.0.0.1:9",  # never called: the push only waits in the outbox
        helpdesk_token="user",
        glpi_app_token="app",
    )
    services.people.create(PERSON)
    runtime = services.runtime
    with runtime.sessions.begin() as session:
        call = Call(uniqueid="1795.1", caller_id="2001", started_at=datetime.now(UTC))
        session.add(call)
        session.flush()
        session.add(Recording(call_id=call.id, file="said.wav", created_at=datetime.now(UTC)))
    new = NewTicket(
        person_code=PERSON.code,
        item_id=ITEM,
        channel="phone",
        call_id=call.id,
        idempotency_key="call-1795.1",
        send_protocol=True,
    )

    with counted(runtime.engine) as seen:
        ticket, created = services.tickets.open(new, actor="ura")

    assert created
    assert len(seen.each) == 1, seen.each
    # the above, then the helpdesk push, the recordings and the protocol message
    assert len(seen.each[0]) <= ceiling(runtime.engine, 9), seen.each[0]
    with runtime.reads() as session:
        assert session.scalars(select(Message.ticket_id)).all() == [ticket.id]
        assert session.scalars(select(ExternalTicket.ticket_id)).all() == [ticket.id]
        assert session.scalars(select(Recording.ticket_id)).all() == [ticket.id]
    assert services.tickets.open(new, actor="ura") == (ticket, False)
