"""Message channels and notifications (issue 4).

A message remembers the ticket it is about and the template it was built from, so the dashboard
lists a ticket's notifications and a retry sends the same template; a person may opt out of
notifications. A one-time code records whether Twilio Verify sent it (then Twilio checks it).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "notifications_opt_out", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_via", sa.String(length=32), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket_id", ID, nullable=True))
        batch_op.add_column(sa.Column("template", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("template_fields", sa.JSON(), nullable=True))
        # The index first: MariaDB then uses it for the foreign key instead of adding its own.
        batch_op.create_index(batch_op.f("ix_messages_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_ticket_id_tickets"), "tickets", ["ticket_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_messages_ticket_id_tickets"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_messages_ticket_id"))
        batch_op.drop_column("template_fields")
        batch_op.drop_column("template")
        batch_op.drop_column("ticket_id")
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.drop_column("sent_via")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("notifications_opt_out")
