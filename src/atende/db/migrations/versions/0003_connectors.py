"""Helpdesk and directory connectors (issue 5).

``external_tickets``: one row per ticket sent to an external helpdesk; the push outbox (state,
attempts, next attempt) and the link back (external id and number, last status read).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Microseconds on MariaDB too (its DATETIME drops them by default).
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_tickets",
        sa.Column("id", ID, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("system", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("external_ref", sa.String(length=64), nullable=True),
        sa.Column("external_status", sa.String(length=64), nullable=True),
        sa.Column("status_checked_at", TIMESTAMP, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("linked_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("ticket_id"),
    )
    with op.batch_alter_table("external_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_external_tickets_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_external_tickets_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("external_tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_external_tickets_state"))
        batch_op.drop_index(batch_op.f("ix_external_tickets_next_attempt_at"))
    op.drop_table("external_tickets")
