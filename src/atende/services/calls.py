"""The record of each phone call: its start, every step the caller went through, its end.

The phone flow writes one event per step as it happens, so a call that drops still shows where
it ended; the dashboard, the reports and ``GET /api/v1/calls`` read them as frozen
``CallView`` values, never as ORM rows. Writing is on SQLAlchemy Core, the phone's hot path
(issue 12): a call's row is one INSERT (:meth:`CallService.begin`), and everything after it
(:data:`CallChange`) is applied in the shared batches of :mod:`atende.ivr.steps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import cast

from sqlalchemy import (
    Connection,
    Integer,
    String,
    Table,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

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


@dataclass(frozen=True)
class NewCall:
    """A call as it reaches atende: what :meth:`CallService.begin` and
    :meth:`CallService.record_refused` write. The caller's number and channel stay out of
    ``repr``."""

    uniqueid: str
    caller_id: str | None = field(repr=False)
    channel: str | None = field(repr=False)
    owner_id: int | None = None  # the process serving it (see call_owners)
    flow: tuple[str, int] | None = None  # name and published version it runs


@dataclass(frozen=True)
class Identified:
    """The call is ``person_id``'s. Protocols it issued before anyone was known become theirs,
    their messages queued in the same transaction; without ``claim_protocols``, the flow links
    them itself right after (one message)."""

    person_id: int
    claim_protocols: bool = True


@dataclass(frozen=True)
class Surveyed:
    """The caller's answer to the satisfaction survey, 1 to 5."""

    score: int

    def __post_init__(self) -> None:
        if not 1 <= self.score <= 5:
            raise Invalid("a survey answer is 1 to 5", field="survey_score")


@dataclass(frozen=True)
class Ended:
    """The call ended at ``at`` with ``outcome``, unless its row was already closed (by the
    recovery of a dead process, say): a call ends once."""

    outcome: str
    at: datetime


# What the phone flow tells about a call, written in batches (see ivr.steps).
CallChange = StepRecord | Identified | Surveyed | Ended

CALLS = cast(Table, Call.__table__)  # a declarative class maps a Table
EVENTS = cast(Table, CallEvent.__table__)
PROTOCOLS = cast(Table, AttendanceProtocol.__table__)

# One statement for every call of a batch (executemany): a NULL parameter keeps the column.
# The outcome is decided before ``ended_at`` is set: MySQL evaluates SET left to right.
_LAST_SEQ = (
    select(EVENTS.c.call_id, func.max(EVENTS.c.seq))
    .where(EVENTS.c.call_id.in_(bindparam("calls", expanding=True)))
    .group_by(EVENTS.c.call_id)
)
_INSERT_EVENT = insert(EVENTS)
_UNCLAIMED = select(PROTOCOLS.c.id).where(
    PROTOCOLS.c.call_id.in_(bindparam("calls", expanding=True)), PROTOCOLS.c.person_id.is_(None)
)
_CHANGE_CALL = (
    update(CALLS)
    .where(CALLS.c.id == bindparam("call"))
    .ordered_values(
        (CALLS.c.last_step, func.coalesce(bindparam("step", type_=String), CALLS.c.last_step)),
        (CALLS.c.person_id, func.coalesce(bindparam("person", type_=Integer), CALLS.c.person_id)),
        (
            CALLS.c.survey_score,
            func.coalesce(bindparam("score", type_=Integer), CALLS.c.survey_score),
        ),
        (
            CALLS.c.outcome,
            case(
                (
                    CALLS.c.ended_at.is_(None),
                    func.coalesce(bindparam("outcome", type_=String), CALLS.c.outcome),
                ),
                else_=CALLS.c.outcome,
            ),
        ),
        (
            CALLS.c.ended_at,
            func.coalesce(CALLS.c.ended_at, bindparam("ended_at", type_=CALLS.c.ended_at.type)),
        ),
    )
)


@dataclass
class _CallBatch:
    """What one batch changes on one call, in the order the flow told it."""

    steps: list[StepRecord] = field(default_factory=list)
    person_id: int | None = None
    claimer: int | None = None  # the first person identified with claim_protocols
    score: int | None = None
    ended: Ended | None = None

    def add(self, change: CallChange) -> None:
        match change:
            case StepRecord():
                self.steps.append(change)
            case Identified(person_id, claim_protocols):
                self.person_id = person_id
                if claim_protocols and self.claimer is None:
                    self.claimer = person_id
            case Surveyed(score):
                self.score = score
            case Ended():
                self.ended = self.ended or change

    def parameters(self, call_id: int) -> dict[str, object]:
        return {
            "call": call_id,
            "step": self.steps[-1].step if self.steps else None,
            "person": self.person_id,
            "score": self.score,
            "outcome": self.ended.outcome if self.ended else None,
            "ended_at": self.ended.at if self.ended else None,
        }


class CallService:
    """Calls on SQLAlchemy Core: the phone flow writes each call's row once, then its changes
    in the batches shared by every call of the process (issue 12: a call's bookkeeping is its
    own INSERT and its share of those transactions)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sessions = runtime.sessions

    def _row(self, call: NewCall) -> dict[str, object]:
        return {
            "uniqueid": call.uniqueid,
            "caller_id": call.caller_id,
            "channel": call.channel,
            "started_at": self.runtime.clock(),
            "owner_id": call.owner_id,
            "flow_name": call.flow[0] if call.flow else None,
            "flow_version": call.flow[1] if call.flow else None,
        }

    def begin(self, call: NewCall) -> int:
        """Record a new call, returning its id; a second begin with the same Asterisk unique
        id returns the first (Asterisk can run AGI() twice in one call), now owned by whoever
        serves it."""
        engine = self.runtime.engine
        try:
            with engine.begin() as connection:
                inserted = connection.execute(insert(CALLS).values(self._row(call)))
                return int(inserted.inserted_primary_key[0])  # type: ignore[index]
        except IntegrityError:
            with engine.begin() as connection:
                connection.execute(
                    update(CALLS)
                    .where(CALLS.c.uniqueid == call.uniqueid, CALLS.c.ended_at.is_(None))
                    .values(owner_id=call.owner_id)
                )
                first = connection.scalar(
                    select(CALLS.c.id).where(CALLS.c.uniqueid == call.uniqueid)
                )
            if first is None:  # not a second start: another constraint refused the row
                raise
            return int(first)

    def record_refused(self, call: NewCall) -> None:
        """Record a call turned away over the concurrent call cap: started and ended at once,
        outcome ``busy``, so reports count the callers who never got in."""
        row = self._row(call)
        row.update(ended_at=row["started_at"], outcome=Outcome.BUSY, last_step=Outcome.BUSY.value)
        try:
            with self.runtime.engine.begin() as connection:
                connection.execute(insert(CALLS).values(row))
        except IntegrityError:  # the call is already recorded
            return

    def record_many(self, changes: Sequence[tuple[int, CallChange]]) -> None:
        """Apply ``(call id, change)`` pairs to their calls, in order, in one transaction: the
        steps, identifications, survey answers and ends of many calls are committed together
        (see ivr.steps)."""
        by_call: dict[int, _CallBatch] = {}
        for call_id, change in changes:
            by_call.setdefault(call_id, _CallBatch()).add(change)
        if not by_call:
            return
        with self.sessions.begin() as session:
            connection = session.connection()
            # Lock the calls first, in id order: an event's foreign key check would take a
            # shared lock on its call, which a later update could not upgrade without a
            # deadlock against another writer of that call (MariaDB).
            connection.execute(
                _CHANGE_CALL, [by_call[call_id].parameters(call_id) for call_id in sorted(by_call)]
            )
            self._append_steps(connection, {k: v.steps for k, v in by_call.items() if v.steps})
            claimers = {k: v.claimer for k, v in by_call.items() if v.claimer is not None}
            if claimers:
                self._claim_protocols(session, claimers)

    @staticmethod
    def _append_steps(connection: Connection, steps: dict[int, list[StepRecord]]) -> None:
        if not steps:
            return
        counted = connection.execute(_LAST_SEQ, {"calls": list(steps)})
        last_seq = {call_id: seq for call_id, seq in counted}
        connection.execute(
            _INSERT_EVENT,
            [
                {
                    "call_id": call_id,
                    "seq": seq,
                    "at": record.at,
                    "step": record.step,
                    "detail": record.detail,
                }
                for call_id, records in steps.items()
                for seq, record in enumerate(records, start=int(last_seq.get(call_id) or 0) + 1)
            ],
        )

    def _claim_protocols(self, session: Session, claimers: dict[int, int]) -> None:
        """Protocols the calls issued before anyone was known become their callers'."""
        if not session.connection().execute(_UNCLAIMED, {"calls": list(claimers)}).first():
            return  # the common case, asked without the ORM (issue 12)
        # A locking read sees the latest rows: two identifications of one call at once
        # (caller id and keypad) cannot both find the protocol unclaimed.
        unclaimed = session.scalars(
            select(AttendanceProtocol)
            .options(lazyload("*"))  # lock protocols only
            .where(AttendanceProtocol.call_id.in_(claimers), AttendanceProtocol.person_id.is_(None))
            .with_for_update()
        ).all()
        if not unclaimed:
            return
        people = {
            person.id: person
            for person in session.scalars(
                select(Person).where(Person.id.in_(set(claimers.values())))
            )
        }
        for protocol in unclaimed:
            person = people.get(claimers[protocol.call_id]) if protocol.call_id else None
            if person is not None:
                claim(session, protocol, person, self.runtime)

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
