"""Periodic jobs that must run once for all processes and nodes (issue 12): of the processes
asking for a job's turn at once, exactly one gets it per period."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from atende.db.models import HousekeepingTurn
from atende.services.bundle import Services
from atende.services.housekeeping import Housekeeping

PROCESSES = 6
DAY = timedelta(days=1)


def turns_taken(services: Services, job: str, every: timedelta) -> list[str]:
    """Every process asks for ``job``'s turn at once; returns who got it."""
    ready = threading.Barrier(PROCESSES)

    def ask(n: int) -> str | None:
        ready.wait()
        taker = f"node-{n}:{1000 + n}"
        return taker if Housekeeping(services.runtime, taker).take_turn(job, every) else None

    with ThreadPoolExecutor(PROCESSES) as pool:
        answers = list(pool.map(ask, range(PROCESSES)))
    return [taker for taker in answers if taker is not None]


def test_one_process_takes_each_periods_turn(services: Services) -> None:
    runtime = services.runtime
    start = runtime.clock()
    runtime.clock = lambda: start
    assert len(turns_taken(services, "purge-codes", DAY)) == 1  # the first turn ever
    assert turns_taken(services, "purge-codes", DAY) == []  # not due again within the day
    assert len(turns_taken(services, "close-stale", DAY)) == 1  # jobs take turns apart

    later = start + DAY
    runtime.clock = lambda: later
    [winner] = turns_taken(services, "purge-codes", DAY)
    assert turns_taken(services, "purge-codes", DAY) == []
    with runtime.sessions() as session:
        row = session.get_one(HousekeepingTurn, "purge-codes")
        assert (row.taken_by, row.next_run_at) == (winner, later + DAY)
