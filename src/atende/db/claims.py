"""Claiming due rows of an outbox table (queued messages, tickets waiting for a helpdesk).

Several workers, in one process or in several processes and nodes, may look at the same due
rows; each row must be worked by one of them at a time. A claim bumps the row's attempt count
and leases it until ``now + lease``. The row also names its holder, the claiming process
(``processes.id``): when that process is found dead (see services.call_owners), what it held is
given back at once (:func:`release_held`); a row with no holder is claimed again when its lease
ends. Finishing a row (sent, linked, retry scheduled) clears its holder.

On PostgreSQL and MariaDB the due rows are read ``FOR UPDATE SKIP LOCKED`` and leased in the
same transaction: claimers running at once each get rows of their own (a row another claimer
holds is skipped, not waited for nor lost for this round). SQLite has no row locks; its
transactions are serialized (``BEGIN IMMEDIATE``), and the claim stays an optimistic update:
the attempt count read with the row is the version, the update that bumps it succeeds for one
worker only.
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
    holder: int | None = None,
) -> list[tuple[Row, int]]:
    """Claim up to ``limit`` rows of ``model`` that match ``waiting`` and are due at ``now``,
    oldest first, for process ``holder``; returns each claimed row with its new attempt
    count. Call it inside the transaction that works the claimed rows' data
    (``sessions.begin()``)."""
    table: Any = model  # the outbox tables share id, attempts and next_attempt_at columns
    due = (
        select(table)
        .where(waiting, table.next_attempt_at <= now)
        .order_by(table.next_attempt_at, table.id)
        .limit(limit)
    )
    lease_until = now + lease
    if session.get_bind().dialect.name != "sqlite":
        rows = session.scalars(due.with_for_update(skip_locked=True)).all()
        if rows:
            session.execute(
                update(table)
                .where(table.id.in_([row.id for row in rows]))
                .values(attempts=table.attempts + 1, next_attempt_at=lease_until, claimed_by=holder)
                .execution_options(synchronize_session=False)
            )
        return [(row, row.attempts + 1) for row in rows]
    claimed: list[tuple[Row, int]] = []
    for row in session.scalars(due).all():
        taken = session.execute(
            update(table)
            .where(table.id == row.id, waiting, table.attempts == row.attempts)
            .values(attempts=row.attempts + 1, next_attempt_at=lease_until, claimed_by=holder)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append((row, row.attempts + 1))
    return claimed


def release_held(
    session: Session, model: type[Row], holders: ColumnElement[bool], now: datetime
) -> int:
    """Make the rows of ``model`` still held by a process matching ``holders`` (a condition
    on the ``claimed_by`` column) due at ``now``; returns how many were given back."""
    table: Any = model
    released = session.execute(
        update(table)
        .where(holders)
        .values(claimed_by=None, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(released.rowcount)  # type: ignore[attr-defined]
