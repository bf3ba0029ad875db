"""Sessions and messages of one account (no HTTP here).

The reusable pieces: :func:`get_or_create_session`, :func:`append_message`,
:func:`conversation_before` (the input of a golden example)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.orm import Session, aliased

from thumbs.assistants import service as assistants
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.paging import Page, PageParams, keyset_page
from thumbs.kit.timefmt import iso, utcnow
from thumbs.store.models import Assistant, ConversationSession, Feedback, Message
from thumbs.store.sql import insert_ignore

ROLES = ("user", "assistant", "system")


def find_session(
    session: Session, *, account_pk: int, session_id: str
) -> ConversationSession | None:
    return session.scalars(
        select(ConversationSession).where(
            ConversationSession.account_pk == account_pk, ConversationSession.id == session_id
        )
    ).one_or_none()


def get_session(session: Session, *, account_pk: int, session_id: str) -> ConversationSession:
    if len(session_id) > 256:
        raise E.NotFound("Session", session_id[:64] + "…")
    conv = find_session(session, account_pk=account_pk, session_id=session_id)
    if conv is None:
        raise E.NotFound("Session", session_id[:64])
    return conv


def get_or_create_session(
    session: Session,
    *,
    account_pk: int,
    assistant_pk: int,
    session_id: str,
    identity: str | None,
) -> ConversationSession:
    """The session ``session_id`` of this account, created on first use (race-free). A
    session belongs to one assistant: using it with another is a 400."""

    def find() -> ConversationSession | None:
        return session.scalars(
            select(ConversationSession).where(
                ConversationSession.account_pk == account_pk,
                ConversationSession.id == session_id,
            )
        ).one_or_none()

    conv = find()
    if conv is None:
        now = utcnow()
        insert_ignore(
            session,
            ConversationSession,
            {
                "id": session_id,
                "account_pk": account_pk,
                "assistant_pk": assistant_pk,
                "identity": identity,
                "verified": False,
                "date_created": now,
                "date_updated": now,
            },
            index_elements=["account_pk", "id"],
        )
        conv = find()
        assert conv is not None
    if conv.assistant_pk != assistant_pk:
        raise E.InvalidField(
            E.SESSION_ASSISTANT_MISMATCH,
            "session_id",
            f"Session {session_id[:64]} belongs to another assistant",
        )
    return conv


def append_message(
    session: Session,
    *,
    conv: ConversationSession,
    role: str,
    content: str,
    identity: str | None,
    meta: dict[str, Any] | None = None,
) -> Message:
    """Add one message at the end of the session."""
    now = utcnow()
    message = Message(
        id=ids.new_id(ids.MESSAGE),
        account_pk=conv.account_pk,
        assistant_pk=conv.assistant_pk,
        session_pk=conv.pk,
        identity=identity,
        role=role,
        content=content,
        meta=dict(meta or {}),
        date_created=now,
        date_updated=now,
    )
    session.add(message)
    session.execute(
        update(ConversationSession)
        .where(ConversationSession.pk == conv.pk)
        .values(date_updated=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return message


# built once (building a statement costs more than running it)
_MESSAGE_BY_ID = select(Message).where(
    Message.id == bindparam("id"), Message.account_pk == bindparam("account_pk")
)


def get_message(session: Session, *, account_pk: int, message_id: str) -> Message:
    if len(message_id) > 64:
        raise E.NotFound("Message", message_id[:64] + "…", field="message_id")
    message = session.scalars(
        _MESSAGE_BY_ID, {"id": message_id, "account_pk": account_pk}
    ).one_or_none()
    if message is None:
        raise E.NotFound("Message", message_id, field="message_id")
    return message


_TURNS_BEFORE = (
    select(Message.role, Message.content)
    .where(Message.session_pk == bindparam("session_pk"), Message.pk < bindparam("pk"))
    .order_by(Message.pk.asc())
)


def conversation_before(session: Session, *, message: Message) -> list[dict[str, str]]:
    """The turns of the session before ``message``, oldest first, as ``{role, content}``."""
    rows = session.execute(
        _TURNS_BEFORE, {"session_pk": message.session_pk, "pk": message.pk}
    ).all()
    return [{"role": r.role, "content": r.content} for r in rows]


def turns_around(
    session: Session, *, reply_pks: Collection[int], before: int, after: int
) -> dict[int, tuple[list[dict[str, str]], list[dict[str, str]]]]:
    """For each message of ``reply_pks``: the last ``before`` turns of its session before it
    and the first ``after`` turns after it, oldest first, as ``{role, content}``. Two
    queries for any number of messages (a window over each session, on the
    ``(session_pk, pk)`` index), not two per message."""
    out: dict[int, tuple[list[dict[str, str]], list[dict[str, str]]]] = {
        pk: ([], []) for pk in reply_pks
    }
    if not out:
        return out
    rated = (
        select(Message.pk.label("reply"), Message.session_pk.label("session"))
        .where(Message.pk.in_(out.keys()))
        .subquery()
    )
    turn = aliased(Message)
    for side, limit in ((0, before), (1, after)):
        if limit <= 0:
            continue
        near = turn.pk < rated.c.reply if side == 0 else turn.pk > rated.c.reply
        order = turn.pk.desc() if side == 0 else turn.pk.asc()
        ranked = (
            select(
                rated.c.reply,
                turn.pk,
                turn.role,
                turn.content,
                func.row_number().over(partition_by=rated.c.reply, order_by=order).label("n"),
            )
            .join(turn, and_(turn.session_pk == rated.c.session, near))
            .subquery()
        )
        rows = session.execute(
            select(ranked.c.reply, ranked.c.role, ranked.c.content)
            .where(ranked.c.n <= limit)
            .order_by(ranked.c.reply, ranked.c.pk)
        ).all()
        for r in rows:
            out[r.reply][side].append({"role": r.role, "content": r.content})
    return out


@dataclass(frozen=True, slots=True)
class Exchange:
    """A reply and the question it answered (the last user turn before it)."""

    question: str
    reply: str


def exchanges(session: Session, *, message_pks: set[int]) -> dict[int, Exchange]:
    """The question and the reply of each message in ``message_pks`` (by message pk), in
    one query: what a list of feedback shows beside each rating."""
    if not message_pks:
        return {}
    asked = aliased(Message)
    question = (
        select(asked.content)
        .where(
            asked.session_pk == Message.session_pk,
            asked.role == "user",
            asked.pk < Message.pk,
        )
        .order_by(asked.pk.desc())
        .limit(1)
        .correlate(Message)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Message.pk, Message.content, question.label("question")).where(
            Message.pk.in_(message_pks)
        )
    )
    return {r.pk: Exchange(question=r.question or "", reply=r.content) for r in rows}


def last_user_turn(turns: list[dict[str, str]]) -> str:
    for turn in reversed(turns):
        if turn["role"] == "user":
            return turn["content"]
    return ""


@dataclass(frozen=True, slots=True)
class Turn:
    session: ConversationSession
    user_message: Message
    reply: Message


def log_turn(
    session: Session,
    *,
    account_pk: int,
    assistant_pk: int,
    session_id: str,
    identity: str | None,
    body: str,
    reply: str,
    meta: dict[str, Any] | None = None,
) -> Turn:
    """Record a user's message and the assistant's reply, in that order."""
    conv = get_or_create_session(
        session,
        account_pk=account_pk,
        assistant_pk=assistant_pk,
        session_id=session_id,
        identity=identity,
    )
    asked = append_message(session, conv=conv, role="user", content=body, identity=identity)
    answered = append_message(
        session, conv=conv, role="assistant", content=reply, identity=identity, meta=meta
    )
    return Turn(session=conv, user_message=asked, reply=answered)


# -- lists -----------------------------------------------------------------------------------


def list_sessions(
    session: Session, *, account_pk: int, assistant_pk: int | None, params: PageParams
) -> Page[ConversationSession]:
    """Newest first."""
    stmt = select(ConversationSession).where(ConversationSession.account_pk == account_pk)
    if assistant_pk is not None:
        stmt = stmt.where(ConversationSession.assistant_pk == assistant_pk)
    return keyset_page(session, stmt, ConversationSession.pk, params)


def list_messages(
    session: Session, *, conv: ConversationSession, params: PageParams
) -> Page[Message]:
    """Oldest first: the conversation in the order it happened."""
    stmt = select(Message).where(Message.session_pk == conv.pk)
    return keyset_page(session, stmt, Message.pk, params, descending=False)


def assistant_ids(session: Session, pks: set[int]) -> dict[int, str]:
    if not pks:
        return {}
    rows = session.execute(select(Assistant.pk, Assistant.id).where(Assistant.pk.in_(pks)))
    return {r.pk: r.id for r in rows}


# -- one session with its feedback (the console's session page) ------------------------------

VIEW_LIMIT = 500


@dataclass(frozen=True, slots=True)
class SessionView:
    session_id: str
    assistant: Assistant | None
    messages: list[Message]
    feedback: list[Feedback]


def session_view(
    session: Session, *, account_pk: int, session_id: str, assistant_id: str | None
) -> SessionView:
    """The messages of a session (when they were logged) and every feedback given on it
    (of one assistant, when ``assistant_id`` is given); the first 500 of each."""
    asst = (
        assistants.get(session, account_pk=account_pk, assistant_id=assistant_id)
        if assistant_id
        else None
    )
    conv = find_session(session, account_pk=account_pk, session_id=session_id)
    messages: list[Message] = []
    if conv is not None:
        messages = list(
            session.scalars(
                select(Message)
                .where(Message.account_pk == account_pk, Message.session_pk == conv.pk)
                .order_by(Message.pk)
                .limit(VIEW_LIMIT)
            ).all()
        )
    stmt = select(Feedback).where(
        Feedback.account_pk == account_pk, Feedback.session_id == session_id
    )
    if asst is not None:
        stmt = stmt.where(Feedback.assistant_pk == asst.pk)
    feedback = list(session.scalars(stmt.order_by(Feedback.pk).limit(VIEW_LIMIT)).all())
    if asst is None and not messages and not feedback:
        raise E.NotFound("Session", session_id[:256])
    return SessionView(session_id=session_id, assistant=asst, messages=messages, feedback=feedback)


@dataclass(frozen=True, slots=True)
class RecentSession:
    session_id: str
    assistant_id: str
    assistant_name: str
    date_updated: datetime


def recent_sessions(
    session: Session, *, account_pk: int, identity: str, limit: int = 10
) -> list[RecentSession]:
    """The newest sessions of one end user (the Simulator's ``console:<email>``), newest first."""
    rows = session.execute(
        select(
            ConversationSession.id, ConversationSession.date_updated, Assistant.id, Assistant.name
        )
        .join(Assistant, Assistant.pk == ConversationSession.assistant_pk)
        .where(
            ConversationSession.account_pk == account_pk,
            ConversationSession.identity == identity,
        )
        .order_by(ConversationSession.pk.desc())
        .limit(limit)
    ).all()
    return [
        RecentSession(session_id=r[0], date_updated=r[1], assistant_id=r[2], assistant_name=r[3])
        for r in rows
    ]


# -- output ----------------------------------------------------------------------------------


def session_out(
    conv: ConversationSession, *, account_sid: str, assistant_id: str
) -> dict[str, Any]:
    return {
        "id": conv.id,
        "account_sid": account_sid,
        "assistant_id": assistant_id,
        "verified": conv.verified,
        "identity": conv.identity,
        "date_created": iso(conv.date_created),
        "date_updated": iso(conv.date_updated),
    }


def message_out(
    message: Message, *, account_sid: str, assistant_id: str, session_id: str
) -> dict[str, Any]:
    return {
        "id": message.id,
        "account_sid": account_sid,
        "assistant_id": assistant_id,
        "session_id": session_id,
        "identity": message.identity,
        "role": message.role,
        "content": {"text": message.content},
        "meta": message.meta,
        "date_created": iso(message.date_created),
        "date_updated": iso(message.date_updated),
    }


def log_message(
    session: Session,
    *,
    account_pk: int,
    session_id: str,
    assistant_pk: int | None,
    identity: str | None,
    role: str,
    content: str,
    meta: dict[str, Any] | None,
) -> tuple[ConversationSession, Message]:
    """Append one message to a session; the session is created when ``assistant_pk`` is
    given, and must exist otherwise."""
    if assistant_pk is None:
        conv = session.scalars(
            select(ConversationSession).where(
                ConversationSession.account_pk == account_pk,
                ConversationSession.id == session_id,
            )
        ).one_or_none()
        if conv is None:
            raise E.InvalidField(
                E.MISSING_FIELD,
                "assistant_id",
                "The session does not exist yet: give assistant_id to start it",
            )
    else:
        conv = get_or_create_session(
            session,
            account_pk=account_pk,
            assistant_pk=assistant_pk,
            session_id=session_id,
            identity=identity,
        )
    message = append_message(
        session, conv=conv, role=role, content=content, identity=identity, meta=meta
    )
    return conv, message
