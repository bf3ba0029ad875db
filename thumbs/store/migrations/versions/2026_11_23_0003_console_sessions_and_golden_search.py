"""console sessions and golden search

Console sign-in sessions (only a digest of the cookie's token is stored), and full-text
search over golden examples for the embedded responder:

* SQLite: an FTS5 table ``golden_examples_fts`` (rowid = golden_examples.pk) holding the
  prompt and the text of the input turns, kept in sync by triggers on golden_examples.
* PostgreSQL: an expression GIN index on the weighted tsvector of the same text. The
  expression must stay identical to ``thumbs.responders.search.PG_DOCUMENT``.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 02:52:03.362404
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

# the text of the input turns: [{role, content}, ...] -> "content content ..."
_SQLITE_INPUT_TEXT = (
    "(SELECT coalesce(group_concat(json_extract(value, '$.content'), ' '), '') "
    "FROM json_each(CASE WHEN json_valid({col}) THEN {col} ELSE '[]' END))"
)
_SQLITE_INSERT = (
    "INSERT INTO golden_examples_fts(rowid, prompt, input_text) "
    "VALUES (new.pk, coalesce(new.prompt, ''), " + _SQLITE_INPUT_TEXT.format(col="new.input") + ");"
)

PG_DOCUMENT = (
    "setweight(to_tsvector('english'::regconfig, coalesce(prompt, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce("
    "jsonb_path_query_array(input::jsonb, '$[*].content')::text, '')), 'B')"
)


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "account_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("user_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("date_created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_pk"],
            ["accounts.pk"],
            name=op.f("fk_web_sessions_account_pk_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_web_sessions_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_web_sessions_user_pk", ["user_pk"], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE golden_examples_fts USING fts5("
            "prompt, input_text, tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER golden_examples_fts_ai AFTER INSERT ON golden_examples BEGIN "
            + _SQLITE_INSERT
            + " END"
        )
        op.execute(
            "CREATE TRIGGER golden_examples_fts_ad AFTER DELETE ON golden_examples BEGIN "
            "DELETE FROM golden_examples_fts WHERE rowid = old.pk; END"
        )
        op.execute(
            "CREATE TRIGGER golden_examples_fts_au AFTER UPDATE OF prompt, input "
            "ON golden_examples BEGIN "
            "DELETE FROM golden_examples_fts WHERE rowid = old.pk; " + _SQLITE_INSERT + " END"
        )
        op.execute(
            "INSERT INTO golden_examples_fts(rowid, prompt, input_text) "
            "SELECT pk, coalesce(prompt, ''), "
            + _SQLITE_INPUT_TEXT.format(col="golden_examples.input")
            + " FROM golden_examples"
        )
    elif dialect == "postgresql":
        op.execute(
            f"CREATE INDEX ix_golden_examples_fts ON golden_examples USING gin (({PG_DOCUMENT}))"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS golden_examples_fts_au")
        op.execute("DROP TRIGGER IF EXISTS golden_examples_fts_ad")
        op.execute("DROP TRIGGER IF EXISTS golden_examples_fts_ai")
        op.execute("DROP TABLE IF EXISTS golden_examples_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_golden_examples_fts")

    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_web_sessions_user_pk")

    op.drop_table("web_sessions")
