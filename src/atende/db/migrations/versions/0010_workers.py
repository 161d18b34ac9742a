"""Several processes on one database (issue 12, ``atende serve --workers N``): the periodic
jobs that must run once for all of them take turns in ``housekeeping``; a process records the
supervisor it works for, whose workers may share one SQLite file.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "housekeeping",
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("next_run_at", TIMESTAMP, nullable=False),
        sa.Column("taken_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("job"),
    )
    with op.batch_alter_table("processes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supervisor_pid", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processes", schema=None) as batch_op:
        batch_op.drop_column("supervisor_pid")
    op.drop_table("housekeeping")
