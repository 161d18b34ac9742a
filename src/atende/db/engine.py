"""Engine and session set-up for SQLite, PostgreSQL and MariaDB/MySQL.

SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` transactions: several processes (the
HTTP app, a second FastAGI process, the CLI) then queue for the write lock instead of failing
with "database is locked" when a read transaction tries to become a write one. Inside one
process, transactions also queue on a :class:`SqliteWriteGate` first: SQLite's busy handler
waits by sleeping and polling (up to 100 ms a nap), so under load a waiting thread often
sleeps long after the lock is free; a Python lock hands it over at once. Sessions made by
``make_session_factory(engine, reads=True)`` are for reading only: on SQLite they skip the
gate and begin a deferred (read) transaction, which WAL lets run beside the one writer.

The connection pool holds a connection for every thread that may use the database at once
(the server's executor and the HTTP app's threads), so none waits for a pooled connection.
A pooled connection to a server is checked (a ping) before use only when it has been idle
for ``PING_IDLE_S``: SQLAlchemy's ``pool_pre_ping`` pings on every checkout, a round trip
added to each of a phone call's transactions. A server that restarts while a connection is
in steady use fails that one transaction; SQLAlchemy then drops the pool's connections and
the next one reconnects.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from atende.private_paths import private_file


def normalize_url(url: str) -> str:
    """Pick the driver atende ships with when a URL names none (postgresql://, mysql://)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername in ("mysql", "mariadb"):
        parsed = parsed.set(drivername="mysql+pymysql")
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # Let SQLAlchemy's BEGIN (below) start transactions instead of pysqlite's own logic.
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


log = logging.getLogger(__name__)

# Threads that may hold a connection at once: the server's executor (serve.WORKER_THREADS)
# and anyio's threads running the HTTP app's endpoints (40 by default): 72 connections at most
# per process by default (ATENDE_DATABASE_CONNECTIONS), of which POOL_SIZE are kept open.
POOL_SIZE = 32
CONNECTIONS = 72
PING_IDLE_S = 10.0  # a server connection idle this long is pinged before it is handed out
_CHECKED_IN = "atende_checked_in"  # ConnectionRecord.info: when it went back to the pool
READS = "atende_reads"  # execution option of the engine behind read-only sessions
GATE_WAIT_S = 30.0  # as long as the busy timeout: past it, SQLite's own wait takes over
_HOLDS_GATE = "atende_holds_write_gate"


class SqliteWriteGate:
    """One transaction at a time per process on one SQLite file, handed over on release.

    Taken when a transaction begins and given back as soon as the real COMMIT or ROLLBACK has
    run (SQLAlchemy's connection events fire before it, so the gate runs it itself and the
    driver's own call that follows finds nothing left to do): a thread waiting at the gate
    never meets a file still locked by the transaction that let it in. A wait longer than
    ``GATE_WAIT_S`` (a transaction left open by a bug) is logged and the transaction goes on
    to SQLite's busy timeout, as without the gate. Read-only connections (execution option
    ``READS``) pass by it with a deferred BEGIN.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def begin(self, connection: Connection) -> None:
        if connection.get_execution_options().get(READS):
            connection.exec_driver_sql("BEGIN")
            return
        taken = self._lock.acquire(timeout=GATE_WAIT_S)
        if not taken:
            log.warning("waited %.0f s for another transaction; going on", GATE_WAIT_S)
        connection.info[_HOLDS_GATE] = taken
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # refused: SQLAlchemy rolls back -> end()

    def commit(self, connection: Connection) -> None:
        self._end(connection, "commit")

    def rollback(self, connection: Connection) -> None:
        self._end(connection, "rollback")

    def _end(self, connection: Connection, how: str) -> None:
        if not connection.info.pop(_HOLDS_GATE, False):
            return
        try:
            getattr(connection.connection.dbapi_connection, how)()
        except (sqlite3.Error, SQLAlchemyError):
            # SQLAlchemy's own commit or rollback runs next: it tries again and reports it.
            log.debug("%s before handing the gate on failed", how, exc_info=True)
        finally:
            self._lock.release()

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "begin", self.begin)
        event.listen(engine, "commit", self.commit)
        event.listen(engine, "rollback", self.rollback)


def make_engine(url: str, connections: int = CONNECTIONS) -> Engine:
    """An engine for ``url`` that opens at most ``connections`` connections (``POOL_SIZE`` of
    them, or all if fewer, kept open)."""
    url = normalize_url(url)
    parsed = make_url(url)
    kept = min(POOL_SIZE, connections)
    pool = {"pool_size": kept, "max_overflow": connections - kept}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":  # a file, so a QueuePool
            private_file(Path(parsed.database))
        else:
            pool = {}
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **pool
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        SqliteWriteGate().attach(engine)
        return engine
    engine = create_engine(url, **pool)
    ping_when_idle(engine, PING_IDLE_S)
    return engine


def ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Before a pooled connection idle for ``idle_s`` is handed out, ping it; a dead one is
    replaced by a new connection (the pool retries on DisconnectionError)."""

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # the ping's transaction, if the driver opened one
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection was dead: {exc}") from exc

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)


def make_session_factory(engine: Engine, *, reads: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``; with ``reads``, sessions that only read (see the module)."""
    bind = engine.execution_options(**{READS: True}) if reads else engine
    return sessionmaker(bind, expire_on_commit=False)
