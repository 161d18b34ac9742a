"""Records a call's steps against its Call row as they happen.

Each step goes to the process's :class:`~atende.ivr.steps.StepWriter`, which commits the
steps of all calls together every few tens of milliseconds: a call's timeline is in the
database while the call goes on, and a process that dies loses at most the last instant of
it. At the points worth waiting for (a ticket opened, the end of the call) the flow waits
until every step so far is stored.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from atende.ivr.steps import StepWriter
from atende.services.calls import CallService, StepRecord


@dataclass
class CallRecorder:
    calls: CallService
    writer: StepWriter
    call_id: int
    last_step: str = "answered"
    _stored: asyncio.Future[None] | None = None

    def step(self, name: str, at: datetime, **detail: object) -> None:
        self.last_step = name
        self._stored = self.writer.add(self.call_id, StepRecord(name, at, detail))

    async def flush(self) -> None:
        """Wait until every step so far is stored (batches commit in order: the last is
        enough)."""
        if self._stored is not None:
            await asyncio.shield(self._stored)

    async def end(self, outcome: str) -> None:
        await self.flush()
        await asyncio.to_thread(self.calls.end, self.call_id, outcome)
