"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def insert_ignore(
    session: Session,
    model: type[Any],
    values: dict[str, Any],
    *,
    index_elements: list[str],
    index_where: ColumnElement[bool] | None = None,
) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING`` on a unique index: True when a row was inserted.

    The race-free way to "create unless it exists": a concurrent insert of the same key
    waits for the other transaction, then does nothing."""
    dialect = session.get_bind().dialect.name
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = (
        mod.insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=index_elements, index_where=index_where)
    )
    result = session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))


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
