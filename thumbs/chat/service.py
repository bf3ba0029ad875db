"""Ask an assistant: read what the reply needs (one unit of work), let the responder answer
(no database session held: a model may take seconds), then store the question and the reply
together (a second unit of work). A failed reply stores nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from thumbs import responders
from thumbs.assistants import service as assistants
from thumbs.config import Settings
from thumbs.conversations import service as conversations
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.responders import Prepared, Turn
from thumbs.store.engine import Store
from thumbs.store.models import ConversationSession, Message
from thumbs.users import service as users

# the most recent turns of the session given to the responder as history
HISTORY_TURNS = 40

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Question:
    assistant_pk: int
    assistant_id: str
    session_id: str
    history: list[Turn]
    prepared: Prepared


@dataclass(frozen=True, slots=True)
class Answered:
    assistant_id: str
    session_id: str
    reply: str
    question_message: Message
    reply_message: Message


def _history(session: Session, conv: ConversationSession | None) -> list[Turn]:
    if conv is None:
        return []
    rows = session.execute(
        select(Message.role, Message.content)
        .where(Message.session_pk == conv.pk)
        .order_by(Message.pk.desc())
        .limit(HISTORY_TURNS)
    ).all()
    return [Turn(role=r.role, content=r.content) for r in reversed(rows)]


def read_question(
    session: Session,
    *,
    account_pk: int,
    assistant_id: str,
    session_id: str | None,
    body: str,
    settings: Settings,
    session_owner: str | None = None,
) -> Question:
    """Everything the reply needs: the assistant, the conversation so far, the examples.

    With ``session_owner`` (an end user asking), only a session of theirs can be continued:
    another's is not found, so its history never reaches the responder nor the reply."""
    assistant = assistants.get(session, account_pk=account_pk, assistant_id=assistant_id)
    conv = None
    if session_id is not None:
        conv = session.scalars(
            select(ConversationSession).where(
                ConversationSession.account_pk == account_pk,
                ConversationSession.id == session_id,
            )
        ).one_or_none()
        if conv is not None and session_owner is not None and conv.identity != session_owner:
            raise E.NotFound("Session", session_id[:64], field="session_id")
        if conv is not None and conv.assistant_pk != assistant.pk:
            raise E.InvalidField(
                E.SESSION_ASSISTANT_MISMATCH,
                "session_id",
                f"Session {session_id[:64]} belongs to another assistant",
            )
    return Question(
        assistant_pk=assistant.pk,
        assistant_id=assistant.id,
        session_id=session_id or ids.new_id(ids.SESSION),
        history=_history(session, conv),
        prepared=responders.prepare(session, assistant=assistant, question=body, settings=settings),
    )


def store_turn(
    session: Session,
    *,
    account_pk: int,
    question: Question,
    identity: str,
    body: str,
    reply: str,
    meta: dict[str, Any],
) -> Answered:
    users.get_or_create(session, account_pk=account_pk, identity=identity)
    turn = conversations.log_turn(
        session,
        account_pk=account_pk,
        assistant_pk=question.assistant_pk,
        session_id=question.session_id,
        identity=identity,
        body=body,
        reply=reply,
        meta=meta,
    )
    return Answered(
        assistant_id=question.assistant_id,
        session_id=turn.session.id,
        reply=reply,
        question_message=turn.user_message,
        reply_message=turn.reply,
    )


async def _unit(store: Store, work: Callable[[Session], T]) -> T:
    def run() -> T:
        with store.session() as session:
            return work(session)

    return await run_in_threadpool(run)


async def ask(
    store: Store,
    settings: Settings,
    *,
    client: httpx.AsyncClient | None = None,
    account_pk: int,
    assistant_id: str,
    identity: str,
    session_id: str | None,
    body: str,
    mode: str = "chat",
    session_owner: str | None = None,
) -> Answered:
    """The assistant's reply to ``body``, stored with the question in the session."""
    question = await _unit(
        store,
        lambda s: read_question(
            s,
            account_pk=account_pk,
            assistant_id=assistant_id,
            session_id=session_id,
            body=body,
            settings=settings,
            session_owner=session_owner,
        ),
    )
    reply = await responders.answer(
        question.prepared,
        history=question.history,
        question=body,
        settings=settings,
        client=client,
    )
    meta: dict[str, Any] = {
        "responder": question.prepared.config.responder,
        "examples": [e.id for e in question.prepared.examples],
        "mode": mode,
    }
    return await _unit(
        store,
        lambda s: store_turn(
            s,
            account_pk=account_pk,
            question=question,
            identity=identity,
            body=body,
            reply=reply,
            meta=meta,
        ),
    )


def reply_out(answered: Answered, *, account_sid: str) -> dict[str, Any]:
    return {
        "status": "success",
        "flagged": False,
        "aborted": False,
        "session_id": answered.session_id,
        "account_sid": account_sid,
        "body": answered.reply,
        "error": None,
        "assistant_id": answered.assistant_id,
        "message_id": answered.reply_message.id,
        "user_message_id": answered.question_message.id,
    }
