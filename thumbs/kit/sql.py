"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


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
