"""The review queue (no HTTP here): pending feedback, oldest first, selected with the one
feedback filter, and each item with the conversation around the rated reply (what came
before it, the reply, and the user's reaction after it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, false, func, select
from sqlalchemy.orm import Session

from thumbs.conversations import service as conversations
from thumbs.feedback.filters import FeedbackFilter, select_feedback
from thumbs.kit.paging import Page, PageParams, keyset_page
from thumbs.store.models import Feedback, Message

TURNS_BEFORE = 6
TURNS_AFTER = 2


def queue_page(session: Session, *, where: FeedbackFilter, params: PageParams) -> Page[Feedback]:
    """The pending feedback matching ``where``, oldest first, one keyset page."""
    stmt = select_feedback(where.narrowed(status="pending"))
    return keyset_page(session, stmt, Feedback.pk, params, descending=False)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a queue page stands: how many items wait before its first one, and in all."""

    before: int
    total: int


def progress(session: Session, *, where: FeedbackFilter, first_pk: int | None) -> Progress:
    """The pending feedback matching ``where``: how many come before ``first_pk`` (the
    queue is oldest first) and how many there are, in one query."""
    earlier = Feedback.pk < first_pk if first_pk is not None else false()
    row = session.execute(
        select(func.count(), func.count(case((earlier, 1)))).where(
            *where.narrowed(status="pending").conditions()
        )
    ).one()
    return Progress(before=int(row[1]), total=int(row[0]))


def pending_count(session: Session, *, account_pk: int) -> int:
    """How much waits for review in the account (the count beside the queue's name)."""
    return progress(session, where=FeedbackFilter(account_pk=account_pk), first_pk=None).total


@dataclass(frozen=True, slots=True)
class InContext:
    """A feedback with its conversation: the last turns before the rated reply, the reply
    (None when the feedback rates a whole session or a message logged elsewhere) and the
    first turns after it."""

    feedback: Feedback
    before: list[dict[str, str]]
    reply: Message | None
    after: list[dict[str, str]]


def in_context(session: Session, feedbacks: Sequence[Feedback]) -> list[InContext]:
    """The feedbacks with their conversations, in three queries for any number of them."""
    pks = {f.message_pk for f in feedbacks if f.message_pk is not None}
    replies = (
        {m.pk: m for m in session.scalars(select(Message).where(Message.pk.in_(pks)))}
        if pks
        else {}
    )
    around = conversations.turns_around(
        session, reply_pks=replies.keys(), before=TURNS_BEFORE, after=TURNS_AFTER
    )
    items = []
    for f in feedbacks:
        reply = replies.get(f.message_pk) if f.message_pk is not None else None
        if reply is None:
            items.append(InContext(f, [], None, []))
            continue
        before, after = around[reply.pk]
        items.append(InContext(f, before, reply, after))
    return items


def correction(session: Session, *, feedback: Feedback, text: str) -> str | None:
    """The corrected reply a reviewer's form means: None when it is blank or the original
    reply unchanged (the form shows the original for editing; sending it back approves the
    original)."""
    if not text.strip():
        return None
    if feedback.message_pk is not None:
        reply = session.get(Message, feedback.message_pk)
        if reply is not None and reply.content == text:
            return None
    return text
