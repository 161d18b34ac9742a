"""Claiming due rows of an outbox table (queued messages, tickets waiting for a helpdesk).

Several workers, in one process or in several, may look at the same due rows; each row must
be worked by one of them at a time. A claim is an optimistic update: the attempt count read
with the row is the version, the update that bumps it (and leases the row until
``now + lease``) succeeds for one worker only. A worker that dies leaves the row to be
claimed again when its lease ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

Row = TypeVar("Row")


def claim_due(
    session: Session,
    model: type[Row],
    waiting: ColumnElement[bool],
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[tuple[Row, int]]:
    """Claim up to ``limit`` rows of ``model`` that match ``waiting`` and are due at ``now``,
    oldest first; returns each claimed row with its new attempt count."""
    table: Any = model  # the outbox tables share id, attempts and next_attempt_at columns
    due = session.scalars(
        select(table)
        .where(waiting, table.next_attempt_at <= now)
        .order_by(table.next_attempt_at, table.id)
        .limit(limit)
    ).all()
    claimed: list[tuple[Row, int]] = []
    for row in due:
        taken = session.execute(
            update(table)
            .where(table.id == row.id, waiting, table.attempts == row.attempts)
            .values(attempts=row.attempts + 1, next_attempt_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append((row, row.attempts + 1))
    return claimed
