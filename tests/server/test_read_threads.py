"""Reads of list pages run in worker threads, at most ``THUMBS_READ_THREADS`` at once (by
default one per core on SQLite, four per core on PostgreSQL: bench/README.md)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

from tests.support.http import run
from tests.support.server import sqlite_settings
from thumbs.config import Settings
from thumbs.runtime import Runtime, read_threads
from thumbs.store.engine import Store


@pytest.mark.parametrize(("limited", "expected"), [(True, 2), (False, 8)])
def test_no_more_reads_run_at_once_than_read_threads(
    tmp_path: Path, limited: bool, expected: int
) -> None:
    """Pages of the list (``limited``) are read by ``THUMBS_READ_THREADS`` threads at most;
    a lookup by key (the acting end user's) is not held behind them."""
    settings = sqlite_settings(tmp_path / "t.db", read_threads=2)
    runtime = Runtime.build(settings)
    running = 0
    most = 0
    lock = threading.Lock()

    def read() -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return threading.current_thread().name

    async def many() -> tuple[str, list[str]]:
        loop_thread = threading.current_thread().name
        reads = (runtime.read(read, limited=limited) for _ in range(8))
        return loop_thread, await asyncio.gather(*reads)

    # an event loop of its own, in a thread of its own (the test process may run one already)
    try:
        loop_thread, names = run(many(), timeout=30)
    finally:
        runtime.store.dispose()
    assert len(names) == 8
    assert loop_thread not in names  # never on the event loop's thread
    assert most == expected


def test_by_default_one_reader_per_core_on_sqlite_four_on_postgresql(tmp_path: Path) -> None:
    cores = os.cpu_count() or 1
    embedded = Settings(database_url=None, data_dir=tmp_path)  # the default store: SQLite
    postgres = Settings(database_url="postgresql://u@localhost/thumbs")  # never connected
    chosen = Settings(database_url="postgresql://u@localhost/thumbs", read_threads=3)
    stores = [Store.of(s) for s in (embedded, postgres, chosen)]
    try:
        assert [
            read_threads(s, st) for s, st in zip((embedded, postgres, chosen), stores, strict=True)
        ] == [
            cores,
            4 * cores,
            3,
        ]
    finally:
        for st in stores:
            st.dispose()
