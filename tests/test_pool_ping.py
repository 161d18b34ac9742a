"""Pooled server connections are pinged only after they sat idle, and a dead one is replaced.

SQLAlchemy's ``pool_pre_ping`` asked the server on every checkout (a round trip in each of a
phone call's transactions); atende pings a connection only after ``idle_s`` unused
(``atende.db.engine.ping_when_idle``). A connection the server dropped meanwhile must not fail
the next transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from atende.db.engine import normalize_url, ping_when_idle

IDLE_S = 0.3


def _backend_id(connection: Connection) -> int:
    query = (
        "SELECT pg_backend_pid()"
        if connection.dialect.name == "postgresql"
        else ("SELECT CONNECTION_ID()")
    )
    return int(connection.execute(text(query)).scalar_one())


def _kill(engine: Engine, backend_id: int) -> None:
    with engine.connect() as other:
        if other.dialect.name == "postgresql":
            other.execute(text("SELECT pg_terminate_backend(:id)"), {"id": backend_id})
        else:
            other.execute(text(f"KILL {int(backend_id)}"))


@pytest.fixture
def pinged_engine(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A one-connection pool that pings after IDLE_S; ``.pings`` counts its pings."""
    if database_url.startswith("sqlite"):
        pytest.skip("a file: no connection to lose")
    engine = create_engine(normalize_url(database_url), pool_size=1, max_overflow=0)
    ping_when_idle(engine, IDLE_S)
    pings = engine.dialect.do_ping
    engine.pings = 0  # type: ignore[attr-defined]

    def counted(dbapi_connection: object) -> bool:
        engine.pings += 1  # type: ignore[attr-defined]
        return pings(dbapi_connection)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    yield engine
    engine.dispose()


def test_a_connection_killed_while_idle_is_replaced_before_use(pinged_engine: Engine) -> None:
    with pinged_engine.connect() as connection:
        first = _backend_id(connection)
    killer = create_engine(pinged_engine.url)
    _kill(killer, first)
    killer.dispose()
    time.sleep(IDLE_S * 2)
    with pinged_engine.connect() as connection:  # pinged, found dead, replaced
        assert _backend_id(connection) != first
    assert pinged_engine.pings == 1  # type: ignore[attr-defined]


def test_a_connection_in_steady_use_is_not_pinged(pinged_engine: Engine) -> None:
    for _ in range(3):
        with pinged_engine.connect() as connection:  # back at once: handed out as it is
            connection.execute(text("SELECT 1"))
    assert pinged_engine.pings == 0  # type: ignore[attr-defined]
