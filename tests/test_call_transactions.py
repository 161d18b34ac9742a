"""How many transactions the record of a call costs (issue 12): a complete open-ticket call
through the real FastAGI server keeps its bookkeeping (the call row, its steps, who called,
its end) to at most three transactions, whatever else the call does (the ticket's own)."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Engine, event

from atende.ivr import wiring
from atende.ivr.steps import StepWriter
from atende.services.bundle import Services
from atende.services.calls import Ended, Identified, NewCall, StepRecord, Surveyed
from test_ura_flow import open_ticket_script, tickets_of, with_demo
from ura_harness import ScriptedCaller, place_call, running_ura

MakeServices = Callable[..., Services]

# A statement that writes the call's own rows (not a ticket's ``call_id`` column).
CALL_WRITE = re.compile(r"^\s*(INSERT\s+INTO|UPDATE)\s+[`\"]?(calls|call_events)\b", re.I)


@contextmanager
def call_transactions(engine: Engine) -> Iterator[list[int]]:
    """Counts, per committed transaction on ``engine``, the statements writing a call's rows;
    yields the counts of the transactions that wrote any."""
    pending: dict[int, int] = {}
    committed: list[int] = []

    def executed(conn: Connection, _cursor: object, statement: str, *_: object) -> None:
        if CALL_WRITE.match(statement):
            pending[id(conn)] = pending.get(id(conn), 0) + 1

    def commit(conn: Connection) -> None:
        writes = pending.pop(id(conn), 0)
        if writes:
            committed.append(writes)

    def rollback(conn: Connection) -> None:
        pending.pop(id(conn), None)

    listeners = [
        ("before_cursor_execute", executed),
        ("commit", commit),
        ("rollback", rollback),
    ]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield committed
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


def test_an_open_ticket_call_records_itself_in_three_transactions(
    make_services: MakeServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The steps' group commit is timed (every 50 ms, shared by all the calls of the moment);
    # this lone call takes seconds (its speech is synthesized as it goes), which the timer
    # would cut into slices that, under load, other calls share. A timer about as long as
    # the call leaves what the call itself costs: its row and its end's batch (and at most
    # one timed batch on a slow machine).
    monkeypatch.setattr(wiring, "StepWriter", functools.partial(StepWriter, interval=5))
    services = with_demo(make_services)
    caller = ScriptedCaller(open_ticket_script(services))  # code, one-time code, ticket

    async def scenario() -> None:
        async with running_ura(services) as (server, _):
            fake = await place_call(server.port, caller, callerid="4533334444")
            assert fake.errors == [] and fake.hung_up_by == "server"

    with call_transactions(services.runtime.engine) as committed:
        asyncio.run(scenario())
    assert caller.unexpected == [] and caller.steps == []
    [ticket] = tickets_of(services, "1001")
    call = services.calls.list()[0]
    assert (call.outcome, call.person_id, ticket.call_id) == (
        "ticket_opened",
        ticket.person.id,
        call.id,
    )
    assert len(committed) <= 3, committed


def test_one_batch_changes_many_calls_and_an_ended_call_stays_as_it_ended(
    make_services: MakeServices,
) -> None:
    services = with_demo(make_services)
    calls = services.calls
    rita = services.people.get("1001")
    cut = calls.begin(NewCall("1795228819.1", "2001", "SIP/2001-1"))
    other = calls.begin(NewCall("1795228819.2", "2002", "SIP/2002-1"))
    early, late = datetime(2026, 12, 4, 12, 0, tzinfo=UTC), datetime(2026, 12, 4, 12, 5, tzinfo=UTC)
    calls.record_many([(cut, Ended("interrupted", early))])  # closed by a restart, say

    with call_transactions(services.runtime.engine) as committed:
        calls.record_many(
            [
                (cut, StepRecord("main_menu", late)),
                (other, StepRecord("main_menu", late)),
                (other, Identified(rita.id)),
                (other, Surveyed(4)),
                (cut, Ended("abandoned", late)),
                (other, Ended("declined", late)),
                (other, Ended("abandoned", late)),  # a call ends once
            ]
        )
    assert len(committed) == 1
    kept, ended = calls.get("1795228819.1"), calls.get("1795228819.2")
    assert (kept.outcome, kept.ended_at, kept.last_step) == ("interrupted", early, "main_menu")
    assert (ended.outcome, ended.ended_at, ended.person_id, ended.survey_score) == (
        "declined",
        late,
        rita.id,
        4,
    )
    assert [e.step for e in ended.events] == ["main_menu"]
