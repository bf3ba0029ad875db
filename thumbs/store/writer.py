"""Group commit: many concurrent create requests, one transaction, one fsync.

Request handlers submit *jobs* and await them; one writer thread per process drains the
queue, writes every waiting job in a single transaction and resolves the waiters only
after the commit returned. An acknowledged write is therefore durable (SQLite runs with
``synchronous=FULL``), and the cost of the commit is shared by the whole batch.

If a batch fails (a constraint violated by one job, a race with another process), it is
rolled back and each job is retried alone in its own transaction, so one bad job never
fails its neighbours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
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
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[Any] | None
    done: threading.Event | None = None
    result: Any = None
    error: BaseException | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_STOP = object()


class GroupCommitWriter:
    def __init__(self, engine: Engine, *, max_batch: int = 1024) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.jobs = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="thumbs-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._thread = None

    async def submit(self, kind: JobKind[J], job: J) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Pending(kind=kind, job=job, loop=loop, future=future))
        return await future

    def submit_sync(self, kind: JobKind[J], job: J, timeout: float = 30.0) -> Any:
        pending: _Pending[J] = _Pending(
            kind=kind, job=job, loop=None, future=None, done=threading.Event()
        )
        self._queue.put(pending)
        assert pending.done is not None
        if not pending.done.wait(timeout):
            raise TimeoutError("the writer did not answer in time")
        if pending.error is not None:
            raise pending.error
        return pending.result

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[_Pending[Any]] = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            try:
                self._write(batch)
            except BaseException as exc:  # pragma: no cover - last resort, never lose a waiter
                log.exception("writer failed")
                for p in batch:
                    if p.error is None and p.result is None:
                        p.error = exc
            self._resolve(batch)
            if stop:
                return

    def _write(self, batch: list[_Pending[Any]]) -> None:
        groups: dict[int, tuple[JobKind[Any], list[_Pending[Any]]]] = {}
        for p in batch:
            groups.setdefault(id(p.kind), (p.kind, []))[1].append(p)
        try:
            with self.engine.begin() as conn:
                results: list[tuple[_Pending[Any], Any]] = []
                for kind, items in groups.values():
                    out = kind.write_many(conn, [p.job for p in items])
                    results.extend(zip(items, out, strict=True))
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

    @staticmethod
    def _resolve(batch: list[_Pending[Any]]) -> None:
        by_loop: dict[int, tuple[asyncio.AbstractEventLoop, list[_Pending[Any]]]] = {}
        for p in batch:
            if p.loop is None:
                assert p.done is not None
                p.done.set()
            else:
                by_loop.setdefault(id(p.loop), (p.loop, []))[1].append(p)
        for loop, items in by_loop.values():
            with contextlib.suppress(RuntimeError):  # a closed loop: its waiters are gone
                loop.call_soon_threadsafe(_settle, items)


def _settle(items: list[_Pending[Any]]) -> None:
    for p in items:
        fut = p.future
        if fut is None or fut.done():
            continue
        if p.error is not None:
            fut.set_exception(p.error)
        else:
            fut.set_result(p.result)
