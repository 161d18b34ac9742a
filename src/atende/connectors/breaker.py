"""A circuit breaker per external system: after a run of failures, stop calling for a while.

Written here rather than taken from a library: ``pybreaker`` supports coroutines only through
Tornado, and the asyncio ports of it are unmaintained; what we need is twenty lines (closed,
open for ``reset_after`` seconds, then one trial call) with a clock tests can move.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CircuitBreaker:
    failures_to_open: int = 5
    reset_after: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = field(default=0, init=False)
    opened_at: float | None = field(default=None, init=False)

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.reset_after else "open"

    def allows(self) -> bool:
        """Whether a call may go out now (closed, or a trial after ``reset_after``)."""
        return self.state != "open"

    def retry_in(self) -> float:
        """Seconds until a trial call is allowed (0 when calls are allowed now)."""
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.reset_after - (self.clock() - self.opened_at))

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= self.failures_to_open or self.opened_at is not None:
            self.opened_at = self.clock()  # a failed trial opens it again for a full period
