"""The phone's call record batches every call's changes (issue 12): what a call tells about
itself (steps, who called, the survey answer, its end) goes into the writer's shared batch,
the caller waits for none of it but the end, and one batch carries many calls."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from atende.flows.ports import PersonView, StepEvent
from atende.ivr.ports import ServiceCallLog
from atende.ivr.steps import StepWriter
from atende.services.calls import (
    CallChange,
    CallService,
    Ended,
    Identified,
    NewCall,
    StepRecord,
    Surveyed,
)

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@dataclass
class FakeCalls:
    """A CallService that keeps each batch it is given; ``refuse`` fails the batches of that
    call (as a database would refuse one bad call's rows)."""

    batches: list[list[tuple[int, CallChange]]] = field(default_factory=list)
    begun: list[NewCall] = field(default_factory=list)
    refuse: int | None = None

    def begin(self, call: NewCall) -> int:
        self.begun.append(call)
        return len(self.begun)

    def record_many(self, changes: Sequence[tuple[int, CallChange]]) -> None:
        if any(call_id == self.refuse for call_id, _ in changes):
            raise RuntimeError("refused")
        self.batches.append(list(changes))


@dataclass
class FakeHelpdesk:
    events: list[str] = field(default_factory=list)

    def call_event(self, kind: str, *_: Any) -> None:
        self.events.append(kind)


def call_log(calls: FakeCalls, interval: float = 0.01) -> ServiceCallLog:
    services = SimpleNamespace(
        calls=calls, helpdesk=FakeHelpdesk(), runtime=SimpleNamespace(clock=lambda: AT)
    )
    writer = StepWriter(cast(CallService, calls), interval)
    return ServiceCallLog(services, writer, owner_id=7)  # type: ignore[arg-type]


def person(person_id: int) -> PersonView:
    return cast(PersonView, SimpleNamespace(id=person_id))


def test_a_call_is_begun_then_its_changes_wait_for_its_end_in_one_batch() -> None:
    calls = FakeCalls()
    log = call_log(calls)

    async def call() -> None:
        call_id = await log.start("1795228819.1", "2001", "SIP/2001-1", "ti", 3)
        log.step(call_id, StepEvent("answered", AT, {}))
        await log.identify(call_id, person(5), claim_protocols=False)
        await log.survey(call_id, 4)
        assert calls.batches == []  # the caller waited for none of it
        await log.end(call_id, "ticket_opened")

    asyncio.run(call())
    assert calls.begun == [NewCall("1795228819.1", "2001", "SIP/2001-1", 7, ("ti", 3))]
    assert calls.batches == [
        [
            (1, StepRecord("answered", AT, {})),
            (1, Identified(5, claim_protocols=False)),
            (1, Surveyed(4)),
            (1, Ended("ticket_opened", AT)),
        ]
    ]
    assert cast(FakeHelpdesk, log.services.helpdesk).events == ["newCall", "answer", "hangup"]


def test_the_changes_of_calls_at_once_share_one_batch() -> None:
    calls = FakeCalls()
    log = call_log(calls)

    async def two_calls() -> None:
        first = await log.start("1795228819.1", "2001", "SIP/2001-1", "ti", 3)
        second = await log.start("1795228819.2", "2002", "SIP/2002-1", "ti", 3)
        log.step(first, StepEvent("answered", AT, {}))
        log.step(second, StepEvent("answered", AT, {}))
        await asyncio.gather(log.end(first, "abandoned"), log.end(second, "declined"))

    asyncio.run(two_calls())
    assert calls.batches == [
        [
            (1, StepRecord("answered", AT, {})),
            (2, StepRecord("answered", AT, {})),
            (1, Ended("abandoned", AT)),
            (2, Ended("declined", AT)),
        ]
    ]


def test_a_refused_batch_is_written_call_by_call() -> None:
    calls = FakeCalls(refuse=1)
    writer = StepWriter(cast(CallService, calls), 0)

    async def batch() -> None:
        writer.add(1, Identified(5))
        await writer.add(2, Ended("abandoned", AT))

    asyncio.run(batch())
    assert calls.batches == [[(2, Ended("abandoned", AT))]]
