"""A batch of creates is all or nothing, whichever way its store commits it: on SQLite in
the writer's transaction; on PostgreSQL as one pipeline that the server runs as the
batch's transaction (the driver in autocommit, no BEGIN or COMMIT round trip), committed
before the writer answers anyone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.support.accounts import Account
from tests.support.server import LiveServer
from thumbs.feedback import jobs as feedback_jobs
from thumbs.feedback import service as feedback_service
from thumbs.feedback.jobs import CreateJob
from thumbs.feedback.schemas import FeedbackCreate
from thumbs.store import rollups
from thumbs.store.models import Feedback, IdempotencyKey
from thumbs.store.writer import GroupCommitWriter, _Pending


def _jobs(server: LiveServer, account: Account, assistant_id: str, n: int) -> list[CreateJob]:
    with server.runtime.store.sessions() as session:
        ref = feedback_service.assistant_ref(
            session, account_pk=account.pk, assistant_id=assistant_id
        )
    return [
        feedback_service.prepare_create(
            ref=ref,
            account_sid=account.sid,
            data=FeedbackCreate(session_id=f"batch-{k}", score=0.25 * (k % 5)),
            idempotency_key=f"key-{k}",
            identity=f"batch-user-{k}",
        )
        for k in range(n)
    ]


def _write(server: LiveServer, jobs: list[CreateJob]) -> Any:
    """The writer's own batch step on a connection of the store; the driver's autocommit
    flag afterwards (None on SQLite)."""
    writer = GroupCommitWriter(server.runtime.store.engine)
    batch: list[_Pending[Any]] = [
        _Pending(kind=feedback_jobs.CREATE_KIND, job=j, future=None) for j in jobs
    ]
    with server.runtime.store.engine.connect() as conn:
        try:
            writer._write_batch(conn, batch)
        finally:
            dbapi: Any = conn.connection.dbapi_connection
            autocommit = getattr(dbapi, "autocommit", None)
    return batch, autocommit


def _state(server: LiveServer, account: Account, jobs: list[CreateJob]) -> Any:
    ids = [j.row["id"] for j in jobs]
    keys = [j.idempotency_key for j in jobs]
    with server.runtime.store.engine.connect() as conn:
        rows = conn.execute(select(func.count()).where(Feedback.id.in_(ids))).scalar_one()
        recorded = conn.execute(
            select(func.count()).where(
                IdempotencyKey.account_pk == account.pk, IdempotencyKey.key.in_(keys)
            )
        ).scalar_one()
        cells = rollups.stored(conn, account_pk=account.pk)
    return rows, recorded, cells


def test_a_batch_is_committed_whole_before_the_writer_answers(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    jobs = _jobs(server, account, assistant_id, 6)
    batch, autocommit = _write(server, jobs)

    rows, recorded, cells = _state(server, account, jobs)
    assert (rows, recorded) == (6, 6)  # seen from another connection: committed
    assert all(p.result.status == 201 for p in batch)
    with server.runtime.store.engine.connect() as conn:
        assert cells == rollups.recomputed(conn, account_pk=account.pk)
    assert autocommit in (None, False)  # the connection goes back as it came


POISON = "key-poisoned"


@pytest.fixture
def poisoned_keys(server: LiveServer) -> Iterator[None]:
    """The idempotency records refuse one key, as a constraint would: the batch's last
    statement fails after its rows and their counts went in."""
    engine = server.runtime.store.engine
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE FUNCTION poisoned_key() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN IF NEW.key = '{POISON}' THEN "
                "RAISE EXCEPTION 'poisoned' USING ERRCODE = 'unique_violation'; END IF; "
                "RETURN NEW; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER poisoned_key BEFORE INSERT ON idempotency_keys "
                "FOR EACH ROW EXECUTE FUNCTION poisoned_key()"
            )
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER poisoned_key BEFORE INSERT ON idempotency_keys "
                f"WHEN NEW.key = '{POISON}' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "DROP TRIGGER poisoned_key"
                + (" ON idempotency_keys" if conn.dialect.name == "postgresql" else "")
            )
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("DROP FUNCTION poisoned_key()")


@pytest.mark.usefixtures("poisoned_keys")
def test_a_batch_whose_last_statement_fails_leaves_none_of_its_rows_keys_or_counts(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    jobs = _jobs(server, account, assistant_id, 5)
    before = _state(server, account, jobs)
    jobs[3].idempotency_key = POISON

    with pytest.raises(IntegrityError):
        _write(server, jobs)

    rows, recorded, cells = _state(server, account, jobs)
    assert (rows, recorded, cells) == before
    # and the connection it used works as before: the same keys are new again
    good = _jobs(server, account, assistant_id, 2)
    batch, autocommit = _write(server, good)
    assert [p.result.replayed for p in batch] == [False, False]
    assert _state(server, account, good)[:2] == (2, 2)
    assert autocommit in (None, False)
