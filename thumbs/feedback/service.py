"""Feedback: the create hot path (group commit, idempotency), reads, updates, deletes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from thumbs.feedback import idempotency
from thumbs.feedback.schemas import FeedbackCreate, FeedbackUpdate
from thumbs.golden import service as golden
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.paging import Page, PageParams, keyset_page
from thumbs.kit.timefmt import iso, utcnow
from thumbs.review import service as review
from thumbs.store.models import Assistant, Feedback, IdempotencyKey, Message, User


@dataclass(frozen=True, slots=True)
class AssistantRef:
    """What the hot path needs to know of an assistant (cached per process)."""

    pk: int
    id: str
    account_pk: int
    positive_threshold: float


def assistant_ref(session: Session, *, account_pk: int, assistant_id: str) -> AssistantRef:
    if len(assistant_id) > 64:
        raise E.NotFound("Assistant", assistant_id[:64] + "…")
    row = session.execute(
        select(Assistant.pk, Assistant.positive_threshold).where(
            Assistant.id == assistant_id, Assistant.account_pk == account_pk
        )
    ).one_or_none()
    if row is None:
        raise E.NotFound("Assistant", assistant_id)
    return AssistantRef(
        pk=row.pk, id=assistant_id, account_pk=account_pk, positive_threshold=row.positive_threshold
    )


def feedback_type_for(score: float | None, threshold: float) -> str | None:
    """Twilio score → thumbs type: ≥ threshold is positive, below is negative, none is none."""
    if score is None:
        return None
    return "positive" if score >= threshold else "negative"


# -- create: one job per request, written by the group-commit writer -----------------------


@dataclass(slots=True)
class CreateJob:
    account_pk: int
    row: dict[str, Any]
    body: bytes  # the response, computed before the write
    idempotency_key: str | None
    request_hash: str | None
    identity: str | None = None  # X-Thumbs-Identity: the user is resolved in the batch
    out: dict[str, Any] | None = None  # kept to re-render the body once user_sid is known


@dataclass(frozen=True, slots=True)
class CreateResult:
    status: int
    body: bytes
    replayed: bool


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
    return {
        "id": id,
        "assistant_id": assistant_id,
        "account_sid": account_sid,
        "user_sid": user_sid,
        "session_id": session_id,
        "message_id": message_id,
        "score": score,
        "text": text,
        "date_created": iso(date_created),
        "date_updated": iso(date_updated),
    }


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
) -> CreateJob:
    now = utcnow()
    fid = ids.new_id(ids.FEEDBACK)
    row = {
        "id": fid,
        "account_pk": ref.account_pk,
        "assistant_pk": ref.pk,
        "session_id": data.session_id,
        "message_id": data.message_id,
        "message_pk": None,  # linked in the batch when the message was logged here
        "user_pk": user_pk,
        "user_sid": user_sid,
        "score": data.score,
        "text": data.text,
        "channel": "api",
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
        body=orjson.dumps(out),
        idempotency_key=idempotency_key,
        request_hash=request_fingerprint(ref.id, data) if idempotency_key else None,
        identity=identity,
        out=out if identity is not None else None,
    )


class IdempotencyMismatch(E.ThumbsError):
    def __init__(self, key: str) -> None:
        super().__init__(
            E.IDEMPOTENCY_KEY_REUSED,
            "This idempotency key was already used for a different request",
            field="I-Twilio-Idempotency-Token",
            details={"key": key},
        )


class _RawInsert:
    """A batch INSERT that keeps the per-row cost of the hot path in C.

    SQLite: one multi-row ``INSERT … VALUES (…), (…)`` statement per chunk, so the writer
    thread takes and releases the GIL once per chunk rather than once per row (per-row
    ``executemany`` made it fight the event loop for the GIL on every row).
    PostgreSQL: the driver's ``executemany`` (psycopg pipelines it)."""

    SQLITE_CHUNK = 500  # rows per statement: 14 columns x 500 < SQLite's 32,766 variables

    def __init__(self, table: Any, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = list(columns)
        self._compiled: dict[str, tuple[str, list[str] | None]] = {}
        self._sqlite_sql: dict[int, str] = {}

    def _sqlite_statement(self, n: int) -> str:
        sql = self._sqlite_sql.get(n)
        if sql is None:
            cols = ", ".join(f'"{c}"' for c in self.columns)
            one = "(" + ", ".join("?" * len(self.columns)) + ")"
            # identifiers come from the table definition, values are all bound parameters
            sql = f'INSERT INTO "{self.table.name}" ({cols}) VALUES ' + ", ".join([one] * n)  # noqa: S608
            self._sqlite_sql[n] = sql
        return sql

    def run(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        dialect = conn.dialect
        if dialect.name == "sqlite":
            cols = self.columns
            for start in range(0, len(rows), self.SQLITE_CHUNK):
                chunk = rows[start : start + self.SQLITE_CHUNK]
                flat: list[Any] = []
                for row in chunk:
                    for c in cols:
                        v = row[c]
                        flat.append(_sqlite_datetime(v) if isinstance(v, datetime) else v)
                conn.exec_driver_sql(self._sqlite_statement(len(chunk)), tuple(flat))
            return
        entry = self._compiled.get(dialect.name)
        if entry is None:
            compiled = insert(self.table).compile(dialect=dialect, column_keys=self.columns)
            order = list(compiled.positiontup or []) if compiled.positional else None
            entry = (str(compiled), order)
            self._compiled[dialect.name] = entry
        sql, order = entry
        params: list[Any] = [
            tuple(row[c] for c in order) if order is not None else dict(row) for row in rows
        ]
        conn.exec_driver_sql(sql, params)


def _messages_by_id(conn: Connection, message_ids: set[str]) -> list[Any]:
    """``(pk, id, account_pk)`` of the logged messages with these ids, as one driver-level
    statement: building the equivalent ``select(...).in_(...)`` per batch cost more on the
    hot path than running it."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    table = Message.__tablename__
    marks = ", ".join([mark] * len(message_ids))
    sql = f'SELECT pk, id, account_pk FROM "{table}" WHERE id IN ({marks})'  # noqa: S608
    return list(conn.exec_driver_sql(sql, tuple(message_ids)).all())


def _sqlite_datetime(value: datetime) -> str:
    # SQLAlchemy's storage format for DateTime on SQLite
    return value.isoformat(sep=" ", timespec="microseconds")


_FEEDBACK_COLUMNS = (
    "id",
    "account_pk",
    "assistant_pk",
    "session_id",
    "message_id",
    "message_pk",
    "user_pk",
    "user_sid",
    "score",
    "text",
    "channel",
    "feedback_type",
    "status",
    "date_created",
    "date_updated",
)
_INSERT_FEEDBACK = _RawInsert(Feedback.__table__, _FEEDBACK_COLUMNS)
_INSERT_KEYS = _RawInsert(
    IdempotencyKey.__table__,
    ("account_pk", "key", "request_hash", "status_code", "response", "date_created"),
)


class CreateFeedbackKind:
    """Writes feedback create jobs: one INSERT … executemany per batch, plus the
    idempotency records, in the writer's transaction."""

    def _existing(
        self, conn: Connection, jobs: Sequence[CreateJob]
    ) -> dict[tuple[int, str], tuple[str, int, str]]:
        """The live (unexpired) keys of these jobs; expired ones are deleted here, so that
        the job's own key replaces them (a request after the expiry creates anew)."""
        keyed = [j for j in jobs if j.idempotency_key]
        if not keyed:
            return {}
        found: dict[tuple[int, str], tuple[str, int, str]] = {}
        cutoff = idempotency.expiry_cutoff()
        expired: list[tuple[int, str]] = []
        by_account: dict[int, list[str]] = {}
        for j in keyed:
            assert j.idempotency_key is not None
            by_account.setdefault(j.account_pk, []).append(j.idempotency_key)
        for account_pk, keys in by_account.items():
            rows = conn.execute(
                select(
                    IdempotencyKey.key,
                    IdempotencyKey.request_hash,
                    IdempotencyKey.status_code,
                    IdempotencyKey.response,
                    IdempotencyKey.date_created,
                ).where(IdempotencyKey.account_pk == account_pk, IdempotencyKey.key.in_(keys))
            ).all()
            for r in rows:
                if r.date_created < cutoff:
                    expired.append((account_pk, r.key))
                else:
                    found[(account_pk, r.key)] = (r.request_hash, r.status_code, r.response)
        if expired:
            conn.execute(
                delete(IdempotencyKey).where(
                    tuple_(IdempotencyKey.account_pk, IdempotencyKey.key).in_(expired),
                    IdempotencyKey.date_created < cutoff,
                )
            )
        return found

    def _link(self, conn: Connection, jobs: Sequence[CreateJob]) -> None:
        """Set-based, once per batch: link rows to logged messages (``message_pk``) and to
        the users named by X-Thumbs-Identity (created on first use), so that the request
        path itself makes no extra round trip."""
        message_ids = {j.row["message_id"] for j in jobs if j.row["message_id"] is not None}
        if message_ids:
            found = {
                (account_pk, mid): pk for pk, mid, account_pk in _messages_by_id(conn, message_ids)
            }
            for j in jobs:
                if j.row["message_id"] is not None:
                    j.row["message_pk"] = found.get((j.account_pk, j.row["message_id"]))
        named = [j for j in jobs if j.identity is not None]
        if not named:
            return
        wanted = {(j.account_pk, j.identity) for j in named}
        accounts = {a for a, _ in wanted}
        identities = {i for _, i in wanted}
        users = {
            (r.account_pk, r.identity): (r.pk, r.sid)
            for r in conn.execute(
                select(User.pk, User.sid, User.account_pk, User.identity).where(
                    User.account_pk.in_(accounts), User.identity.in_(identities)
                )
            )
        }
        missing = [w for w in wanted if w not in users]
        if missing:
            now = utcnow()
            new = [
                {
                    "sid": ids.new_sid(ids.USER),
                    "account_pk": account_pk,
                    "identity": identity,
                    "role": "end_user",
                    "date_created": now,
                    "date_updated": now,
                }
                for account_pk, identity in missing
            ]
            # a concurrent insert of the same identity fails the batch; each job is then
            # retried alone and finds the user
            rows = conn.execute(
                insert(User).returning(User.pk, User.sid, User.account_pk, User.identity), new
            )
            for r in rows:
                users[(r.account_pk, r.identity)] = (r.pk, r.sid)
        for j in named:
            pk, sid = users[(j.account_pk, j.identity)]
            j.row["user_pk"], j.row["user_sid"] = pk, sid
            assert j.out is not None
            j.out["user_sid"] = sid
            j.body = orjson.dumps(j.out)

    def write_many(self, conn: Connection, jobs: Sequence[CreateJob]) -> list[CreateResult]:
        self._link(conn, jobs)
        existing = self._existing(conn, jobs)
        results: list[CreateResult] = []
        rows: list[dict[str, Any]] = []
        keys: list[dict[str, Any]] = []
        for job in jobs:
            if job.idempotency_key:
                slot = (job.account_pk, job.idempotency_key)
                prior = existing.get(slot)
                if prior is not None:
                    if prior[0] != job.request_hash:
                        raise IdempotencyMismatch(job.idempotency_key)
                    results.append(CreateResult(prior[1], prior[2].encode(), replayed=True))
                    continue
                existing[slot] = (job.request_hash or "", 201, job.body.decode())
                keys.append(
                    {
                        "account_pk": job.account_pk,
                        "key": job.idempotency_key,
                        "request_hash": job.request_hash,
                        "status_code": 201,
                        "response": job.body.decode(),
                        "date_created": job.row["date_created"],
                    }
                )
            rows.append(job.row)
            results.append(CreateResult(201, job.body, replayed=False))
        if rows:
            _INSERT_FEEDBACK.run(conn, rows)
        if keys:
            _INSERT_KEYS.run(conn, keys)
        return results

    def write_one(self, engine: Engine, job: CreateJob) -> CreateResult:
        try:
            with engine.begin() as conn:
                return self.write_many(conn, [job])[0]
        except IntegrityError as exc:
            if job.idempotency_key:
                # another process took the same idempotency key first: replay its result
                with engine.begin() as conn:
                    if self._existing(conn, [job]):
                        return self.write_many(conn, [job])[0]
            # the assistant was deleted between the lookup and the write
            raise E.ThumbsError(
                E.NOT_FOUND, "The requested Assistant was deleted", field="id"
            ) from exc


CREATE_KIND = CreateFeedbackKind()


# -- reads, updates, deletes ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListFilters:
    session_id: str | None = None
    message_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def list_page(
    session: Session, *, assistant_pk: int, filters: ListFilters, params: PageParams
) -> Page[Feedback]:
    """Newest first (by creation sequence)."""
    stmt = select(Feedback).where(Feedback.assistant_pk == assistant_pk)
    if filters.session_id is not None:
        stmt = stmt.where(Feedback.session_id == filters.session_id)
    if filters.message_id is not None:
        stmt = stmt.where(Feedback.message_id == filters.message_id)
    if filters.created_after is not None:
        stmt = stmt.where(Feedback.date_created >= filters.created_after)
    if filters.created_before is not None:
        stmt = stmt.where(Feedback.date_created < filters.created_before)
    return keyset_page(session, stmt, Feedback.pk, params)


def get(session: Session, *, assistant_pk: int, feedback_id: str) -> Feedback:
    fb = session.scalars(
        select(Feedback).where(Feedback.id == feedback_id, Feedback.assistant_pk == assistant_pk)
    ).one_or_none()
    if fb is None:
        raise E.NotFound("Feedback", feedback_id[:64])
    return fb


def update(
    session: Session, *, feedback: Feedback, data: FeedbackUpdate, positive_threshold: float
) -> Feedback:
    fields = data.model_dump(exclude_unset=True)
    old_type = feedback.feedback_type
    if "score" in fields:
        feedback.score = fields["score"]
        if feedback.channel == "api":
            feedback.feedback_type = feedback_type_for(feedback.score, positive_threshold)
    if "text" in fields:
        feedback.text = fields["text"]
    feedback.date_updated = utcnow()
    session.flush()
    if feedback.feedback_type != old_type:
        # a changed verdict withdraws what the old one produced and goes back to review
        golden.withdraw_for_feedback(
            session, feedback_pk=feedback.pk, reason=f"verdict changed to {feedback.feedback_type}"
        )
        if feedback.status != "pending":
            review.move(
                session,
                feedback=feedback,
                to_status="pending",
                actor=None,
                note="score changed through the Feedbacks API",
                check=False,
            )
    return feedback


def remove(session: Session, *, feedback: Feedback) -> None:
    golden.withdraw_for_feedback(session, feedback_pk=feedback.pk, reason="feedback deleted")
    session.execute(delete(Feedback).where(Feedback.pk == feedback.pk))
    session.flush()
