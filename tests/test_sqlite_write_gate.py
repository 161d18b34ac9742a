"""SQLite transactions of one process queue on the write gate and always hand it on: after a
commit, a rollback, or a BEGIN that SQLite refused (another process holding the file); only
once the COMMIT itself is done; and read-only sessions pass by it. The pool has a connection
for every thread of the process that may want one."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from atende.config import Settings
from atende.db import engine as engine_module
from atende.db.engine import make_engine, make_session_factory
from atende.runtime import build_runtime
from atende.serve import WORKER_THREADS

WAITED = "waited"
ANYIO_THREADS = 40  # anyio's default limit: the HTTP app's sync endpoints run in these


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setattr(engine_module, "GATE_WAIT_S", 0.3)
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT)"))
    return engine


def write_in_another_thread(engine: Engine, body: str) -> None:
    def work() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO notes VALUES (:b)"), {"b": body})

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_an_open_transaction_holds_the_next_one_at_the_gate(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), engine.begin() as connection:
        connection.execute(text("INSERT INTO notes VALUES ('first')"))
        waiter = threading.Thread(target=write_in_another_thread, args=(engine, "second"))
        waiter.start()
        waiter.join(timeout=0.6)  # past the (shortened) gate wait: the warning is out
    waiter.join(timeout=10)
    assert WAITED in caplog.text
    with engine.connect() as connection:
        assert connection.execute(text("SELECT body FROM notes")).scalars().all() == [
            "first",
            "second",
        ]


def test_commit_rollback_and_a_refused_begin_all_hand_the_gate_on(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        write_in_another_thread(engine, "committed")
        with pytest.raises(RuntimeError), engine.begin() as connection:
            connection.execute(text("INSERT INTO notes VALUES ('rolled back')"))
            raise RuntimeError("the service failed half way")
        write_in_another_thread(engine, "after rollback")

        other_process = sqlite3.connect(tmp_path / "gate.db", isolation_level=None)
        other_process.execute("BEGIN IMMEDIATE")
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            raw.execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]
            with pytest.raises(Exception, match="locked"):
                connection.begin()
        other_process.execute("ROLLBACK")
        other_process.close()
        write_in_another_thread(engine, "after a refused begin")

    assert WAITED not in caplog.text
    with engine.connect() as connection:
        assert connection.execute(text("SELECT body FROM notes")).scalars().all() == [
            "committed",
            "after rollback",
            "after a refused begin",
        ]


def test_the_gate_is_handed_on_once_the_commit_is_done(engine: Engine) -> None:
    """The next writer gets the gate with the file free: it never waits in SQLite's busy
    handler (here, as short as to fail) for a COMMIT that had not run yet."""
    next_writer: list[str] = []

    def write_impatiently() -> None:
        try:
            with engine.connect() as connection:
                raw = connection.connection.driver_connection
                raw.execute("PRAGMA busy_timeout=50")  # type: ignore[union-attr]
                with connection.begin():
                    connection.execute(text("INSERT INTO notes VALUES ('second')"))
            next_writer.append("wrote")
        except Exception as exc:  # the test reports what the writer met
            next_writer.append(str(exc))

    def while_the_first_commits(_connection: Connection) -> None:
        if not next_writer:  # the first commit only (the next writer's commits too)
            next_writer.append("started")
            thread = threading.Thread(target=write_impatiently)
            thread.start()
            thread.join(timeout=10)

    event.listen(engine, "commit", while_the_first_commits)  # after the gate's own listener
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO notes VALUES ('first')"))
    finally:
        event.remove(engine, "commit", while_the_first_commits)

    assert next_writer == ["started", "wrote"]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT body FROM notes")).scalars().all() == [
            "first",
            "second",
        ]


def test_a_read_only_session_does_not_wait_for_the_writer(engine: Engine) -> None:
    reads = make_session_factory(engine, reads=True)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO notes VALUES ('being written')"))
        read: list[list[str]] = []

        def read_meanwhile() -> None:
            with reads() as session:
                read.append(list(session.scalars(text("SELECT body FROM notes"))))

        reader = threading.Thread(target=read_meanwhile)
        reader.start()
        reader.join(timeout=10)  # with the gate, past its (shortened) wait of 0.3 s
        assert read == [[]]  # the writer's row is not committed yet


def test_every_thread_gets_a_connection_without_waiting(engine: Engine) -> None:
    held: list[Connection] = []

    def take_them_all() -> None:
        held.extend(engine.connect() for _ in range(WORKER_THREADS + ANYIO_THREADS))

    taker = threading.Thread(target=take_them_all, daemon=True)
    taker.start()
    taker.join(timeout=5)  # a pool too small waits its 30 s timeout for a connection back
    try:
        assert len(held) == WORKER_THREADS + ANYIO_THREADS
    finally:
        taker.join(timeout=60)
        for connection in held:
            connection.close()


def test_the_connections_of_a_process_have_a_ceiling(tmp_path: Path) -> None:
    """``ATENDE_DATABASE_CONNECTIONS``: several workers and nodes must fit the database
    server's own limit, so a process opens no more than it is given."""
    settings = Settings(data_dir=tmp_path, database_connections=5)
    engine = build_runtime(settings).engine
    engine.pool._timeout = 0.2  # type: ignore[attr-defined]  # a sixth waits, then gives up
    held = [engine.connect() for _ in range(5)]
    try:
        with pytest.raises(SQLAlchemyTimeoutError):
            engine.connect()
    finally:
        for connection in held:
            connection.close()
        engine.dispose()
