"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String
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
