"""The supervisor of ``atende serve --workers N`` gives up on a crash loop (status 1) and on
a worker's configuration error (status 2: every restart would fail alike), stopping the
workers still running. The workers here are stand-in Python processes, not atende."""

from __future__ import annotations

import sys
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
