"""SQL below the domains: what differs between SQLite and PostgreSQL, and the driver-level
statements of the create hot path.

* :func:`insert_ignore`: ``INSERT … ON CONFLICT DO NOTHING`` on a unique index, one row or
  many, through a session or a connection: the race-free "create unless it exists".
* :class:`RawInsert`: a batch INSERT whose per-row cost stays in C (the group-commit
  writer's feedback and idempotency rows, new end users).
* :func:`select_in`, :func:`select_keys` and :func:`messages_by_id`: the per-batch
  lookups of the create hot path (its named end users) and of imports (the logged messages
  a batch links to), as driver-level statements; :data:`LOGGED_MESSAGE`, the same link
  made by the create batch's insert itself.
* :class:`epoch_seconds`: whole seconds since 1970 of a stored naive-UTC datetime, in
  either dialect (analytics buckets and review times).
* :class:`api_time`: a stored timestamp as the API writes it, computed by the database
  (exports).
* :class:`json_record`: one row as the text of a flat JSON object, built by the database,
  and :class:`joined_lines`: the lines of many rows as one text (the JSONL export).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import chain
from operator import itemgetter
from typing import Any, cast

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    CursorResult,
    DateTime,
    Dialect,
    Float,
    String,
    Table,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from thumbs.kit.driver import driver_cursor
from thumbs.kit.timefmt import stored_text
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
    nothing.

    The values go as parameters of a Core statement on the session's connection (after
    the session's pending changes are flushed, as an ORM statement would do): the ORM's
    handling of an ``INSERT … VALUES`` cost several times the statement's own work."""
    if isinstance(executor, Session):
        executor.flush()
        executor = executor.connection()
    mod: Any = postgresql if executor.dialect.name == "postgresql" else sqlite
    # rowcount of an INSERT is kept only when asked for (SQLAlchemy 2.1; PostgreSQL answered
    # -1 without it, which a caller read as "inserted" even when the key was taken)
    stmt = (
        mod.insert(model)
        .on_conflict_do_nothing(index_elements=index_elements, index_where=index_where)
        .execution_options(preserve_rowcount=True)
    )
    if returning:
        stmt = stmt.returning(*returning)
    if isinstance(values, Mapping):
        return executor.execute(stmt, dict(values))
    return executor.execute(stmt, [dict(v) for v in values])


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def statement_sizes(rows: int, most: int) -> Iterator[int]:
    """The rows of each statement that inserts ``rows`` rows, largest first: ``most`` (a
    power of two) as often as it fits, then the powers of two of what is left."""
    while rows >= most:
        yield most
        rows -= most
    while rows:
        size = 1 << (rows.bit_length() - 1)
        yield size
        rows -= size


class RawInsert:
    """A batch INSERT that keeps the per-row cost of the hot path in C, on the driver's
    cursor.

    SQLite: one multi-row ``INSERT … VALUES (…), (…)`` per chunk; the writer takes and
    releases the GIL once per chunk rather than once per row (per-row ``executemany`` made
    it fight the event loop for the GIL on every row); only the date columns are converted
    (SQLite stores dates as text).
    PostgreSQL: the rows as one JSON parameter read back by ``json_to_recordset`` (one
    statement whatever the number of rows, its values converted by orjson and the server,
    not by psycopg in Python; it can share a round trip with the statements after it:
    :func:`~thumbs.kit.driver.pipelined`), or ``COPY`` (``run(…, copy=True)``: imports,
    whose batches are hundreds of rows).

    With ``conflict`` (the columns of a unique constraint) the rows that would break it are
    left out (``ON CONFLICT … DO NOTHING``); with ``returning``, :meth:`returning` gives
    those columns of the rows inserted. ``derived`` are columns the database computes as
    the row goes in, each an SQL expression that names the row's other columns in braces
    (the logged message a feedback rates: ``(SELECT pk FROM messages WHERE id =
    {message_id} …)``), so a lookup the row depends on costs no statement of its own.

    On SQLite every statement inserts a power of two of rows (37 rows: 32, 4 and 1), so a
    table has at most nine statements, not one per batch size. A statement is compiled for
    its number of rows and each connection keeps what it compiled (SQLite's driver caches
    128 statements per connection): a feedback INSERT of 1 row takes 9 KiB, of 128 rows
    175 KiB, and every size from 1 to 128 took 13.6 MB of one connection; the pooled
    connections' caches grew the server under load (bench/README.md, "Mixed workload")."""

    CHUNK = 256  # most rows per statement, a power of two: 15 columns x 256 < 32,766 variables

    def __init__(
        self,
        table: Any,
        columns: Sequence[str],
        *,
        conflict: Sequence[str] = (),
        returning: Sequence[str] = (),
        derived: Mapping[str, str] | None = None,
    ) -> None:
        self.table = table
        self.columns = list(columns)  # the values each row gives, in this order
        self.derived = dict(derived or {})
        get = itemgetter(*self.columns)
        self._values: Any = get if len(self.columns) > 1 else (lambda row: (get(row),))
        # the positions of the date columns (converted to SQLite's text form)
        self._dates = [
            i for i, c in enumerate(self.columns) if isinstance(table.c[c].type, DateTime)
        ]
        suffix = ""
        if conflict:
            suffix += f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
        if returning:
            suffix += f" RETURNING {', '.join(returning)}"
        self._suffix = suffix
        self._sql: dict[int, str] = {}
        self._json_sql: str | None = None

    def _target(self) -> str:
        return ", ".join(f'"{c}"' for c in (*self.columns, *self.derived))

    def _statement(self, n: int) -> str:
        """SQLite's statement of ``n`` rows. Its marks are numbered (``?17``), so that a
        derived value names the row's own values."""
        sql = self._sql.get(n)
        if sql is None:
            width = len(self.columns)
            rows = []
            for k in range(n):
                refs = {c: f"?{k * width + i + 1}" for i, c in enumerate(self.columns)}
                made = [e.format(**refs) for e in self.derived.values()]
                rows.append("(" + ", ".join([*refs.values(), *made]) + ")")
            # identifiers come from the table definition, values are all bound parameters
            sql = f'INSERT INTO "{self.table.name}" ({self._target()}) VALUES {", ".join(rows)}'  # noqa: S608
            sql += self._suffix
            self._sql[n] = sql
        return sql

    def _json_statement(self, dialect: Dialect) -> str:
        """PostgreSQL's statement: every row in one JSON parameter."""
        if self._json_sql is None:
            typed = ", ".join(
                f'"{c}" {self.table.c[c].type.compile(dialect)}' for c in self.columns
            )
            refs = {c: f'r."{c}"' for c in self.columns}
            picked = ", ".join([*refs.values(), *(e.format(**refs) for e in self.derived.values())])
            # identifiers come from the table definition, values are the one parameter
            self._json_sql = (
                f'INSERT INTO "{self.table.name}" ({self._target()}) '  # noqa: S608
                f"SELECT {picked} FROM json_to_recordset(%s::json) AS r({typed})" + self._suffix
            )
        return self._json_sql

    def _json(self, rows: Sequence[Any], plain: bool) -> str:
        names, values = self.columns, (lambda row: row) if plain else self._values
        return orjson.dumps([dict(zip(names, values(row), strict=True)) for row in rows]).decode()

    def _flat(self, chunk: Sequence[Mapping[str, Any]]) -> list[Any]:
        """SQLite's parameters of ``chunk``, the dates in SQLite's text form."""
        values, dates = self._values, self._dates
        flat: list[Any] = []
        if not dates:
            for row in chunk:
                flat.extend(values(row))
            return flat
        for row in chunk:
            row_values = list(values(row))
            last: Any = None
            text = ""
            for i in dates:
                v = row_values[i]
                if isinstance(v, datetime):
                    if v is not last:  # date_updated is often date_created
                        last, text = v, stored_text(v)
                    row_values[i] = text
            flat.extend(row_values)
        return flat

    def _execute(
        self,
        conn: Connection,
        rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]],
        *,
        fetch: bool,
        plain: bool = False,
    ) -> list[Any]:
        with driver_cursor(conn) as cursor:
            if conn.dialect.name != "sqlite":  # PostgreSQL: one statement, one JSON parameter
                cursor.execute(self._json_statement(conn.dialect), [self._json(rows, plain)])
                return list(cursor.fetchall()) if fetch else []
            found: list[Any] = []
            start = 0
            for size in statement_sizes(len(rows), self.CHUNK):
                chunk = rows[start : start + size]
                start += size
                flat = (
                    list(chain.from_iterable(chunk)) if plain else self._flat(chunk)  # type: ignore[arg-type]
                )
                cursor.execute(self._statement(size), flat)
                if fetch:
                    found.extend(cursor.fetchall())
            return found

    def run(
        self, conn: Connection, rows: Sequence[Mapping[str, Any]], *, copy: bool = False
    ) -> None:
        """Insert ``rows`` on ``conn``; with ``copy``, by ``COPY … FROM STDIN`` on
        PostgreSQL (bulk writers; ``conflict`` does not apply to a copy)."""
        self._insert(conn, rows, copy=copy, plain=False)

    def returning(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        return self._execute(conn, rows, fetch=True)

    def run_values(
        self, conn: Connection, rows: Sequence[Sequence[Any]], *, copy: bool = False
    ) -> None:
        """:meth:`run` for rows given as tuples in ``columns`` order, each value as the
        driver takes it as it is (a date in its stored text:
        :func:`~thumbs.kit.timefmt.stored_text`), for bulk writers that build their rows so
        (imports): no mapping or conversion per row."""
        self._insert(conn, rows, copy=copy, plain=True)

    def _insert(
        self,
        conn: Connection,
        rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]],
        *,
        copy: bool,
        plain: bool,
    ) -> None:
        if copy and conn.dialect.name == "postgresql":
            assert not self.derived, "a copy computes nothing"
            values = (lambda row: row) if plain else self._values
            names = ", ".join(f'"{c}"' for c in self.columns)
            with (
                driver_cursor(conn) as cursor,
                cursor.copy(f'COPY "{self.table.name}" ({names}) FROM STDIN') as copying,
            ):
                for row in rows:
                    copying.write_row(values(row))
            return
        self._execute(conn, rows, fetch=False, plain=plain)


def select_in(
    conn: Connection, table: str, columns: Sequence[str], where: Mapping[str, Collection[Any]]
) -> list[tuple[Any, ...]]:
    """``SELECT columns FROM table WHERE c1 IN (…) AND c2 IN (…)`` as plain tuples, on the
    driver's cursor: the per-batch lookups of the create hot path (logged messages, named
    end users) and of imports, where building the equivalent ``select(…).in_(…)`` cost
    more than running it. On PostgreSQL each list is one array (``c1 = ANY(%s)``), so that
    the server plans the statement once: a list of a thousand marks was planned again for
    every import batch, as long as the lookup itself."""
    mark = _mark(conn)
    array = conn.dialect.name == "postgresql"
    params: list[Any] = []
    terms = []
    for column, values in where.items():
        if array:
            terms.append(f"{column} = ANY({mark})")
            params.append(list(values))
        else:
            terms.append(f"{column} IN ({', '.join([mark] * len(values))})")
            params.extend(values)
    # identifiers are the callers' constants; every value is a bound parameter
    sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {' AND '.join(terms)}"  # noqa: S608
    with driver_cursor(conn) as cursor:
        cursor.execute(sql, params)
        return [tuple(r) for r in cursor.fetchall()]


def keys_sql_postgresql(
    conn: Connection, table: Table, columns: Sequence[str], keys: Sequence[str]
) -> str:
    """:func:`select_keys`' statement on PostgreSQL: one array parameter per key column,
    and for each tuple a subquery on the index (its ``LIMIT 1`` keeps it one: the planner
    would otherwise join the whole table by hash while it is small, and keep that plan)."""
    mark = _mark(conn)
    arrays = ", ".join(f"{mark}::{table.c[k].type.compile(conn.dialect)}[]" for k in keys)
    on = " AND ".join(f"t.{k} = w.{k}" for k in keys)
    selected = ", ".join(f"t.{c}" for c in columns)
    # identifiers are the callers' constants; every value is a bound parameter
    return (
        f"SELECT f.* FROM unnest({arrays}) AS w({', '.join(keys)}) "  # noqa: S608
        f"CROSS JOIN LATERAL (SELECT {selected} FROM {table.name} AS t WHERE {on} LIMIT 1) AS f"
    )


def select_keys(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    keys: Sequence[str],
    wanted: Collection[tuple[Any, ...]],
) -> list[tuple[Any, ...]]:
    """``columns`` of the rows of ``table`` whose ``keys`` columns (a unique index of
    several columns) hold one of the tuples ``wanted``, as plain tuples: the end users a
    batch names, by account and identity. On PostgreSQL the tuples are one array per key
    column (``unnest``), each looked up on the index: one lookup per tuple, whatever the
    plan's cache decides. :func:`select_in`'s ``c1 = ANY(…) AND c2 = ANY(…)`` matches
    every pair of the lists, and PostgreSQL read it as every user of the accounts named,
    filtered (a sequential scan of ``users`` per batch under the realistic create load);
    a plain join of the arrays was planned as a hash join over the whole table while it
    was small. On SQLite, :func:`select_in` (SQLite looks each pair of the lists up on
    the index) and the tuples not wanted left out here."""
    wanted = set(wanted)
    if not wanted:
        return []
    if conn.dialect.name == "postgresql":
        sql = keys_sql_postgresql(conn, table, columns, keys)
        with driver_cursor(conn) as cursor:
            cursor.execute(sql, [list(values) for values in zip(*wanted, strict=True)])
            return [tuple(r) for r in cursor.fetchall()]
    where = {k: {w[i] for w in wanted} for i, k in enumerate(keys)}
    at = [list(columns).index(k) for k in keys]
    return [
        r for r in select_in(conn, table.name, columns, where) if tuple(r[i] for i in at) in wanted
    ]


# The logged message a new feedback rates: the message with its ``message_id`` in its
# account, if one was logged there (ids are unique, so this is one probe of that index). A
# ``derived`` column of :class:`RawInsert` (the create batch's ``message_pk``): the database
# looks it up as the row goes in. Imports, whose rows go in by ``COPY``, look the same
# messages up by :func:`messages_by_id` and keep those of the account.
LOGGED_MESSAGE = (
    "(SELECT m.pk FROM messages AS m WHERE m.id = {message_id} AND m.account_pk = {account_pk})"
)


def messages_by_id(conn: Connection, message_ids: Collection[str]) -> list[tuple[Any, ...]]:
    """``(pk, id, account_pk)`` of the logged messages with these ids (each on the unique
    index of ids: :func:`select_keys`; as ``id = ANY(…)``, PostgreSQL's plan of the
    prepared statement read a small table whole, comparing every row with every id)."""
    return select_keys(
        conn,
        cast(Table, Message.__table__),
        ("pk", "id", "account_pk"),
        ("id",),
        [(mid,) for mid in message_ids],
    )


class epoch_seconds(FunctionElement[int]):  # noqa: N801 - a SQL function, named like one
    """Whole seconds since 1970-01-01 of a naive-UTC ``DateTime`` (fractions dropped), the
    same number as ``(value - datetime(1970, 1, 1)) // timedelta(seconds=1)`` in Python."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # the fraction cut off first: SQLite's date functions round it to the millisecond, so
    # 12:00:00.9996 would be 12:00:01 (a second later than Python's, and at 59:59.9996 an
    # hour later)
    value = compiler.process(element.clauses, **kw)
    return f"CAST(strftime('%s', substr({value}, 1, 19)) AS INTEGER)"


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


class json_record(FunctionElement[str]):  # noqa: N801 (an SQL function, named like one)
    """The text of one flat JSON object, ``{"name": value, …}`` in the order given, built by
    the database: a reader of many rows (the JSONL export) receives one ready string per
    row. ``names`` are the keys (plain identifiers); each value a string, a float or NULL
    (``null``). A float is written so that it reads back as the same double: PostgreSQL
    writes the shortest such digits; SQLite writes 15 significant digits when they read
    back exactly, else 17 (``0.30000000000000004``: the same number, not always the
    shortest spelling)."""

    type = String()
    inherit_cache = False
    name = "json_record"

    def __init__(self, names: Sequence[str], values: Sequence[ColumnElement[Any]]) -> None:
        if len(names) != len(values) or not all(n.isidentifier() for n in names):
            raise ValueError("json_record: one identifier per value")
        self.names = tuple(names)
        super().__init__(*values)


def _json_floats(element: json_record) -> list[bool]:
    return [isinstance(v.type, Float) for v in element.clauses]


@compiles(json_record, "sqlite")
def _json_record_sqlite(element: json_record, compiler: SQLCompiler, **kw: Any) -> str:
    parts = []
    for name, value, is_float in zip(
        element.names, element.clauses, _json_floats(element), strict=True
    ):
        v = compiler.process(value, **kw)
        if is_float:  # json_object's own floats keep 15 digits: 1/3 would not read back
            short, full = f"printf('%!.15g', {v})", f"printf('%!.17g', {v})"
            v = (
                f"CASE WHEN {v} IS NULL THEN NULL ELSE json(CASE WHEN CAST({short} AS REAL) = {v} "
                f"THEN {short} ELSE {full} END) END"
            )
        parts.append(f"'{name}', {v}")
    return f"json_object({', '.join(parts)})"


@compiles(json_record, "postgresql")
def _json_record_postgresql(element: json_record, compiler: SQLCompiler, **kw: Any) -> str:
    # json_build_object writes '{"a" : 1, "b" : 2}': the text is built compact instead
    parts = []
    for index, (name, value) in enumerate(zip(element.names, element.clauses, strict=True)):
        lead = "{" if index == 0 else ","
        v = compiler.process(value, **kw)
        if isinstance(value, api_time):  # digits, '-', ':', 'T' and 'Z': nothing to escape
            text = f"'\"' || {v} || '\"'"
        elif isinstance(value.type, Float):
            text = f"to_json({v})::text"
        else:  # a bound string's type is not known otherwise
            text = f"to_json(CAST({v} AS TEXT))::text"
        parts.append(f"'{lead}\"{name}\":' || COALESCE({text}, 'null')")
    return "(" + " || ".join(parts) + " || '}')"


class joined_lines(FunctionElement[str]):  # noqa: N801 (an SQL function, named like one)
    """An aggregate: the texts of the rows, one line each (joined by newlines, no newline
    after the last), in ascending ``key`` order. A reader of many rows gets them as one
    value: SQLite then converts one value per chunk rather than one per row (taking the
    GIL each time)."""

    type = String()
    inherit_cache = True
    name = "joined_lines"

    def __init__(self, value: ColumnElement[str], key: ColumnElement[Any]) -> None:
        super().__init__(value, key)


@compiles(joined_lines, "sqlite")
def _joined_lines_sqlite(element: joined_lines, compiler: SQLCompiler, **kw: Any) -> str:
    value, key = (compiler.process(c, **kw) for c in element.clauses)
    if sqlite3.sqlite_version_info >= (3, 44):
        return f"group_concat({value}, char(10) ORDER BY {key})"
    # before 3.44: in the order the rows come, which the ORDER BY of the subquery they come
    # from sets (SQLite keeps a subquery's ORDER BY under an aggregate other than count,
    # min and max)
    return f"group_concat({value}, char(10))"


@compiles(joined_lines, "postgresql")
def _joined_lines_postgresql(element: joined_lines, compiler: SQLCompiler, **kw: Any) -> str:
    value, key = (compiler.process(c, **kw) for c in element.clauses)
    return f"string_agg({value}, E'\\n' ORDER BY {key})"
