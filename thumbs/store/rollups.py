"""Rollups: feedback counted ahead of time, kept true in the transaction of every write.

Grain: one cell per account x assistant x UTC hour x type x status x channel in
``feedback_rollup_hours``, and the same per UTC day in ``feedback_rollup_days``
(``bucket`` = whole hours, or days, since 1970-01-01 UTC; ``feedback_type`` ``none`` for
feedback without a verdict). A cell holds sums over its feedback:

| measure | sum of |
| --- | --- |
| ``n`` | 1 |
| ``scored`` / ``score_sum`` | 1 / the score, for feedback with a score |
| ``with_text`` / ``with_reason`` | 1 for a non-empty text / reason |
| ``reviewed`` / ``review_seconds`` | 1 / whole seconds from creation to review, once reviewed |
| ``rt_00`` … ``rt_15`` | 1 in the time-to-review bin (``REVIEW_TIME_EDGES``), once reviewed |

A feedback stays in the hour it was created in for life; a write moves it between cells of
that hour (its type, status, score, text, reason or review changed) or takes it out
(delete). So a summary over a range reads a few thousand cells whatever the number of
feedback rows, and a series reads one group per bucket.

Every write of feedback calls one function of this module in its own transaction:

| write | call |
| --- | --- |
| the group-commit writer's batch of creates, an import | :func:`created` (one upsert per grain) |
| a row inserted through a session (thumbs) | :func:`inserted` |
| the conditional ``UPDATE`` of a status or a verdict | :func:`updated`, before the refresh |
| delete of feedback / of an assistant | :func:`deleting` / :func:`deleting_assistant` |

The old state of a row is read from the database (locked on PostgreSQL) or, for the
columns a conditional update just set, taken from the object the caller loaded and checked
in its ``WHERE``; the new state is read back after the write. :func:`rebuild` recomputes
every cell from the rows (the migration that created the tables uses it), and
:func:`recomputed` returns what the cells should hold, for checks.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import InstrumentedAttribute, Session

from thumbs.kit.driver import driver_cursor
from thumbs.kit.timefmt import EPOCH, epoch_hour
from thumbs.store.models import (
    FEEDBACK_ROLLUP_DAYS,
    FEEDBACK_ROLLUP_HOURS,
    NO_TYPE,
    REVIEW_TIME_EDGES,
    Feedback,
)
from thumbs.store.sql import epoch_seconds

HOURS = FEEDBACK_ROLLUP_HOURS
DAYS = FEEDBACK_ROLLUP_DAYS
KEYS = ("account_pk", "assistant_pk", "bucket", "feedback_type", "status", "channel")
CONFLICT_KEYS = ("assistant_pk", "bucket", "feedback_type", "status", "channel")
RT = tuple(f"rt_{i:02d}" for i in range(len(REVIEW_TIME_EDGES)))
MEASURES = (
    "n",
    "scored",
    "score_sum",
    "with_text",
    "with_reason",
    "reviewed",
    "review_seconds",
    *RT,
)
# what a create can change (a new row is never reviewed yet)
CREATE_MEASURES = MEASURES[:5]
_RT0 = MEASURES.index(RT[0])

SECOND = timedelta(seconds=1)
HOUR = 3600
DAY = 86400
HOURS_PER_DAY = 24

Cells = dict[tuple[Any, ...], list[Any]]


def epoch(value: datetime) -> int:
    """Whole seconds since 1970 of a naive-UTC datetime (as ``epoch_seconds`` in SQL)."""
    return (value - EPOCH) // SECOND


def review_bin(seconds: int) -> int:
    return bisect_right(REVIEW_TIME_EDGES, seconds) - 1


# -- one row's contribution --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowState:
    """The columns of a feedback row that its rollup cell depends on."""

    account_pk: int
    assistant_pk: int
    date_created: datetime
    feedback_type: str | None
    status: str
    channel: str
    score: float | None
    text: str | None
    reason: str | None
    reviewed_at: datetime | None


STATE_FIELDS = RowState.__slots__
_STATE_COLUMNS = tuple(getattr(Feedback, f) for f in STATE_FIELDS)
_CHANGING = frozenset(STATE_FIELDS) - {"account_pk", "assistant_pk", "date_created"}


def hour_key(state: RowState) -> tuple[Any, ...]:
    return (
        state.account_pk,
        state.assistant_pk,
        epoch_hour(state.date_created),
        state.feedback_type or NO_TYPE,
        state.status,
        state.channel,
    )


def measures(state: RowState) -> list[Any]:
    """The row's contribution to its cell, in ``MEASURES`` order."""
    out: list[Any] = [
        1,
        0 if state.score is None else 1,
        0.0 if state.score is None else state.score,
        1 if state.text else 0,
        1 if state.reason else 0,
        0,
        0,
    ]
    out.extend([0] * len(RT))
    if state.reviewed_at is not None:
        waited = max(0, epoch(state.reviewed_at) - epoch(state.date_created))
        out[5] = 1
        out[6] = waited
        out[_RT0 + review_bin(waited)] = 1
    return out


class Deltas:
    """Changes to hour cells, summed in memory and written once per grain."""

    def __init__(self) -> None:
        self.cells: Cells = {}

    def add(self, state: RowState, sign: int = 1) -> None:
        key = hour_key(state)
        values = measures(state)
        cell = self.cells.get(key)
        if cell is None:
            self.cells[key] = [v * sign for v in values]
        else:
            for i, v in enumerate(values):
                if v:
                    cell[i] += v * sign

    def move(self, old: RowState, new: RowState) -> None:
        if old != new:
            self.add(old, -1)
            self.add(new, +1)

    def apply(self, conn: Connection) -> None:
        hours = {k: v for k, v in self.cells.items() if any(v)}
        if hours:
            _UPSERT_ALL[HOURS.name].run(conn, _rows(hours))
            _UPSERT_ALL[DAYS.name].run(conn, _rows(to_days(hours)))


def to_days(hours: Cells) -> Cells:
    days: Cells = {}
    for (account, assistant, hour, kind, status, channel), values in hours.items():
        key = (account, assistant, hour // HOURS_PER_DAY, kind, status, channel)
        cell = days.get(key)
        if cell is None:
            days[key] = list(values)
        else:
            for i, v in enumerate(values):
                cell[i] += v
    return days


def _rows(cells: Cells) -> list[tuple[Any, ...]]:
    """The upsert's parameter rows in the order of their cells' keys: every transaction
    locks the cells it changes in one order (hours, then days; in each, by key), so two
    writers that change the same cells wait for each other instead of deadlocking (two
    servers' group-commit batches on PostgreSQL did, in the order their rows came)."""
    return [(*key, *values) for key, values in sorted(cells.items())]


class _Upsert:
    """``INSERT … ON CONFLICT (cell) DO UPDATE SET m = m + excluded.m`` on the driver's own
    cursor. SQLite runs it once a cell (``executemany``, in its process). PostgreSQL takes
    every cell in one statement, as one JSON parameter read back by ``json_to_recordset``
    in the order given (the cells' lock order, :func:`_rows`; each cell once, as
    ``ON CONFLICT DO UPDATE`` requires): a statement a cell, even pipelined, cost a round of
    the protocol and psycopg's conversion of every value in Python (a batch of 16 creates:
    756-851 → 262-436 µs of the writer's CPU, 813-953 → 367-627 µs of the server's,
    bench/README.md)."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.names = (*KEYS, *self.columns)  # a cell's values, in this order
        self._sql: dict[str, str] = {}

    def sql(self, dialect: Dialect) -> str:
        found = self._sql.get(dialect.name)
        if found is None:
            names = self.names
            if dialect.name == "postgresql":
                # the cells as one JSON array of rows, read back as records
                typed = ", ".join(f"{c} {self.table.c[c].type.compile(dialect)}" for c in names)
                values = f"SELECT * FROM json_to_recordset(%s::json) AS x({typed})"  # noqa: S608
            else:
                values = f"VALUES ({', '.join(['?'] * len(names))})"
            t = self.table.name
            sets = ", ".join(f"{c} = {t}.{c} + excluded.{c}" for c in self.columns)
            # identifiers are this module's constants; every value is a bound parameter
            found = (
                f"INSERT INTO {t} ({', '.join(names)}) {values} "
                f"ON CONFLICT ({', '.join(CONFLICT_KEYS)}) DO UPDATE SET {sets}"
            )
            self._sql[dialect.name] = found
        return found

    def run(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """In ``conn``'s transaction: on the create path the engine's execution machinery
        cost more than the upsert itself."""
        if not rows:
            return
        with driver_cursor(conn) as cursor:
            if conn.dialect.name == "postgresql":
                cells = orjson.dumps([dict(zip(self.names, row, strict=True)) for row in rows])
                cursor.execute(self.sql(conn.dialect), [cells.decode()])
            else:
                cursor.executemany(self.sql(conn.dialect), rows)


_UPSERT_ALL = {t.name: _Upsert(t, MEASURES) for t in (HOURS, DAYS)}
_UPSERT_CREATED = {t.name: _Upsert(t, CREATE_MEASURES) for t in (HOURS, DAYS)}


# -- the hooks, one per kind of write ----------------------------------------------------------


def _count_new(
    cells: Cells, key: tuple[Any, ...], score: float | None, text: str | None, reason: Any
) -> None:
    """One new, unreviewed feedback added to its cell's CREATE_MEASURES (n, scored,
    score_sum, with_text, with_reason)."""
    cell = cells.get(key)
    if cell is None:
        cell = cells[key] = [0, 0, 0.0, 0, 0]
    cell[0] += 1
    if score is not None:
        cell[1] += 1
        cell[2] += score
    if text:
        cell[3] += 1
    if reason:
        cell[4] += 1


def created(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """New feedback rows (dicts of column values) just inserted on ``conn``, e.g. one
    group-commit batch: their contributions summed in memory, then one upsert per grain for
    the whole batch. Bulk writers (imports) call this too."""
    hours: Cells = {}
    reviewed = Deltas()  # rows that arrive reviewed already (an import): every measure
    for row in rows:
        if row.get("reviewed_at") is not None:
            given: list[Any] = [row.get(f) for f in STATE_FIELDS]
            reviewed.add(RowState(*given))
            continue
        key = (
            row["account_pk"],
            row["assistant_pk"],
            epoch_hour(row["date_created"]),
            row["feedback_type"] or NO_TYPE,
            row["status"],
            row["channel"],
        )
        _count_new(hours, key, row["score"], row["text"], row.get("reason"))
    reviewed_hours = {k: v for k, v in reviewed.cells.items() if any(v)}
    # hours before days (see _rows)
    _UPSERT_CREATED[HOURS.name].run(conn, _rows(hours))
    _UPSERT_ALL[HOURS.name].run(conn, _rows(reviewed_hours))
    _UPSERT_CREATED[DAYS.name].run(conn, _rows(to_days(hours)))
    _UPSERT_ALL[DAYS.name].run(conn, _rows(to_days(reviewed_hours)))


def created_cells(
    conn: Connection,
    *,
    account_pk: int,
    assistant_pk: int,
    status: str,
    channel: str,
    rows: Iterable[tuple[int, str | None, float | None, str | None]],
) -> None:
    """New feedback rows of one assistant, not reviewed and with no reason, given by what
    their cells need: ``(hour, feedback_type, score, text)``, the hour counted from 1970
    (a bulk writer that builds no dict per row: imports). Summed and written as
    :func:`created` does."""
    hours: Cells = {}
    for hour, kind, score, text in rows:
        key = (account_pk, assistant_pk, hour, kind or NO_TYPE, status, channel)
        _count_new(hours, key, score, text, None)
    _UPSERT_CREATED[HOURS.name].run(conn, _rows(hours))
    _UPSERT_CREATED[DAYS.name].run(conn, _rows(to_days(hours)))


# built once (building a statement costs more than running it)
_STATES = select(*_STATE_COLUMNS).where(Feedback.pk.in_(bindparam("pks", expanding=True)))
_STATES_LOCKED = _STATES.with_for_update()


def _states(conn: Connection, pks: Iterable[int], *, lock: bool) -> list[RowState]:
    stmt = _STATES_LOCKED if lock else _STATES
    return [RowState(*row) for row in conn.execute(stmt, {"pks": list(pks)})]


def inserted(session: Session, *, feedback: Feedback) -> None:
    """One feedback row inserted in this session's transaction, as loaded from the store
    after its insert."""
    deltas = Deltas()
    deltas.add(RowState(*[getattr(feedback, f) for f in STATE_FIELDS]))
    deltas.apply(session.connection())


def updated(session: Session, *, before: Feedback, values: Mapping[str, Any]) -> None:
    """After an ``UPDATE`` of one row that set ``values``; ``before`` is the row as loaded,
    not yet refreshed (its values for these columns are the ones replaced)."""
    changed = _CHANGING.intersection(values)
    if not changed:
        return
    conn = session.connection()
    deltas = Deltas()
    for new in _states(conn, [before.pk], lock=False):
        old = RowState(**{f: getattr(before if f in changed else new, f) for f in STATE_FIELDS})
        deltas.move(old, new)
    deltas.apply(conn)


def deleting(session: Session, *, feedback_pks: Sequence[int]) -> None:
    """Before these rows are deleted in this transaction (locked until it ends)."""
    conn = session.connection()
    deltas = Deltas()
    for state in _states(conn, feedback_pks, lock=True):
        deltas.add(state, -1)
    deltas.apply(conn)


def deleting_assistant(session: Session, *, assistant_pk: int) -> None:
    """Before an assistant is deleted with all its feedback."""
    for table in (HOURS, DAYS):
        session.execute(delete(table).where(table.c.assistant_pk == assistant_pk))


# -- recomputation from rows -----------------------------------------------------------------


def _non_empty(column: InstrumentedAttribute[str | None]) -> ColumnElement[bool]:
    return and_(column.is_not(None), column != "")


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def measure_columns(names: Sequence[str] = MEASURES) -> list[ColumnElement[Any]]:
    """These ``MEASURES`` of the feedback rows of a ``GROUP BY``, computed by the database
    the way :func:`measures` computes one row's in Python."""
    if not _MEASURE_COLUMNS:
        _MEASURE_COLUMNS.update(_measure_columns())
    return [_MEASURE_COLUMNS[name] for name in names]


# built once: making the expressions cost more than running the short queries they serve
_MEASURE_COLUMNS: dict[str, ColumnElement[Any]] = {}


def _measure_columns() -> dict[str, ColumnElement[Any]]:
    reviewed = Feedback.reviewed_at.is_not(None)
    raw = epoch_seconds(Feedback.reviewed_at) - epoch_seconds(Feedback.date_created)
    waited = case((raw > 0, raw), else_=0)
    columns: dict[str, ColumnElement[Any]] = {
        "n": func.count(),
        "scored": _count(Feedback.score.is_not(None)),
        "score_sum": func.coalesce(func.sum(Feedback.score), 0.0),
        "with_text": _count(_non_empty(Feedback.text)),
        "with_reason": _count(_non_empty(Feedback.reason)),
        "reviewed": _count(reviewed),
        "review_seconds": cast(
            func.coalesce(func.sum(case((reviewed, waited), else_=0)), 0), BigInteger
        ),
    }
    for name, lo, hi in zip(RT, REVIEW_TIME_EDGES, (*REVIEW_TIME_EDGES[1:], None), strict=True):
        inside = (
            and_(reviewed, waited >= lo)
            if hi is None
            else and_(reviewed, waited >= lo, waited < hi)
        )
        columns[name] = _count(inside)
    return {name: column.label(name) for name, column in columns.items()}


# Constants as SQL literals, not bound parameters: PostgreSQL matches a grouped expression
# of the select list with the GROUP BY only when they are written the same.
_HOUR_SQL = literal_column(str(HOUR), BigInteger)
_DAY_HOURS_SQL = literal_column(str(HOURS_PER_DAY), BigInteger)
_NO_TYPE_SQL = literal_column(f"'{NO_TYPE}'", String)


def hour_of_row() -> ColumnElement[int]:
    return epoch_seconds(Feedback.date_created) // _HOUR_SQL


def type_of_row() -> ColumnElement[str]:
    return func.coalesce(Feedback.feedback_type, _NO_TYPE_SQL)


def _hour_cells(*where: ColumnElement[bool]) -> Select[Any]:
    keys: list[Any] = [
        Feedback.account_pk,
        Feedback.assistant_pk,
        hour_of_row().label("bucket"),
        type_of_row().label("feedback_type"),
        Feedback.status,
        Feedback.channel,
    ]
    return select(*keys, *measure_columns()).where(*where).group_by(*keys)


def _day_cells(*where: ColumnElement[bool]) -> Select[Any]:
    h = HOURS.c
    keys: list[Any] = [
        h.account_pk,
        h.assistant_pk,
        (h.bucket // _DAY_HOURS_SQL).label("bucket"),
        h.feedback_type,
        h.status,
        h.channel,
    ]
    sums = [func.sum(h[m]).label(m) for m in MEASURES]
    return select(*keys, *sums).where(*where).group_by(*keys)


def rebuild(conn: Connection, *, account_pk: int | None = None) -> None:
    """Recompute every cell (of one account, or of all) from the feedback rows: hours from
    the rows with one ``INSERT … SELECT … GROUP BY``, days from the hours."""
    rows_where = [] if account_pk is None else [Feedback.account_pk == account_pk]
    for table in (DAYS, HOURS):
        stmt = delete(table)
        if account_pk is not None:
            stmt = stmt.where(table.c.account_pk == account_pk)
        conn.execute(stmt)
    columns = [*KEYS, *MEASURES]
    conn.execute(insert(HOURS).from_select(columns, _hour_cells(*rows_where)))
    hours_where = [] if account_pk is None else [HOURS.c.account_pk == account_pk]
    conn.execute(insert(DAYS).from_select(columns, _day_cells(*hours_where)))


def recomputed(conn: Connection, *, account_pk: int) -> dict[str, Cells]:
    """What the hour and day cells of an account should hold, from its rows (for checks)."""
    hours = _read(conn.execute(_hour_cells(Feedback.account_pk == account_pk)))
    return {HOURS.name: hours, DAYS.name: to_days(hours)}


def stored(conn: Connection, *, account_pk: int) -> dict[str, Cells]:
    """The hour and day cells of an account as stored (cells summing to nothing left out)."""
    out = {}
    for table in (HOURS, DAYS):
        rows = conn.execute(
            select(*(table.c[k] for k in KEYS), *(table.c[m] for m in MEASURES)).where(
                table.c.account_pk == account_pk
            )
        )
        out[table.name] = _read(rows)
    return out


def _read(rows: Iterable[Any]) -> Cells:
    cells: Cells = {}
    for row in rows:
        key = tuple(row[: len(KEYS)])
        values = [
            float(v) if m == "score_sum" else int(v)
            for m, v in zip(MEASURES, row[len(KEYS) :], strict=True)
        ]
        if any(v for m, v in zip(MEASURES, values, strict=True) if m != "score_sum"):
            cells[key] = values
    return cells
