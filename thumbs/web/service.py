"""Console logic without HTTP: console users, sign-in sessions, and the simple read models
of the pages that need only the existing tables (session view, settings).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from thumbs.assistants import service as assistants_service
from thumbs.assistants.schemas import AssistantUpdate
from thumbs.auth.service import Principal
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.body import error_from_pydantic
from thumbs.kit.timefmt import utcnow
from thumbs.review import service as review
from thumbs.store.models import (
    Account,
    Assistant,
    ConversationSession,
    Feedback,
    Message,
    User,
    WebSession,
)
from thumbs.web import security

ROLES = ("admin", "member")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# -- console users -------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session, *, account_sid: str, email: str, role: str, password: str
) -> User:
    """A console user (admin or member) of an account, signing in with email and password."""
    email = normalize_email(email)
    if len(email) > 320 or not _EMAIL.match(email):
        raise E.InvalidField(E.PATTERN_MISMATCH, "email", "email is not an email address")
    if role not in ROLES:
        raise E.InvalidField(E.INVALID_VALUE, "role", "role must be admin or member")
    if len(password) < MIN_PASSWORD:
        raise E.InvalidField(
            E.OUT_OF_RANGE, "password", f"password needs at least {MIN_PASSWORD} characters"
        )
    if len(password) > MAX_PASSWORD:
        raise E.InvalidField(E.TOO_LONG, "password", "password is too long")
    account = session.scalars(select(Account).where(Account.sid == account_sid)).one_or_none()
    if account is None:
        raise E.NotFound("Account", account_sid, field="account")
    if session.scalar(select(User.pk).where(User.email == email)) is not None:
        raise E.Conflict(f"A user with email {email} exists already", field="email")
    user = User(
        sid=ids.new_sid(ids.USER),
        account_pk=account.pk,
        email=email,
        password_hash=security.hash_password(password),
        role=role,
    )
    session.add(user)
    session.flush()
    return user


# -- sign-in sessions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """Who is signed in to the console, and the CSRF token of their session."""

    session_pk: int
    user_pk: int
    user_sid: str
    email: str
    role: str
    account_pk: int
    account_sid: str
    account_name: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def principal(self) -> Principal:
        """The same caller as seen by the API's services (issue 3's services take this)."""
        return Principal(
            account_pk=self.account_pk,
            account_sid=self.account_sid,
            credential_sid=self.user_sid,
            role=self.role,
            user_pk=self.user_pk,
            user_sid=self.user_sid,
        )


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str
    expires_at: datetime


def sign_in(session: Session, *, email: str, password: str, ttl: float) -> NewSession | None:
    """A new session for a console user whose password matches; None otherwise (same time
    for an unknown email as for a wrong password)."""
    user = session.scalars(
        select(User).where(User.email == normalize_email(email), User.role.in_(ROLES))
    ).one_or_none()
    stored = user.password_hash if user is not None else None
    if not security.verify_password(password, stored) or user is None:
        return None
    token = security.new_token()
    now = utcnow()
    expires = now + timedelta(seconds=ttl)
    session.execute(
        delete(WebSession).where(WebSession.user_pk == user.pk, WebSession.expires_at <= now)
    )
    session.add(
        WebSession(
            token_hash=security.token_digest(token),
            account_pk=user.account_pk,
            user_pk=user.pk,
            expires_at=expires,
            date_created=now,
        )
    )
    session.flush()
    return NewSession(token=token, expires_at=expires)


def session_user(session: Session, *, token: str) -> ConsoleUser | None:
    if not token or len(token) > 128:
        return None
    row = session.execute(
        select(WebSession, User, Account)
        .join(User, User.pk == WebSession.user_pk)
        .join(Account, Account.pk == WebSession.account_pk)
        .where(
            WebSession.token_hash == security.token_digest(token),
            WebSession.expires_at > utcnow(),
            User.account_pk == WebSession.account_pk,
            User.role.in_(ROLES),
        )
    ).one_or_none()
    if row is None:
        return None
    ws, user, account = row
    return ConsoleUser(
        session_pk=ws.pk,
        user_pk=user.pk,
        user_sid=user.sid,
        email=user.email or "",
        role=user.role,
        account_pk=account.pk,
        account_sid=account.sid,
        account_name=account.friendly_name,
        csrf_token=security.csrf_for(token),
    )


def sign_out(session: Session, *, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == security.token_digest(token)))
    session.flush()


# -- assistants of the account -------------------------------------------------------------


def assistants(session: Session, *, account_pk: int) -> list[Assistant]:
    return list(
        session.scalars(
            select(Assistant).where(Assistant.account_pk == account_pk).order_by(Assistant.name)
        ).all()
    )


def principal_of(user: ConsoleUser, *, identity: str | None = None) -> Principal:
    """The console user as the services' caller (their user record, their role)."""
    return Principal(
        account_pk=user.account_pk,
        account_sid=user.account_sid,
        credential_sid=user.user_sid,
        role=user.role,
        user_pk=user.user_pk,
        user_sid=user.user_sid,
        identity=identity,
    )


@dataclass(frozen=True, slots=True)
class LifecycleRow:
    """One scope of the lifecycle settings: the account default or one assistant."""

    scope: str  # "" for the account default, else the assistant's id
    label: str
    by_type: dict[str, review.EffectiveSetting]


def lifecycle_rows(
    session: Session, *, account_pk: int, assistants: list[Assistant]
) -> list[LifecycleRow]:
    def row(scope: str, label: str, assistant: Assistant | None) -> LifecycleRow:
        found = review.effective_settings(session, account_pk=account_pk, assistant=assistant)
        return LifecycleRow(scope, label, {s.feedback_type: s for s in found})

    return [row("", "Account default", None)] + [row(a.id, a.name, a) for a in assistants]


def save_lifecycle(
    session: Session, *, account_pk: int, scope: str, values: dict[str, dict[str, bool]]
) -> None:
    """Set both types' auto_approve and require_reason for the account default (``scope``
    empty) or one assistant."""
    target = assistant(session, account_pk=account_pk, assistant_id=scope) if scope else None
    for feedback_type, flags in values.items():
        review.put_setting(
            session,
            account_pk=account_pk,
            assistant=target,
            feedback_type=feedback_type,
            auto_approve=flags["auto_approve"],
            require_reason=flags["require_reason"],
        )


def reason_required(session: Session, *, account_pk: int, assistant: Assistant) -> dict[str, bool]:
    """Per feedback type: does this assistant's feedback need a reason?"""
    return {
        s.feedback_type: s.require_reason
        for s in review.effective_settings(session, account_pk=account_pk, assistant=assistant)
    }


def assistant(session: Session, *, account_pk: int, assistant_id: str) -> Assistant:
    return assistants_service.get(session, account_pk=account_pk, assistant_id=assistant_id)


# -- names of the assistants a page shows -------------------------------------------------


def assistant_names(session: Session, *, account_pk: int, pks: set[int]) -> dict[int, Assistant]:
    if not pks:
        return {}
    rows = session.scalars(
        select(Assistant).where(Assistant.account_pk == account_pk, Assistant.pk.in_(pks))
    ).all()
    return {a.pk: a for a in rows}


# -- one conversation session --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionView:
    session_id: str
    assistant: Assistant | None
    messages: list[Message]
    feedback: list[Feedback]


def session_view(
    session: Session, *, account_pk: int, session_id: str, assistant_id: str | None
) -> SessionView:
    """The messages of a session (when they were logged) and every feedback on it."""
    asst = (
        assistant(session, account_pk=account_pk, assistant_id=assistant_id)
        if assistant_id
        else None
    )
    conv = session.scalars(
        select(ConversationSession).where(
            ConversationSession.account_pk == account_pk, ConversationSession.id == session_id
        )
    ).one_or_none()
    messages: list[Message] = []
    if conv is not None:
        messages = list(
            session.scalars(
                select(Message)
                .where(Message.account_pk == account_pk, Message.session_pk == conv.pk)
                .order_by(Message.pk)
                .limit(500)
            ).all()
        )
    stmt = select(Feedback).where(
        Feedback.account_pk == account_pk, Feedback.session_id == session_id
    )
    if asst is not None:
        stmt = stmt.where(Feedback.assistant_pk == asst.pk)
    feedback = list(session.scalars(stmt.order_by(Feedback.pk).limit(500)).all())
    if asst is None and not messages and not feedback:
        raise E.NotFound("Session", session_id[:256])
    return SessionView(session_id=session_id, assistant=asst, messages=messages, feedback=feedback)


# -- settings: the responder of each assistant ---------------------------------------------


def responder_key_is_set(a: Assistant) -> bool | None:
    """Whether the API key variable named by the assistant is set on this server (the value
    is never shown); None when no variable is named."""
    if not a.responder_api_key_env:
        return None
    return bool(os.environ.get(a.responder_api_key_env))


RESPONDER_FIELDS = ("responder", "responder_base_url", "responder_model", "responder_api_key_env")


def update_responder(
    session: Session, *, account_pk: int, assistant_id: str, fields: dict[str, str | None]
) -> Assistant:
    """Set an assistant's responder from the settings form, validated by the API's rules;
    an empty field clears that value (an OpenAI-compatible responder needs a base URL and
    a model; without a key variable no Authorization header is sent, as for Ollama)."""
    given = {k: (fields.get(k) or "").strip() or None for k in RESPONDER_FIELDS}
    try:
        data = AssistantUpdate.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        raise error_from_pydantic(exc.errors()[0]) from None
    a = assistant(session, account_pk=account_pk, assistant_id=assistant_id)
    a.responder = data.responder or "embedded"
    a.responder_base_url = data.responder_base_url
    a.responder_model = data.responder_model
    a.responder_api_key_env = data.responder_api_key_env
    if a.responder == "openai":
        if not a.responder_base_url:
            raise E.InvalidField(
                E.MISSING_FIELD,
                "responder_base_url",
                "An OpenAI-compatible responder needs a base URL",
            )
        if not a.responder_model:
            raise E.InvalidField(
                E.MISSING_FIELD, "responder_model", "An OpenAI-compatible responder needs a model"
            )
    a.date_updated = utcnow()
    session.flush()
    return a
