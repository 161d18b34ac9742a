"""Callers' recorded messages: where their files live, what they are about, who may hear them.

A ``record_message`` node records the caller (Asterisk RECORD FILE) into the recordings
directory under ``ATENDE_DATA_DIR``, private like the database (a local Asterisk, running as
another user, needs write access to it: give it the directory's group). A row ties the file to
its call and to the ticket or attendance protocol the call had then; a ticket the call opens
afterwards (a flow that records the description first) takes the call's recordings that have
no ticket yet (:meth:`RecordingService.attach_to_ticket`, run as the ticket is inserted). The
ticket's dashboard page plays them to signed-in team members; nothing serves them publicly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, bindparam, func, or_, select, update

from atende.db.models import AttendanceProtocol, Recording, Ticket
from atende.private_paths import private_directory
from atende.runtime import Runtime
from atende.services.errors import NotFound
from atende.services.tickets import TicketView

SUFFIX = ".wav"  # RECORD FILE is asked for WAV (see atende.ivr.call)
# Built once: it runs in every ticket's transaction (issue 12).
_ADOPT = (
    update(Recording)
    .where(Recording.call_id == bindparam("call"), Recording.ticket_id.is_(None))
    .values(
        ticket_id=bindparam("ticket"),
        protocol=func.coalesce(Recording.protocol, bindparam("number")),
    )
)


@dataclass(frozen=True)
class RecordingView:
    id: int
    call_id: int
    protocol: str | None
    created_at: datetime


class RecordingService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sessions = runtime.sessions
        self.reads = runtime.reads
        self.directory = (runtime.settings.data_dir / "recordings").resolve()

    def prepare(self) -> None:
        """Create the recordings directory (private) before the first call records."""
        private_directory(self.directory)

    def attach(self, call_id: int, path: Path, protocol: str | None) -> int:
        """Keep the recording at ``path`` (without its extension, as RECORD FILE was given
        it) with call ``call_id`` and the ticket or attendance protocol ``protocol``."""
        if path.parent.resolve() != self.directory:
            raise ValueError("a recording lives in the recordings directory")
        with self.sessions.begin() as session:
            ticket_id = None
            if protocol is not None:
                ticket_id = session.scalar(select(Ticket.id).where(Ticket.protocol == protocol))
                if ticket_id is None:
                    ticket_id = session.scalar(
                        select(AttendanceProtocol.ticket_id).where(
                            AttendanceProtocol.number == protocol
                        )
                    )
            row = Recording(
                call_id=call_id,
                ticket_id=ticket_id,
                protocol=protocol,
                file=path.name + SUFFIX,
                created_at=self.runtime.clock(),
            )
            session.add(row)
            session.flush()
            return row.id

    @staticmethod
    def attach_to_ticket(connection: Connection, ticket: TicketView) -> None:
        """In the transaction that inserts ``ticket``: the recordings its call made before it
        and tied to no ticket become its own (see TicketService.after_insert); one made under
        an attendance protocol keeps that number."""
        if ticket.call_id is None:
            return
        connection.execute(
            _ADOPT, {"call": ticket.call_id, "ticket": ticket.id, "number": ticket.protocol}
        )

    def of_ticket(self, ticket: TicketView) -> list[RecordingView]:
        """The recordings about ``ticket``: tied to it, or made in the call that opened it."""
        about = or_(Recording.ticket_id == ticket.id, Recording.protocol == ticket.protocol)
        if ticket.call_id is not None:
            about = or_(about, Recording.call_id == ticket.call_id)
        return self._views(about)

    def of_call(self, call_id: int) -> list[RecordingView]:
        return self._views(Recording.call_id == call_id)

    def _views(self, about: object) -> list[RecordingView]:
        with self.reads() as session:
            rows = session.scalars(select(Recording).where(about).order_by(Recording.id))  # type: ignore[arg-type]
            return [RecordingView(r.id, r.call_id, r.protocol, r.created_at) for r in rows]

    def file(self, recording_id: int) -> Path:
        """The recording's file; NotFound when there is no such recording or file."""
        with self.reads() as session:
            row = session.get(Recording, recording_id)
        if row is None:
            raise NotFound(f"no recording {recording_id}", field="recording_id")
        path = self.directory / row.file
        if not path.is_file():
            raise NotFound(f"recording {recording_id} has no file", field="recording_id")
        return path
