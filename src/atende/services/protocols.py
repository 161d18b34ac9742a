"""Attendance protocols (seed 004, ANS RN 623): a number issued at the start of an attendance."""

from __future__ import annotations

from sqlalchemy import select

from atende.db.models import AttendanceProtocol, Person, Ticket
from atende.metrics import PROTOCOLS_ISSUED
from atende.runtime import Runtime
from atende.services.errors import Invalid, NotFound
from atende.services.tickets import CHANNELS, issue_number


class ProtocolService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sessions = runtime.sessions

    def issue(
        self,
        *,
        person_code: str | None = None,
        reason: str = "",
        channel: str = "api",
        call_id: int | None = None,
        ticket_protocol: str | None = None,
    ) -> AttendanceProtocol:
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
                number=issue_number(session, self.runtime),
                person_id=person_id,
                ticket_id=ticket_id,
                call_id=call_id,
                channel=channel,
                reason=reason,
                created_at=self.runtime.clock(),
            )
            session.add(protocol)
        PROTOCOLS_ISSUED.inc()
        return self.get(protocol.number)

    def get(self, number: str) -> AttendanceProtocol:
        with self.sessions() as session:
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
