"""Which process serves each call, and closing the calls of a process that died.

Every process that takes calls registers a row in ``processes`` and owns the calls it starts;
it beats (refreshes ``heartbeat_at``) every few seconds. A process killed without a chance to
end its calls (kill -9, a crash, power loss) leaves them open, so:

- at start, a process closes at once the calls of the earlier runs of its own node (same
  ``ATENDE_NODE_NAME``, by default the host name) whose process id no longer runs here;
- at every beat, it closes the calls of any process whose heartbeat is older than
  ``ATENDE_OWNER_STALE_AFTER`` (another node that died). A live owner's calls are never touched.

Closing a call ends it ``interrupted`` (``ticket_opened`` when it opened a ticket) with its
last step kept, and queues the protocol message of any ticket the call opened that has none.
Each call is closed in its own transaction by an update that only matches an open call, so
when several processes recover at once exactly one closes it and queues its messages. The
outbox rows (queued messages, helpdesk pushes) a dead process had claimed are given back at
the same points, due at once (see db.claims).

The same rows keep SQLite to one process (issue 12): SQLite is the embedded store of a single
node, so a process registering on a SQLite database refuses to run beside a live one, that is,
one with a fresh heartbeat on another node (a file shared over the network), or a running
process of this node, except a fellow worker of the same ``atende serve --workers N``
(same node, same supervisor). The check and the registration are one ``BEGIN IMMEDIATE``
transaction, so two processes starting at once cannot both pass it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, exists, func, select, update
from sqlalchemy.orm import Session

from atende.db.claims import release_held
from atende.db.models import Call, CallEvent, ExternalTicket, Message, Process, Ticket
from atende.runtime import Runtime
from atende.services.calls import Outcome
from atende.services.notifications import insert_ticket_protocol
from atende.services.tickets import TicketView

log = logging.getLogger(__name__)

INTERRUPTED_STEP = "interrupted"


def pid_running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (other than this very process)."""
    if pid == os.getpid():
        return False  # a container restarts with the same pid: that earlier run is gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


@dataclass(eq=False)
class DatabaseInUse(Exception):
    """A live process already serves calls from this SQLite database."""

    node: str
    pid: int
    seen_s_ago: float  # since its last heartbeat
    same_node: bool

    def __str__(self) -> str:
        where = "this node" if self.same_node else "another node"
        return (
            f"the SQLite database is in use by atende on {where}, {self.node} (pid {self.pid},"
            f" last heartbeat {self.seen_s_ago:.0f} s ago); SQLite serves one process: stop"
            " that one first, or share PostgreSQL (ATENDE_DATABASE_URL) to run several"
        )


class CallOwners:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sessions = runtime.sessions
        self.stale_after = timedelta(seconds=runtime.settings.owner_stale_after)

    def register(
        self,
        node: str,
        pid: int,
        *,
        supervisor_pid: int | None = None,
        alone_on_sqlite: bool = False,
        running: Callable[[int], bool] = pid_running,
    ) -> int:
        """A row for this process start; returns its id, the owner of the calls it takes.
        ``supervisor_pid``: the ``atende serve --workers N`` this process is a worker of.

        With ``alone_on_sqlite``, on a SQLite database, raises :class:`DatabaseInUse` instead
        when another process is live (see the module's docstring)."""
        now = self.runtime.clock()
        with self.sessions.begin() as session:
            if alone_on_sqlite and self.runtime.engine.dialect.name == "sqlite":
                self._refuse_if_in_use(session, node, supervisor_pid, now, running)
            process = Process(
                node=node,
                pid=pid,
                supervisor_pid=supervisor_pid,
                started_at=now,
                heartbeat_at=now,
            )
            session.add(process)
            session.flush()
            return process.id

    def _refuse_if_in_use(
        self,
        session: Session,
        node: str,
        supervisor_pid: int | None,
        now: datetime,
        running: Callable[[int], bool],
    ) -> None:
        fresh = session.execute(
            select(Process.node, Process.pid, Process.supervisor_pid, Process.heartbeat_at)
            .where(Process.heartbeat_at >= now - self.stale_after)
            .order_by(Process.heartbeat_at.desc())
        ).all()
        for other_node, other_pid, other_supervisor, heartbeat_at in fresh:
            same_node = other_node == node
            if same_node and supervisor_pid is not None and other_supervisor == supervisor_pid:
                continue  # a fellow worker of this process's supervisor
            if not same_node or running(other_pid):  # this node's dead runs are not in use
                seen = (now - heartbeat_at).total_seconds()
                raise DatabaseInUse(other_node, other_pid, max(seen, 0.0), same_node)

    def beat(self, process_id: int) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(Process)
                .where(Process.id == process_id)
                .values(heartbeat_at=self.runtime.clock())
            )

    def close_previous_runs(
        self, process_id: int, running: Callable[[int], bool] = pid_running
    ) -> int:
        """Close the open calls of this node's earlier runs that no longer run; returns how
        many calls this process closed."""
        with self.sessions() as session:
            node = session.scalar(select(Process.node).where(Process.id == process_id))
            earlier = session.execute(
                select(Process.id, Process.pid).where(
                    Process.node == node, Process.id != process_id
                )
            ).all()
        gone = [owner for owner, pid in earlier if not running(pid)]
        if not gone:
            return 0
        self._release_claims(gone)
        return self._close(Call.owner_id.in_(gone))

    def close_stale(self) -> int:
        """Close the open calls of every process whose heartbeat is stale; returns how many
        calls this process closed."""
        limit = self.runtime.clock() - self.stale_after
        stale = select(Process.id).where(Process.heartbeat_at < limit)
        self._release_claims(stale)
        return self._close(Call.owner_id.in_(stale))

    def _release_claims(self, dead: Select[int] | list[int]) -> None:
        now = self.runtime.clock()
        with self.sessions.begin() as session:
            released = sum(
                release_held(session, table, table.claimed_by.in_(dead), now)
                for table in (Message, ExternalTicket)
            )
        if released:
            log.warning("%d queued job(s) held by a process that died are due again", released)

    def _close(self, owned: ColumnElement[bool]) -> int:
        with self.sessions() as session:
            open_calls = list(
                session.scalars(select(Call.id).where(owned, Call.ended_at.is_(None)))
            )
        closed = sum(self._close_call(call_id) for call_id in open_calls)
        if closed:
            log.warning("closed %d call(s) left open by a process that died", closed)
        return closed

    def _close_call(self, call_id: int) -> bool:
        """End one call left open, unless someone else just did; True when this one did."""
        now = self.runtime.clock()
        with self.sessions.begin() as session:
            tickets = list(session.scalars(select(Ticket).where(Ticket.call_id == call_id)))
            # The outcome says a ticket was opened, whatever came after; else the call was cut.
            outcome = Outcome.TICKET_OPENED if tickets else Outcome.INTERRUPTED
            taken = session.execute(
                update(Call)
                .where(Call.id == call_id, Call.ended_at.is_(None))
                .values(ended_at=now, outcome=outcome.value)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return False  # another process closed it first
            for ticket in tickets:
                if not _has_protocol_message(session, ticket.id):
                    view, settings = TicketView.of(ticket), self.runtime.settings
                    insert_ticket_protocol(session.connection(), view, settings, now)
            # The timeline shows where the call was cut; ``last_step`` keeps the caller's.
            last = session.scalar(
                select(func.coalesce(func.max(CallEvent.seq), 0)).where(
                    CallEvent.call_id == call_id
                )
            )
            session.add(
                CallEvent(call_id=call_id, seq=int(last or 0) + 1, at=now, step=INTERRUPTED_STEP)
            )
        return True


def _has_protocol_message(session: Session, ticket_id: int) -> bool:
    found = exists().where(Message.ticket_id == ticket_id, Message.kind == "protocol")
    return bool(session.scalar(select(found)))
