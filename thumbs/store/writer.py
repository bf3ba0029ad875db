"""Group commit: many concurrent create requests, one transaction, one fsync.

Request handlers submit *jobs* and await them. Jobs wait in a list on the event loop;
whenever no batch is being written, everything waiting becomes one batch, written in one
transaction, and the waiters are resolved only after the commit returned. The batch is
written either inline on the event loop (SQLite: a local commit of well under a
millisecond, cheaper than any thread hand-off under the GIL) or on one dedicated writer
thread (PostgreSQL: the commit is a network round trip the loop should not wait for).

An acknowledged write is therefore durable (SQLite runs with ``synchronous=FULL``), and the
cost of the commit (one fsync) is shared by the whole batch. Collecting on the event loop
keeps the per-request cost to appending to a list: the loop and the writer thread meet
once per batch, not once per request.

If a batch fails (a constraint violated by one job, a race with another process), it is
rolled back and each job is retried alone, so one bad job never fails its neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Engine

log = logging.getLogger("thumbs.writer")

J = TypeVar("J")
J_contra = TypeVar("J_contra", contravariant=True)


class JobKind(Protocol[J_contra]):
    """How to write jobs of one kind. ``write_many`` runs inside the batch transaction;
    ``write_one`` (the fallback after a failed batch) opens transactions of its own."""

    def write_many(self, conn: Connection, jobs: Sequence[J_contra]) -> list[Any]: ...

    def write_one(self, engine: Engine, job: J_contra) -> Any: ...


@dataclass(slots=True)
class _Pending(Generic[J]):
    kind: JobKind[J]
    job: J
    future: asyncio.Future[Any] | None
    result: Any = None
    error: BaseException | None = None


class GroupCommitWriter:
    def __init__(self, engine: Engine, *, max_batch: int = 1024, inline: bool = False) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.inline = inline
        self._waiting: list[_Pending[Any]] = []
        self._busy = False
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()  # serialises synchronous writes with batches
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

    async def submit(self, kind: JobKind[J], job: J) -> Any:
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
            return
        batch = self._waiting[: self.max_batch]
        del self._waiting[: self.max_batch]
        if self.inline:
            failure: BaseException | None = None
            try:
                self._write(batch)
            except BaseException as exc:  # pragma: no cover - never strand a waiter
                failure = exc
            self._settle(batch, failure)
            # let the loop read more requests before the next batch
            loop.call_soon(self._flush, loop)
            return
        if self._executor is None:
            self.start()
        assert self._executor is not None
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

    def _connection(self) -> Connection:
        """The writer's own connection, kept open between batches (no pool round trip)."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect()
        return self._conn

    def _discard_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def _write(self, batch: list[_Pending[Any]]) -> None:
        with self._lock:
            started = time.perf_counter()
            self._write_locked(batch)
            self.write_seconds += time.perf_counter() - started

    def _write_locked(self, batch: list[_Pending[Any]]) -> None:
        groups: dict[int, tuple[JobKind[Any], list[_Pending[Any]]]] = {}
        for p in batch:
            groups.setdefault(id(p.kind), (p.kind, []))[1].append(p)
        try:
            conn = self._connection()
            try:
                with conn.begin():
                    results: list[tuple[_Pending[Any], Any]] = []
                    for kind, items in groups.values():
                        out = kind.write_many(conn, [p.job for p in items])
                        results.extend(zip(items, out, strict=True))
            except Exception:
                self._discard_connection()
                raise
            for p, r in results:
                p.result = r
            self.batches += 1
            self.jobs += len(batch)
            return
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            log.info("batch of %d failed (%s); writing its jobs one by one", len(batch), exc)
        for p in batch:
            try:
                p.result = p.kind.write_one(self.engine, p.job)
            except Exception as exc:
                p.error = exc
