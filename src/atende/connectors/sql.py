"""The ``sql`` directory: people looked up with read-only queries in the customer's database,
for directories reachable no other way (seed 004: "sometimes direct database access").

The queries come from a YAML file, one per lookup field, each a ``SELECT`` (or ``WITH``) that
takes the typed value as the bound parameter ``:value`` (SQLAlchemy ``text()``: the value is
never put into the SQL) and returns the columns ``code``, ``name`` and optionally ``phone``,
``email``, ``card_number``::

    url: "{{ env.RH_DATABASE_URL }}"      # a SQLAlchemy URL
    queries:
      code: SELECT matricula AS code, nome AS name, celular AS phone
            FROM servidores WHERE matricula = :value AND ativo = 1

Every query runs in a read-only transaction (PostgreSQL and MariaDB/MySQL ``SET TRANSACTION
READ ONLY``, SQLite ``PRAGMA query_only``) that is rolled back, so even a query that tries to
write cannot; give atende a database user that can only read, too. Queries run in a worker
thread, within the ``find_person`` timeout.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from atende.adapters import DIRECTORIES
from atende.config import Settings
from atende.connectors.declarative import DirectoryFile, file_errors, read_yaml, render
from atende.connectors.http_base import Timeouts, timeouts_of
from atende.connectors.ports import ConnectorError, DirectoryEntry, LookupField, NotSupported
from atende.db.engine import normalize_url
from atende.registry import register

log = logging.getLogger(__name__)

VARIABLE = "ATENDE_DIRECTORY_FILE"
COLUMNS = ("code", "name", "phone", "email", "card_number")
_READ_ONLY_START = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


class SqlDirectorySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    queries: dict[LookupField, str]

    @field_validator("queries")
    @classmethod
    def _selects(cls, queries: dict[LookupField, str]) -> dict[LookupField, str]:
        for field, query in queries.items():
            if not _READ_ONLY_START.match(query):
                raise ValueError(f"{field}: a query must be a SELECT (or WITH ... SELECT)")
            if ":value" not in query:
                raise ValueError(f"{field}: a query takes the typed value as :value")
        return queries


class SqlDirectory:
    name = "sql"

    def __init__(self, engine: Engine, queries: dict[LookupField, str], timeouts: Timeouts):
        self.engine = engine
        self.queries = queries
        self.timeouts = timeouts

    async def find(self, field: LookupField, value: str) -> DirectoryEntry | None:
        query = self.queries.get(field)
        if query is None:
            raise NotSupported(f"sql: no query by {field}")
        timeout = self.timeouts.of("find_person")
        try:
            rows = await asyncio.wait_for(asyncio.to_thread(self.select, query, value), timeout)
        except TimeoutError:
            message = f"sql find_person: no answer in {timeout:g} s"
            raise ConnectorError(message, retryable=True) from None
        except SQLAlchemyError as exc:
            # The driver's message may quote the value: name the error class only.
            raise ConnectorError(f"sql find_person: {type(exc).__name__}", retryable=True) from None
        if len(rows) != 1:
            return None  # nobody, or several people: not an identification
        row = rows[0]
        missing = [c for c in ("code", "name") if not row.get(c)]
        if missing:
            raise ConnectorError(
                f"sql find_person: the query returns no {', '.join(missing)} column",
                retryable=False,
            )
        text = {c: str(row[c]) for c in COLUMNS if row.get(c) is not None}
        return DirectoryEntry(
            code=text["code"],
            name=text["name"],
            phone=text.get("phone"),
            email=text.get("email"),
            card_number=text.get("card_number"),
        )

    def select(self, query: str, value: str) -> list[dict[str, object]]:
        with self.engine.connect() as connection:
            read_only(connection)
            try:
                result = connection.execute(text(query), {"value": value})
                return [dict(row._mapping) for row in result.fetchmany(2)]
            finally:
                connection.rollback()

    async def close(self) -> None:
        await asyncio.to_thread(self.engine.dispose)


def read_only(connection: Connection) -> None:
    """Make the transaction about to run unable to write, whatever the query says."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = ON")
    elif dialect in ("postgresql", "mysql", "mariadb"):
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def load_sql_directory(path: Path, timeouts: Timeouts) -> SqlDirectory:
    raw = read_yaml(path, VARIABLE)
    with file_errors(path, VARIABLE, SQLAlchemyError, ValueError):
        spec = SqlDirectorySpec.model_validate(raw)
        url = str(render(spec.url, {"env": dict(os.environ)}))
        engine = create_engine(normalize_url(url), pool_pre_ping=True)
    return SqlDirectory(engine, dict(spec.queries), timeouts)


@register(DIRECTORIES, "sql", DirectoryFile)
def build(settings: Settings, own: DirectoryFile) -> SqlDirectory:
    return load_sql_directory(own.directory_file, timeouts_of(settings))
