"""SQLite's memory in a server process stays small whatever its pooled connections read: their
page caches are bounded (``SQLITE_CACHE_KIB``), so reading a table much larger than that
(a list walked to its end, an export) leaves nothing of it in the process."""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import pytest
from sqlalchemy import text

from thumbs.store.engine import make_engine

ROWS = 40_000
ROW_BYTES = 400  # about 16 MB in all: far more than one connection's cache


def sqlite_memory_used() -> int:
    """Bytes SQLite's allocator holds in this process (the library the driver uses)."""
    import sqlite3  # noqa: F401 - loads the library this process's driver uses

    name = ctypes.util.find_library("sqlite3")
    if name is None:
        pytest.fail("the SQLite library of this process cannot be found")
    lib = ctypes.CDLL(name)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return int(lib.sqlite3_memory_used())


def test_pooled_connections_keep_no_more_than_their_small_caches(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{(tmp_path / 'big.db').as_posix()}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE big (pk INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
        conn.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) "
                "INSERT INTO big (pk, body) SELECT i, printf('%.*c', :width, 'x') FROM n"
            ),
            {"rows": ROWS, "width": ROW_BYTES},
        )
    before = sqlite_memory_used()
    # every connection of the pool (and its overflow) reads the whole table, twice
    connections = [engine.connect() for _ in range(4)]
    for _ in range(2):
        for conn in connections:
            total = conn.execute(text("SELECT sum(length(body)) FROM big")).scalar_one()
            assert total == ROWS * ROW_BYTES
    grown = sqlite_memory_used() - before
    for conn in connections:
        conn.close()
    engine.dispose()
    # four caches of SQLITE_CACHE_KIB and a little for statements (with caches of 32 MB,
    # as before, the four connections kept about 60 MB of the table)
    assert grown < 6 * 2**20, f"SQLite grew by {grown} bytes"
