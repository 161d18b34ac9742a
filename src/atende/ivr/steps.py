"""Writes the steps of every call of a process to the database as they happen, together.

A call's timeline must survive the process (kill -9 keeps every step up to the last few
milliseconds), yet one transaction per keypress per call would cost the database a commit
each. So one writer per process gathers the steps of all its calls for ``interval`` seconds
and commits them in one transaction in a worker thread (a group commit); batches commit one
after another, in order. :meth:`StepWriter.add` returns a future that is done when the step
is stored, for the points of a call that must wait for it (a ticket opened, the call's end).
A batch the database refuses is written again call by call, so one bad call loses only its
own steps, and that is logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from atende.services.calls import CallService, StepRecord

log = logging.getLogger(__name__)

GROUP_COMMIT_S = 0.05


@dataclass
class _Batch:
    steps: list[tuple[int, StepRecord]] = field(default_factory=list)
    stored: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class StepWriter:
    def __init__(self, calls: CallService, interval: float = GROUP_COMMIT_S) -> None:
        self.calls = calls
        self.interval = interval
        self._open: _Batch | None = None
        self._in_order: asyncio.Lock | None = None
        self._commits: set[asyncio.Task[None]] = set()

    def add(self, call_id: int, step: StepRecord) -> asyncio.Future[None]:
        """Queue ``step`` of call ``call_id``; the future is done once it is committed."""
        if self._open is None:
            self._open = _Batch()
            task = asyncio.create_task(self._commit_later(self._open))
            self._commits.add(task)
            task.add_done_callback(self._commits.discard)
        self._open.steps.append((call_id, step))
        return self._open.stored

    async def _commit_later(self, batch: _Batch) -> None:
        await asyncio.sleep(self.interval)
        if self._open is batch:
            self._open = None
        if self._in_order is None:
            self._in_order = asyncio.Lock()
        async with self._in_order:  # a call's later steps never commit before its earlier ones
            try:
                await asyncio.to_thread(self._store, batch.steps)
            finally:
                batch.stored.set_result(None)

    def _store(self, steps: list[tuple[int, StepRecord]]) -> None:
        try:
            self.calls.record_many(steps)
            return
        except Exception:
            log.warning("a batch of %d call steps failed; writing call by call", len(steps))
        for call_id in dict.fromkeys(call_id for call_id, _ in steps):
            try:
                self.calls.record_many([s for s in steps if s[0] == call_id])
            except Exception:
                log.exception("steps of call %s could not be stored", call_id)
