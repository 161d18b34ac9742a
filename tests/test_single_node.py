"""SQLite is one node's embedded store: a second ``atende serve`` on the same SQLite file,
from another host or from this one, refuses to start instead of silently running beside the
first (issue 12); PostgreSQL and MariaDB welcome any number of processes and nodes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from atende.services.bundle import Services
from atende.services.call_owners import CallOwners, DatabaseInUse
from cli_runner import free_port, run_atende, served_atende
from conftest import SERVER_BACKENDS, scratch_server_database

MakeServices = Callable[..., Services]
NOT_RUNNING = 2**22 + 1  # above Linux's largest pid_max: no process has it


def running(_pid: int) -> bool:
    return True


def test_on_sqlite_a_live_process_keeps_others_out_until_its_heartbeat_goes_stale(
    make_services: MakeServices,
) -> None:
    services = make_services()
    runtime = services.runtime
    owners = CallOwners(runtime)
    owners.register("node-a", NOT_RUNNING)  # this node's earlier run, dead: not in use
    owners.register("node-a", NOT_RUNNING + 1, alone_on_sqlite=True)

    def second(node: str) -> DatabaseInUse | None:
        try:
            owners.register(node, NOT_RUNNING + 2, alone_on_sqlite=True, running=running)
        except DatabaseInUse as refused:
            return refused
        return None

    if runtime.engine.dialect.name != "sqlite":  # the shared store of several nodes
        assert second("node-a") is None and second("node-b") is None
        return
    elsewhere, here = second("node-b"), second("node-a")
    assert elsewhere is not None and (elsewhere.node, elsewhere.same_node) == ("node-a", False)
    assert here is not None and here.same_node and here.pid == NOT_RUNNING + 1
    assert "another node, node-a (pid 4194306" in str(elsewhere) and "\n" not in str(elsewhere)
    assert owners.register("node-b", 7) > 0  # the check is asked for, not imposed

    later = runtime.clock() + timedelta(seconds=runtime.settings.owner_stale_after + 1)
    runtime.clock = lambda: later  # node-a and node-b stopped beating
    assert second("node-c") is None


def test_on_sqlite_the_workers_of_one_serve_share_the_file_and_no_one_else(
    make_services: MakeServices,
) -> None:
    owners = CallOwners(make_services().runtime)
    supervisor = NOT_RUNNING + 10
    owners.register("node-a", NOT_RUNNING + 1, supervisor_pid=supervisor, alone_on_sqlite=True)

    def worker(node: str, of: int | None) -> bool:
        try:
            owners.register(
                node, NOT_RUNNING + 2, supervisor_pid=of, alone_on_sqlite=True, running=running
            )
        except DatabaseInUse:
            return False
        return True

    assert worker("node-a", supervisor)  # a fellow worker
    if owners.runtime.engine.dialect.name == "sqlite":
        assert not worker("node-a", supervisor + 1)  # another serve's worker
        assert not worker("node-a", None)  # a single-process serve
        assert not worker("node-b", supervisor)  # same pid, another machine's process


def test_a_second_atende_serve_on_one_sqlite_file_refuses_with_one_line(tmp_path: Path) -> None:
    def second(node: str) -> list[str]:
        result = run_atende(
            "serve",
            ATENDE_DATA_DIR=str(tmp_path),
            ATENDE_HTTP_PORT=str(free_port()),
            ATENDE_AGI_PORT=str(free_port()),
            ATENDE_NODE_NAME=node,
        )
        assert result.returncode == 2, result.stderr
        return [line for line in result.stderr.splitlines() if line.startswith("atende:")]

    with served_atende(tmp_path, ATENDE_NODE_NAME="node-a") as first:
        pid = first.process.pid
        [from_elsewhere] = second("node-b")
        [from_here] = second("node-a")
        assert first.process.poll() is None  # the first one goes on serving
    assert from_elsewhere.startswith("atende: the SQLite database is in use by atende on")
    assert f"another node, node-a (pid {pid}," in from_elsewhere
    assert f"this node, node-a (pid {pid}," in from_here

    # Stopped (SIGTERM, as systemctl stop does), it leaves the file to the next start here.
    assert first.process.returncode == 0
    with served_atende(tmp_path, ATENDE_NODE_NAME="node-a") as restarted:
        assert restarted.process.poll() is None


@pytest.mark.parametrize("backend", sorted(SERVER_BACKENDS))
def test_processes_of_several_nodes_share_a_server_database(backend: str, tmp_path: Path) -> None:
    """Two real ``atende serve`` processes, two nodes, one PostgreSQL or MariaDB database."""
    with (
        scratch_server_database(backend) as url,
        served_atende(tmp_path / "a", ATENDE_DATABASE_URL=url, ATENDE_NODE_NAME="a") as a,
        served_atende(tmp_path / "b", ATENDE_DATABASE_URL=url, ATENDE_NODE_NAME="b") as b,
    ):
        assert a.process.poll() is None and b.process.poll() is None
