"""Lookups that only read (a ticket, a person, a protocol, a page of tickets: the API's GETs
and the URA's lookups) do not wait for a transaction that is writing (issue 12: on SQLite they
queued behind every writer at the write gate)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from atende.db.models import Holiday
from atende.services.bundle import Services
from atende.services.people import PersonData
from atende.services.tickets import NewTicket, TicketFilter

PERSON = PersonData(code="1234", name="Maria da Silva", phone="(45) 99999-1234")


def test_reads_go_on_while_a_transaction_writes(services: Services) -> None:
    services.people.create(PERSON)
    ticket, _ = services.tickets.open(NewTicket(person_code=PERSON.code, item_id=1), "tests")
    protocol = services.protocols.issue(person_code=PERSON.code)
    read = while_a_transaction_writes(
        services,
        lambda: services.tickets.get(ticket.protocol),
        lambda: services.tickets.list(TicketFilter())[0],
        lambda: services.people.get(PERSON.code).code,
        lambda: services.protocols.get(protocol.number).number,
        lambda: services.tickets.find_for_person(ticket.protocol, PERSON.code),
    )
    assert read == [ticket, [ticket], PERSON.code, protocol.number, ticket]


def test_cache_loads_go_on_while_a_transaction_writes(services: Services) -> None:
    """What every call and every API request reads through the caches (catalog, hours, flow,
    token) is loaded, when the cache is empty, without waiting for a writer."""
    _, token = services.tokens.create("bench", ["read"])
    assert services.tokens.check(token, "127.0.0.1").token  # its last use is now recorded
    services.flows.resolve("ura", None)  # the shipped flows are published once per process
    services.runtime.changes.drop_all()  # the next reads load afresh
    read = while_a_transaction_writes(
        services,
        lambda: len(services.catalog.tree()) > 0,
        lambda: services.site.business_hours() is not None,
        lambda: services.flows.resolve("ura", None).name,
        lambda: services.tokens.check(token, "127.0.0.1").token is not None,
    )
    assert read == [True, True, services.runtime.settings.flow, True]


def while_a_transaction_writes(services: Services, *reads: Callable[[], object]) -> list[object]:
    """What ``reads`` return when run in another thread while this one's transaction holds
    the write lock; a read that waits for the writer is missing (5 s at most)."""
    read: list[object] = []

    def look_up() -> None:
        read.extend(one() for one in reads)

    with services.runtime.sessions.begin() as session:
        session.add(Holiday(day="2026-12-25", name="Natal"))
        session.flush()  # the writer holds its lock
        reader = threading.Thread(target=look_up, daemon=True)
        reader.start()
        reader.join(timeout=5)  # at the write gate, it would wait for this transaction's end
        return list(read)
