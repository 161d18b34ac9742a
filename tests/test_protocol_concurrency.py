"""Protocol numbers stay unique and gap-free when several OS processes open tickets at once.

The counter in ``atende.db.sequences`` relies on the database's row lock, not on any lock in
Python, so the only honest test is several real processes (``spawn``, as a second FastAGI host
or the CLI would be) hammering one shared database: the SQLite file, and PostgreSQL / MariaDB
when their URLs are set (see conftest). A rolled-back ticket must give its number back too:
a regulator reads a hole in the sequence as a lost request.
"""

from __future__ import annotations

import multiprocessing
import pathlib
import queue
import traceback
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from atende.bootstrap import build_services
from atende.config import Settings
from atende.db.models import Item, Ticket, TicketEvent
from atende.domain.protocol_numbers import ProtocolFormat, ProtocolScheme, luhn_valid
from atende.runtime import Runtime, build_runtime
from atende.services.bundle import Services
from atende.services.errors import NotFound
from atende.services.people import PersonData
from atende.services.tickets import NewTicket

PROCESSES = 4
TICKETS_PER_PROCESS = 50
ANS_REGISTRATION = "123456"
# One fixed instant for every process, so a run across midnight cannot split the daily counter;
# noon UTC is the same calendar day in every zone from UTC-12 to UTC+11.
NOW = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
DAY = "20260317"
PERSON_CODE = "9001"
WAIT_SECONDS = 120


def _settings(database_url: str, data_dir: str, protocol_format: ProtocolFormat) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        protocol_format=protocol_format,
        ans_registration=ANS_REGISTRATION,
    )


def _open_many(
    database_url: str,
    data_dir: str,
    protocol_format: ProtocolFormat,
    item_id: int,
    worker: int,
    start: Barrier,
    results: multiprocessing.Queue[tuple[int, list[str], str | None]],
) -> None:
    """One child process: its own engine and services, then tickets as fast as it can."""
    protocols: list[str] = []
    error: str | None = None
    runtime: Runtime | None = None
    try:
        runtime = build_runtime(_settings(database_url, data_dir, protocol_format))
        runtime.clock = lambda: NOW
        services = build_services(runtime)
        start.wait(timeout=WAIT_SECONDS)  # everyone starts together, or the race is mild
        for n in range(TICKETS_PER_PROCESS):
            new = NewTicket(PERSON_CODE, item_id, description=f"worker {worker} #{n}")
            ticket, created = services.tickets.open(new, actor=f"test:worker{worker}")
            assert created
            protocols.append(ticket.protocol)
    except BaseException:
        error = traceback.format_exc()
    finally:
        if runtime is not None:
            runtime.engine.dispose()
        results.put((worker, protocols, error))


def _sequence_part(scheme: ProtocolScheme, protocol: str) -> int:
    """The counter value inside a number, after checking the layout around it."""
    if scheme.format == "ans":
        assert len(protocol) == 20 and protocol.isdigit(), protocol
        assert protocol[:6] == ANS_REGISTRATION, protocol
        assert protocol[6:14] == DAY, protocol
        return int(protocol[14:])
    assert len(protocol) == 4 + 6 + 1 and protocol.isdigit(), protocol
    assert protocol[:4] == DAY[:4], protocol
    assert luhn_valid(protocol), protocol
    return int(protocol[4:-1])


def _first_item(services: Services) -> int:
    with services.runtime.sessions() as session:
        return int(session.scalar(select(func.min(Item.id))) or 0)


@pytest.fixture
def person(services: Services) -> str:
    """The caller every ticket is for, created once in the parent (after the runtime reset)."""
    services.people.create(PersonData(code=PERSON_CODE, name="Concorrência da Silva"))
    return PERSON_CODE


@pytest.mark.slow
@pytest.mark.parametrize("protocol_format", ["ans", "helpdesk"])
def test_processes_racing_get_unique_gap_free_numbers(
    protocol_format: ProtocolFormat,
    database_url: str,
    services: Services,
    person: str,
    tmp_path: pathlib.Path,
) -> None:
    item_id = _first_item(services)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    results: multiprocessing.Queue[tuple[int, list[str], str | None]] = context.Queue()
    workers = [
        context.Process(
            target=_open_many,
            args=(database_url, str(tmp_path), protocol_format, item_id, n, start, results),
            daemon=True,
        )
        for n in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    outcomes: dict[int, tuple[list[str], str | None]] = {}
    try:
        for _ in workers:
            worker, protocols, error = results.get(timeout=WAIT_SECONDS)
            outcomes[worker] = (protocols, error)
    except queue.Empty:
        pytest.fail(f"only {len(outcomes)} of {PROCESSES} workers reported back")
    finally:
        for process in workers:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()

    errors = {w: e for w, (_, e) in outcomes.items() if e}
    assert not errors, "\n".join(f"worker {w}:\n{e}" for w, e in errors.items())
    issued = [p for protocols, _ in outcomes.values() for p in protocols]
    total = PROCESSES * TICKETS_PER_PROCESS
    assert len(issued) == total
    assert len(set(issued)) == total, "a protocol number was issued twice"

    scheme = ProtocolScheme(format=protocol_format, ans_registration=ANS_REGISTRATION)
    assert sorted(_sequence_part(scheme, p) for p in issued) == list(range(1, total + 1))
    for protocols, _ in outcomes.values():  # each process saw its own numbers rise
        sequences = [_sequence_part(scheme, p) for p in protocols]
        assert sequences == sorted(sequences)

    with services.runtime.sessions() as session:
        stored = set(session.scalars(select(Ticket.protocol)))
        events = session.scalar(select(func.count()).select_from(TicketEvent))
    assert stored == set(issued), "every ticket a worker was told about is in the database"
    assert events == total, "every ticket has its 'opened' event"


@pytest.mark.parametrize("protocol_format", ["ans", "helpdesk"])
def test_failed_open_leaves_no_gap(
    protocol_format: ProtocolFormat, database_url: str, services: Services, person: str
) -> None:
    runtime = build_runtime(
        _settings(database_url, str(services.runtime.settings.data_dir), protocol_format),
        engine=services.runtime.engine,
    )
    runtime.clock = lambda: NOW
    tickets = build_services(runtime).tickets
    scheme = runtime.scheme
    item_id = _first_item(services)

    def sequence_of_next() -> int:
        ticket, _ = tickets.open(NewTicket(PERSON_CODE, item_id), actor="test")
        return _sequence_part(scheme, ticket.protocol)

    assert sequence_of_next() == 1

    # Checked before a number is taken: nothing to give back.
    with pytest.raises(NotFound):
        tickets.open(NewTicket(PERSON_CODE, item_id + 10_000), actor="test")
    assert sequence_of_next() == 2

    # Fails at the INSERT, after issue_number bumped the counter: the rollback must undo it.
    with pytest.raises(IntegrityError):
        tickets.open(NewTicket(PERSON_CODE, item_id, call_id=987_654), actor="test")
    assert sequence_of_next() == 3

    # Twice in a row, then again: still no hole.
    for _ in range(2):
        with pytest.raises(IntegrityError):
            tickets.open(NewTicket(PERSON_CODE, item_id, call_id=987_654), actor="test")
    assert sequence_of_next() == 4

    with runtime.sessions() as session:
        stored = [_sequence_part(scheme, p) for p in session.scalars(select(Ticket.protocol))]
    assert sorted(stored) == [1, 2, 3, 4]
