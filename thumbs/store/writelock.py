"""SQLite's write lock, queued fairly inside one process and handed over in turn between
processes.

SQLite lets one connection at a time write a database file. A connection that finds the
lock taken polls for it in SQLite's busy handler (sleeping 1, 2, 5, ... up to 100 ms between
tries), so under load writers race each other for it and a writer can lose the race for
seconds. Here every write transaction first takes its process's :class:`FairLock` for the
file, in the order the writers of the process asked for it, and then the file's
:class:`ProcessLock`, which the processes writing the file (``thumbs serve --workers N``,
a server and its writer process, the CLI) take in turn, woken by the kernel the moment it
is released; both are held until the commit or rollback. SQLite's busy handler is left
only for writers outside this scheme (another program on the file, a schema change).

:class:`LockingConnection` is the ``sqlite3`` connection class of the engines
(``thumbs.store.engine``): it takes the lock where the driver opens a write transaction,
before its first ``INSERT``, ``UPDATE``, ``DELETE`` or ``REPLACE`` (which the driver
begins ``IMMEDIATE``). A read-only unit of work never takes it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import queue
import sqlite3
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Self

# How long a write transaction waits for the process's lock, the same bound as SQLite's
# own wait for another process (``busy_timeout``); past it the write fails as SQLite's does,
# "database is locked" (answered 503).
WAIT_SECONDS = 10.0

# the statements before which the driver opens a transaction (``sqlite3``'s own rule)
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


# how long the thread that waits for the file's lock stays when no writer waits
IDLE_SECONDS = 5.0

# the bytes of the lock file: the gate a process passes to queue for the write lock, and
# the write lock itself
_GATE, _WRITE = 0, 1


def _lock(fd: int, byte: int, *, wait: bool) -> bool:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB, 1, byte)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise
    return True


def _unlock(fd: int, byte: int) -> None:
    fcntl.lockf(fd, fcntl.LOCK_UN, 1, byte)


@dataclass(eq=False, slots=True)
class _Ticket:
    """One wait for the write lock, handed to the process's waiting thread."""

    gate_held: bool
    done: threading.Event = field(default_factory=threading.Event)
    mutex: threading.Lock = field(default_factory=threading.Lock)
    granted: bool = False
    abandoned: bool = False
    error: OSError | None = None


class ProcessLock:
    """A database file's write lock between processes, taken in turn.

    Two POSIX record locks on one byte each of ``<database>-lock``: a writer passes the
    gate (byte 0), takes the write lock (byte 1), then leaves the gate. A process that has
    just released the write lock and wants it again finds the gate held by the process
    waiting for it, and waits there: two processes alternate, and none is starved by one
    that writes batch after batch. The kernel wakes a waiter as soon as the lock is free,
    and frees the locks of a process that dies.

    A wait that may block runs on a thread of the process (the kernel's wait has no
    timeout), while the writer waits for it at most its timeout; a wait given up is
    finished by that thread, which then releases what it got. Record locks belong to a
    process, not a thread: the process's :class:`FairLock` lets one writer at a time use
    this lock, and any thread may release it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._mutex = threading.Lock()
        self._pid = 0
        self._fd = -1
        self._tickets: queue.SimpleQueue[_Ticket] = queue.SimpleQueue()
        self._outstanding = 0  # tickets the waiting thread has not finished
        self._waiting_thread = False

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # also at the interpreter's exit
            if self._pid == os.getpid():
                os.close(self._fd)

    def _file(self) -> int:
        pid = os.getpid()
        if self._pid != pid:  # a forked process holds none of its parent's record locks
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, self._mode())
            self._pid = pid
            self._tickets = queue.SimpleQueue()
            self._outstanding = 0
            self._waiting_thread = False
        return self._fd

    def _mode(self) -> int:
        """The database file's permissions (as SQLite gives its ``-wal`` and ``-shm``): whoever
        may write the database may take its lock."""
        try:
            return os.stat(self.path.removesuffix("-lock")).st_mode & 0o666
        except OSError:
            return 0o644

    def acquire(self, timeout: float) -> bool:
        """Take the write lock, waiting at most ``timeout`` seconds (0: only if free)."""
        with self._mutex:
            fd = self._file()
            # a wait given up still being finished (queue behind it), or another at the gate
            if self._outstanding or not _lock(fd, _GATE, wait=False):
                return timeout > 0 and self._wait(_Ticket(gate_held=False), timeout)
            if _lock(fd, _WRITE, wait=False):
                _unlock(fd, _GATE)
                return True
            if timeout <= 0:
                _unlock(fd, _GATE)
                return False
            return self._wait(_Ticket(gate_held=True), timeout)

    def release(self) -> None:
        _unlock(self._fd, _WRITE)

    def _wait(self, ticket: _Ticket, timeout: float) -> bool:
        # called with self._mutex held: the ticket is counted before another writer looks
        self._outstanding += 1
        self._tickets.put(ticket)
        if not self._waiting_thread:
            self._waiting_thread = True
            threading.Thread(
                target=self._wait_in_turn, name="thumbs-write-lock", daemon=True
            ).start()
        self._mutex.release()
        try:
            ticket.done.wait(timeout)
        except BaseException:  # nobody will use what the wait gets
            with ticket.mutex:
                if ticket.granted:
                    _unlock(self._fd, _WRITE)
                ticket.granted, ticket.abandoned = False, True
            self._mutex.acquire()
            raise
        with ticket.mutex:
            if not ticket.granted:  # given up at its timeout
                ticket.abandoned = True
        self._mutex.acquire()
        if ticket.error is not None:
            raise ticket.error
        return ticket.granted

    def _wait_in_turn(self) -> None:
        fd, tickets = self._fd, self._tickets
        while True:
            try:
                ticket = tickets.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._mutex:
                    if tickets.empty():  # idle: ends (the next wait starts another)
                        self._waiting_thread = False
                        return
                continue
            gate = ticket.gate_held
            try:
                if not gate:
                    gate = _lock(fd, _GATE, wait=True)
                _lock(fd, _WRITE, wait=True)
                _unlock(fd, _GATE)
            except OSError as e:  # not expected: a lock that cannot be waited for
                if gate:
                    _unlock(fd, _GATE)
                ticket.error = e
                ticket.done.set()
                self._finished()
                continue
            with ticket.mutex:
                if ticket.abandoned:
                    _unlock(fd, _WRITE)
                else:
                    ticket.granted = True
            ticket.done.set()
            self._finished()

    def _finished(self) -> None:
        with self._mutex:
            self._outstanding -= 1


class FairLock:
    """A lock granted in the order it was asked for, that any thread may release (a
    transaction may begin in one thread and commit in another). With a
    :class:`ProcessLock` (a database file's), its holder takes that one too, within the
    same timeout, and releases it first."""

    def __init__(self, between: ProcessLock | None = None) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()
        self._between = between

    def acquire(self, timeout: float) -> bool:
        """Take the lock, waiting at most ``timeout`` seconds (0: only if it is free)."""
        if self._between is None:
            return self._acquire_here(timeout)
        deadline = time.monotonic() + timeout
        if not self._acquire_here(timeout):
            return False
        left = max(0.0, deadline - time.monotonic()) if timeout > 0 else 0.0
        got = False
        try:
            got = self._between.acquire(left)
        finally:
            if not got:  # refused, timed out or failed: the next one of this process
                self._release_here()
        return got

    def release(self) -> None:
        try:
            if self._between is not None:
                self._between.release()
        finally:
            self._release_here()

    def _acquire_here(self, timeout: float) -> bool:
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

    def _release_here(self) -> None:
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


# every engine on a file holds the file's lock; the lock goes (and its file is closed) with
# the last of them
_locks: weakref.WeakValueDictionary[str, FairLock] = weakref.WeakValueDictionary()
_locks_mutex = threading.Lock()


def lock_for(database: str) -> FairLock:
    """The process's lock of one database file (every engine on it shares it)."""
    key = os.path.realpath(database)
    with _locks_mutex:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = FairLock(ProcessLock(key + "-lock"))
        return lock


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
