"""The protocol number counter: unique and gap-free by the database's own row lock.

``next_value`` bumps one row per scope inside the caller's transaction (a Core connection: an
ORM session passes ``session.connection()``). The row stays locked
until that transaction commits, so two processes can never read the same value, and a
transaction that rolls back (the ticket was not created) gives its value back: no duplicate and
no gap, on SQLite, PostgreSQL and MariaDB alike, without any lock held in Python.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import BindParameter, Connection, Table, bindparam, insert, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from atende.db.models import ProtocolSequence

TABLE = cast(Table, ProtocolSequence.__table__)  # a declarative class maps a Table
SCOPE: BindParameter[str] = bindparam("in_scope")  # a column name is reserved in VALUES
# Built once: a statement built per call cost more than running it (issue 12).
READ = select(TABLE.c.value).where(TABLE.c.scope == SCOPE)
BUMP = update(TABLE).where(TABLE.c.scope == SCOPE).values(value=TABLE.c.value + 1)
FIRST = insert(TABLE).values(scope=SCOPE, value=1)
UPSERT_MYSQL = (
    mysql_insert(TABLE)
    .values(scope=SCOPE, value=1)
    .on_duplicate_key_update(value=TABLE.c.value + 1)
)
UPSERT_RETURNING = {
    name: upsert(TABLE)
    .values(scope=SCOPE, value=1)
    .on_conflict_do_update(index_elements=["scope"], set_={"value": TABLE.c.value + 1})
    .returning(TABLE.c.value)
    for name, upsert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def next_value(connection: Connection, scope: str) -> int:
    dialect = connection.dialect.name
    params = {"in_scope": scope}
    if dialect in UPSERT_RETURNING:
        return int(connection.execute(UPSERT_RETURNING[dialect], params).scalar_one())
    if dialect in ("mysql", "mariadb"):
        connection.execute(UPSERT_MYSQL, params)
        return int(connection.execute(READ, params).scalar_one())
    # Any other backend: a plain locked update, then read our own write.
    connection.execute(BUMP, params)
    value = connection.execute(READ, params).scalar_one_or_none()
    if value is None:
        connection.execute(FIRST, params)
        return 1
    return int(value)
