"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production).

SQLite runs in WAL mode with ``synchronous=FULL``: a commit that returned is on disk.

SQLite writes one transaction at a time. A unit of work on SQLite reads without a
transaction of its own until its first write (the driver's rule); there the driver begins
the transaction ``IMMEDIATE`` (the write lock is taken at once, never upgraded from a read
snapshot that another commit made stale, which SQLite answers with "database is locked"
without waiting), after the process's :class:`~thumbs.store.writelock.FairLock` of the file:
the writers of one process (the group-commit writer, request transactions) queue in order,
and then the processes writing the file take its write lock in turn
(:class:`~thumbs.store.writelock.ProcessLock`, ``<database>-lock``), woken as soon as it is
free, instead of polling in SQLite's busy handler (``busy_timeout``, 10 s, left for writers
outside this scheme). Read-only units of work never take either lock. Nothing of this
applies to PostgreSQL. See :mod:`thumbs.store.writelock`.

Every engine is built with ``hide_parameters=True``: a store error names the statement but
never the values bound to it (feedback text, identities), in logs or anywhere else. Waits
are bounded (:class:`StoreLimits`): a request that cannot get a connection in time, or a
store that cannot be reached, fails fast and is answered 503 (see
:func:`store_unavailable`), never held for the driver's defaults.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from thumbs.kit.dberrors import describe as describe
from thumbs.kit.dberrors import store_unavailable as store_unavailable
from thumbs.store.writelock import WAIT_SECONDS, LockingConnection, lock_for

if TYPE_CHECKING:
    from thumbs.config import Settings


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


@dataclass(frozen=True, slots=True)
class StoreLimits:
    """How long the store may make a request wait (the defaults of the settings of the
    same names, ``THUMBS_DB_*``)."""

    pool_size: int = 8
    # seconds to wait for a pooled connection before answering 503
    pool_timeout: float = 3.0
    # PostgreSQL: seconds to establish a connection (libpq's connect_timeout)
    connect_timeout: int = 5
    # PostgreSQL: seconds one statement may run (0: no limit)
    statement_timeout: float = 30.0

    @classmethod
    def of(cls, settings: Settings) -> StoreLimits:
        return cls(
            pool_size=settings.db_pool_size,
            pool_timeout=settings.db_pool_timeout,
            connect_timeout=settings.db_connect_timeout,
            statement_timeout=settings.db_statement_timeout,
        )


# SQLite's page cache per connection (KiB). A pooled connection's cache is emptied whenever
# another connection has committed, so under writes it serves little, and the operating
# system's own cache of the file serves its reads. Kept small, the pool's connections fill
# theirs within seconds of load instead of growing for minutes (bench/README.md, "Mixed
# workload"); 1 MB served a page of the list at depth 1,000,000 at the same CPU cost as
# 32 MB (256 KiB cost about a tenth more). The group-commit writer's own connection, which
# writes every feedback and its index entries, keeps a larger one: 4 MiB held the create
# benchmark's rate as 32 did.
SQLITE_CACHE_KIB = 1000
SQLITE_WRITER_CACHE_KIB = 4000


# How often (in SQLite virtual-machine steps) a connection asks whether its thread's read has
# used up its budget (:func:`cpu_budget`): a Python call every 20,000 steps, about one per
# millisecond of SQLite's work, a thousandth of it.
_BUDGET_STEPS = 20_000
_budget = threading.local()


class OverBudget(Exception):
    """A read stopped by :func:`cpu_budget` (SQLite interrupted it): nothing was changed,
    the read can be run again where it may take longer."""


def _over_budget() -> bool:
    deadline: float | None = getattr(_budget, "deadline", None)
    return deadline is not None and time.thread_time() > deadline


@contextmanager
def cpu_budget(seconds: float) -> Iterator[None]:
    """Within this block, SQLite statements run by this thread stop (:class:`OverBudget`)
    once the thread has used ``seconds`` of CPU time since the block began: a read on the
    server's event loop may hold it that long, no longer. CPU time, not the clock: a
    thread the machine set aside meanwhile has not used its budget."""
    _budget.deadline = time.thread_time() + seconds
    try:
        yield
    except (DBAPIError, sqlite3.OperationalError) as err:
        cause = err.orig if isinstance(err, DBAPIError) else err
        if isinstance(cause, sqlite3.OperationalError) and str(cause) == "interrupted":
            raise OverBudget from err
        raise
    finally:
        _budget.deadline = None


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    dbapi_conn.set_progress_handler(_over_budget, _BUDGET_STEPS)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={round(WAIT_SECONDS * 1000)}")
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cur.close()


def make_engine(url: str, *, limits: StoreLimits | None = None, null_pool: bool = False) -> Engine:
    limits = limits or StoreLimits()
    pooled: dict[str, Any] = (
        {"poolclass": NullPool}
        if null_pool
        else {
            "poolclass": QueuePool,
            "pool_size": limits.pool_size,
            "max_overflow": 2 * limits.pool_size,
            "pool_timeout": limits.pool_timeout,
        }
    )
    if is_sqlite(url):
        database = make_url(url).database or ""
        if database not in ("", ":memory:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": WAIT_SECONDS,
                "factory": LockingConnection,
                "isolation_level": "IMMEDIATE",
            },
            hide_parameters=True,
            **pooled,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if database not in ("", ":memory:") and not database.startswith("file:"):
            # one lock per file (a private in-memory database needs none)
            write_lock = lock_for(database)

            @event.listens_for(engine, "connect")
            def _share_write_lock(dbapi_conn: LockingConnection, _record: Any) -> None:
                dbapi_conn.write_lock = write_lock

        return engine
    connect_args: dict[str, Any] = {"connect_timeout": limits.connect_timeout}
    if limits.statement_timeout > 0:
        # added to the URL's own ``options`` (connect_args would replace them)
        given = make_url(url).query.get("options", "")
        options = [*([given] if isinstance(given, str) else given)]
        options.append(f"-c statement_timeout={round(limits.statement_timeout * 1000)}")
        connect_args["options"] = " ".join(o for o in options if o)
    return create_engine(
        url,
        connect_args=connect_args,
        hide_parameters=True,
        pool_pre_ping=not null_pool,
        **pooled,
    )


class Store:
    """The engine and session factory of one process."""

    def __init__(self, url: str, *, limits: StoreLimits | None = None) -> None:
        self.url = url
        self.engine = make_engine(url, limits=limits)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def of(cls, settings: Settings) -> Store:
        return cls(settings.effective_database_url, limits=StoreLimits.of(settings))

    @property
    def sqlite(self) -> bool:
        return is_sqlite(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
