"""Thread pool or asyncio-native database path: the same ticket transactions both ways.

Why it exists: issue 12 asks whether the server's design (every database call of a phone call
in a thread of a 32-thread executor, SQLAlchemy Core on psycopg 3 / sqlite3) is itself the
limit, through GIL contention between the event loop and the database threads, and to measure
an asyncio-native path (SQLAlchemy's asyncio extension on asyncpg / aiosqlite) against it.

What it does, in one process, on a fresh migrated database (SQLite in a temporary directory,
or ``--database-server URL``: a fresh database on that server, dropped after) with one person
and the default catalog: ``--concurrency`` asyncio tasks open tickets back to back (the
phone's transaction: person, item, protocol number, ticket, its first event, the protocol
message) until ``--transactions`` are done or ``--duration`` seconds have passed, through

- ``threads``: today's path, ``TicketService.open`` through ``asyncio.to_thread`` on a default
  executor of ``serve.WORKER_THREADS`` threads, as ``atende serve`` runs it;
- ``asyncio``: the same module-level Core statements awaited one by one on an
  ``AsyncConnection`` of ``create_async_engine`` (asyncpg, or psycopg's async mode with
  ``--pg-async-driver psycopg``; aiosqlite), what an async rewrite of the service would do;
- ``asyncio-run-sync``: the service's own transaction body (``TicketService._insert``, sync
  code) run on such an ``AsyncConnection`` with ``run_sync``: the migration without rewriting.

The asyncio engines hold as many connections as the executor has threads (pool, no overflow);
on SQLite they take the same pragmas and ``BEGIN IMMEDIATE``, and an ``asyncio.Lock`` stands
for the thread path's write gate. Meanwhile ``--concurrency`` probe tasks each wake every
``--probe-gap`` seconds and time one ``await asyncio.sleep(0)`` round trip: the loop lag, what
a caller's prompt (work needing no database) waits while the database work runs. A first row
times the probes on an otherwise idle loop. Per run: transactions/s, latency p50/p99 (from
the task's asking, waits for a thread or a connection included), this process's CPU
(``time.process_time``: every thread; on PostgreSQL the server's own CPU is not counted) as a
share of one core and per transaction, the probes' own CPU (one probe's, on the idle loop,
times their number) taken off, and the loop lag p50/p99. The paths alternate ``--rounds`` times (the
machine may be shared), after an unmeasured warm-up of each. At the end the database must hold
one ticket, one distinct protocol and one message per transaction run.

Run: ``.venv/bin/python benchmarks/db_path_bench.py [--database-server postgresql://...]``;
the asyncio paths need ``pip install -e '.[bench]'`` (asyncpg, aiosqlite).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import cast

from _common import add_database_options, backend_name, chosen_database
from sqlalchemy import Connection, Table, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from atende.config import Settings
from atende.db.engine import _sqlite_pragmas, normalize_url
from atende.db.migrate import upgrade
from atende.db.models import Message
from atende.db.sequences import UPSERT_RETURNING
from atende.runtime import Runtime, build_runtime
from atende.serve import WORKER_THREADS
from atende.services.notifications import insert_ticket_protocol
from atende.services.people import PeopleService, PersonData, read_people
from atende.services.tickets import (
    FIND_ITEM,
    INSERT_EVENT,
    INSERT_TICKET,
    ITEMS,
    TICKETS,
    NewTicket,
    TicketCategory,
    TicketItem,
    TicketService,
    opened_ticket,
    ticket_row,
)

PATHS = ("threads", "asyncio", "asyncio-run-sync")
ASYNC_DIALECTS = ("sqlite", "postgresql")  # MariaDB would need asyncmy or aiomysql
PERSON = PersonData(code="bench-1", name="Bench Caller", phone="+5511987654321")
ACTOR = "bench"
IDLE_PROBE_S = 1.0  # how long the probes alone run for the first row
MESSAGES = cast(Table, Message.__table__)

Body = Callable[[], Awaitable[None]]


def p50_p99_ms(values: list[float]) -> tuple[float | None, float | None]:
    """The median and 99th percentile of durations in seconds, in milliseconds."""
    if len(values) < 2:
        top = values[0] * 1e3 if values else None
        return top, top
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1e3, cuts[98] * 1e3


@dataclass
class Run:
    """What one path did in one round."""

    path: str
    round: int
    transactions: int = 0
    errors: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    lags: list[float] = field(default_factory=list, repr=False)

    def figures(self, probe_cpu_s: float) -> dict[str, object]:
        """The run's figures; ``probe_cpu_s``, the CPU of one probe on an idle loop, is taken
        off the CPU per transaction (at low rates the probes would weigh more than the work)."""
        p50, p99 = p50_p99_ms(self.latencies)
        lag50, lag99 = p50_p99_ms(self.lags)
        work_s = self.cpu_s - probe_cpu_s * len(self.lags)
        return {
            "path": self.path,
            "round": self.round,
            "transactions": self.transactions,
            "errors": self.errors,
            "tx_per_s": self.transactions / self.seconds if self.seconds else 0.0,
            "p50_ms": p50,
            "p99_ms": p99,
            "cpu_percent": self.cpu_s / self.seconds * 100 if self.seconds else 0.0,
            "cpu_ms_per_tx": work_s / self.transactions * 1e3 if self.transactions else None,
            "lag_p50_ms": lag50,
            "lag_p99_ms": lag99,
            "probes": len(self.lags),
        }


async def probe(lags: list[float], stop: asyncio.Event, gap: float, offset: float) -> None:
    """Every ``gap`` seconds, how long one trip round the loop takes."""
    await asyncio.sleep(offset)
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0)
        lags.append(time.perf_counter() - started)
        await asyncio.sleep(gap)


async def measure(run: Run, body: Body | None, args: argparse.Namespace, total: int) -> Run:
    """``total`` transactions of ``body`` (None: none, the probes alone for ``IDLE_PROBE_S``)
    by ``args.concurrency`` tasks, beside as many probes."""
    stop = asyncio.Event()
    deadline = time.perf_counter() + (args.duration or float("inf"))
    taken = 0
    samples: list[str] = []

    async def drive() -> None:
        nonlocal taken
        assert body is not None
        while taken < total and time.perf_counter() < deadline:
            taken += 1
            started = time.perf_counter()
            try:
                await body()
            except Exception as exc:
                run.errors += 1
                samples.append(repr(exc))
                continue
            run.latencies.append(time.perf_counter() - started)
            run.transactions += 1

    gap, tasks = args.probe_gap, args.concurrency
    probes = [
        asyncio.create_task(probe(run.lags, stop, gap, gap * i / tasks)) for i in range(tasks)
    ]
    cpu, wall = time.process_time(), time.perf_counter()
    if body is None:
        await asyncio.sleep(IDLE_PROBE_S)
    else:
        await asyncio.gather(*(drive() for _ in range(tasks)))
    run.cpu_s, run.seconds = time.process_time() - cpu, time.perf_counter() - wall
    stop.set()
    await asyncio.gather(*probes)
    for sample in samples[:3]:
        print(f"{run.path}: {sample}", file=sys.stderr)
    return run


class Bench:
    """One database, its person and item, and the transaction body of each path."""

    def __init__(self, runtime: Runtime, async_driver: str) -> None:
        self.runtime = runtime
        self.tickets = TicketService(runtime)  # no after_insert hooks: a ticket with no call
        self.url = make_url(normalize_url(runtime.settings.effective_database_url))
        self.dialect = self.url.get_backend_name()
        self.async_driver = async_driver
        self.person_code = cast(str, PERSON.code)
        with runtime.engine.begin() as connection:
            self.item_id = int(connection.execute(select(func.min(ITEMS.c.id))).scalar_one())
        self._engine: AsyncEngine | None = None
        # The thread path's SqliteWriteGate, for the loop: one writer at a time on SQLite.
        self._gate = asyncio.Lock() if self.dialect == "sqlite" else None

    def new_ticket(self) -> NewTicket:
        return NewTicket(
            person_code=self.person_code, item_id=self.item_id, channel="phone", send_protocol=True
        )

    def body(self, path: str) -> Body:
        if path == "threads":
            return self.open_in_thread
        if path == "asyncio":
            return self.open_awaited
        return self.open_run_sync

    async def open_in_thread(self) -> None:
        await asyncio.to_thread(self.tickets.open, self.new_ticket(), ACTOR)

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = self._async_engine()
        return self._engine

    def _async_engine(self) -> AsyncEngine:
        driver = "aiosqlite" if self.dialect == "sqlite" else self.async_driver
        engine = create_async_engine(
            self.url.set(drivername=f"{self.dialect}+{driver}"),
            poolclass=AsyncAdaptedQueuePool,
            pool_size=WORKER_THREADS,
            max_overflow=0,
            pool_pre_ping=self.dialect != "sqlite",  # as atende.db.engine.make_engine
        )
        if self.dialect == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(engine.sync_engine, "begin", begin_immediate)
        return engine

    def _transaction(self) -> AbstractAsyncContextManager[object]:
        return self._gate if self._gate is not None else nullcontext()

    async def open_run_sync(self) -> None:
        async with self._transaction(), self.engine.begin() as connection:
            await connection.run_sync(self._insert_sync)

    def _insert_sync(self, connection: Connection) -> None:
        self.tickets._insert(connection, self.new_ticket(), ACTOR)

    async def open_awaited(self) -> None:
        async with self._transaction(), self.engine.begin() as connection:
            await self._insert_awaited(connection, self.new_ticket())

    async def _insert_awaited(self, connection: AsyncConnection, new: NewTicket) -> None:
        """``TicketService._insert``'s statements, each awaited (its checks left out: the
        person and the item exist)."""
        runtime = self.runtime
        person = (await connection.run_sync(read_people, {"code": new.person_code}))[0]
        row = (await connection.execute(FIND_ITEM, {"item": new.item_id})).one()
        item = TicketItem(row[0], row[1], TicketCategory(row[2], row[3]))
        now, day = runtime.clock().astimezone(UTC), runtime.today()
        scope = {"in_scope": runtime.scheme.sequence_scope(day)}
        value = (await connection.execute(UPSERT_RETURNING[self.dialect], scope)).scalar_one()
        protocol = runtime.scheme.format_number(day, int(value))
        inserted = await connection.execute(
            INSERT_TICKET, ticket_row(new, protocol, person, item, now)
        )
        ticket_id = int(cast("tuple[int]", inserted.inserted_primary_key)[0])
        ticket = opened_ticket(ticket_id, new, protocol, person, item, now, ACTOR)
        await connection.execute(
            INSERT_EVENT, {"ticket_id": ticket_id, **dataclasses.asdict(ticket.history[0])}
        )
        settings = runtime.settings
        await connection.run_sync(insert_ticket_protocol, ticket, settings, now)

    def counts(self) -> dict[str, int]:
        """Tickets, distinct protocol numbers and messages in the database."""
        with self.runtime.engine.begin() as connection:
            tickets, protocols = connection.execute(
                select(func.count(), func.count(TICKETS.c.protocol.distinct()))
            ).one()
            messages = connection.execute(select(func.count()).select_from(MESSAGES)).scalar_one()
        return {"tickets": tickets, "distinct_protocols": protocols, "messages": messages}

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self.runtime.engine.dispose()


def begin_immediate(connection: Connection) -> None:
    """SQLite: a write transaction from its start, as atende.db.engine's gate begins one."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def check_drivers(dialect: str, paths: list[str], pg_driver: str) -> None:
    """Exit with what to install when an asyncio path's driver is missing."""
    if not any(path.startswith("asyncio") for path in paths):
        return
    if dialect not in ASYNC_DIALECTS:
        sys.exit(
            f"the asyncio paths run on SQLite and PostgreSQL only; on {dialect}: --paths threads"
        )
    module = "aiosqlite" if dialect == "sqlite" else pg_driver
    if importlib.util.find_spec(module) is None:
        sys.exit(
            f"the asyncio paths need {module} on {dialect}: pip install -e '.[bench]' "
            f"(asyncpg, aiosqlite), or run --paths threads"
        )


async def run_all(
    runtime: Runtime, args: argparse.Namespace
) -> tuple[list[Run], list[Run], dict[str, int]]:
    """The warm-up runs, the measured runs (the idle loop first) and the database's counts."""
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="atende")
    )
    bench = Bench(runtime, args.pg_async_driver)
    try:
        # Unmeasured: connections opened, statements compiled.
        warm = [
            await measure(Run(path, 0), bench.body(path), args, args.concurrency)
            for path in args.paths
        ]
        runs = [await measure(Run("idle loop", 0), None, args, 0)]
        for number in range(1, args.rounds + 1):
            for path in args.paths:
                run = Run(path, number)
                runs.append(await measure(run, bench.body(path), args, args.transactions))
        return warm, runs, bench.counts()
    finally:
        await bench.close()


def probe_cost(idle: Run) -> float:
    """CPU seconds of one probe, from the run of the probes alone."""
    return idle.cpu_s / len(idle.lags) if idle.lags else 0.0


def number(value: object, digits: int) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else "-"


def table(runs: list[Run], probe_cpu_s: float) -> str:
    lines = [
        "| path | round | transactions | errors | tx/s | p50 ms | p99 ms | CPU % of a core "
        "| CPU ms/tx | loop lag p50 ms | loop lag p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        f = run.figures(probe_cpu_s)
        lines.append(
            f"| {f['path']} | {f['round'] or '-'} | {f['transactions']} | {f['errors']} "
            f"| {f['tx_per_s']:.0f} | {number(f['p50_ms'], 1)} | {number(f['p99_ms'], 1)} "
            f"| {f['cpu_percent']:.0f} | {number(f['cpu_ms_per_tx'], 2)} "
            f"| {number(f['lag_p50_ms'], 3)} | {number(f['lag_p99_ms'], 3)} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_options(parser)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--concurrency", type=int, default=50, help="tasks opening tickets")
    parser.add_argument("--transactions", type=int, default=2000, help="per path and round")
    parser.add_argument("--duration", type=float, help="stop a run after this many seconds")
    parser.add_argument("--rounds", type=int, default=2, help="each path this many times")
    parser.add_argument("--probe-gap", type=float, default=0.01, help="seconds between probes")
    parser.add_argument(
        "--pg-async-driver",
        choices=("asyncpg", "psycopg"),
        default="asyncpg",
        help="PostgreSQL driver of the asyncio paths (psycopg: its async mode)",
    )
    parser.add_argument("--json", action="store_true", help="also print the runs as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir, chosen_database(args) as database_url:
        settings = Settings(data_dir=Path(data_dir), database_url=database_url)
        url = settings.effective_database_url
        dialect = make_url(normalize_url(url)).get_backend_name()
        check_drivers(dialect, args.paths, args.pg_async_driver)
        upgrade(url)
        runtime = build_runtime(settings)
        PeopleService(runtime).create(dataclasses.replace(PERSON))  # create() cleans its data
        warm, runs, counts = asyncio.run(run_all(runtime, args))
    done = sum(run.transactions for run in warm + runs)
    errors = sum(run.errors for run in warm + runs)
    driver = args.pg_async_driver if database_url else "aiosqlite"
    print(
        f"{backend_name(database_url)}: {args.concurrency} tasks, {WORKER_THREADS} threads / "
        f"{WORKER_THREADS} async connections ({driver}), probes every {args.probe_gap * 1e3:.0f} ms"
    )
    probe_cpu_s = probe_cost(runs[0])
    print(table(runs, probe_cpu_s))
    print(f"database: {counts} after {done} transactions ({errors} errors)")
    if args.json:
        print(
            json.dumps(
                {"runs": [run.figures(probe_cpu_s) for run in runs], "db": counts, "done": done}
            )
        )
    return 0 if errors == 0 and set(counts.values()) == {done} else 1


if __name__ == "__main__":
    sys.exit(main())
