"""The supervisor of ``atende serve --workers N`` gives up on a crash loop (status 1) and on
a worker's configuration error (status 2: every restart would fail alike), stopping the
workers still running. The workers here are stand-in Python processes, not atende."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from atende import workers
from atende.workers import Supervisor

UseWorkers = Callable[[str], None]


@pytest.fixture
def stand_in_workers(monkeypatch: pytest.MonkeyPatch) -> UseWorkers:
    """Make every worker ``python -c CODE``, restarted without waiting."""
    monkeypatch.setattr(workers, "FIRST_BACKOFF_S", 0.01)

    def use(code: str) -> None:
        monkeypatch.setattr(workers, "worker_command", lambda _pid: [sys.executable, "-c", code])

    return use


def test_five_deaths_within_a_minute_stop_the_supervisor_with_status_1(
    stand_in_workers: UseWorkers,
) -> None:
    stand_in_workers("raise SystemExit(3)")
    supervisor = Supervisor(2)
    assert supervisor.run() == 1
    assert len(supervisor.deaths) == workers.MAX_DEATHS
    assert not supervisor.running and not supervisor.restart_at


def test_a_configuration_error_stops_every_worker_with_status_2(
    stand_in_workers: UseWorkers, tmp_path: Path
) -> None:
    # The first worker to start refuses its settings; the other one would serve for a minute.
    stand_in_workers(
        "import os, sys, time\n"
        "try:\n"
        f"    os.close(os.open({str(tmp_path / 'first')!r}, os.O_CREAT | os.O_EXCL))\n"
        "except FileExistsError:\n"
        "    time.sleep(60)\n"
        "time.sleep(0.5)\n"
        "sys.exit(2)\n"
    )
    supervisor = Supervisor(2)
    assert supervisor.run() == 2
    assert not supervisor.deaths and not supervisor.running


def test_sigterm_reaches_every_worker_and_ends_the_supervisor_with_0(
    stand_in_workers: UseWorkers, tmp_path: Path
) -> None:
    # Each worker says it is ready, then on SIGTERM notes it and ends well.
    stand_in_workers(
        "import os, signal, sys, time\n"
        f"here = {str(tmp_path)!r}\n"
        "def stop(*_):\n"
        "    open(os.path.join(here, f'stopped-{os.getpid()}'), 'w').close()\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "open(os.path.join(here, f'ready-{os.getpid()}'), 'w').close()\n"
        "time.sleep(60)\n"
    )

    def stop_once_ready() -> None:
        deadline = time.monotonic() + 30
        while len(list(tmp_path.glob("ready-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)  # what systemctl stop sends the supervisor

    threading.Thread(target=stop_once_ready).start()
    assert Supervisor(2).run() == 0
    ready = {path.name.split("-")[1] for path in tmp_path.glob("ready-*")}
    assert {path.name.split("-")[1] for path in tmp_path.glob("stopped-*")} == ready
    assert len(ready) == 2
