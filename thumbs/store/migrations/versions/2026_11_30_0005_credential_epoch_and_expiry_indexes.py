"""credential epoch and expiry indexes

* ``credential_epoch``: one row whose counter moves forward in the transaction that revokes
  an API key; every server process re-reads it within ``THUMBS_AUTH_REVOCATION_CHECK``
  seconds and then forgets the credentials it had cached.
* ``ix_idempotency_keys_date_created``: expired idempotency keys are found (and deleted in
  bounded batches) by their date.
* ``ix_api_keys_account_pk_pk``: an account's keys, listed in creation order.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credential_epoch",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("epoch", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("date_updated", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_credential_epoch")),
    )
    op.execute(
        "INSERT INTO credential_epoch (pk, epoch, date_updated) VALUES (1, 0, CURRENT_TIMESTAMP)"
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_keys_date_created", ["date_created"], unique=False)
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_api_keys_account_pk_pk", ["account_pk", "pk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_account_pk_pk")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_date_created")
    op.drop_table("credential_epoch")
