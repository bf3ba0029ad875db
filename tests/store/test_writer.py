"""The group-commit writer, in each of its modes, on a real SQLite file: concurrent jobs
share transactions, every acknowledged job is in the store, and one bad job fails alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import IntegrityError

from tests.store.kinds import ROWS, Kind, Rows, engine_with_table, stored
from tests.support.http import run
from thumbs.kit import errors as E
from thumbs.store.engine import SQLITE_CACHE_KIB, SQLITE_WRITER_CACHE_KIB
from thumbs.store.writer import GroupCommitWriter


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = engine_with_table(tmp_path / "w.db")
    yield eng
    eng.dispose()


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "thread"])
def test_concurrent_jobs_share_transactions_and_all_are_stored(
    engine: Engine, inline: bool
) -> None:
    writer = GroupCommitWriter(engine, inline=inline)

    async def main() -> list[Any]:
        return await asyncio.gather(*(writer.submit(ROWS, f"n{i:03}") for i in range(200)))

    try:
        results = run(main())
    finally:
        writer.stop()
    assert results == [f"N{i:03}" for i in range(200)]
    assert stored(engine) == [f"n{i:03}" for i in range(200)]
    assert writer.jobs == 200
    assert writer.batches < 200  # group commit: fewer transactions than jobs


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "thread"])
def test_a_bad_job_fails_alone_and_its_neighbours_are_stored(engine: Engine, inline: bool) -> None:
    writer = GroupCommitWriter(engine, inline=inline)
    writer.submit_sync(ROWS, "taken")

    async def main() -> list[Any]:
        jobs = ["a", "b", "taken", "c"]
        return await asyncio.gather(*(writer.submit(ROWS, j) for j in jobs), return_exceptions=True)

    try:
        a, b, taken, c = run(main())
    finally:
        writer.stop()
    assert (a, b, c) == ("A", "B", "C")
    assert isinstance(taken, Exception)
    assert "UNIQUE" in str(taken)
    assert stored(engine) == ["a", "b", "c", "taken"]


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "thread"])
def test_the_writers_own_connection_keeps_a_larger_cache_and_its_journals_in_memory(
    engine: Engine, inline: bool
) -> None:
    writer = GroupCommitWriter(engine, inline=inline)

    async def main() -> list[Any]:
        return await asyncio.gather(*(writer.submit(ROWS, f"c{i}") for i in range(20)))

    try:
        run(main())
        own = writer._conn
        assert own is not None
        assert own.exec_driver_sql("PRAGMA cache_size").scalar_one() == -SQLITE_WRITER_CACHE_KIB
        # its statement journals in memory, not in a temporary file per batch
        assert own.exec_driver_sql("PRAGMA temp_store").scalar_one() == 2
    finally:
        writer.stop()
    # whichever connection the writer used, none of the pool's has its cache
    pooled = [engine.connect() for _ in range(3)]
    try:
        for conn in pooled:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == -SQLITE_CACHE_KIB
            assert conn.exec_driver_sql("PRAGMA temp_store").scalar_one() == 0
    finally:
        for conn in pooled:
            conn.close()


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "thread"])
def test_the_writer_keeps_working_after_a_failed_batch(engine: Engine, inline: bool) -> None:
    writer = GroupCommitWriter(engine, inline=inline)

    async def main() -> tuple[list[Any], Any]:
        first = await asyncio.gather(
            writer.submit(ROWS, "x"), writer.submit(ROWS, "x"), return_exceptions=True
        )
        return first, await writer.submit(ROWS, "y")

    try:
        first, after = run(main())
    finally:
        writer.stop()
    assert [r for r in first if r == "X"] == ["X"]
    assert len([r for r in first if isinstance(r, Exception)]) == 1
    assert after == "Y"
    assert stored(engine) == ["x", "y"]


class Raced(Kind):
    """A job kind for which every batch fails (like a constraint another process got to
    first) and a job written alone succeeds: where its ``write_one`` ran is recorded."""

    def __init__(self) -> None:
        self.alone_on: list[str] = []

    def write_many(self, conn: Connection, jobs: Sequence[str]) -> list[Any]:
        conn.execute(text("INSERT INTO t (name) VALUES ('lost race')"))
        conn.execute(text("INSERT INTO t (name) VALUES ('lost race')"))  # fails the batch
        return list(jobs)

    def write_one(self, engine: Engine, job: str) -> Any:
        self.alone_on.append(threading.current_thread().name)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (name) VALUES (:name)"), {"name": job})
        return f"{job} alone"


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "thread"])
def test_a_failed_batch_of_one_job_is_written_alone_off_the_loop(
    engine: Engine, inline: bool
) -> None:
    writer = GroupCommitWriter(engine, inline=inline)
    kind = Raced()

    async def main() -> tuple[Any, str]:
        result = await writer.submit(kind, "only")
        return result, threading.current_thread().name

    try:
        result, loop_thread = run(main())
    finally:
        writer.stop()
    assert result == "only alone"
    assert stored(engine) == ["only"]
    assert kind.alone_on
    assert loop_thread not in kind.alone_on


class Held(Kind):
    """A job kind whose batches wait until the test lets them go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def write_many(self, conn: Connection, jobs: Sequence[str]) -> list[Any]:
        self.entered.set()
        assert self.release.wait(timeout=60)
        return ROWS.write_many(conn, jobs)

    def write_one(self, engine: Engine, job: str) -> Any:
        return ROWS.write_one(engine, job)


def test_a_full_queue_refuses_new_jobs_before_writing_anything(engine: Engine) -> None:
    writer = GroupCommitWriter(engine, inline=False, max_queue=3)
    kind = Held()

    async def main() -> list[Any]:
        first = asyncio.ensure_future(writer.submit(kind, "first"))
        await asyncio.get_running_loop().run_in_executor(None, kind.entered.wait, 60)
        queued = [asyncio.ensure_future(writer.submit(kind, f"q{i}")) for i in range(5)]
        await asyncio.sleep(0)
        refused = [f for f in queued if f.done()]
        kind.release.set()
        return [await first, *await asyncio.gather(*queued, return_exceptions=True), len(refused)]

    try:
        first, *rest, refused = run(main())
    finally:
        writer.stop()
    assert first == "FIRST"
    assert rest[:3] == ["Q0", "Q1", "Q2"]
    assert refused == 2
    for err in rest[3:]:
        assert isinstance(err, E.StoreUnavailable)
        assert err.status == 503
        assert err.headers == {"Retry-After": "1"}
    assert stored(engine) == ["first", "q0", "q1", "q2"]


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "thread"])
def test_drain_waits_for_every_submitted_job_then_refuses_more(
    engine: Engine, inline: bool
) -> None:
    writer = GroupCommitWriter(engine, inline=inline)

    async def main() -> tuple[list[Any], BaseException | None]:
        jobs = [asyncio.ensure_future(writer.submit(ROWS, f"d{i:02}")) for i in range(50)]
        await asyncio.sleep(0)
        await writer.drain()
        assert all(j.done() for j in jobs)
        try:
            await writer.submit(ROWS, "late")
        except E.StoreUnavailable as err:
            return [j.result() for j in jobs], err
        return [j.result() for j in jobs], None

    try:
        results, late = run(main())
    finally:
        writer.stop()
    assert results == [f"D{i:02}" for i in range(50)]
    assert isinstance(late, E.StoreUnavailable)
    assert stored(engine) == [f"d{i:02}" for i in range(50)]


def test_inline_batches_are_written_on_the_loop_and_committed_off_it(engine: Engine) -> None:
    """The statements cost less on the loop than a thread hand-off; the commit (WAL frames,
    fsync, a checkpoint now and then) holds no GIL and runs on the writer thread meanwhile."""
    writer = GroupCommitWriter(engine, inline=True)
    writes: list[str] = []
    commits: list[str] = []

    class Recorded(Rows):
        def write_many(self, conn: Connection, jobs: Sequence[str]) -> list[Any]:
            writes.append(threading.current_thread().name)
            return super().write_many(conn, jobs)

    event.listen(engine, "commit", lambda conn: commits.append(threading.current_thread().name))

    async def main() -> tuple[str, list[Any]]:
        await writer.submit(ROWS, "opens the inline connection")
        writes.clear()
        commits.clear()
        kind = Recorded()
        results = await asyncio.gather(*(writer.submit(kind, f"c{i:02}") for i in range(40)))
        return threading.current_thread().name, results

    try:
        loop_thread, results = run(main())
    finally:
        writer.stop()
    assert results == [f"C{i:02}" for i in range(40)]
    assert set(writes) == {loop_thread}
    assert commits
    assert loop_thread not in commits


class Deferred(Kind):
    """Rows whose foreign key is checked at COMMIT: a job naming a missing parent fails
    only when its batch commits."""

    def write_many(self, conn: Connection, jobs: Sequence[tuple[str, int]]) -> list[Any]:
        conn.execute(
            text("INSERT INTO child (name, parent) VALUES (:n, :p)"),
            [{"n": n, "p": p} for n, p in jobs],
        )
        return [n.upper() for n, _ in jobs]

    def write_one(self, engine: Engine, job: tuple[str, int]) -> Any:
        with engine.begin() as conn:
            return self.write_many(conn, [job])[0]


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "thread"])
def test_a_batch_whose_commit_fails_is_written_again_and_only_the_bad_job_fails(
    engine: Engine, inline: bool
) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        conn.execute(
            text(
                "CREATE TABLE child (name TEXT PRIMARY KEY, parent INTEGER "
                "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
        conn.execute(text("INSERT INTO parent (id) VALUES (1)"))
    writer = GroupCommitWriter(engine, inline=inline)
    kind = Deferred()

    async def main() -> list[Any]:
        await writer.submit(ROWS, "opens the inline connection")
        jobs = [("a", 1), ("b", 1), ("orphan", 99), ("c", 1)]
        return await asyncio.gather(*(writer.submit(kind, j) for j in jobs), return_exceptions=True)

    try:
        a, b, orphan, c = run(main())
        after = run(writer.submit(kind, ("d", 1)))  # the writer goes on after the failure
    finally:
        writer.stop()
    assert (a, b, c, after) == ("A", "B", "C", "D")
    assert isinstance(orphan, IntegrityError)
    with engine.connect() as conn:
        names = sorted(r[0] for r in conn.execute(text("SELECT name FROM child")))
    assert names == ["a", "b", "c", "d"]
