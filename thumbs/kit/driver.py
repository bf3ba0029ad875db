"""Statements compiled once and run as driver-level SQL.

A read the API serves many times a second (a page of a list, the lookup before it) paid
more for SQLAlchemy's work around the statement than the database paid for running it:
building the statement, its cache key, the execution context and a typed row per row. A
:class:`Prepared` statement is built and compiled once per dialect, with named bind
parameters (``bindparam("name")``); each run gives only their values, converted by the
columns' bind processors (so a datetime is compared as SQLAlchemy stores it), and runs
the SQL with ``exec_driver_sql`` (driver errors still become SQLAlchemy's, as everywhere
else). Rows are the driver's values as they are, without result processing: the statement
must select values the driver returns as they are meant (strings, numbers; see
:class:`thumbs.store.sql.api_time` for dates).

:func:`driver_cursor` goes one step lower, for the create hot path's batch statements
(:mod:`thumbs.store.sql`, :mod:`thumbs.store.rollups`): the driver's own cursor, in the
connection's transaction; :func:`pipelined` sends a batch's statements on PostgreSQL in one
round trip. All turn the driver's errors into SQLAlchemy's, so every caller and
:mod:`thumbs.kit.dberrors` tell a race, a busy store and a lost connection apart the same
way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters, in order when the driver's style is positional
    positional: bool
    fixed: dict[str, Any]  # values the statement carries itself, converted
    processors: dict[str, Callable[[Any], Any] | None]  # of the values given per run

    def args(self, values: Mapping[str, Any]) -> Any:
        def value(name: str) -> Any:
            if name in self.fixed:
                return self.fixed[name]
            v = values[name]
            process = self.processors[name]
            return v if process is None or v is None else process(v)

        if self.positional:
            return tuple(value(name) for name in self.names)
        return {name: value(name) for name in self.names}


def _compile(stmt: Any, dialect: Dialect) -> _Compiled:
    compiled = stmt.compile(dialect=dialect)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("a prepared statement cannot have parameters rendered per run")
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
    fixed: dict[str, Any] = {}
    processors: dict[str, Callable[[Any], Any] | None] = {}
    for name in names:
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.required:
            processors[name] = process
        else:
            v = bind.effective_value
            fixed[name] = v if process is None or v is None else process(v)
    return _Compiled(str(compiled), names, compiled.positional, fixed, processors)


class Prepared:
    """A statement, built by ``build`` on first use and compiled once per dialect, run with
    the values of its named bind parameters."""

    def __init__(self, build: Callable[[], Executable]) -> None:
        self._build = build
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, conn: Connection, values: Mapping[str, Any]) -> Sequence[Any]:
        dialect = conn.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self._build(), dialect)
        result = conn.exec_driver_sql(compiled.sql, compiled.args(values))
        return result.fetchall()


@contextmanager
def _driver_errors(conn: Connection, cursor: Any = None) -> Iterator[None]:
    """The driver's errors raised inside, as SQLAlchemy's (``IntegrityError``,
    ``OperationalError``…, with no bound values), as ``conn.execute`` would raise them."""
    try:
        yield
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            None,
            None,
            exc,
            conn.dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=conn.dialect.is_disconnect(
                exc, conn.connection.dbapi_connection, cursor
            ),
            dialect=conn.dialect,
        ) from exc


@contextmanager
def driver_cursor(conn: Connection) -> Iterator[Any]:
    """A cursor of the driver's connection under ``conn``, in ``conn``'s transaction: for
    the create hot path, where the engine's execution machinery (building the statement,
    its cache key, the result object) cost more than the statement itself. The driver's
    errors leave as SQLAlchemy's (``IntegrityError``, ``OperationalError``…, with no bound
    values), as they would from ``conn.execute``, so every caller and
    :mod:`thumbs.kit.dberrors` tell a race, a busy store and a lost connection apart the
    same way."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        with _driver_errors(conn, cursor):
            yield cursor
    finally:
        cursor.close()


@contextmanager
def autocommitted(conn: Connection) -> Iterator[None]:
    """The driver of ``conn`` (PostgreSQL) in autocommit for the block: a statement
    commits alone, and a :func:`pipelined` block's statements commit together when it
    ends (the server runs them as one implicit transaction, ended by the pipeline's Sync;
    a failure rolls all of them back). Afterwards the connection is back to transactions;
    one that broke meanwhile is invalidated, so the pool never tries to reset it."""
    dbapi: Any = conn.connection.dbapi_connection
    with _driver_errors(conn):
        dbapi.autocommit = True
    try:
        yield
    except DBAPIError as exc:
        if exc.connection_invalidated and not conn.invalidated:
            conn.invalidate(exc)
        raise
    finally:
        if not conn.invalidated:
            try:
                dbapi.autocommit = False
            except Exception as exc:  # the connection cannot be trusted any more
                conn.invalidate(exc)


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, the statements run on ``conn`` inside the block are sent without
    waiting for one another and answered together when it ends (psycopg's pipeline mode):
    one round trip instead of one each. The server still runs them one after the other,
    in order, in ``conn``'s transaction; the first that fails fails the block (as an
    SQLAlchemy error) and those after it do nothing. So only statements that need no
    result of the others belong inside (a ``RETURNING`` read inside waits for its own
    answer). Other stores run them as they come."""
    if conn.dialect.name != "postgresql":
        yield
        return
    dbapi: Any = conn.connection.dbapi_connection
    with _driver_errors(conn), dbapi.pipeline():
        yield
