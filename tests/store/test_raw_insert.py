"""RawInsert, the create path's multi-row INSERT: every row is written, by statements of a
few sizes only (each connection keeps every statement it compiled, and a statement is
compiled for its number of rows)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from thumbs.store.engine import make_engine
from thumbs.store.sql import RawInsert, statement_sizes


def test_statement_sizes_are_powers_of_two_that_add_up() -> None:
    assert list(statement_sizes(37, 256)) == [32, 4, 1]
    assert list(statement_sizes(600, 256)) == [256, 256, 64, 16, 8]
    assert list(statement_sizes(256, 256)) == [256]
    assert list(statement_sizes(0, 256)) == []


def test_batches_of_every_size_are_written_by_nine_statements_at_most(
    empty_database: str,
) -> None:
    table = Table(
        "raw_insert_rows",
        MetaData(),
        Column("pk", Integer, primary_key=True),
        Column("batch", Integer, nullable=False),
        Column("name", String(40), nullable=False),
    )
    engine = make_engine(empty_database)
    table.create(engine)
    insert = RawInsert(table, ["batch", "name"])
    sizes = [*range(1, 71), 300, 600]
    try:
        with engine.begin() as conn:
            for n in sizes:
                insert.run(conn, [{"batch": n, "name": f"row {i}"} for i in range(n)])
        with engine.connect() as conn:
            stored = dict(
                conn.execute(select(table.c.batch, func.count()).group_by(table.c.batch)).all()
            )
    finally:
        engine.dispose()
    assert stored == {n: n for n in sizes}
    rows_per_statement = {n for _mark, n in insert._sql}
    assert rows_per_statement <= {1, 2, 4, 8, 16, 32, 64, 128, 256}
