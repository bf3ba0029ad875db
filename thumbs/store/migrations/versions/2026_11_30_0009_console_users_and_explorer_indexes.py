"""console users administered in the console; the feedback explorer's indexes

``users.deactivated_at``: a deactivated console user cannot sign in and has no session.
``users.password_link_hash`` / ``password_link_expires``: the SHA-256 digest of the one
pending set-password link of a user (an invitation or a reset) and when it expires; the
link's token itself is never stored. A unique index finds a link by its digest.

``feedbacks (account_pk, pk)`` and ``(account_pk, session_id, pk)``: the console's feedback
explorer lists every feedback of an account newest first, or a session's, one keyset page
at a time; without them a page of 50 read and sorted every row of the account (180 ms at
100,000 rows).

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
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
    op.create_index("ix_feedbacks_account_pk_pk", "feedbacks", ["account_pk", "pk"])
    op.create_index(
        "ix_feedbacks_account_pk_session_id_pk", "feedbacks", ["account_pk", "session_id", "pk"]
    )


def downgrade() -> None:
    op.drop_index("ix_feedbacks_account_pk_session_id_pk", table_name="feedbacks")
    op.drop_index("ix_feedbacks_account_pk_pk", table_name="feedbacks")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("uq_users_password_link_hash"))
        batch_op.drop_column("password_link_expires")
        batch_op.drop_column("password_link_hash")
        batch_op.drop_column("deactivated_at")
