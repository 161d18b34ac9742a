"""Rows a fresh database starts with: the default service catalog (seed 000's Tabela 1).

Used by the first migration, and by tests that empty a database and want it as new.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atende.domain.catalog_defaults import TABELA_1

_categories = sa.table(
    "catalog_categories",
    sa.column("id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("name", sa.String),
    sa.column("prompt", sa.String),
)
_items = sa.table(
    "catalog_items",
    sa.column("category_id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("name", sa.String),
    sa.column("prompt", sa.String),
)


def insert_default_catalog(connection: Connection) -> None:
    for category in TABELA_1:
        # Ids come from the database so its own sequences stay right for later inserts.
        connection.execute(
            _categories.insert().values(
                key=category.key, name=category.name, prompt=category.prompt
            )
        )
        category_id = connection.execute(
            sa.select(_categories.c.id).where(_categories.c.key == category.key)
        ).scalar_one()
        connection.execute(
            _items.insert(),
            [
                {"category_id": category_id, "key": str(key), "name": name, "prompt": name}
                for key, name in enumerate(category.items, start=1)
            ],
        )
