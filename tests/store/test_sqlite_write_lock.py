"""SQLite's write lock inside one process (``thumbs.store.writelock``): the writers of a
process queue for it in the order they asked, from their first write to their commit or
rollback; read-only work never takes it; a write that cannot get it in time fails as a busy
store does (503); and the group-commit writer never waits for it on the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError

from tests.store.kinds import ROWS, engine_with_table, stored
from tests.support.http import run
from thumbs.store.engine import Store, make_engine, store_unavailable
from thumbs.store.writelock import FairLock, LockingConnection, lock_for
from thumbs.store.writer import GroupCommitWriter


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "lock.db"


@pytest.fixture
def engine(path: Path) -> Iterator[Engine]:
    eng = engine_with_table(path)
    yield eng
    eng.dispose()


@pytest.fixture
def lock(path: Path, engine: Engine) -> FairLock:
    return lock_for(str(path))


def wait_until(predicate: Callable[[], bool]) -> None:
    pause = threading.Event()
    while not predicate():
        pause.wait(0.01)


def test_the_lock_is_granted_in_the_order_it_was_asked_for() -> None:
    lock = FairLock()
    assert lock.acquire(0)
    order: list[int] = []

    def writer(n: int) -> None:
        assert lock.acquire(60)
        order.append(n)
        lock.release()

    threads = []
    for n in range(5):
        t = threading.Thread(target=writer, args=(n,))
        t.start()
        threads.append(t)
        wait_until(lambda n=n: lock.waiting == n + 1)  # queued behind the ones before
    assert not lock.acquire(0)  # taken, and others are waiting
    lock.release()
    for t in threads:
        t.join(60)
    assert order == [0, 1, 2, 3, 4]
    assert not lock.held


def test_every_engine_of_a_process_on_one_file_shares_its_lock(path: Path, engine: Engine) -> None:
    other = make_engine(f"sqlite:///{path.as_posix()}")
    try:
        with engine.connect() as a, other.connect() as b:
            assert a.connection.dbapi_connection.write_lock is lock_for(str(path))  # type: ignore[union-attr]
            assert b.connection.dbapi_connection.write_lock is lock_for(str(path))  # type: ignore[union-attr]
    finally:
        other.dispose()


def test_read_only_work_never_takes_the_lock(
    path: Path, engine: Engine, lock: FairLock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LockingConnection, "lock_wait", 0)  # a write would fail at once
    store = Store(f"sqlite:///{path.as_posix()}")
    assert lock.acquire(0)  # another writer of this process holds it
    try:
        with store.session() as session:
            assert session.scalars(select(text("count(*)")).select_from(text("t"))).one() == 0
    finally:
        lock.release()
        store.dispose()


def test_a_write_that_cannot_get_the_lock_in_time_is_a_busy_store(
    engine: Engine, lock: FairLock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LockingConnection, "lock_wait", 0)
    assert lock.acquire(0)
    try:
        with engine.connect() as conn, pytest.raises(OperationalError) as failed:
            conn.execute(text("INSERT INTO t (name) VALUES ('late')"))
        assert store_unavailable(failed.value)
    finally:
        lock.release()
    assert not lock.held
    assert stored(engine) == []


def test_writers_queue_and_each_writes_after_the_one_before_committed(
    engine: Engine, lock: FairLock
) -> None:
    second_done = threading.Event()

    def second() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (name) VALUES ('second')"))
        second_done.set()

    with engine.connect() as first:
        first.execute(text("INSERT INTO t (name) VALUES ('first')"))
        assert lock.held
        t = threading.Thread(target=second)
        t.start()
        wait_until(lambda: lock.waiting == 1)  # it waits in line, not in SQLite's busy loop
        assert not second_done.is_set()
        first.commit()
    t.join(60)
    assert second_done.is_set()
    assert stored(engine) == ["first", "second"]
    assert not lock.held


def test_the_lock_is_released_by_commit_rollback_a_failed_write_and_close(
    engine: Engine, lock: FairLock
) -> None:
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert lock.held
        conn.commit()
        assert not lock.held
        conn.execute(text("INSERT INTO t (name) VALUES ('b')"))
        conn.rollback()
        assert not lock.held
        # a write that fails before any transaction began (the statement is invalid)
        with pytest.raises(OperationalError):
            conn.execute(text("INSERT INTO missing (name) VALUES ('c')"))
        assert not lock.held
        conn.rollback()
        # a write that fails inside its transaction: held until the rollback
        with pytest.raises(Exception, match="UNIQUE"):
            conn.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert lock.held
        conn.rollback()
        assert not lock.held
        # a connection lost in the middle of a write transaction
        conn.execute(text("INSERT INTO t (name) VALUES ('d')"))
        conn.invalidate()
        assert not lock.held
    assert stored(engine) == ["a"]


def test_the_writer_never_waits_for_the_lock_on_the_event_loop(
    engine: Engine, lock: FairLock
) -> None:
    writer = GroupCommitWriter(engine, inline=True)

    async def main() -> str:
        await writer.submit(ROWS, "first")  # the writer's own connection is open now
        with engine.connect() as request:  # a request's transaction holds the lock
            request.execute(text("INSERT INTO t (name) VALUES ('request')"))
            job = asyncio.ensure_future(writer.submit(ROWS, "second"))
            # the batch waits in line on the writer thread, while the loop goes on running
            await asyncio.to_thread(wait_until, lambda: lock.waiting == 1)
            assert not job.done()
            request.commit()
        return str(await job)

    try:
        assert run(main()) == "SECOND"
    finally:
        writer.stop()
    assert stored(engine) == ["first", "request", "second"]
    assert not lock.held
