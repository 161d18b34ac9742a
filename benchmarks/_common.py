"""What the benchmarks share: starting ``atende serve`` on a database, and reading what it cost.

Every benchmark here starts a real ``atende serve`` (or drives one) from a second process and
needs the same few things: a free port, the ``atende`` command of this virtualenv, the server's
environment on a fresh data directory and a chosen database, the server process's CPU time and
peak memory from ``/proc`` (Linux), and, on PostgreSQL, the database's own transaction and row
counters. They live here once instead of in each script.

Databases: ``--database-url URL`` runs the server on that database as it is (one you created
for the run: atende migrates it on start); ``--database-server URL`` creates a fresh database
on that PostgreSQL or MariaDB server, runs on it and drops it at the end. Neither: SQLite in
the temporary data directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from atende.db.engine import normalize_url
from atende.db.scratch import scratch_database

HOST = "127.0.0.1"
# pg_stat_database columns read before and after a run (per database, server-wide view).
PG_COUNTERS = (
    "xact_commit",
    "xact_rollback",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
)


def free_port(host: str = HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def atende_command() -> list[str]:
    """``atende`` of the interpreter running the benchmark (its virtualenv), else on PATH."""
    script = Path(sys.executable).with_name("atende")
    if script.exists():
        return [str(script)]
    found = shutil.which("atende")
    if found:
        return [found]
    return [sys.executable, "-c", "from atende.cli import app; app()"]


def serve_env(data_dir: Path | str, database_url: str | None, **settings: str) -> dict[str, str]:
    """The environment of an ``atende serve`` on ``data_dir``, without the caller's own atende
    settings file or database; ``settings`` are ``ATENDE_*`` names without the prefix."""
    env = dict(os.environ)
    env.pop("ATENDE_CONFIG", None)
    env.pop("ATENDE_DATABASE_URL", None)
    env["ATENDE_DATA_DIR"] = str(data_dir)
    if database_url:
        env["ATENDE_DATABASE_URL"] = database_url
    env.update({f"ATENDE_{name.upper()}": value for name, value in settings.items()})
    return env


# -- the database -----------------------------------------------------------------------------


def add_database_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--database-url", help="run the server on this database as it is (default: SQLite)"
    )
    group.add_argument(
        "--database-server",
        metavar="URL",
        help="create a fresh database on this PostgreSQL/MariaDB server, drop it after",
    )


@contextmanager
def chosen_database(args: argparse.Namespace) -> Iterator[str | None]:
    """The database URL the options name (None: SQLite in the data directory)."""
    if args.database_server:
        with scratch_database(args.database_server, prefix="atende_bench") as url:
            yield url
    else:
        yield args.database_url or None


def backend_name(database_url: str | None) -> str:
    if not database_url:
        return "SQLite"
    return {"postgresql": "PostgreSQL", "mysql": "MariaDB/MySQL"}.get(
        make_url(normalize_url(database_url)).get_backend_name(), database_url.split(":")[0]
    )


def query(database_url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    """Rows of one read on its own short connection (no pool left behind)."""
    engine = create_engine(normalize_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def database_counters(database_url: str | None) -> dict[str, int] | None:
    """PostgreSQL's own counters of the server's database (``pg_stat_database``), read from
    another database on the same server so the reading adds nothing to them; None on SQLite
    and MariaDB/MySQL (no per-database counters there without extra server set-up).

    PostgreSQL 15 publishes a backend's counts when its transaction ends at most once a
    second, or after 10 s idle, or when it disconnects: read them after the server's
    connections have gone idle that long, or after it stopped."""
    if not database_url:
        return None
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() != "postgresql":
        return None
    observer = url.set(database="postgres").render_as_string(hide_password=False)
    columns = ", ".join(PG_COUNTERS)
    rows = query(
        observer,
        f"SELECT {columns} FROM pg_stat_database WHERE datname = :name",
        name=url.database,
    )
    if not rows:
        return None
    return {name: int(str(value)) for name, value in zip(PG_COUNTERS, rows[0], strict=True)}


def settled_counters(database_url: str | None, pause: float = 0.5) -> dict[str, int] | None:
    """``database_counters`` once two reads ``pause`` apart agree (at most ~10 s): backends of
    a client that just disconnected publish their last counts as they exit, a moment later."""
    last = database_counters(database_url)
    for _ in range(20):
        if last is None:
            return None
        time.sleep(pause)
        now = database_counters(database_url)
        if now == last:
            break
        last = now
    return last


# -- the server process -----------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessTimes:
    """CPU seconds of a process (user + system) and of its children it has waited for."""

    own: float
    children: float


def cpu_seconds(pid: int) -> ProcessTimes | None:
    """From ``/proc/PID/stat`` (Linux); None where there is no such file."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return ProcessTimes(
        (int(fields[11]) + int(fields[12])) / ticks, (int(fields[13]) + int(fields[14])) / ticks
    )


def status_field(pid: int, name: str) -> str:
    """One line of ``/proc/PID/status``, e.g. ``VmHWM`` (peak RSS); "?" if unreadable."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "?"
    for line in lines:
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return "?"


def process_tree(pid: int) -> list[int]:
    """``pid`` and its living descendants (a server with worker processes), parents first."""
    tree, index = [pid], 0
    while index < len(tree):
        for task in Path(f"/proc/{tree[index]}/task").glob("*/children"):
            with suppress(OSError):  # the process ended meanwhile
                tree += [int(child) for child in task.read_text().split()]
        index += 1
    return tree


def tree_cpu_seconds(pid: int) -> ProcessTimes | None:
    """CPU seconds of a process and its living descendants together (``cpu_seconds`` each)."""
    times = [t for t in map(cpu_seconds, process_tree(pid)) if t is not None]
    if not times:
        return None
    return ProcessTimes(sum(t.own for t in times), sum(t.children for t in times))


def tree_peak_rss_kib(pid: int) -> int:
    """Sum of each living process's peak RSS (``VmHWM``) in KiB: one figure for one process,
    an upper bound for several (their peaks need not coincide)."""
    total = 0
    for member in process_tree(pid):
        value = status_field(member, "VmHWM").split()
        total += int(value[0]) if value and value[0].isdigit() else 0
    return total
