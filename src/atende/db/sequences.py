"""The protocol number counter: unique and gap-free by the database's own row lock.

``next_value`` bumps one row per scope inside the caller's transaction (a Core connection: an
ORM session passes ``session.connection()``). The row stays locked
until that transaction commits, so two processes can never read the same value, and a
transaction that rolls back (the ticket was not created) gives its value back: no duplicate and
no gap, on SQLite, PostgreSQL and MariaDB alike, without any lock held in Python.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Connection, Table, insert, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from atende.db.models import ProtocolSequence


def next_value(connection: Connection, scope: str) -> int:
    dialect = connection.dialect.name
    table = cast(Table, ProtocolSequence.__table__)  # a declarative class maps a Table
    if dialect in ("postgresql", "sqlite"):
        upsert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            upsert(table)
            .values(scope=scope, value=1)
            .on_conflict_do_update(index_elements=["scope"], set_={"value": table.c.value + 1})
            .returning(table.c.value)
        )
        return int(connection.execute(statement).scalar_one())
    if dialect in ("mysql", "mariadb"):
        connection.execute(
            mysql_insert(table)
            .values(scope=scope, value=1)
            .on_duplicate_key_update(value=table.c.value + 1)
        )
        return int(
            connection.execute(select(table.c.value).where(table.c.scope == scope)).scalar_one()
        )
    # Any other backend: a plain locked update, then read our own write.
    connection.execute(update(table).where(table.c.scope == scope).values(value=table.c.value + 1))
    value = connection.execute(
        select(table.c.value).where(table.c.scope == scope)
    ).scalar_one_or_none()
    if value is None:
        connection.execute(insert(table).values(scope=scope, value=1))
        return 1
    return int(value)
