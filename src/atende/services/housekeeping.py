"""Turns for periodic jobs that must run once for all processes and nodes on one database.

With ``atende serve --workers N`` on several nodes, every process runs the same background
loops; a purge of expired codes, or the recovery of a dead process's calls, needs one of them
per period, not all. A job's row in ``housekeeping`` says when it is next due; taking a turn is
an update that only matches a due row and moves it a period ahead, so exactly one process wins
each period, whatever the database (SQLite, PostgreSQL, MariaDB). A winner that dies mid-job
leaves it to the next period's.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from atende.db.models import HousekeepingTurn
from atende.runtime import Runtime


class Housekeeping:
    def __init__(self, runtime: Runtime, taken_by: str) -> None:
        self.runtime = runtime
        self.taken_by = taken_by[:200]  # who took a turn: node:pid, for whoever reads the table

    def take_turn(self, job: str, every: timedelta) -> bool:
        """Whether this process runs ``job`` now: True for one caller per ``every``, across
        all processes and nodes (the first call ever for a job wins at once)."""
        now = self.runtime.clock()
        turn = {"next_run_at": now + every, "taken_by": self.taken_by}
        with self.runtime.sessions.begin() as session:
            taken = session.execute(
                update(HousekeepingTurn)
                .where(HousekeepingTurn.job == job, HousekeepingTurn.next_run_at <= now)
                .values(**turn)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return True
            if session.get(HousekeepingTurn, job) is not None:
                return False  # not due yet, or another process took this turn
        try:
            with self.runtime.sessions.begin() as session:
                session.add(HousekeepingTurn(job=job, **turn))
        except IntegrityError:
            return False  # another process took the first turn at the same time
        return True
