"""Writes what happens on every call of a process to the database as it happens, together.

A call's timeline must survive the process (kill -9 keeps every step up to the last few
milliseconds), yet one transaction per keypress per call would cost the database a commit
each. So one writer per process gathers the changes of all its calls (steps, who called, the
survey answer, the end: :data:`CallChange`) for ``interval`` seconds and commits them in one
transaction in a worker thread (a group commit); batches commit one after another, in order.
A call's record thus costs its own first row and its share of the batches (issue 12).
:meth:`StepWriter.add` returns a future that is done when the change is stored, for the one
point of a call that waits for it, its end, which commits its batch at once. A batch the
database refuses is written again call by call, so one bad call loses only its own changes,
and that is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from atende.services.calls import CallChange, CallService

log = logging.getLogger(__name__)

GROUP_COMMIT_S = 0.05


@dataclass
class _Batch:
    changes: list[tuple[int, CallChange]] = field(default_factory=list)
    stored: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    due: asyncio.Event = field(default_factory=asyncio.Event)  # commit without waiting more


class StepWriter:
    def __init__(self, calls: CallService, interval: float = GROUP_COMMIT_S) -> None:
        self.calls = calls
        self.interval = interval
        self._open: _Batch | None = None
        self._in_order: asyncio.Lock | None = None
        self._commits: set[asyncio.Task[None]] = set()

    def add(
        self, call_id: int, change: CallChange, *, at_once: bool = False
    ) -> asyncio.Future[None]:
        """Queue ``change`` of call ``call_id``; the future is done once it is committed.
        ``at_once``: commit the batch now, for a change someone waits for (a call's end)."""
        if self._open is None:
            self._open = _Batch()
            task = asyncio.create_task(self._commit_later(self._open))
            self._commits.add(task)
            task.add_done_callback(self._commits.discard)
        self._open.changes.append((call_id, change))
        if at_once:
            self._open.due.set()
        return self._open.stored

    async def _commit_later(self, batch: _Batch) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(batch.due.wait(), self.interval)
        if self._open is batch:
            self._open = None
        if self._in_order is None:
            self._in_order = asyncio.Lock()
        async with self._in_order:  # a call's later steps never commit before its earlier ones
            try:
                await asyncio.to_thread(self._store, batch.changes)
            finally:
                batch.stored.set_result(None)

    def _store(self, changes: list[tuple[int, CallChange]]) -> None:
        try:
            self.calls.record_many(changes)
            return
        except Exception:
            log.warning("a batch of %d call changes failed; writing call by call", len(changes))
        for call_id in dict.fromkeys(call_id for call_id, _ in changes):
            try:
                self.calls.record_many([c for c in changes if c[0] == call_id])
            except Exception:
                log.exception("changes of call %s could not be stored", call_id)
