"""The group-commit writer, in each of its modes, on a real SQLite file: concurrent jobs
share transactions, every acknowledged job is in the store, and one bad job fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from tests.support import run
from thumbs.store.engine import make_engine
from thumbs.store.writer import GroupCommitWriter


class Rows:
    """A job kind that inserts a unique name and returns it upper-cased."""

    def write_many(self, conn: Connection, jobs: Sequence[str]) -> list[Any]:
        conn.execute(text("INSERT INTO t (name) VALUES (:name)"), [{"name": j} for j in jobs])
        return [j.upper() for j in jobs]

    def write_one(self, engine: Engine, job: str) -> Any:
        with engine.begin() as conn:
            return self.write_many(conn, [job])[0]


ROWS = Rows()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{(tmp_path / 'w.db').as_posix()}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (name TEXT PRIMARY KEY)"))
    yield eng
    eng.dispose()


def stored(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(text("SELECT name FROM t")))


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
