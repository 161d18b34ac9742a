"""Throw-away databases on a PostgreSQL or MariaDB/MySQL server, for tests and benchmarks.

The test suite gives each server backend a database of its own for a session, and the
benchmarks run ``atende serve`` on a fresh one so that counts (tickets, transactions) start
from a fresh install; both create it here and drop it when done. Nothing in the product uses
this: it only needs the right to create databases on the server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from atende.db.engine import normalize_url


def create_scratch_database(server_url: str, prefix: str = "atende_test") -> str:
    """A new empty database on the server of ``server_url``; returns its URL."""
    url = make_url(normalize_url(server_url))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_scratch_database(server_url: str, scratch_url: str) -> None:
    """Drop the database of ``scratch_url``, closing its sessions first on PostgreSQL."""
    name = make_url(scratch_url).database
    admin = create_engine(make_url(normalize_url(server_url)), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if admin.dialect.name == "postgresql":
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        else:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    admin.dispose()


@contextmanager
def scratch_database(server_url: str, prefix: str = "atende_test") -> Iterator[str]:
    """A fresh database on the server of ``server_url`` for the ``with`` block, then dropped."""
    url = create_scratch_database(server_url, prefix)
    try:
        yield url
    finally:
        drop_scratch_database(server_url, url)
