"""users: the email and password-link indexes hold console users only

``uq_users_account_pk_email``, ``ix_users_email`` and ``uq_users_password_link_hash``
indexed every user, end users included, whose email and link are always empty. They are
now partial (``WHERE email IS NOT NULL``, ``WHERE password_link_hash IS NOT NULL``):
a new end user writes two index entries fewer, and a lookup by identity can no longer be
planned on the email index. It was: PostgreSQL, with no statistics of ``users`` yet (a
new database, before autovacuum's first ANALYZE), costs both indexes that lead with the
account alike while the table is small, and a long-lived connection (the writer's) kept
that generic plan as the table grew: every end user a create named read every user of
its account (13 million index entries read for 9,002 lookups in one create benchmark).
Lookups by email and by link digest imply the column is set, so they use the partial
indexes as before. Uniqueness is unchanged (NULLs never collided).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_EMAIL = sa.text("email IS NOT NULL")
_LINK = sa.text("password_link_hash IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_account_pk_email", type_="unique")
        batch_op.drop_index("ix_users_email")
        batch_op.drop_index("uq_users_password_link_hash")
    op.create_index(
        "uq_users_account_pk_email",
        "users",
        ["account_pk", "email"],
        unique=True,
        sqlite_where=_EMAIL,
        postgresql_where=_EMAIL,
    )
    op.create_index(
        "ix_users_email", "users", ["email"], sqlite_where=_EMAIL, postgresql_where=_EMAIL
    )
    op.create_index(
        "uq_users_password_link_hash",
        "users",
        ["password_link_hash"],
        unique=True,
        sqlite_where=_LINK,
        postgresql_where=_LINK,
    )


def downgrade() -> None:
    op.drop_index("uq_users_password_link_hash", table_name="users")
    op.drop_index("ix_users_email", table_name="users")
    op.drop_index("uq_users_account_pk_email", table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_users_account_pk_email", ["account_pk", "email"])
        batch_op.create_index("ix_users_email", ["email"], unique=False)
        batch_op.create_index("uq_users_password_link_hash", ["password_link_hash"], unique=True)
