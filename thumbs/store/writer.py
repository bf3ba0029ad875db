"""Group commit: many concurrent create requests, one transaction, one fsync.

Request handlers submit *jobs* and await them. Jobs wait in a list on the event loop;
whenever no batch is being written, everything waiting becomes one batch, written in one
transaction, and the waiters are resolved only after the commit returned. The batch is
written either inline on the event loop (SQLite: its statements cost less there than any
thread hand-off under the GIL) and committed on the writer thread, or wholly on that
thread (PostgreSQL: every statement is a network round trip the loop should not wait for).
The commit is SQLite's costliest step under a realistic load (the WAL frames of every page
the batch changed, the fsync, a checkpoint now and then) and holds no GIL: on the thread it
overlaps with the loop reading the next requests (bench/README.md: 0.38 -> 0.45 of the
no-database baseline, p99 27.5 -> 21.9 ms, in one run).

An acknowledged write is therefore durable (SQLite runs with ``synchronous=FULL``), and the
cost of the commit (one fsync) is shared by the whole batch. Collecting on the event loop
keeps the per-request cost to appending to a list: the loop and the writer thread meet
once per batch, not once per request.

If a batch fails (a constraint violated by one job, a race with another process), it is
rolled back and each job is written alone (``write_one``, a batch of one included), so one
bad job never fails its neighbours and each job kind answers a race the way one process
would. If the store is busy or unreachable, the batch fails as a whole, at once (503).

Nothing that can block runs on the event loop. The inline path only ever uses a connection
that is already open (opened on the writer thread), writes only if the process's write
lock (``thumbs.store.writelock``) is free, nobody waiting for it, and waits for another
process's SQLite write lock for at most ``INLINE_BUSY_MS``; everything else (the first
connection, a reconnect, a lock held by this process or another, the retry of a failed batch
and the per-job fallback) runs on the writer thread while the loop goes on serving
requests.

The queue is bounded (``max_queue``): past it, a submission is refused with a 503 before
anything is written. :meth:`GroupCommitWriter.drain` waits for every submitted job at
shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Engine, RootTransaction

from thumbs.kit import errors as E
from thumbs.kit.dberrors import describe, store_unavailable
from thumbs.kit.driver import autocommitted
from thumbs.store.engine import SQLITE_WRITER_CACHE_KIB
from thumbs.store.writelock import LockingConnection

log = logging.getLogger("thumbs.writer")

J = TypeVar("J")
J_contra = TypeVar("J_contra", contravariant=True)

# How long the inline path (on the event loop) waits for SQLite's write lock when another
# process holds it, before it hands the batch to the writer thread (which waits longer).
INLINE_BUSY_MS = 50


class JobKind(Protocol[J_contra]):
    """How to write jobs of one kind. ``write_many`` runs inside the batch transaction;
    ``write_one`` (the fallback after a failed batch) opens transactions of its own and
    turns a race with another process into the answer one process would give;
    ``committed`` runs after the jobs' commit, in the process that wrote them. ``name``
    names the kind to a writer process (``thumbs.store.writer_process``), which writes
    with kinds of its own.

    ``commits_at_sync``: the kind sends every write of a batch that must be atomic in one
    pipeline (:func:`thumbs.kit.driver.pipelined`), after the last result it reads, and
    what it writes before that may stand alone (an insert that ignores what exists). On
    PostgreSQL a batch of such kinds alone is then written with the driver in autocommit:
    the server runs the pipeline as one implicit transaction, committed when the pipeline
    ends (its Sync), and the batch costs neither a ``BEGIN`` nor a ``COMMIT`` round trip;
    a failure anywhere in the pipeline rolls all of it back. Elsewhere, and for any other
    batch, ``write_many`` runs in a transaction as usual."""

    name: str
    commits_at_sync: bool

    def write_many(self, conn: Connection, jobs: Sequence[J_contra]) -> list[Any]: ...

    def write_one(self, engine: Engine, job: J_contra) -> Any: ...

    def committed(self, jobs: Sequence[J_contra]) -> None: ...

    # a job and a result to and from a writer process, as plain data that pickles fast
    def to_wire(self, job: J_contra) -> Any: ...

    def from_wire(self, wire: Any) -> Any: ...

    def result_to_wire(self, job: J_contra, result: Any) -> Any: ...

    def result_from_wire(self, job: J_contra, wire: Any) -> Any: ...


@dataclass(slots=True)
class _Pending(Generic[J]):
    kind: JobKind[J]
    job: J
    future: asyncio.Future[Any] | None
    result: Any = None
    error: BaseException | None = None


@dataclass(slots=True)
class _OpenBatch:
    """A batch written on the event loop, its transaction still open."""

    conn: Connection
    transaction: RootTransaction
    locking: LockingConnection | None  # SQLite: holds the process's write lock
    batch: list[_Pending[Any]]
    results: list[tuple[_Pending[Any], Any]]


def _by_kind(batch: list[_Pending[Any]]) -> Iterable[tuple[JobKind[Any], list[_Pending[Any]]]]:
    """The jobs of a batch by kind, each kind once, in the order it first comes."""
    groups: dict[int, tuple[JobKind[Any], list[_Pending[Any]]]] = {}
    for p in batch:
        groups.setdefault(id(p.kind), (p.kind, []))[1].append(p)
    return groups.values()


class GroupCommitWriter:
    def __init__(
        self,
        engine: Engine,
        *,
        max_batch: int = 1024,
        inline: bool = False,
        max_queue: int = 10_000,
    ) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.inline = inline
        self.max_queue = max_queue
        self._waiting: list[_Pending[Any]] = []
        self._busy = False
        self._closing = False
        self._idle: asyncio.Future[None] | None = None  # drain() waits for it
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()  # one batch at a time, on whichever thread
        self.batches = 0
        self.jobs = 0
        self.write_seconds = 0.0
        self._conn: Connection | None = None

    def start(self) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="thumbs-writer")

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        with self._lock:
            self._discard_connection()

    async def drain(self) -> None:
        """Refuse new jobs and wait until every submitted one is written (shutdown)."""
        self._closing = True
        if self._busy:
            self._idle = asyncio.get_running_loop().create_future()
            await self._idle

    def _admit(self, waiting: int) -> None:
        """Refuse a job (503, nothing written) while shutting down or past ``max_queue``."""
        if self._closing:
            raise E.StoreUnavailable("The server is shutting down; retry shortly")
        if waiting >= self.max_queue:
            raise E.StoreUnavailable("Too many writes are waiting; retry shortly")

    async def submit(self, kind: JobKind[J], job: J) -> Any:
        self._admit(len(self._waiting))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting.append(_Pending(kind=kind, job=job, future=future))
        if not self._busy:
            self._busy = True
            loop.call_soon(self._flush, loop)
        return await future

    def submit_sync(self, kind: JobKind[J], job: J) -> Any:
        """Write one job now, from a thread that is not the event loop (CLI, tests)."""
        pending: _Pending[J] = _Pending(kind=kind, job=job, future=None)
        self._write([pending])
        if pending.error is not None:
            raise pending.error
        return pending.result

    # -- batches -------------------------------------------------------------------------

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._waiting:
            self._busy = False
            if self._idle is not None and not self._idle.done():
                self._idle.set_result(None)
            return
        batch = self._waiting[: self.max_batch]
        del self._waiting[: self.max_batch]
        if self._executor is None:
            self.start()
        assert self._executor is not None
        open_batch = self._write_inline(batch) if self.inline else None
        if open_batch is not None:
            # written on the loop; the commit (the WAL write, the fsync, a checkpoint now
            # and then) on the writer thread, while the loop reads the next requests
            done = loop.run_in_executor(self._executor, self._commit, open_batch)
        else:
            done = loop.run_in_executor(self._executor, self._write, batch)

        def written(f: asyncio.Future[None]) -> None:
            self._settle(batch, f.exception())
            self._flush(loop)

        done.add_done_callback(written)

    @staticmethod
    def _settle(batch: list[_Pending[Any]], failure: BaseException | None) -> None:
        for p in batch:
            fut = p.future
            if fut is None or fut.done():
                continue
            if failure is not None:
                fut.set_exception(failure)
            elif p.error is not None:
                fut.set_exception(p.error)
            else:
                fut.set_result(p.result)

    def _write_inline(self, batch: list[_Pending[Any]]) -> _OpenBatch | None:
        """On the event loop: write the batch, uncommitted, if that cannot block (the
        connection is open, no other write is under way). The returned batch holds the
        writer's lock (and, on SQLite, the process's write lock) until :meth:`_commit`
        ends it. None when it was not written: nothing is left open and the batch goes to
        the writer thread."""
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            return None
        if not self._lock.acquire(blocking=False):
            return None
        dbapi = conn.connection.dbapi_connection
        locking = dbapi if isinstance(dbapi, LockingConnection) else None
        # SQLite: the process's write lock, if no one holds or waits for it
        if locking is not None and not locking.take_write_lock(0):
            self._lock.release()
            return None
        started = time.perf_counter()
        transaction = conn.begin()
        try:
            results = self._write_jobs(conn, batch)
        except Exception as exc:
            log.info(
                "batch of %d failed on the loop (%s); retried off it", len(batch), describe(exc)
            )
            with contextlib.suppress(Exception):
                transaction.rollback()
            if locking is not None:
                locking.drop_write_lock()
            self._lock.release()
            return None
        self.write_seconds += time.perf_counter() - started
        return _OpenBatch(conn, transaction, locking, batch, results)

    def _commit(self, open_batch: _OpenBatch) -> None:
        """On the writer thread: commit a batch written on the loop (the writer's lock is
        held since then). If the commit fails, the batch is written again here, the way a
        batch of the writer thread is."""
        started = time.perf_counter()
        try:
            try:
                open_batch.transaction.commit()
            except Exception as exc:
                log.info(
                    "commit of a batch of %d failed (%s); written again",
                    len(open_batch.batch),
                    describe(exc),
                )
                with contextlib.suppress(Exception):
                    open_batch.transaction.rollback()
                self._discard_connection()
                self._write_locked(open_batch.batch)
                self._open_for_inline()
            else:
                self._done(open_batch.batch, open_batch.results)
        finally:
            if open_batch.locking is not None:  # a no-op once committed, rolled back or closed
                open_batch.locking.drop_write_lock()
            self.write_seconds += time.perf_counter() - started
            self._lock.release()

    def _write(self, batch: list[_Pending[Any]]) -> None:
        """On the writer thread (or a caller's thread): write the batch, reconnecting if
        need be, and if it fails, each job alone."""
        with self._lock:
            started = time.perf_counter()
            self._write_locked(batch)
            if self.inline:
                self._open_for_inline()
            self.write_seconds += time.perf_counter() - started

    def _write_batch(self, conn: Connection, batch: list[_Pending[Any]]) -> None:
        if conn.dialect.name == "postgresql" and all(p.kind.commits_at_sync for p in batch):
            results = self._write_committing_at_sync(conn, batch)
        else:
            with conn.begin():
                results = self._write_jobs(conn, batch)
        self._done(batch, results)

    def _write_committing_at_sync(
        self, conn: Connection, batch: list[_Pending[Any]]
    ) -> list[tuple[_Pending[Any], Any]]:
        """PostgreSQL, a batch whose kinds all commit at their pipeline's Sync (see
        :class:`JobKind`): the driver in autocommit for the batch, so that the pipeline is
        the transaction. When it returns, the pipeline's Sync has been answered: the
        batch is committed (and durable) before any of its jobs is answered. SQLAlchemy's
        own transaction, begun by a read, is ended after (nothing for the driver)."""
        with autocommitted(conn):
            results = self._write_jobs(conn, batch)
            conn.commit()
        return results

    @staticmethod
    def _write_jobs(
        conn: Connection, batch: list[_Pending[Any]]
    ) -> list[tuple[_Pending[Any], Any]]:
        """Every job of the batch, kind by kind, in the open transaction."""
        results: list[tuple[_Pending[Any], Any]] = []
        for kind, items in _by_kind(batch):
            out = kind.write_many(conn, [p.job for p in items])
            results.extend(zip(items, out, strict=True))
        return results

    def _done(self, batch: list[_Pending[Any]], results: list[tuple[_Pending[Any], Any]]) -> None:
        """The batch committed: its results are the jobs' answers."""
        for p, r in results:
            p.result = r
        self.batches += 1
        self.jobs += len(batch)
        self._committed(batch)

    @staticmethod
    def _committed(written: list[_Pending[Any]]) -> None:
        """Each kind's ``committed``, for its jobs just committed."""
        for kind, items in _by_kind(written):
            kind.committed([p.job for p in items])

    def _write_locked(self, batch: list[_Pending[Any]]) -> None:
        try:
            if self.inline:
                # a pooled connection, with the engine's own (longer) lock wait
                with self.engine.connect() as conn:
                    self._write_batch(conn, batch)
            else:
                try:
                    self._write_batch(self._connection(), batch)
                except Exception:
                    self._discard_connection()
                    raise
            return
        except Exception as exc:
            if store_unavailable(exc):
                log.warning(
                    "store unavailable: a batch of %d failed (%s)", len(batch), describe(exc)
                )
                for p in batch:
                    p.error = exc
                return
            log.info(
                "batch of %d failed (%s); writing its jobs one by one", len(batch), describe(exc)
            )
        for i, p in enumerate(batch):
            try:
                p.result = p.kind.write_one(self.engine, p.job)
                self._committed([p])
            except Exception as exc:
                p.error = exc
                if store_unavailable(exc):
                    for rest in batch[i + 1 :]:
                        rest.error = exc
                    return

    def _connection(self) -> Connection:
        """The writer's own connection, kept open between batches (no pool round trip)."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            conn = self.engine.connect()
            if conn.dialect.name == "sqlite":
                conn.detach()  # its larger cache never goes back to the pool
                self._sqlite_writer_pragmas(conn)
                conn.commit()
            self._conn = conn
        return self._conn

    @staticmethod
    def _sqlite_writer_pragmas(conn: Connection) -> None:
        """The writer writes every feedback and its index entries: on SQLite its own
        connection keeps the larger page cache (``SQLITE_WRITER_CACHE_KIB``), and its
        statement journals in memory (``temp_store=MEMORY``). A statement of a batch that
        could fail midway keeps the pages it changes in a statement journal; past 64 KiB
        SQLite spilled it to a temporary file, opened, written and deleted every batch
        once feedback touched pages all over the indexes (distinct sessions, messages and
        end users): a tenth of the create's CPU (bench/README.md). A batch's journal is
        bounded by the batch. The pool's connections keep the default, for the readers'
        large sorts."""
        conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_WRITER_CACHE_KIB}")
        conn.exec_driver_sql("PRAGMA temp_store=MEMORY")

    def _open_for_inline(self) -> None:
        """Open (on this thread, never on the loop) the connection the inline path uses;
        it waits for SQLite's write lock briefly, then lets the writer thread wait."""
        if self._conn is not None and not (self._conn.closed or self._conn.invalidated):
            return
        self._discard_connection()
        try:
            conn = self.engine.connect()
            # its own lock wait: the connection never goes back to the pool
            conn.detach()
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql(f"PRAGMA busy_timeout={INLINE_BUSY_MS}")
                self._sqlite_writer_pragmas(conn)
                conn.commit()
        except Exception as exc:
            log.warning("writer: cannot open a connection yet (%s)", describe(exc))
            return
        self._conn = conn

    def _discard_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
