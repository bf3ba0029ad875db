"""Every table of thumbs, in one place (Alembic autogenerate and cross-references stay simple).

Internal integer primary keys (``pk``) are never shown; the public identifiers are the
``sid``/``id`` columns. Every tenant-owned row carries ``account_pk`` so that each query
can be scoped to the authenticated account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from thumbs.kit.timefmt import utcnow

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
PK = BigInteger().with_variant(Integer(), "sqlite")

ID_LEN = 256


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def _pk() -> Mapped[int]:
    return mapped_column(PK, primary_key=True, autoincrement=True)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime, default=utcnow, nullable=False)


def _updated() -> Mapped[datetime]:
    return mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)


def _account_fk() -> Mapped[int]:
    return mapped_column(PK, ForeignKey("accounts.pk", ondelete="CASCADE"), nullable=False)


class Account(Base):
    __tablename__ = "accounts"
    pk: Mapped[int] = _pk()
    sid: Mapped[str] = mapped_column(String(34), unique=True)
    friendly_name: Mapped[str] = mapped_column(String(ID_LEN))
    auth_token_hash: Mapped[str] = mapped_column(String(128))
    date_created: Mapped[datetime] = _created()
    date_updated: Mapped[datetime] = _updated()


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_account_pk_pk", "account_pk", "pk"),)
    pk: Mapped[int] = _pk()
    sid: Mapped[str] = mapped_column(String(34), unique=True)
    account_pk: Mapped[int] = _account_fk()
    friendly_name: Mapped[str] = mapped_column(String(ID_LEN), default="")
    secret_hash: Mapped[str] = mapped_column(String(128))
    date_created: Mapped[datetime] = _created()


class CredentialEpoch(Base):
    """One row: a counter moved forward in the transaction that revokes a credential.

    Every server process re-reads it at most ``THUMBS_AUTH_REVOCATION_CHECK`` seconds after
    its last read, and empties its credential cache when it moved, so that a revoked key is
    refused everywhere within that bound (see thumbs.auth.service.CredentialCache)."""

    __tablename__ = "credential_epoch"
    pk: Mapped[int] = _pk()
    epoch: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    date_updated: Mapped[datetime] = _updated()


def _partial(condition: str) -> dict[str, Any]:
    """The arguments of an ``Index`` that holds only the rows meeting ``condition`` (SQL),
    the same partial index on SQLite and PostgreSQL."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


class User(Base):
    """End users (named by the app with an ``identity``) and console users (members, admins).

    An email is unique within an account, never across accounts: one account's users say
    nothing about another's (console sign-in finds an email in every account it has)."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("account_pk", "identity"),
        # Only console users have an email or a password link: these indexes hold them
        # alone (an end user, the most of the rows, writes none of them), and the email
        # index, which leads with the account too, cannot serve a lookup by identity. Left
        # whole, a generic plan made before PostgreSQL had statistics of ``users`` read
        # every user of the account through it for each end user looked up (migration 0013).
        Index(
            "uq_users_account_pk_email",
            "account_pk",
            "email",
            unique=True,
            **_partial("email IS NOT NULL"),
        ),
        Index(
            "ix_users_email",
            "email",
            **_partial("email IS NOT NULL"),
        ),
        Index(
            "uq_users_password_link_hash",
            "password_link_hash",
            unique=True,
            **_partial("password_link_hash IS NOT NULL"),
        ),
    )
    pk: Mapped[int] = _pk()
    sid: Mapped[str] = mapped_column(String(34), unique=True)
    account_pk: Mapped[int] = _account_fk()
    identity: Mapped[str | None] = mapped_column(String(ID_LEN))
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="end_user")  # end_user|member|admin
    # console users: deactivated ones cannot sign in; the digest of their one pending
    # set-password link (an invitation or a reset) and when it expires (thumbs.auth.members)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime)
    password_link_hash: Mapped[str | None] = mapped_column(String(64))
    password_link_expires: Mapped[datetime | None] = mapped_column(DateTime)
    date_created: Mapped[datetime] = _created()
    date_updated: Mapped[datetime] = _updated()


class Assistant(Base):
    __tablename__ = "assistants"
    __table_args__ = (Index("ix_assistants_account_pk_pk", "account_pk", "pk"),)
    pk: Mapped[int] = _pk()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    account_pk: Mapped[int] = _account_fk()
    name: Mapped[str] = mapped_column(String(ID_LEN))
    owner: Mapped[str] = mapped_column(String(ID_LEN), default="")
    model: Mapped[str] = mapped_column(String(ID_LEN), default="")
    personality_prompt: Mapped[str] = mapped_column(Text, default="")
    customer_ai: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    segment_space_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    # A Twilio score at or above this threshold counts as positive feedback.
    positive_threshold: Mapped[float] = mapped_column(Float, default=0.5, server_default="0.5")
    # Responder behind the Simulator: "embedded" or "openai" (an OpenAI-compatible endpoint).
    responder: Mapped[str] = mapped_column(
        String(16), default="embedded", server_default="embedded"
    )
    responder_base_url: Mapped[str | None] = mapped_column(String(1024))
    responder_model: Mapped[str | None] = mapped_column(String(ID_LEN))
    responder_api_key_env: Mapped[str | None] = mapped_column(String(ID_LEN))
    date_created: Mapped[datetime] = _created()
    date_updated: Mapped[datetime] = _updated()


class ConversationSession(Base):
    """A Twilio Assistants session: a free-form id (or name) given by the application."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("account_pk", "id"),
        Index("ix_sessions_account_pk_pk", "account_pk", "pk"),
    )
    pk: Mapped[int] = _pk()
    id: Mapped[str] = mapped_column(String(ID_LEN))
    account_pk: Mapped[int] = _account_fk()
    assistant_pk: Mapped[int] = mapped_column(PK, ForeignKey("assistants.pk", ondelete="CASCADE"))
    identity: Mapped[str | None] = mapped_column(String(ID_LEN))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    date_created: Mapped[datetime] = _created()
    date_updated: Mapped[datetime] = _updated()


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_session_pk_pk", "session_pk", "pk"),)
    pk: Mapped[int] = _pk()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    account_pk: Mapped[int] = _account_fk()
    assistant_pk: Mapped[int] = mapped_column(PK, ForeignKey("assistants.pk", ondelete="CASCADE"))
    session_pk: Mapped[int] = mapped_column(PK, ForeignKey("sessions.pk", ondelete="CASCADE"))
    identity: Mapped[str | None] = mapped_column(String(ID_LEN))
    role: Mapped[str] = mapped_column(String(16))  # user | assistant | system
    content: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    date_created: Mapped[datetime] = _created()
    date_updated: Mapped[datetime] = _updated()


NO_TYPE = "none"  # how filters and rollups name the type of a feedback without a verdict


class Feedback(Base):
    """One feedback record: written by the Twilio-compatible API and the thumbs submission."""

    __tablename__ = "feedbacks"
    __table_args__ = (
        Index("ix_feedbacks_assistant_pk_pk", "assistant_pk", "pk"),
        Index("ix_feedbacks_assistant_pk_session_id_pk", "assistant_pk", "session_id", "pk"),
        Index("ix_feedbacks_assistant_pk_message_id_pk", "assistant_pk", "message_id", "pk"),
        Index("ix_feedbacks_account_pk_status_pk", "account_pk", "status", "pk"),
        # analytics: the minutes at the edges of a date range, and the end-user filter
        Index("ix_feedbacks_assistant_pk_date_created", "assistant_pk", "date_created"),
        Index(
            "ix_feedbacks_user_pk_date_created",
            "user_pk",
            "date_created",
            **_partial("user_pk IS NOT NULL"),
        ),
        # the console's explorer: an account's feedback newest first (a session's is found
        # through the assistants' session index: thumbs.feedback.filters)
        Index("ix_feedbacks_account_pk_pk", "account_pk", "pk"),
        # one thumbs verdict per user per message
        Index(
            "uq_feedbacks_thumb",
            "message_pk",
            "user_pk",
            unique=True,
            **_partial("channel = 'thumbs'"),
        ),
    )
    pk: Mapped[int] = _pk()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    account_pk: Mapped[int] = _account_fk()
    assistant_pk: Mapped[int] = mapped_column(PK, ForeignKey("assistants.pk", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(ID_LEN))
    message_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    message_pk: Mapped[int | None] = mapped_column(
        PK, ForeignKey("messages.pk", ondelete="SET NULL")
    )
    user_pk: Mapped[int | None] = mapped_column(PK, ForeignKey("users.pk", ondelete="SET NULL"))
    user_sid: Mapped[str | None] = mapped_column(String(34))
    score: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(Text)
    # lifecycle (see thumbs.review)
    channel: Mapped[str] = mapped_column(String(16), default="api", server_default="api")
    feedback_type: Mapped[str | None] = mapped_column(String(16))  # positive | negative
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    reviewed_by_pk: Mapped[int | None] = mapped_column(
        PK, ForeignKey("users.pk", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # raised by every change (see thumbs.review.service): the feedback's ETag
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    date_created: Mapped[datetime] = _created()
    date_updated: Mapped[datetime] = _updated()


# -- analytics rollups (maintained by thumbs.store.rollups) ------------------------------

# Lower edges, in seconds, of the time-to-review histogram's bins (the last bin is open):
# under 1 min, 1-5 min, 5-15 min, 15-30 min, 30-60 min, 1-2 h, 2-4 h, 4-8 h, 8-16 h,
# 16-24 h, 1-2 d, 2-4 d, 4-7 d, 7-14 d, 14-30 d, 30 d and more.
REVIEW_TIME_EDGES = (
    0,
    60,
    300,
    900,
    1800,
    3600,
    7200,
    14400,
    28800,
    57600,
    86400,
    172800,
    345600,
    604800,
    1209600,
    2592000,
)
COUNT = BigInteger().with_variant(Integer(), "sqlite")


def _rollup_table(name: str) -> Table:
    """Feedback counted per account x assistant x time bucket x type x status x channel.

    ``bucket`` is a whole number of UTC hours (or days) since 1970-01-01; ``feedback_type``
    is ``none`` for feedback without a verdict. The measures are sums over the feedback
    of the cell (see thumbs.store.rollups)."""
    return Table(
        name,
        Base.metadata,
        Column("account_pk", PK, ForeignKey("accounts.pk", ondelete="CASCADE"), nullable=False),
        Column("assistant_pk", PK, ForeignKey("assistants.pk", ondelete="CASCADE"), nullable=False),
        Column("bucket", Integer, nullable=False),
        Column("feedback_type", String(16), nullable=False),
        Column("status", String(16), nullable=False),
        Column("channel", String(16), nullable=False),
        Column("n", COUNT, nullable=False, server_default="0"),
        Column("scored", COUNT, nullable=False, server_default="0"),
        Column("score_sum", Float, nullable=False, server_default="0"),
        Column("with_text", COUNT, nullable=False, server_default="0"),
        Column("with_reason", COUNT, nullable=False, server_default="0"),
        Column("reviewed", COUNT, nullable=False, server_default="0"),
        Column("review_seconds", COUNT, nullable=False, server_default="0"),
        *(
            Column(f"rt_{i:02d}", COUNT, nullable=False, server_default="0")
            for i in range(len(REVIEW_TIME_EDGES))
        ),
        PrimaryKeyConstraint("assistant_pk", "bucket", "feedback_type", "status", "channel"),
        Index(f"ix_{name}_account_pk_bucket", "account_pk", "bucket"),
        sqlite_with_rowid=False,
    )


FEEDBACK_ROLLUP_HOURS = _rollup_table("feedback_rollup_hours")  # bucket: UTC hours since 1970
FEEDBACK_ROLLUP_DAYS = _rollup_table("feedback_rollup_days")  # bucket: UTC days since 1970


class FeedbackSetting(Base):
    """Per feedback type settings; ``scope`` is ``*`` (account default) or an assistant id."""

    __tablename__ = "feedback_settings"
    __table_args__ = (UniqueConstraint("account_pk", "scope", "feedback_type"),)
    pk: Mapped[int] = _pk()
    account_pk: Mapped[int] = _account_fk()
    scope: Mapped[str] = mapped_column(String(64))
    assistant_pk: Mapped[int | None] = mapped_column(
        PK, ForeignKey("assistants.pk", ondelete="CASCADE")
    )
    feedback_type: Mapped[str] = mapped_column(String(16))
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=False)
    require_reason: Mapped[bool] = mapped_column(Boolean, default=False)
    date_updated: Mapped[datetime] = _updated()


class FeedbackTransition(Base):
    """Every status change of a feedback: who, when, from, to, note."""

    __tablename__ = "feedback_transitions"
    __table_args__ = (Index("ix_feedback_transitions_feedback_pk_pk", "feedback_pk", "pk"),)
    pk: Mapped[int] = _pk()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    account_pk: Mapped[int] = _account_fk()
    feedback_pk: Mapped[int] = mapped_column(PK, ForeignKey("feedbacks.pk", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_pk: Mapped[int | None] = mapped_column(PK, ForeignKey("users.pk", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(ID_LEN))  # a user sid, an account sid or "system"
    note: Mapped[str | None] = mapped_column(Text)
    date_created: Mapped[datetime] = _created()


class GoldenExample(Base):
    __tablename__ = "golden_examples"
    __table_args__ = (
        Index("ix_golden_examples_account_pk_pk", "account_pk", "pk"),
        Index("ix_golden_examples_assistant_pk_status", "assistant_pk", "status"),
        UniqueConstraint("feedback_pk", "decision_pk"),
    )
    pk: Mapped[int] = _pk()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    account_pk: Mapped[int] = _account_fk()
    assistant_pk: Mapped[int] = mapped_column(PK, ForeignKey("assistants.pk", ondelete="CASCADE"))
    feedback_pk: Mapped[int | None] = mapped_column(
        PK, ForeignKey("feedbacks.pk", ondelete="SET NULL")
    )
    decision_pk: Mapped[int | None] = mapped_column(
        PK, ForeignKey("feedback_transitions.pk", ondelete="SET NULL")
    )
    message_pk: Mapped[int | None] = mapped_column(
        PK, ForeignKey("messages.pk", ondelete="SET NULL")
    )
    input: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{role, content}, ...]
    prompt: Mapped[str] = mapped_column(Text, default="")  # the last user turn, for search
    output: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # original | corrected
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | withdrawn
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    date_created: Mapped[datetime] = _created()
    date_updated: Mapped[datetime] = _updated()


class PreferencePair(Base):
    __tablename__ = "preference_pairs"
    __table_args__ = (Index("ix_preference_pairs_account_pk_pk", "account_pk", "pk"),)
    pk: Mapped[int] = _pk()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    account_pk: Mapped[int] = _account_fk()
    assistant_pk: Mapped[int] = mapped_column(PK, ForeignKey("assistants.pk", ondelete="CASCADE"))
    golden_pk: Mapped[int | None] = mapped_column(
        PK, ForeignKey("golden_examples.pk", ondelete="SET NULL")
    )
    feedback_pk: Mapped[int | None] = mapped_column(
        PK, ForeignKey("feedbacks.pk", ondelete="SET NULL")
    )
    input: Mapped[list[Any]] = mapped_column(JSON, default=list)
    chosen: Mapped[str] = mapped_column(Text)
    rejected: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    date_created: Mapped[datetime] = _created()
    date_updated: Mapped[datetime] = _updated()


class IdempotencyKey(Base):
    """A create request's idempotency key and the response it got, replayed on retry for
    24 hours (thumbs.feedback.idempotency); expired keys are deleted in bounded batches."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_date_created", "date_created"),)
    account_pk: Mapped[int] = mapped_column(
        PK, ForeignKey("accounts.pk", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    date_created: Mapped[datetime] = _created()


class WebSession(Base):
    """A signed-in console session. Only a SHA-256 digest of the cookie's token is stored,
    so a copy of the database cannot be used to sign in; logout deletes the row."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user_pk", "user_pk"),)
    pk: Mapped[int] = _pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_pk: Mapped[int] = _account_fk()
    user_pk: Mapped[int] = mapped_column(PK, ForeignKey("users.pk", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    date_created: Mapped[datetime] = _created()
