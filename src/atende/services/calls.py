"""The record of each phone call: its start, every step the caller went through, its end.

The phone flow writes one event per step as it happens, so a call that drops still shows where
it ended; the dashboard, the reports and ``GET /api/v1/calls`` read them as frozen
``CallView`` values, never as ORM rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import lazyload

from atende.db.models import AttendanceProtocol, Call, CallEvent, Person
from atende.runtime import Runtime
from atende.services.errors import Invalid, NotFound
from atende.services.protocols import claim


class Outcome(StrEnum):
    """How a call ended; the dashboard's call filters use these."""

    TICKET_OPENED = "ticket_opened"
    STATUS_GIVEN = "status_given"
    TRANSFERRED = "transferred"
    OUT_OF_HOURS = "out_of_hours"
    DECLINED = "declined"  # "2, não sou eu"
    ABANDONED = "abandoned"  # the caller hung up
    NO_INPUT = "no_input"  # three wrong or missing answers
    VERIFICATION_FAILED = "verification_failed"  # the one-time code was not typed right
    FAILED = "failed"  # a fault on our side
    BUSY = "busy"  # over the concurrent call cap
    INTERRUPTED = "interrupted"  # the process serving it died; closed by another (see owners)


@dataclass(frozen=True)
class StepRecord:
    """One step of a call: what the flow did or the caller chose (never digits typed)."""

    step: str
    at: datetime
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class CallEventView:
    """One recorded step of a call, numbered from 1; ``detail`` is a copy of the row's."""

    seq: int
    at: datetime
    step: str
    detail: dict[str, object]

    @classmethod
    def of(cls, event: CallEvent) -> CallEventView:
        return cls(event.seq, event.at, event.step, dict(event.detail))


@dataclass(frozen=True)
class CallView:
    """A call as the service hands it to the phone ports, the API, the dashboard and the
    reports: plain values read inside the session, with its steps in order. The caller's
    number and channel stay out of ``repr``."""

    id: int
    uniqueid: str
    caller_id: str | None = field(repr=False)
    channel: str | None = field(repr=False)
    person_id: int | None
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    last_step: str | None
    survey_score: int | None
    flow_name: str | None
    flow_version: int | None
    events: tuple[CallEventView, ...]

    @classmethod
    def of(cls, call: Call) -> CallView:
        return cls(
            id=call.id,
            uniqueid=call.uniqueid,
            caller_id=call.caller_id,
            channel=call.channel,
            person_id=call.person_id,
            started_at=call.started_at,
            ended_at=call.ended_at,
            outcome=call.outcome,
            last_step=call.last_step,
            survey_score=call.survey_score,
            flow_name=call.flow_name,
            flow_version=call.flow_version,
            events=tuple(CallEventView.of(event) for event in call.events),
        )


class CallService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sessions = runtime.sessions

    def start(
        self,
        uniqueid: str,
        caller_id: str | None,
        channel: str | None,
        owner_id: int | None = None,
        flow: tuple[str, int] | None = None,
    ) -> CallView:
        """Record a new call served by process ``owner_id`` running ``flow`` (name, version);
        a second start with the same Asterisk unique id returns the first (Asterisk can run
        AGI() twice in one call), now owned by whoever serves it."""
        with self.sessions.begin() as session:
            call = session.scalar(select(Call).where(Call.uniqueid == uniqueid))
            if call is None:
                call = Call(
                    uniqueid=uniqueid,
                    caller_id=caller_id,
                    channel=channel,
                    started_at=self.runtime.clock(),
                    owner_id=owner_id,
                    flow_name=flow[0] if flow else None,
                    flow_version=flow[1] if flow else None,
                    events=[],
                )
                session.add(call)
                session.flush()
            elif call.ended_at is None:
                call.owner_id = owner_id
            return CallView.of(call)

    def record_refused(self, uniqueid: str, caller_id: str | None, channel: str | None) -> None:
        """Record a call turned away over the concurrent call cap: started and ended at once,
        outcome ``busy``, so reports count the callers who never got in."""
        now = self.runtime.clock()
        with self.sessions.begin() as session:
            if session.scalar(select(Call.id).where(Call.uniqueid == uniqueid)) is None:
                session.add(
                    Call(
                        uniqueid=uniqueid,
                        caller_id=caller_id,
                        channel=channel,
                        started_at=now,
                        ended_at=now,
                        outcome=Outcome.BUSY,
                        last_step=Outcome.BUSY.value,
                    )
                )

    def record_steps(self, call_id: int, steps: Sequence[StepRecord]) -> None:
        """Append ``steps`` to the call's timeline, in order, in one transaction."""
        self.record_many([(call_id, record) for record in steps])

    def record_many(self, steps: Sequence[tuple[int, StepRecord]]) -> None:
        """Append ``(call id, step)`` pairs to their calls' timelines, in order, in one
        transaction: the steps of many calls are committed together (see ivr.steps)."""
        by_call: dict[int, list[StepRecord]] = {}
        for call_id, record in steps:
            by_call.setdefault(call_id, []).append(record)
        if not by_call:
            return
        with self.sessions.begin() as session:
            # Lock the calls first, in id order: an event's foreign key check would take a
            # shared lock on its call, which a later update could not upgrade without a
            # deadlock against another writer of that call (MariaDB).
            for call_id in sorted(by_call):
                session.execute(
                    update(Call)
                    .where(Call.id == call_id)
                    .values(last_step=by_call[call_id][-1].step)
                )
            counted = session.execute(
                select(CallEvent.call_id, func.max(CallEvent.seq))
                .where(CallEvent.call_id.in_(by_call))
                .group_by(CallEvent.call_id)
            )
            last_seq = {call_id: seq for call_id, seq in counted}
            session.add_all(
                CallEvent(
                    call_id=call_id, seq=seq, at=record.at, step=record.step, detail=record.detail
                )
                for call_id, records in by_call.items()
                for seq, record in enumerate(records, start=int(last_seq.get(call_id) or 0) + 1)
            )

    def identify(self, call_id: int, person_id: int, *, claim_protocols: bool = True) -> None:
        """The call is ``person_id``'s. Protocols the call issued before anyone was known
        (health-plan mode) become theirs, and their messages are queued in this transaction;
        without ``claim_protocols``, the flow links them itself right after (one message)."""
        with self.sessions.begin() as session:
            call = session.get(Call, call_id)
            person = session.get(Person, person_id)
            if call is None or person is None:
                return
            call.person_id = person_id
            if not claim_protocols:
                return
            # A locking read sees the latest rows: two identifications of one call at once
            # (caller id and keypad) cannot both find the protocol unclaimed.
            unclaimed = (
                select(AttendanceProtocol)
                .options(lazyload("*"))  # lock protocols only
                .where(
                    AttendanceProtocol.call_id == call_id, AttendanceProtocol.person_id.is_(None)
                )
                .with_for_update()
            )
            for protocol in session.scalars(unclaimed):
                claim(session, protocol, person, self.runtime)

    def survey(self, call_id: int, score: int) -> None:
        if not 1 <= score <= 5:
            raise Invalid("a survey answer is 1 to 5", field="survey_score")
        with self.sessions.begin() as session:
            call = session.get(Call, call_id)
            if call is not None:
                call.survey_score = score

    def end(self, call_id: int, outcome: str) -> None:
        with self.sessions.begin() as session:
            call = session.get(Call, call_id)
            if call is not None and call.ended_at is None:
                call.ended_at = self.runtime.clock()
                call.outcome = outcome

    def get(self, uniqueid: str) -> CallView:
        with self.sessions() as session:
            call = session.scalar(select(Call).where(Call.uniqueid == uniqueid))
            if call is None:
                raise NotFound(f"no call {uniqueid}", field="uniqueid")
            return CallView.of(call)

    def list(
        self,
        *,
        outcome: str | None = None,
        started_from: datetime | None = None,
        limit: int = 50,
    ) -> list[CallView]:
        query = select(Call).order_by(Call.id.desc()).limit(max(1, min(limit, 200)))
        if outcome:
            query = query.where(Call.outcome == outcome)
        if started_from:
            query = query.where(Call.started_at >= started_from)
        with self.sessions() as session:
            return [CallView.of(call) for call in session.scalars(query)]
