"""``atende serve --workers N`` (issue 12): N worker processes answer on the same FastAGI and
HTTP ports, on one database; a worker that dies is started again; SIGTERM stops them all
gracefully. On SQLite the workers of one ``serve`` share its file, and a second ``serve``
is still refused."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from sqlalchemy import Engine, select

from atende.db.models import Call, Process
from cli_runner import free_port, run_atende, served_atende
from test_call_recovery import MAIN, wait_for
from ura_harness import HANGUP, ScriptedCaller, place_call

SERVE_2 = ("serve", "--workers", "2")


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def listening_inodes(port: int) -> set[str]:
    """The inodes of the TCP sockets listening on ``port`` (any address)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    return inodes


def listeners(supervisor: int, *ports: int) -> set[int]:
    """The workers of ``supervisor`` that listen on every one of ``ports``."""

    def listens(pid: int, port: int) -> bool:
        wanted = {f"socket:[{inode}]" for inode in listening_inodes(port)}
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
            return any(os.readlink(fd) in wanted for fd in fds)
        except OSError:
            return False  # ended meanwhile

    return {pid for pid in children(supervisor) if all(listens(pid, port) for port in ports)}


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_two_workers_share_the_ports_are_restarted_and_stop_together(
    cli_env: dict[str, str], shared_engine: Engine
) -> None:
    env = {**cli_env, "ATENDE_OTP": "never"}
    with served_atende(Path(cli_env["ATENDE_DATA_DIR"]), args=SERVE_2, **env) as served:
        supervisor = served.process.pid
        ports = (served.agi_port, int(served.url.rsplit(":", 1)[1]))

        def two_workers_listen() -> bool:
            return len(listeners(supervisor, *ports)) == 2

        wait_for(two_workers_listen, "two workers listening on both ports")
        first = listeners(supervisor, *ports)
        with shared_engine.connect() as connection:
            registered = connection.execute(
                select(Process.pid).where(Process.supervisor_pid == supervisor)
            ).scalars()
            assert set(registered) == first

        caller = ScriptedCaller([(MAIN, HANGUP)])
        asyncio.run(place_call(served.agi_port, caller, callerid="2001", uniqueid="w-1"))
        with shared_engine.connect() as connection:
            ended = connection.execute(select(Call.ended_at).where(Call.uniqueid == "w-1"))
            assert ended.scalar_one() is not None

        killed = min(first)
        os.kill(killed, signal.SIGKILL)

        def restarted() -> bool:
            return two_workers_listen() and killed not in listeners(supervisor, *ports)

        wait_for(restarted, "the killed worker started again")
        workers = listeners(supervisor, *ports)

        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) == 0
    assert all(gone(pid) for pid in workers)


def test_a_second_serve_on_a_sqlite_file_its_workers_share_is_refused(tmp_path: Path) -> None:
    env = {"ATENDE_NODE_NAME": "node-a"}
    with served_atende(tmp_path, args=SERVE_2, **env) as first:
        second = run_atende(
            "serve",
            "--workers",
            "2",
            ATENDE_DATA_DIR=str(tmp_path),
            ATENDE_HTTP_PORT=str(free_port()),
            ATENDE_AGI_PORT=str(free_port()),
            **env,
        )
        assert first.process.poll() is None  # the first one goes on serving
    assert second.returncode == 2, second.stderr
    assert "atende: the SQLite database is in use by atende on this node" in second.stderr
