"""The ``sql`` directory against real databases: SQLite always, PostgreSQL and MariaDB/MySQL
when their test servers are configured. Bound parameters only, read-only transactions."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from atende.config import SettingsError
from atende.connectors.http_base import Timeouts
from atende.connectors.ports import ConnectorError
from atende.connectors.sql import SqlDirectory, load_sql_directory, read_only
from atende.db.engine import normalize_url
from atende.services.bundle import Services
from conftest import SERVER_BACKENDS, create_scratch_database, drop_scratch_database
from ura_harness import ScriptedCaller, call_ura

PEOPLE = [
    ("1001", "Maria da Silva", "45999990001", "2001", 1),
    ("1002", "João Pereira", None, "3000", 1),
    ("1004", "Carla Dias", None, "3000", 1),  # shares extension 3000 with João
    ("1005", "Rui Antigo", None, "4000", 0),  # inactive in the HR system
]
QUERIES = """
queries:
  code: >-
    SELECT matricula AS code, nome AS name, celular AS phone
    FROM servidores WHERE matricula = :value AND ativo = 1
  extension: >-
    SELECT matricula AS code, nome AS name, celular AS phone
    FROM servidores WHERE ramal = :value AND ativo = 1
"""


def _backends() -> list[str]:
    return ["sqlite"] + [name for name, var in SERVER_BACKENDS.items() if os.environ.get(var)]


@pytest.fixture(params=_backends())
def customer_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The customer's HR database: a table atende does not own, on a real server."""
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'rh.db'}"
    else:
        url = create_scratch_database(os.environ[SERVER_BACKENDS[backend]])
    engine = create_engine(normalize_url(url))
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE servidores (matricula VARCHAR(10) PRIMARY KEY, nome VARCHAR(100),"
                " celular VARCHAR(20), ramal VARCHAR(10), ativo INTEGER)"
            )
        )
        connection.execute(
            text("INSERT INTO servidores VALUES (:m, :n, :c, :r, :a)"),
            [dict(zip("mncra", row, strict=True)) for row in PEOPLE],
        )
    engine.dispose()
    try:
        yield url
    finally:
        if backend != "sqlite":
            drop_scratch_database(os.environ[SERVER_BACKENDS[backend]], url)


def directory_file(tmp_path: Path, url: str, queries: str = QUERIES) -> Path:
    path = tmp_path / "directory.yaml"
    path.write_text(f"url: '{url}'\n{queries}", encoding="utf-8")
    return path


def test_lookups_by_code_and_extension(customer_db: str, tmp_path: Path) -> None:
    directory = load_sql_directory(directory_file(tmp_path, customer_db), Timeouts(5.0))

    async def scenario() -> list:
        found = [
            await directory.find("code", "1001"),
            await directory.find("extension", "2001"),
            await directory.find("extension", "3000"),  # two people: no identification
            await directory.find("code", "1005"),  # inactive
            await directory.find("code", "1001' OR '1'='1"),  # a bound value, not SQL
        ]
        await directory.close()
        return found

    maria, by_extension, shared, inactive, injected = asyncio.run(scenario())
    assert maria is not None and (maria.code, maria.name, maria.phone) == (
        "1001",
        "Maria da Silva",
        "45999990001",
    )
    assert by_extension == maria
    assert shared is None and inactive is None and injected is None


def test_lookups_run_in_read_only_transactions(customer_db: str) -> None:
    engine = create_engine(normalize_url(customer_db))
    with engine.connect() as connection:
        read_only(connection)
        with pytest.raises(DBAPIError):
            connection.execute(text("DELETE FROM servidores"))
        connection.rollback()
    if engine.dialect.name == "postgresql":
        # A data-modifying WITH passes the "starts with SELECT or WITH" check of the file:
        # the read-only transaction is what stops it.
        writing = (
            "WITH gone AS (DELETE FROM servidores RETURNING matricula AS code, nome AS name)"
            " SELECT * FROM gone WHERE code = :value"
        )
        directory = SqlDirectory(engine, {"code": writing}, Timeouts(5.0))
        with pytest.raises(ConnectorError):
            asyncio.run(directory.find("code", "1001"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM servidores")).scalar() == 4
    engine.dispose()


@pytest.mark.parametrize(
    ("queries", "says"),
    [
        ("queries: {code: 'DELETE FROM servidores WHERE matricula = :value'}", "SELECT"),
        ("queries: {code: 'SELECT nome AS name FROM servidores'}", ":value"),
        ("queries: {badge: 'SELECT 1 WHERE 1 = :value'}", "badge"),
    ],
)
def test_a_wrong_query_file_stops_startup(tmp_path: Path, queries: str, says: str) -> None:
    path = directory_file(tmp_path, "sqlite://", queries)
    with pytest.raises(SettingsError) as stopped:
        load_sql_directory(path, Timeouts())
    assert str(stopped.value).startswith("ATENDE_DIRECTORY_FILE: ") and says in str(stopped.value)


def test_phone_flow_identifies_callers_in_the_customers_database(
    make_services: Callable[..., Services], customer_db: str, tmp_path: Path
) -> None:
    services = make_services(
        otp="never", directory="sql", directory_file=directory_file(tmp_path, customer_db)
    )
    caller = ScriptedCaller([("abrir um chamado", "1"), ("Você é Maria da Silva", "2")])
    call_ura(services, caller, callerid="2001", uniqueid="1795.40")
    assert caller.unexpected == [] and caller.steps == []
    copy = services.people.get("1001")  # the local copy tickets point at
    assert (copy.name, copy.phone) == ("Maria da Silva", "+5545999990001")
