"""Claimers running at once, as the processes of ``atende serve --workers N`` and other nodes
do, share the due rows of an outbox: in each round every due row is claimed, and by exactly
one of them (issue 12). On PostgreSQL and MariaDB a claimer skips the rows another one holds
instead of losing them for the round."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from atende.db.claims import claim_due
from atende.db.models import Message, utcnow
from atende.services.bundle import Services

CLAIMERS = 8
LIMIT = 5
ROWS = CLAIMERS * LIMIT
LEASE = timedelta(minutes=5)
HOLD_S = 5.0  # a claimer keeps its transaction open until all have claimed, at most this long


def queue_messages(services: Services, now: datetime) -> None:
    with services.runtime.sessions.begin() as session:
        for n in range(ROWS):
            session.add(
                Message(
                    channel="sms",
                    recipient=f"(**) *****-{n:04d}",
                    kind="protocol",
                    text="protocolo",
                    status="queued",
                    attempts=0,
                    next_attempt_at=now,
                )
            )


def claim_round(services: Services, now: datetime) -> list[tuple[int, int]]:
    """Every claimer claims at once, each in its own transaction; returns (id, attempts) of
    every claim made."""
    sessions = services.runtime.sessions
    # On a server database each claimer holds its rows while the others claim: the overlap of
    # several processes, made certain. SQLite's transactions run one at a time by design.
    hold = services.runtime.engine.dialect.name != "sqlite"
    start, claimed_all = threading.Barrier(CLAIMERS), threading.Barrier(CLAIMERS)

    def claimer() -> list[tuple[int, int]]:
        start.wait()
        with sessions.begin() as session:
            waiting = Message.status == "queued"
            taken = claim_due(session, Message, waiting, now, LEASE, LIMIT)
            if hold:
                # A claimer stuck behind this one's rows breaks the barrier: then go on.
                with contextlib.suppress(threading.BrokenBarrierError):
                    claimed_all.wait(HOLD_S)
            return [(row.id, attempts) for row, attempts in taken]

    with ThreadPoolExecutor(CLAIMERS) as pool:
        rounds = [pool.submit(claimer) for _ in range(CLAIMERS)]
        return [claim for future in rounds for claim in future.result()]


def test_concurrent_claimers_claim_every_due_row_exactly_once_per_round(
    services: Services,
) -> None:
    now = utcnow()
    queue_messages(services, now)
    for attempt in (1, 2):  # the second round comes once the first round's leases ran out
        claims = claim_round(services, now)
        assert len(claims) == ROWS
        per_row = Counter(row_id for row_id, _ in claims)
        assert set(per_row.values()) == {1}
        assert {attempts for _, attempts in claims} == {attempt}
        assert claim_round(services, now) == []  # leased: nothing is due until the lease ends
        now += LEASE + timedelta(seconds=1)
