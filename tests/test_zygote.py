"""The tests' fork server (``zygote.py``) gives each command what ``subprocess`` would: its own
process, the caller's directory, environment and streams, its own exit status and signals."""

from __future__ import annotations

import os
import select
import signal
import subprocess
from pathlib import Path

import pytest

import zygote
from cli_runner import ATENDE, run_shell
from test_cli_flows import write_flow
from unit.flow_samples import SMALL


def test_a_command_runs_in_its_own_process_in_the_callers_directory_and_environment(
    tmp_path: Path,
) -> None:
    write_flow(tmp_path / "small.yaml", SMALL)
    checked = zygote.Process(["flows", "check", "small.yaml"], cwd=tmp_path, stdout=subprocess.PIPE)
    assert checked.pid not in (os.getpid(), zygote.zygote().process.pid)
    assert checked.communicate(timeout=60) == ("small.yaml: ok\n", "")
    assert checked.returncode == 0
    refused = zygote.run(["db", "upgrade"], {**os.environ, "ATENDE_HTTP_PORT": "x"}, 60)
    assert refused.returncode == 2 and "ATENDE_HTTP_PORT" in refused.stderr


def test_a_signal_reaches_the_command_and_its_status_says_so(tmp_path: Path) -> None:
    env = {**os.environ, "ATENDE_DATA_DIR": str(tmp_path)}
    # Its stdin a pipe nobody writes to: it waits for the end of the file.
    waiting = zygote.Process(["people", "import", "/dev/stdin"], env, stdin=subprocess.PIPE)
    assert waiting.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        waiting.wait(timeout=0.5)
    waiting.send_signal(signal.SIGKILL)
    assert waiting.wait(timeout=30) == -signal.SIGKILL


def test_the_shell_command_gives_the_exit_status_of_atende(tmp_path: Path) -> None:
    result = run_shell(f"{ATENDE} flows check missing.yaml || echo status $?", cwd=tmp_path)
    assert result.stdout == "status 2\n"
    assert "'missing.yaml' does not exist" in result.stderr


def test_a_command_nobody_waits_for_any_more_leaves_the_zygote_serving(tmp_path: Path) -> None:
    env = {**os.environ, "ATENDE_DATA_DIR": str(tmp_path)}
    forgotten = zygote.Process(["people", "import", "/dev/stdin"], env, stdin=subprocess.PIPE)
    forgotten._connection.close()  # as when the test process that started it has died
    assert forgotten.stdin is not None
    forgotten.stdin.close()  # the end of its input: it ends, and its status has nowhere to go
    select.select([forgotten._pidfd], [], [], 60)
    assert zygote.run(["flows", "schema"], env, 60).returncode == 0
