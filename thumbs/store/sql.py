"""SQL below the domains: what differs between SQLite and PostgreSQL, and the driver-level
statements of the create hot path.

* :func:`insert_ignore`: ``INSERT … ON CONFLICT DO NOTHING`` on a unique index, one row or
  many, through a session or a connection: the race-free "create unless it exists".
* :class:`RawInsert`: a batch INSERT whose per-row cost stays in C (the group-commit
  writer's feedback and idempotency rows, new end users).
* :func:`select_in` and :func:`messages_by_id`: the per-batch lookups of the create hot
  path (the logged messages a batch links to, its named end users), as driver-level
  statements.
* :class:`epoch_seconds`: whole seconds since 1970 of a stored naive-UTC datetime, in
  either dialect (analytics buckets and review times).
* :class:`api_time`: a stored timestamp as the API writes it, computed by the database
  (exports).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, ColumnElement, Connection, CursorResult, String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from thumbs.kit.driver import driver_cursor
from thumbs.store.models import Message


def insert_ignore(
    executor: Session | Connection,
    model: type[Any],
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    index_elements: list[str],
    index_where: ColumnElement[bool] | None = None,
    returning: Sequence[Any] = (),
) -> CursorResult[Any]:
    """``INSERT … ON CONFLICT DO NOTHING`` on a unique index, for one row (a mapping) or
    many (a sequence of mappings, sent as one ``executemany``). ``rowcount`` (one row) or
    the ``returning`` columns (only of the rows inserted) say what was new.

    A concurrent insert of the same key waits for the other transaction, then does
    nothing."""
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    mod: Any = postgresql if bind.dialect.name == "postgresql" else sqlite
    stmt = mod.insert(model).on_conflict_do_nothing(
        index_elements=index_elements, index_where=index_where
    )
    if returning:
        stmt = stmt.returning(*returning)
    if isinstance(values, Mapping):
        return cast("CursorResult[Any]", executor.execute(stmt.values(**values)))
    return cast("CursorResult[Any]", executor.execute(stmt, [dict(v) for v in values]))


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


class RawInsert:
    """A batch INSERT that keeps the per-row cost of the hot path in C: one multi-row
    ``INSERT … VALUES (…), (…)`` per chunk, on the driver's cursor.

    SQLite: the writer takes and releases the GIL once per chunk rather than once per row
    (per-row ``executemany`` made it fight the event loop for the GIL on every row).
    PostgreSQL: one statement and one round trip per chunk.

    With ``conflict`` (the columns of a unique constraint) the rows that would break it are
    left out (``ON CONFLICT … DO NOTHING``); with ``returning``, :meth:`returning` gives
    those columns of the rows inserted."""

    CHUNK = 500  # rows per statement: 15 columns x 500 < SQLite's 32,766 variables

    def __init__(
        self,
        table: Any,
        columns: Sequence[str],
        *,
        conflict: Sequence[str] = (),
        returning: Sequence[str] = (),
    ) -> None:
        self.table = table
        self.columns = list(columns)
        suffix = ""
        if conflict:
            suffix += f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
        if returning:
            suffix += f" RETURNING {', '.join(returning)}"
        self._suffix = suffix
        self._sql: dict[tuple[str, int], str] = {}

    def _statement(self, mark: str, n: int) -> str:
        sql = self._sql.get((mark, n))
        if sql is None:
            cols = ", ".join(f'"{c}"' for c in self.columns)
            one = "(" + ", ".join([mark] * len(self.columns)) + ")"
            # identifiers come from the table definition, values are all bound parameters
            sql = f'INSERT INTO "{self.table.name}" ({cols}) VALUES ' + ", ".join([one] * n)  # noqa: S608
            sql += self._suffix
            self._sql[(mark, n)] = sql
        return sql

    def _execute(
        self, conn: Connection, rows: Sequence[Mapping[str, Any]], *, fetch: bool
    ) -> list[Any]:
        mark, lite = _mark(conn), conn.dialect.name == "sqlite"
        cols = self.columns
        found: list[Any] = []
        with driver_cursor(conn) as cursor:
            for start in range(0, len(rows), self.CHUNK):
                chunk = rows[start : start + self.CHUNK]
                flat: list[Any] = []
                for row in chunk:
                    for c in cols:
                        v = row[c]
                        flat.append(_sqlite_datetime(v) if lite and isinstance(v, datetime) else v)
                cursor.execute(self._statement(mark, len(chunk)), flat)
                if fetch:
                    found.extend(cursor.fetchall())
        return found

    def run(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        self._execute(conn, rows, fetch=False)

    def returning(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        return self._execute(conn, rows, fetch=True)


def select_in(
    conn: Connection, table: str, columns: Sequence[str], where: Mapping[str, Collection[Any]]
) -> list[tuple[Any, ...]]:
    """``SELECT columns FROM table WHERE c1 IN (…) AND c2 IN (…)`` as plain tuples, on the
    driver's cursor: the per-batch lookups of the create hot path (logged messages, named
    end users), where building the equivalent ``select(…).in_(…)`` cost more than running
    it."""
    mark = _mark(conn)
    params: list[Any] = []
    terms = []
    for column, values in where.items():
        terms.append(f"{column} IN ({', '.join([mark] * len(values))})")
        params.extend(values)
    # identifiers are the callers' constants; every value is a bound parameter
    sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {' AND '.join(terms)}"  # noqa: S608
    with driver_cursor(conn) as cursor:
        cursor.execute(sql, params)
        return [tuple(r) for r in cursor.fetchall()]


def messages_by_id(conn: Connection, message_ids: Collection[str]) -> list[tuple[Any, ...]]:
    """``(pk, id, account_pk)`` of the logged messages with these ids."""
    return select_in(conn, Message.__tablename__, ("pk", "id", "account_pk"), {"id": message_ids})


def _sqlite_datetime(value: datetime) -> str:
    # SQLAlchemy's storage format for DateTime on SQLite
    return value.isoformat(sep=" ", timespec="microseconds")


class epoch_seconds(FunctionElement[int]):  # noqa: N801 - a SQL function, named like one
    """Whole seconds since 1970-01-01 of a naive-UTC ``DateTime`` (fractions dropped), the
    same number as ``(value - datetime(1970, 1, 1)) // timedelta(seconds=1)`` in Python."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_seconds_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # a timestamp without time zone counts from 1970 as UTC
    inner = compiler.process(element.clauses, **kw)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {inner})) AS BIGINT)"


class api_time(FunctionElement[str]):  # noqa: N801 (an SQL function, named like one)
    """A stored timestamp as the API writes it (:func:`thumbs.kit.timefmt.iso`:
    ``YYYY-MM-DDTHH:MM:SSZ``, truncated to the second, NULL stays NULL), computed by the
    database: readers of many rows (exports) then receive ready strings and convert
    nothing per row."""

    type = String()
    inherit_cache = True
    name = "api_time"


@compiles(api_time, "sqlite")
def _api_time_sqlite(element: api_time, compiler: SQLCompiler, **kw: Any) -> str:
    # stored by SQLAlchemy as 'YYYY-MM-DD HH:MM:SS.ffffff'
    value = compiler.process(element.clauses, **kw)
    return f"(substr({value}, 1, 10) || 'T' || substr({value}, 12, 8) || 'Z')"


@compiles(api_time, "postgresql")
def _api_time_postgresql(element: api_time, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f'to_char({value}, \'YYYY-MM-DD"T"HH24:MI:SS"Z"\')'
