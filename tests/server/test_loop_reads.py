"""On SQLite with a writer process (``thumbs serve``'s default), a page of the list is read
on the event loop, within ``LOOP_READ_CPU`` of CPU time: a read that needs longer is
stopped by SQLite and run again in a worker thread (bench/README.md, 2026-12-01). Elsewhere
every read runs in a worker thread, as before."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.support.http import run
from tests.support.server import sqlite_settings
from thumbs.config import Settings
from thumbs.runtime import LOOP_READ_CPU, Runtime, served_settings
from thumbs.store.engine import OverBudget, Store, cpu_budget

# a read of SQLite's own work only, as long as asked: the sum of 1..n
COUNT = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :n) "
    "SELECT sum(i) FROM n"
)


def total(engine: Engine, n: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(COUNT, {"n": n}).scalar_one())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.of(sqlite_settings(tmp_path / "t.db"))


def test_a_read_past_its_cpu_budget_is_stopped_and_the_connection_serves_on(store: Store) -> None:
    try:
        started = time.thread_time()
        with pytest.raises(OverBudget), cpu_budget(0.01):
            total(store.engine, 3 * 10**7)  # seconds of work
        assert time.thread_time() - started < 0.5
        # within the budget, a read gives its answer; outside a budget nothing is stopped
        with cpu_budget(0.5):
            assert total(store.engine, 1000) == 500500
        started = time.thread_time()
        assert total(store.engine, 300_000) == 300_000 * 300_001 // 2
        assert time.thread_time() - started > 0.01
    finally:
        store.dispose()


def test_the_budget_is_the_threads_own(store: Store) -> None:
    """A budget set on one thread (the event loop's) stops nothing on another."""
    answers: list[int] = []
    try:
        with cpu_budget(0.0):
            worker = threading.Thread(target=lambda: answers.append(total(store.engine, 300_000)))
            worker.start()
            worker.join(timeout=30)
    finally:
        store.dispose()
    assert answers == [300_000 * 300_001 // 2]


def loop_and_reader(runtime: Runtime, n: int) -> tuple[str, str, int]:
    """The event loop's thread, the thread a read of ``n`` steps ended on, and its answer."""

    def read() -> tuple[str, int]:
        return threading.current_thread().name, total(runtime.store.engine, n)

    async def main() -> tuple[str, str, int]:
        name, answer = await runtime.read(read)
        return threading.current_thread().name, name, answer

    try:
        return run(main(), timeout=60)
    finally:
        runtime.store.dispose()


def test_with_a_writer_process_a_short_read_runs_on_the_event_loop(tmp_path: Path) -> None:
    runtime = Runtime.build(served_settings(sqlite_settings(tmp_path / "t.db")))
    assert runtime.reads_on_loop
    loop, reader, answer = loop_and_reader(runtime, 1000)
    assert reader == loop
    assert answer == 500500


def test_with_a_writer_process_a_long_read_is_run_again_in_a_worker_thread(
    tmp_path: Path,
) -> None:
    runtime = Runtime.build(served_settings(sqlite_settings(tmp_path / "t.db")))
    n = 3_000_000  # well past LOOP_READ_CPU on any machine
    started = time.thread_time()
    assert total(runtime.store.engine, n) == n * (n + 1) // 2
    assert time.thread_time() - started > 4 * LOOP_READ_CPU
    loop, reader, answer = loop_and_reader(runtime, n)
    assert reader != loop
    assert answer == n * (n + 1) // 2


@pytest.mark.parametrize(
    "settings",
    [
        # an app built in-process on SQLite: the group commit on the loop, reads on threads
        lambda tmp: sqlite_settings(tmp / "t.db"),
        # PostgreSQL, writer process or not: a read waits for the server, never on the loop
        lambda tmp: served_settings(Settings(database_url="postgresql://u@127.0.0.1/nowhere")),
    ],
    ids=["sqlite-in-process", "postgresql-served"],
)
def test_elsewhere_every_read_runs_in_a_worker_thread(tmp_path: Path, settings: object) -> None:
    runtime = Runtime.build(settings(tmp_path))  # type: ignore[operator]
    try:
        assert not runtime.reads_on_loop
    finally:
        runtime.store.dispose()


def test_in_process_on_sqlite_a_short_read_runs_in_a_worker_thread(tmp_path: Path) -> None:
    runtime = Runtime.build(sqlite_settings(tmp_path / "t.db"))
    loop, reader, answer = loop_and_reader(runtime, 1000)
    assert reader != loop
    assert answer == 500500
