"""The processes that serve calls, and which one owns each call still in progress (issue 10).

A process that dies (kill -9, power loss) leaves its calls open; whoever notices that it is
gone (its own next start on the node, or any other process once its heartbeat is stale)
closes them. ``processes`` holds one row per process start with its heartbeat; ``calls``
gets the owner.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processes",
        sa.Column("id", ID, nullable=False),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("processes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processes_node"), ["node"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_processes_heartbeat_at"), ["heartbeat_at"], unique=False
        )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_calls_owner_id"), ["owner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_calls_owner_id_processes"), "processes", ["owner_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_calls_owner_id_processes"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_calls_owner_id"))
        batch_op.drop_column("owner_id")
    op.drop_table("processes")  # with its indexes
