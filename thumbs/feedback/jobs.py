"""The group-commit writer's job kind for feedback creates (see ``thumbs.store.writer``).

The writer knows no domain: it batches jobs of any :class:`~thumbs.store.writer.JobKind`.
This kind carries the create's rules that must run inside the batch transaction —
idempotency replay and mismatch, linking logged messages and the users named by
``X-Thumbs-Identity`` (created through ``thumbs.users``, the one place users are made), the
response body — so it lives with the feedback domain; the driver-level SQL it runs lives in
``thumbs.store.sql``. Requests build jobs with :func:`thumbs.feedback.service.prepare_create`
and submit them through :func:`thumbs.feedback.service.create`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, select, tuple_
from sqlalchemy.exc import IntegrityError

from thumbs.config import Settings
from thumbs.feedback import idempotency
from thumbs.feedback.schemas import out_of
from thumbs.kit import errors as E
from thumbs.kit.cache import TTLCache
from thumbs.kit.driver import pipelined
from thumbs.store import rollups
from thumbs.store.models import Assistant, Feedback, IdempotencyKey
from thumbs.store.sql import LOGGED_MESSAGE, RawInsert
from thumbs.store.writer import JobKind
from thumbs.users import service as users


@dataclass(slots=True)
class CreateJob:
    account_pk: int
    row: dict[str, Any]
    body: bytes  # the response, computed before the write
    idempotency_key: str | None
    request_hash: str | None
    identity: str | None = None  # X-Thumbs-Identity: the user is resolved in the batch
    out: dict[str, Any] | None = None  # kept to render the body once user_sid is known
    # the process's end users known to be committed (Runtime.end_users), or None
    known_users: TTLCache | None = None
    # the end user (pk, sid) when the server knew it before the batch: a job sent to a
    # writer process carries what its server's cache knew (the cache stays in the server)
    user: tuple[int, str] | None = None
    user_read: bool = False  # the batch read the user from the store (not from the cache)


@dataclass(frozen=True, slots=True)
class CreateResult:
    status: int
    body: bytes
    replayed: bool


class IdempotencyMismatch(E.ThumbsError):
    def __init__(self, key: str) -> None:
        super().__init__(
            E.IDEMPOTENCY_KEY_REUSED,
            "This idempotency key was already used for a different request",
            field="I-Twilio-Idempotency-Token",
            details={"key": key},
        )


_FEEDBACK_COLUMNS = (
    "id",
    "account_pk",
    "assistant_pk",
    "session_id",
    "message_id",
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
INSERT_FEEDBACK = RawInsert(
    Feedback.__table__, _FEEDBACK_COLUMNS, derived={"message_pk": LOGGED_MESSAGE}
)
_INSERT_KEYS = RawInsert(
    IdempotencyKey.__table__,
    ("account_pk", "key", "request_hash", "status_code", "response", "date_created"),
)


class CreateFeedbackKind:
    """Writes feedback create jobs: one INSERT … executemany per batch, plus the
    idempotency records, in the writer's transaction."""

    name = "feedback.create"
    # its batch's rows, rollups and idempotency records go in one pipeline, after every
    # read; the end users and expired keys before it stand alone (store.writer.JobKind)
    commits_at_sync = True

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
        """Set-based, once per batch: link rows to the users named by X-Thumbs-Identity
        (created on first use), so that the request path itself makes no extra round trip.
        (The logged message a row rates is looked up by its insert:
        :data:`~thumbs.store.sql.LOGGED_MESSAGE`.)"""
        named = [j for j in jobs if j.identity is not None]
        if not named:
            return
        # End users known to this process (committed, and never deleted) need no statement;
        # the others are ensured: one SELECT, and an insert-ignore for new names. A job
        # remembers its user after its commit (committed), never before: a batch that
        # rolls back leaves nothing behind.
        known = named[0].known_users
        named_users: dict[tuple[int, str], Any] = {}
        wanted: set[tuple[int, str]] = set()
        for j in named:
            assert j.identity is not None
            name = (j.account_pk, j.identity)
            hit = j.user or (known.get(name) if known is not None else None)
            if hit is None:
                wanted.add(name)
            else:
                named_users[name] = hit
        if wanted:
            named_users.update(users.ensure_end_users(conn, wanted=wanted))
        for j in named:
            assert j.identity is not None
            assert j.out is not None
            name = (j.account_pk, j.identity)
            pk, sid = named_users[name]
            j.row["user_pk"], j.row["user_sid"] = pk, sid
            j.user_read = name in wanted
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
        # On PostgreSQL the rows (one JSON parameter), their rollups and the idempotency
        # records go in one round trip, the batch's transaction when the writer runs it in
        # autocommit (commits_at_sync): the batch waited for each of its statements in turn
        # (bench/README.md, "How the create path is fast"). Nothing may read after this.
        with pipelined(conn):
            if rows:
                INSERT_FEEDBACK.run(conn, rows)
                rollups.created(conn, rows)
            if keys:
                _INSERT_KEYS.run(conn, keys)
        return results

    def write_one(self, engine: Engine, job: CreateJob) -> CreateResult:
        """The job alone, after its batch failed. A constraint violated here is a race that
        another process won (its transaction committed first): the same idempotency token,
        the first use of the same X-Thumbs-Identity, the assistant deleted. Written again,
        the job sees what that process committed and gets the answer one process gives: a
        replay, the user it created, or 404."""
        tries = 3
        while True:
            tries -= 1
            try:
                with engine.begin() as conn:
                    return self.write_many(conn, [job])[0]
            except IntegrityError:
                with engine.connect() as conn:
                    assistant = conn.execute(
                        select(Assistant.pk).where(Assistant.pk == job.row["assistant_pk"])
                    ).first()
                if assistant is None:
                    raise E.NotFound("Assistant", orjson.loads(job.body)["assistant_id"]) from None
                if not tries:
                    raise

    # -- to and from a writer process (thumbs.store.writer_process): plain tuples, which
    # pickle several times faster than the objects (and never the process's cache)

    @staticmethod
    def to_wire(job: CreateJob) -> tuple[Any, ...]:
        known, identity = job.known_users, job.identity
        return (
            job.account_pk,
            tuple([job.row[c] for c in _FEEDBACK_COLUMNS]),
            job.body,
            job.idempotency_key,
            job.request_hash,
            identity,
            None if job.out is None else tuple(job.out.values()),
            known.get((job.account_pk, identity))
            if known is not None and identity is not None
            else None,
        )

    @staticmethod
    def from_wire(wire: tuple[Any, ...]) -> CreateJob:
        account_pk, row, body, key, request_hash, identity, out, user = wire
        return CreateJob(
            account_pk=account_pk,
            row=dict(zip(_FEEDBACK_COLUMNS, row, strict=True)),
            body=body,
            idempotency_key=key,
            request_hash=request_hash,
            identity=identity,
            out=None if out is None else out_of(*out),
            user=user,
        )

    @staticmethod
    def result_to_wire(job: CreateJob, result: CreateResult) -> tuple[Any, ...]:
        """The answer, and the end user the batch read (for the server's cache)."""
        read = (job.row["user_pk"], job.row["user_sid"]) if job.user_read else None
        return (result.status, result.body, result.replayed, read)

    @staticmethod
    def result_from_wire(job: CreateJob, wire: tuple[Any, ...]) -> CreateResult:
        status, body, replayed, read = wire
        if read is not None:
            job.row["user_pk"], job.row["user_sid"] = read
            job.user_read = True
        return CreateResult(status, body, replayed)

    def committed(self, jobs: Sequence[CreateJob]) -> None:
        """After the jobs' commit: their end users exist for good (users are never
        deleted), so this process's later creates naming them read no users row."""
        for job in jobs:
            known, identity = job.known_users, job.identity
            if known is not None and identity is not None and job.user_read:
                known.put((job.account_pk, identity), (job.row["user_pk"], job.row["user_sid"]))


CREATE_KIND = CreateFeedbackKind()


def process_kinds(settings: Settings) -> list[JobKind[Any]]:
    """The job kinds of a writer process (``thumbs.store.writer_process``)."""
    return [CREATE_KIND]
