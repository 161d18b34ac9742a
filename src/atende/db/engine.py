"""Engine and session set-up for SQLite, PostgreSQL and MariaDB/MySQL.

SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` transactions: several processes (the
HTTP app, a second FastAGI process, the CLI) then queue for the write lock instead of failing
with "database is locked" when a read transaction tries to become a write one. Inside one
process, transactions also queue on a :class:`SqliteWriteGate` first: SQLite's busy handler
waits by sleeping and polling (up to 100 ms a nap), so under load a waiting thread often
sleeps long after the lock is free; a Python lock hands it over at once.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
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

GATE_WAIT_S = 30.0  # as long as the busy timeout: past it, SQLite's own wait takes over
_HOLDS_GATE = "atende_holds_write_gate"


class SqliteWriteGate:
    """One transaction at a time per process on one SQLite file, handed over on release.

    Taken when a transaction begins and given back when it commits or rolls back (SQLAlchemy's
    connection events). A wait longer than ``GATE_WAIT_S`` (a transaction left open by a bug)
    is logged and the transaction goes on to SQLite's busy timeout, as without the gate.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def begin(self, connection: Connection) -> None:
        taken = self._lock.acquire(timeout=GATE_WAIT_S)
        if not taken:
            log.warning("waited %.0f s for another transaction; going on", GATE_WAIT_S)
        connection.info[_HOLDS_GATE] = taken
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # refused: SQLAlchemy rolls back -> end()

    def end(self, connection: Connection) -> None:
        if connection.info.pop(_HOLDS_GATE, False):
            self._lock.release()

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "begin", self.begin)
        event.listen(engine, "commit", self.end)
        event.listen(engine, "rollback", self.end)


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        SqliteWriteGate().attach(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
