"""user email unique per account

An email was unique across every account, so creating a user in one account told its
caller whether another account had a user with that email (409). It is now unique within
an account (``uq_users_account_pk_email``); a plain index on the email keeps console
sign-in, which looks an email up in every account, fast.

Downgrading restores the global unique index, which fails if an email is by then used in
several accounts (remove the extra users first).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 09:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("uq_users_email")
        batch_op.create_unique_constraint(
            batch_op.f("uq_users_account_pk_email"), ["account_pk", "email"]
        )
        batch_op.create_index(batch_op.f("ix_users_email"), ["email"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_email"))
        batch_op.drop_constraint(batch_op.f("uq_users_account_pk_email"), type_="unique")
        batch_op.create_index("uq_users_email", ["email"], unique=True)
