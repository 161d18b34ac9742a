"""Who holds each claimed outbox row (issue 12): a queued message or a ticket waiting for the
external helpdesk remembers the process that claimed it, so when that process dies its rows
are given back at once instead of waiting for their lease to end.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("messages", "external_tickets")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("claimed_by", ID, nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_claimed_by"), ["claimed_by"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_claimed_by"))
            batch_op.drop_column("claimed_by")
