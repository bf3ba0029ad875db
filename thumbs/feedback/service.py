"""Feedback: the create (prepared here, written by the group-commit writer through
``jobs.py``), reads, updates and deletes of the Twilio-compatible resource."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.orm import Session

from thumbs.feedback.filters import FeedbackFilter, select_feedback
from thumbs.feedback.jobs import CREATE_KIND, CreateJob, CreateResult
from thumbs.feedback.schemas import FeedbackCreate, feedback_type_for, out_of
from thumbs.golden import service as golden
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.cache import TTLCache
from thumbs.kit.driver import Prepared
from thumbs.kit.paging import KeysetReader, Page, PageParams, keyset_page
from thumbs.kit.timefmt import iso, utcnow
from thumbs.store import rollups
from thumbs.store.models import Assistant, Feedback
from thumbs.store.sql import api_time
from thumbs.store.writer import GroupCommitWriter


@dataclass(frozen=True, slots=True)
class AssistantRef:
    """What the hot path needs to know of an assistant (cached per process)."""

    pk: int
    id: str
    account_pk: int
    positive_threshold: float


_ASSISTANT_REF = Prepared(
    lambda: select(Assistant.pk, Assistant.positive_threshold).where(
        Assistant.id == bindparam("assistant_id"), Assistant.account_pk == bindparam("account_pk")
    )
)


def assistant_ref(
    session: Session | Connection, *, account_pk: int, assistant_id: str
) -> AssistantRef:
    """The assistant, if it exists in this account; otherwise a 404 (the rule of
    :func:`thumbs.assistants.service.get`, read as driver-level SQL)."""
    if len(assistant_id) > 64:
        raise E.NotFound("Assistant", assistant_id[:64] + "…")
    conn = session.connection() if isinstance(session, Session) else session
    rows = _ASSISTANT_REF.rows(conn, {"assistant_id": assistant_id, "account_pk": account_pk})
    if not rows:
        raise E.NotFound("Assistant", assistant_id)
    pk, threshold = rows[0]
    return AssistantRef(pk=pk, id=assistant_id, account_pk=account_pk, positive_threshold=threshold)


# -- create: one job per request, written by the group-commit writer (see jobs.py) ---------


def request_fingerprint(assistant_id: str, data: FeedbackCreate) -> str:
    payload = orjson.dumps([assistant_id, data.model_dump()], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()


def to_out(
    *,
    id: str,
    assistant_id: str,
    account_sid: str,
    user_sid: str | None,
    session_id: str,
    message_id: str | None,
    score: float | None,
    text: str | None,
    date_created: datetime,
    date_updated: datetime,
) -> dict[str, Any]:
    return out_of(
        id,
        assistant_id,
        account_sid,
        user_sid,
        session_id,
        message_id,
        score,
        text,
        iso(date_created),
        iso(date_updated),
    )


def feedback_out(fb: Feedback, *, assistant_id: str, account_sid: str) -> dict[str, Any]:
    return to_out(
        id=fb.id,
        assistant_id=assistant_id,
        account_sid=account_sid,
        user_sid=fb.user_sid,
        session_id=fb.session_id,
        message_id=fb.message_id,
        score=fb.score,
        text=fb.text,
        date_created=fb.date_created,
        date_updated=fb.date_updated,
    )


def prepare_create(
    *,
    ref: AssistantRef,
    account_sid: str,
    data: FeedbackCreate,
    idempotency_key: str | None,
    user_pk: int | None = None,
    user_sid: str | None = None,
    identity: str | None = None,
    channel: str = "api",
    known_users: TTLCache | None = None,
) -> CreateJob:
    now = utcnow()
    fid = ids.new_id(ids.FEEDBACK)
    row = {
        "id": fid,
        "account_pk": ref.account_pk,
        "assistant_pk": ref.pk,
        "session_id": data.session_id,
        "message_id": data.message_id,
        "user_pk": user_pk,
        "user_sid": user_sid,
        "score": data.score,
        "text": data.text,
        "channel": channel,
        "feedback_type": feedback_type_for(data.score, ref.positive_threshold),
        "status": "pending",
        "date_created": now,
        "date_updated": now,
    }
    out = to_out(
        id=fid,
        assistant_id=ref.id,
        account_sid=account_sid,
        user_sid=user_sid,
        session_id=data.session_id,
        message_id=data.message_id,
        score=data.score,
        text=data.text,
        date_created=now,
        date_updated=now,
    )
    return CreateJob(
        account_pk=ref.account_pk,
        row=row,
        # with an end user, the body is rendered in the batch, once its user_sid is known
        body=orjson.dumps(out) if identity is None else b"",
        idempotency_key=idempotency_key,
        request_hash=request_fingerprint(ref.id, data) if idempotency_key else None,
        identity=identity,
        out=out if identity is not None else None,
        known_users=known_users,
    )


async def create(
    writer: GroupCommitWriter,
    *,
    ref: AssistantRef,
    account_sid: str,
    data: FeedbackCreate,
    idempotency_key: str | None,
    identity: str | None,
    channel: str = "api",
    known_users: TTLCache | None = None,
) -> CreateResult:
    """Create one feedback (the Twilio create, channel ``api``; the console's session rating,
    channel ``console``): the job is prepared here, written in the writer's next batch, and
    answered after its commit. ``known_users`` (the process's cache of committed end users)
    spares the batch the users lookup for an end user seen before."""
    job = prepare_create(
        ref=ref,
        account_sid=account_sid,
        data=data,
        idempotency_key=idempotency_key,
        identity=identity,
        channel=channel,
        known_users=known_users,
    )
    result: CreateResult = await writer.submit(CREATE_KIND, job)
    return result


# -- reads, updates, deletes ---------------------------------------------------------------


def list_page(session: Session, *, where: FeedbackFilter, params: PageParams) -> Page[Feedback]:
    """Feedback matching ``where``, newest first (by creation sequence), one keyset page
    of rows: the console's explorer (the whole account)."""
    return keyset_page(session, select_feedback(where), Feedback.pk, params)


# the Twilio list's columns, in out_of's order after the key, dates written by the database
_OUT_COLUMNS = (
    Feedback.pk,
    Feedback.id,
    Feedback.user_sid,
    Feedback.session_id,
    Feedback.message_id,
    Feedback.score,
    Feedback.text,
    api_time(Feedback.date_created),
    api_time(Feedback.date_updated),
)
_OUT_PAGES = KeysetReader(Feedback.pk)


def out_page(
    conn: Connection,
    *,
    where: FeedbackFilter,
    params: PageParams,
    assistant_id: str,
    account_sid: str,
) -> Page[dict[str, Any]]:
    """The Twilio list: the same page as :func:`list_page`, each row as
    :func:`feedback_out` writes it, read as driver-level SQL (its statement compiled once
    per shape of filter) with the dates written by the database."""
    page = _OUT_PAGES.page(
        conn,
        params,
        shape=where.shape(),
        build=lambda: select_feedback(where, *_OUT_COLUMNS, bound=True),
        values=where.bound_values(),
    )
    items = [
        out_of(r[1], assistant_id, account_sid, r[2], r[3], r[4], r[5], r[6], r[7], r[8])
        for r in page.items
    ]
    return Page(items, page.first_key, page.last_key, page.has_next, page.has_prev)


def get(session: Session, *, assistant_pk: int, feedback_id: str) -> Feedback:
    fb = session.scalars(
        select(Feedback).where(Feedback.id == feedback_id, Feedback.assistant_pk == assistant_pk)
    ).one_or_none()
    if fb is None:
        raise E.NotFound("Feedback", feedback_id[:64])
    return fb


def remove(session: Session, *, feedback: Feedback) -> None:
    golden.withdraw_for_feedback(session, feedback_pk=feedback.pk, reason="feedback deleted")
    rollups.deleting(session, feedback_pks=[feedback.pk])
    session.execute(delete(Feedback).where(Feedback.pk == feedback.pk))
    session.flush()
