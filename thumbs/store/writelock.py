"""SQLite's write lock, queued fairly inside one process.

SQLite lets one connection at a time write a database file. A connection that finds the
lock taken polls for it in SQLite's busy handler (sleeping up to 100 ms between tries), so
under load the writers of one process (the group-commit writer, request transactions)
race each other for it and a writer can lose the race for seconds. Here every write
transaction of a process first takes that process's :class:`FairLock` for the file, in
the order the writers asked for it, and holds it until its commit or rollback: within a
process, writers queue instead of polling, and SQLite's busy handler is left to arbitrate
between processes (``thumbs serve --workers N`` on one file).

:class:`LockingConnection` is the ``sqlite3`` connection class of the engines
(``thumbs.store.engine``): it takes the lock where the driver opens a write transaction,
before its first ``INSERT``, ``UPDATE``, ``DELETE`` or ``REPLACE`` (which the driver
begins ``IMMEDIATE``). A read-only unit of work never takes it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import deque
from typing import Any, Self

# How long a write transaction waits for the process's lock, the same bound as SQLite's
# own wait for another process (``busy_timeout``); past it the write fails as SQLite's does,
# "database is locked" (answered 503).
WAIT_SECONDS = 10.0

# the statements before which the driver opens a transaction (``sqlite3``'s own rule)
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class FairLock:
    """A lock granted in the order it was asked for, that any thread may release (a
    transaction may begin in one thread and commit in another)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> bool:
        """Take the lock, waiting at most ``timeout`` seconds (0: only if it is free)."""
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            if timeout <= 0:
                return False
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            try:
                self._waiters.remove(turn)
            except ValueError:
                return True  # handed over while the wait was ending
        return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # stays held: it is the next one's now
            else:
                self._held = False

    @property
    def held(self) -> bool:
        return self._held

    @property
    def waiting(self) -> int:
        """How many wait for the lock."""
        return len(self._waiters)


_locks: dict[str, FairLock] = {}
_locks_mutex = threading.Lock()


def lock_for(database: str) -> FairLock:
    """The process's lock of one database file (every engine on it shares it)."""
    key = os.path.realpath(database)
    with _locks_mutex:
        return _locks.setdefault(key, FairLock())


class LockingConnection(sqlite3.Connection):
    """A ``sqlite3`` connection whose write transactions hold the process's
    :class:`FairLock` of the file from their first write to their end."""

    write_lock: FairLock | None = None
    # how long the next write waits for the lock; 0 on the event loop (never blocks)
    lock_wait: float = WAIT_SECONDS
    _holding = False

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or _LockingCursor)

    def take_write_lock(self, timeout: float) -> bool:
        """Hold the lock (if not held already) for the transaction about to write."""
        if self._holding or self.write_lock is None:
            return True
        if not self.write_lock.acquire(timeout):
            return False
        self._holding = True
        return True

    def drop_write_lock(self) -> None:
        """Release the lock once no transaction is open (after a commit or rollback, or a
        write that failed before its transaction began)."""
        if self._holding and not self.in_transaction:
            self._holding = False
            assert self.write_lock is not None
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.drop_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.drop_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._holding:
                self._holding = False
                assert self.write_lock is not None
                self.write_lock.release()


class _LockingCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        conn = self.connection
        if not isinstance(conn, LockingConnection) or not _opens_write(conn, sql):
            return super().execute(sql, parameters)
        _take(conn)
        try:
            return super().execute(sql, parameters)
        finally:
            conn.drop_write_lock()  # only if the write did not open a transaction

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Self:
        conn = self.connection
        if not isinstance(conn, LockingConnection) or not _opens_write(conn, sql):
            return super().executemany(sql, seq_of_parameters)
        _take(conn)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            conn.drop_write_lock()


def _opens_write(conn: LockingConnection, sql: str) -> bool:
    if conn.write_lock is None or conn.in_transaction:
        return False
    head = sql[:7] if sql[:1].isalpha() else sql.lstrip()[:7]  # no copy of a long statement
    return head.upper().startswith(_WRITES)


def _take(conn: LockingConnection) -> None:
    if not conn.take_write_lock(conn.lock_wait):
        raise sqlite3.OperationalError("database is locked")
