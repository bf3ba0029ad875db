"""What one server process holds: settings, store, group-commit writer, caches."""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

import httpx
from anyio import CapacityLimiter, to_thread

from thumbs.auth.console import SignIn
from thumbs.auth.service import CredentialCache, refresh_credential_epoch
from thumbs.config import Settings
from thumbs.feedback import idempotency
from thumbs.kit import malloc
from thumbs.kit.cache import TTLCache
from thumbs.store import migrate
from thumbs.store.engine import OverBudget, Store, cpu_budget
from thumbs.store.writer import GroupCommitWriter
from thumbs.store.writer_process import ProcessWriter

T = TypeVar("T")

log = logging.getLogger("thumbs")

# How long the event loop may keep the GIL while another thread waits for it. The threads
# that return from the database (the writer's commit; on PostgreSQL the writer's statements;
# the list's reads) each need the GIL back to go on, and with Python's default of 5 ms they
# waited behind a busy event loop for up to that long every time. One run of the create
# benchmark against the default (bench/README.md): 3,710/3,246/3,323 -> 3,774/3,581/3,665
# realistic creates per second, the constant body 5,860 -> 6,295, the same CPU per request.
GIL_SWITCH_INTERVAL = 0.001

# The CPU time a read may take on the event loop (``Runtime.read``) before it is stopped and
# run again in a worker thread: a page of the list takes about a millisecond.
LOOP_READ_CPU = 0.005


def read_threads(settings: Settings, store: Store) -> int:
    """Threads reading list pages at once: ``THUMBS_READ_THREADS``, or by default one per
    core on SQLite, four per core on PostgreSQL. A SQLite read is CPU in this process: more
    readers than cores only add contention for the GIL (with anyio's 40 threads a page cost
    5 ms of CPU at 32 connections, with one per core 1 ms). A PostgreSQL read mostly waits
    for the server: under the mixed workload two readers left list pages queued (p50 1.2 s)
    where eight served them in 0.17 s, at the same throughput (bench/README.md)."""
    if settings.read_threads is not None:
        return settings.read_threads
    cores = os.cpu_count() or 1
    return cores if store.sqlite else 4 * cores


class Periodic:
    """``work`` every ``interval`` seconds on a daemon thread of its own (never on the
    event loop), from start until stop; after a failed run the next one tries again (an
    outage is logged once, and its end). An interval of 0 never runs."""

    def __init__(self, name: str, interval: float, work: Callable[[], None]) -> None:
        self.name = name
        self.interval = interval
        self.work = work
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"thumbs-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        failing = False
        while not self._stopping.wait(self.interval):
            try:
                self.work()
            except Exception as exc:  # a store outage: the next run tries again
                if not failing:  # said once per outage, not once per run
                    log.warning("%s failed (%s); retrying", self.name, type(exc).__name__)
                failing = True
                continue
            if failing:
                log.info("%s works again", self.name)
            failing = False


def cleanup_expired(store: Store, batch: int) -> None:
    """One bounded cleanup run: expired idempotency keys, at most ``batch`` rows."""
    deleted = idempotency.delete_expired(store.engine, limit=batch)
    if deleted:
        log.info("cleanup: deleted %d expired idempotency keys", deleted)


def served_settings(settings: Settings) -> Settings:
    """The settings of a server process of ``thumbs serve``: there ``THUMBS_WRITER_MODE=auto``
    is ``process``, a writer process of the server's own, on either store.

    The server process then keeps the HTTP work and its writer process, with a GIL and a
    core of its own, writes the batches (``thumbs.store.writer_process``): under a load of
    creates, and at the mixed workload's rates below the capacity, every kind of request was
    answered as fast or faster; saturated, the throughput is the same and the latency moves
    from the creates to the requests served on threads (bench/README.md, 2026-12-01). An
    app built in-process (a test client, another ASGI server) starts no process of its own:
    ``auto`` is the group commit on the event loop (SQLite) or on a writer thread
    (PostgreSQL), as :func:`_writer` says."""
    if settings.writer_mode != "auto":
        return settings
    return settings.model_copy(update={"writer_mode": "process"})


def _writer(settings: Settings, store: Store) -> GroupCommitWriter:
    """The group-commit writer of ``THUMBS_WRITER_MODE`` (``auto``: inline on SQLite, a
    writer thread on PostgreSQL; ``thumbs serve`` makes it a writer process first,
    :func:`served_settings`)."""
    if settings.writer_mode == "process":
        return ProcessWriter(
            store.engine,
            settings=settings,
            kinds="thumbs.feedback.jobs:process_kinds",
            max_batch=settings.write_batch_max,
            max_queue=settings.write_queue_max,
        )
    return GroupCommitWriter(
        store.engine,
        max_batch=settings.write_batch_max,
        max_queue=settings.write_queue_max,
        inline=settings.writer_mode == "inline"
        or (settings.writer_mode == "auto" and store.sqlite),
    )


@dataclass
class Runtime:
    settings: Settings
    store: Store
    writer: GroupCommitWriter
    credentials: CredentialCache
    assistants: TTLCache = field(default_factory=lambda: TTLCache(30.0))
    # (account_pk, identity) -> (pk, sid) of end users known to be committed (see
    # thumbs.feedback.jobs): a create naming a known end user reads no users row
    end_users: TTLCache = field(default_factory=lambda: TTLCache(30.0))
    # console sign-in: its throttle and its bounded password-hashing pool
    signin: SignIn = field(default_factory=SignIn)
    # the schema revision this server needs (``/readyz`` compares the store's with it)
    schema_head: str | None = None
    # the responders' HTTP client, opened and closed with the server (on its event loop)
    http: httpx.AsyncClient | None = None
    cleanup: Periodic | None = None
    revocation_check: Periodic | None = None
    # bounds the threads reading list pages at once (THUMBS_READ_THREADS); made on first use,
    # on the server's event loop
    _reads: CapacityLimiter | None = None

    @cached_property
    def reads_on_loop(self) -> bool:
        """Whether :meth:`read` tries the event loop first: on SQLite with a writer process
        (bench/README.md, 2026-12-01). There the loop does no store work of its own, and a
        page read on a thread waited for the GIL behind it at every step of SQLite; on
        PostgreSQL a read waits for the server, which the loop must not."""
        return self.store.sqlite and isinstance(self.writer, ProcessWriter)

    async def read(self, fn: Callable[[], T], *, limited: bool = True) -> T:
        """Run a blocking read: on SQLite with a writer process, on the event loop within
        ``LOOP_READ_CPU`` seconds of CPU (:func:`~thumbs.store.engine.cpu_budget`), else,
        or once that was not enough, in a worker thread: with ``limited`` (a page of the
        list) at most :func:`read_threads` at once, otherwise (a lookup by key) in the
        threads any handler uses. ``fn`` must only read: it may be run twice."""
        if self.reads_on_loop:
            try:
                with cpu_budget(LOOP_READ_CPU):
                    return fn()
            except OverBudget:
                pass
        if not limited:
            return await to_thread.run_sync(fn)
        if self._reads is None:
            self._reads = CapacityLimiter(read_threads(self.settings, self.store))
        return await to_thread.run_sync(fn, limiter=self._reads)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        store = Store.of(settings)
        credentials = CredentialCache(
            settings.auth_cache_ttl, recheck=settings.auth_revocation_check
        )
        return cls(
            settings=settings,
            store=store,
            schema_head=migrate.head_revision(store.url),
            writer=_writer(settings, store),
            credentials=credentials,
            assistants=TTLCache(settings.auth_cache_ttl),
            end_users=TTLCache(settings.auth_cache_ttl),
            signin=SignIn.build(settings),
            cleanup=Periodic(
                "cleanup",
                settings.cleanup_interval,
                lambda: cleanup_expired(store, settings.cleanup_batch),
            ),
            # keeps the cached credentials confirmed, so that no request waits for it
            revocation_check=Periodic(
                "revocation check",
                settings.auth_revocation_check / 2,
                lambda: refresh_credential_epoch(credentials, store),
            ),
        )

    def start(self) -> None:
        # before any thread of the server allocates: a thread keeps the arena it was given
        malloc.limit_arenas(self.settings.malloc_arenas)
        self.writer.start()
        for task in (self.cleanup, self.revocation_check):
            if task is not None:
                task.start()
        # Everything built at start (modules, metadata, routes, compiled statements) lives as
        # long as the process: move it out of the collector's sight, so that full
        # collections under load stop walking it (they were the create p99: 45 ms -> 8 ms).
        gc.collect()
        gc.freeze()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)

    def stop(self) -> None:
        for task in (self.cleanup, self.revocation_check):
            if task is not None:
                task.stop()
        self.writer.stop()
        if self.writer.batches:
            log.info(
                "writer: %d jobs in %d batches (%.1f per commit, %.2f ms per batch)",
                self.writer.jobs,
                self.writer.batches,
                self.writer.jobs / self.writer.batches,
                1000 * self.writer.write_seconds / self.writer.batches,
            )
        self.store.dispose()
