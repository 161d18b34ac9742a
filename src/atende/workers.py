"""``atende serve --workers N``: one supervisor process and N worker processes (issue 12).

One process reaches one core at most (the GIL); N workers on one database use N. Each worker
is a whole ``atende serve`` (``--worker-of <supervisor pid>``) that listens on the same
FastAGI and HTTP ports as the others (``SO_REUSEPORT``: the kernel spreads connections over
them); the database keeps what they share (see serve and db.claims).

The supervisor only starts and watches them: a worker that dies is started again after a
short backoff; ``MAX_DEATHS`` deaths within ``DEATH_WINDOW_S`` (a crash loop), or one worker
ending with status 2 (a configuration error: every restart would end the same way), stop
every worker and end the supervisor with that failure. SIGTERM and SIGINT are passed on to
the workers, which finish their calls (serve's graceful stop) before the supervisor ends. A
worker ends itself when its supervisor dies (``PR_SET_PDEATHSIG``): no orphan keeps the ports.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections import deque
from types import FrameType

log = logging.getLogger(__name__)

CONFIGURATION_ERROR = 2  # the status of ``atende serve`` refusing a setting (cli.fail)
CRASH_LOOP = 1
MAX_DEATHS = 5
DEATH_WINDOW_S = 60.0
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0
POLL_S = 0.1
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def worker_command(supervisor_pid: int) -> list[str]:
    return [sys.executable, "-m", "atende.cli", "serve", "--worker-of", str(supervisor_pid)]


def die_with_supervisor(supervisor_pid: int) -> None:
    """In a worker: have the kernel send SIGTERM (a graceful stop) when the supervisor dies;
    stop at once if it died already."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != supervisor_pid:
        os.kill(os.getpid(), signal.SIGTERM)


class Supervisor:
    """Keeps ``workers`` worker processes running until stopped; see the module docstring."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.running: dict[int, subprocess.Popen[bytes]] = {}  # by slot, 0..workers-1
        self.restart_at: dict[int, float] = {}
        self.deaths: deque[float] = deque()
        self.stopping: int | None = None  # the signal that asked to stop

    def run(self) -> int:
        """Supervise until SIGTERM/SIGINT (then 0 once every worker ended well) or a failure
        (then its status); returns the exit status for the supervisor."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in range(self.workers):
                self._start(slot)
            status = self._watch()
            return max(status, self._stop_all())
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _watch(self) -> int:
        while self.stopping is None:
            now = time.monotonic()
            for slot, worker in list(self.running.items()):
                code = worker.poll()
                if code is None:
                    continue
                del self.running[slot]
                failure = self._died(slot, worker.pid, code, now)
                if failure:
                    return failure
            for slot, when in list(self.restart_at.items()):
                if when <= now and self.stopping is None:
                    del self.restart_at[slot]
                    self._start(slot)
            time.sleep(POLL_S)
        return 0

    def _died(self, slot: int, pid: int, code: int, now: float) -> int:
        """Record a worker's death; returns the supervisor's failure status, if it is one."""
        log.warning("worker %d (pid %d) ended with status %d", slot, pid, code)
        if code == CONFIGURATION_ERROR:
            log.error("worker %d: configuration error; stopping every worker", slot)
            return CONFIGURATION_ERROR
        self.deaths.append(now)
        while self.deaths and self.deaths[0] < now - DEATH_WINDOW_S:
            self.deaths.popleft()
        if len(self.deaths) >= MAX_DEATHS:
            log.error(
                "%d worker deaths within %g s; stopping every worker", MAX_DEATHS, DEATH_WINDOW_S
            )
            return CRASH_LOOP
        backoff = min(FIRST_BACKOFF_S * 2 ** (len(self.deaths) - 1), MAX_BACKOFF_S)
        self.restart_at[slot] = now + backoff
        return 0

    def _start(self, slot: int) -> None:
        # A process group of its own: a Ctrl-C at the terminal reaches the supervisor only,
        # which passes it on once.
        worker = subprocess.Popen(worker_command(os.getpid()), process_group=0)
        self.running[slot] = worker
        log.info("worker %d started (pid %d)", slot, worker.pid)

    def _stop(self, sig: int, _frame: FrameType | None) -> None:
        if self.stopping is None:
            log.info("%s: stopping the workers", signal.Signals(sig).name)
            self.stopping = sig

    def _stop_all(self) -> int:
        """Ask every worker to stop, wait for them; 0 when each ended well, else 1. A worker
        still starting ends by the signal itself: it had no calls yet, that is well too."""
        sig = self.stopping or signal.SIGTERM
        self.restart_at.clear()
        for worker in self.running.values():
            worker.send_signal(sig)
        codes = [worker.wait() for worker in self.running.values()]
        self.running.clear()
        return 0 if all(code in (0, -sig) for code in codes) else CRASH_LOOP
