"""Records a call's steps against its Call row, without a database write per keypress.

Steps are kept in memory and written in one transaction when the flow reaches a point worth
keeping (a ticket opened, a transfer) and when the call ends, whatever the way it ends; a
call that drops therefore still shows every step up to the last.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from atende.services.calls import CallService, StepRecord


@dataclass
class CallRecorder:
    calls: CallService
    call_id: int
    last_step: str = "answered"
    _pending: list[StepRecord] = field(default_factory=list)

    def step(self, name: str, at: datetime, **detail: object) -> None:
        self.last_step = name
        self._pending.append(StepRecord(name, at, detail))

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.to_thread(self.calls.record_steps, self.call_id, pending)

    async def end(self, outcome: str) -> None:
        await self.flush()
        await asyncio.to_thread(self.calls.end, self.call_id, outcome)
