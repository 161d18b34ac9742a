"""Shared fixtures: every database test runs on SQLite, and again on PostgreSQL and MariaDB
when ``ATENDE_TEST_POSTGRES_URL`` / ``ATENDE_TEST_MYSQL_URL`` point at a server.

Each backend gets a database of its own for the session (created, migrated from empty, dropped
at the end); each test starts from the state of a fresh install (tables emptied, default
catalog back).
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, text

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from atende.bootstrap import build_services
from atende.config import Settings
from atende.db.defaults import insert_default_catalog
from atende.db.engine import make_engine
from atende.db.migrate import upgrade
from atende.db.models import Base
from atende.db.scratch import create_scratch_database, drop_scratch_database
from atende.runtime import Runtime, build_runtime
from atende.services.bundle import Services

SERVER_BACKENDS = {
    "postgresql": "ATENDE_TEST_POSTGRES_URL",
    "mysql": "ATENDE_TEST_MYSQL_URL",
}


@contextmanager
def scratch_server_database(backend: str) -> Iterator[str]:
    """A database of its own on the ``backend`` server, dropped at the end (the test is
    skipped when that server is not set): for real ``atende serve`` processes."""
    server_url = os.environ.get(SERVER_BACKENDS[backend])
    if not server_url:
        pytest.skip(f"{SERVER_BACKENDS[backend]} is not set")
    url = create_scratch_database(server_url)
    try:
        yield url
    finally:
        drop_scratch_database(server_url, url)


def _backends() -> list[str]:
    return ["sqlite"] + [name for name, var in SERVER_BACKENDS.items() if os.environ.get(var)]


@pytest.fixture(scope="session", params=_backends())
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'atende.db'}"
        upgrade(url)
        yield url
        return
    server_url = os.environ[SERVER_BACKENDS[backend]]
    url = create_scratch_database(server_url)
    try:
        upgrade(url)
        yield url
    finally:
        drop_scratch_database(server_url, url)


@pytest.fixture(scope="session")
def shared_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def reset_database(engine: Engine) -> None:
    """Empty every table and put the default catalog back: a fresh install, quickly."""
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        elif engine.dialect.name in ("mysql", "mariadb"):
            connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for table in tables:
                connection.execute(text(f"TRUNCATE TABLE {table.name}"))
            connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))
        else:
            for table in tables:
                connection.execute(table.delete())
        insert_default_catalog(connection)


@pytest.fixture
def settings(tmp_path: pathlib.Path, database_url: str) -> Settings:
    # FastAGI on a free port: two test runs on one machine must not fight over 4573.
    return Settings(data_dir=tmp_path / "var", database_url=database_url, agi_port=0)


@pytest.fixture
def runtime(settings: Settings, shared_engine: Engine) -> Runtime:
    reset_database(shared_engine)
    return build_runtime(settings, engine=shared_engine)


@pytest.fixture
def services(runtime: Runtime) -> Services:
    return build_services(runtime)


@pytest.fixture
def cli_env(database_url: str, shared_engine: Engine, tmp_path: pathlib.Path) -> dict[str, str]:
    """Environment for the ``atende`` command on the test database, from a fresh install."""
    reset_database(shared_engine)
    return {"ATENDE_DATABASE_URL": database_url, "ATENDE_DATA_DIR": str(tmp_path)}


def services_on(cli_env: dict[str, str], engine: Engine) -> Services:
    """Services on the database the ``atende`` command of ``cli_env`` uses."""
    settings = Settings(
        data_dir=pathlib.Path(cli_env["ATENDE_DATA_DIR"]),
        database_url=cli_env["ATENDE_DATABASE_URL"],
        agi_port=0,  # a URA served by the test listens on a free port
    )
    return build_services(build_runtime(settings, engine=engine))


@pytest.fixture
def api(services: Services) -> Iterator[object]:
    """An httpx client with an admin token, against the app served on loopback."""
    from api_client import api_client

    with api_client(services) as client:
        yield client


@pytest.fixture(scope="session")
def sounds_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """One audio cache for the whole run: each prompt is synthesized once, as in production."""
    return tmp_path_factory.mktemp("sounds")


@pytest.fixture
def make_services(
    tmp_path: pathlib.Path, database_url: str, shared_engine: Engine, sounds_dir: pathlib.Path
) -> object:
    """Services on a fresh database with settings overridden per test (e.g. ``otp="never"``)."""

    def make(**overrides: object) -> Services:
        reset_database(shared_engine)
        values: dict[str, object] = {
            "data_dir": tmp_path / "var",
            "database_url": database_url,
            "sounds_dir": sounds_dir,
            "agi_port": 0,
            "hours": "mon-sun 00:00-24:00",
            "holidays": "",
            "audio_personal_transcripts": True,  # scripted callers react to names they hear
        }
        values.update(overrides)
        return build_services(build_runtime(Settings(**values), engine=shared_engine))  # type: ignore[arg-type]

    return make
