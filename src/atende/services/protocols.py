"""Attendance protocols (seed 004, ANS RN 623): a number issued at the start of an attendance.

A protocol reaches its person one way only, :func:`claim`: it is tied to them (and to the
reason, once known) and its message is queued in the same transaction, whether the person is
known when it is issued, named later by the flow (``link``), or found by the call's
identification (``CallService.identify``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from atende.db.models import AttendanceProtocol, Person, Ticket
from atende.metrics import PROTOCOLS_ISSUED
from atende.runtime import Runtime
from atende.services.errors import Invalid, NotFound
from atende.services.notifications import queue_attendance_protocol
from atende.services.tickets import CHANNELS, issue_number


def claim(
    session: Session,
    protocol: AttendanceProtocol,
    person: Person,
    runtime: Runtime,
    reason: str | None = None,
    wording: str | None = None,
) -> None:
    """Tie ``protocol`` to ``person`` (and ``reason``) and queue its message to them in
    ``session``'s transaction (``wording``: the flow's text with ``{protocol}``, else
    atende's), so no hang-up after this can keep the number from them."""
    protocol.person_id = person.id
    if reason is not None:
        protocol.reason = reason
    queue_attendance_protocol(session, protocol, person, runtime.settings, runtime.clock(), wording)


class ProtocolService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sessions = runtime.sessions
        self.reads = runtime.reads

    def issue(
        self,
        *,
        person_code: str | None = None,
        reason: str = "",
        channel: str = "api",
        call_id: int | None = None,
        ticket_protocol: str | None = None,
        message: str | None = None,
    ) -> AttendanceProtocol:
        """A new protocol; with ``message`` (a text with ``{protocol}``) and a person, the
        message is queued to them in the same transaction (see :func:`claim`)."""
        if channel not in CHANNELS:
            raise Invalid(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
        with self.sessions.begin() as session:
            person_id = ticket_id = None
            if person_code:
                person_id = session.scalar(select(Person.id).where(Person.code == person_code))
                if person_id is None:
                    raise NotFound(f"no person with code {person_code}", field="person_code")
            if ticket_protocol:
                ticket_id = session.scalar(
                    select(Ticket.id).where(Ticket.protocol == ticket_protocol)
                )
                if ticket_id is None:
                    raise NotFound(f"no ticket {ticket_protocol}", field="ticket_protocol")
            protocol = AttendanceProtocol(
                number=issue_number(session.connection(), self.runtime),
                person_id=person_id,
                ticket_id=ticket_id,
                call_id=call_id,
                channel=channel,
                reason=reason,
                created_at=self.runtime.clock(),
            )
            session.add(protocol)
            if message is not None and person_id is not None:
                session.flush()
                person = session.get_one(Person, person_id)
                claim(session, protocol, person, self.runtime, wording=message)
        PROTOCOLS_ISSUED.inc()
        return self.get(protocol.number)

    def link(self, number: str, person_code: str, reason: str | None, message: str | None) -> None:
        """Tie the protocol ``number`` (issued before the person was known) to them and the
        ``reason``, and queue ``message`` (with ``{protocol}``; None: atende's text)."""
        with self.sessions.begin() as session:
            protocol = session.scalar(
                select(AttendanceProtocol)
                .options(lazyload("*"))  # lock the protocol only
                .where(AttendanceProtocol.number == number)
                .with_for_update()
            )
            if protocol is None:
                raise NotFound(f"no protocol {number}", field="number")
            person = session.scalar(select(Person).where(Person.code == person_code))
            if person is None:
                raise NotFound(f"no person with code {person_code}", field="person_code")
            claim(session, protocol, person, self.runtime, reason, message)

    def get(self, number: str) -> AttendanceProtocol:
        with self.reads() as session:
            protocol = session.scalar(
                select(AttendanceProtocol).where(AttendanceProtocol.number == number)
            )
            if protocol is None:
                raise NotFound(f"no protocol {number}", field="number")
            return protocol

    def close(self, number: str, outcome: str) -> AttendanceProtocol:
        with self.sessions.begin() as session:
            protocol = session.scalar(
                select(AttendanceProtocol).where(AttendanceProtocol.number == number)
            )
            if protocol is None:
                raise NotFound(f"no protocol {number}", field="number")
            protocol.outcome = outcome
            protocol.closed_at = self.runtime.clock()
        return self.get(number)
