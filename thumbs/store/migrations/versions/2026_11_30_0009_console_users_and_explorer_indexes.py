"""console user administration: deactivation and one-time set-password links

``users.deactivated_at``: a deactivated console user cannot sign in and has no session.
``users.password_link_hash`` / ``password_link_expires``: the SHA-256 digest of the one
pending set-password link of a user (an invitation or a reset) and when it expires; the
link's token itself is never stored. A unique index finds a link by its digest.

Revision ID: 0009
Revises: 0004
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deactivated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("password_link_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("password_link_expires", sa.DateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("uq_users_password_link_hash"), ["password_link_hash"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("uq_users_password_link_hash"))
        batch_op.drop_column("password_link_expires")
        batch_op.drop_column("password_link_hash")
        batch_op.drop_column("deactivated_at")
