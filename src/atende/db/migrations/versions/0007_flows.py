"""Call flows as data (issue 11): published versions, dialled-number routes, a call's flow.

``flow_versions`` keeps every version of every flow as the YAML text that was published; the
current version of a name is its highest (a restore appends a copy of the old text, naming it
in ``restored_from``). ``flow_routes`` sends a dialled number to a flow. ``calls`` records the
flow and version a call ran (NULL for calls of earlier releases).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# MariaDB's TEXT holds 64 KiB; a large flow with many texts may pass that.
FLOW_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flow_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", FLOW_TEXT, nullable=False),
        sa.Column("published_at", TIMESTAMP, nullable=False),
        sa.Column("published_by", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "version", name="uq_flow_versions_name_version"),
    )
    op.create_table(
        "flow_routes",
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("flow_name", sa.String(length=64), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flow_name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("flow_version", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_calls_flow_name"), ["flow_name", "flow_version"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_flow_name"))
        batch_op.drop_column("flow_version")
        batch_op.drop_column("flow_name")
    op.drop_table("flow_routes")
    op.drop_table("flow_versions")
