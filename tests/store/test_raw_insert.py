"""RawInsert, the create path's batch INSERT: every row is written as given, by statements
of a few sizes only on SQLite (each connection keeps every statement it compiled, and a
statement is compiled for its number of rows) and by one statement on PostgreSQL (the rows
as one JSON parameter); columns the database derives from each row's own values; and
``pipelined``, which sends a batch's statements on PostgreSQL in one round trip."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError

from thumbs.kit.driver import pipelined
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
    rows_per_statement = set(insert._sql)
    if empty_database.startswith("sqlite"):
        assert rows_per_statement <= {1, 2, 4, 8, 16, 32, 64, 128, 256}
    else:  # one statement for every size, the rows being its one parameter
        assert rows_per_statement == set()
        assert insert._json_sql is not None


def _tables() -> tuple[Table, Table]:
    meta = MetaData()
    parents = Table(
        "raw_parents",
        meta,
        Column("pk", Integer, primary_key=True),
        Column("code", String(20), nullable=False),
        Column("team", Integer, nullable=False),
        UniqueConstraint("code"),
    )
    rows = Table(
        "raw_rows",
        meta,
        Column("pk", Integer, primary_key=True),
        Column("key", String(40), nullable=False),
        Column("team", Integer, nullable=False),
        Column("code", String(20)),
        Column("parent_pk", Integer, ForeignKey("raw_parents.pk")),
        Column("note", Text),
        Column("score", Float),
        Column("at", DateTime, nullable=False),
        UniqueConstraint("key"),
    )
    return parents, rows


# what a JSON parameter (PostgreSQL) and SQLite's text must both carry as given
NOTES = [
    'quote " and \\ backslash',
    "tab\tnew\nline\r\\N",
    "ünïcødé ✓ 😀",
    "",
    None,
    "' OR 1=1 --",
]


def test_rows_are_stored_as_given_and_a_derived_column_reads_each_rows_own_values(
    empty_database: str,
) -> None:
    parents, rows = _tables()
    engine = make_engine(empty_database)
    parents.metadata.create_all(engine)
    derived = RawInsert(
        rows,
        ["key", "team", "code", "note", "score", "at"],
        derived={
            "parent_pk": "(SELECT p.pk FROM raw_parents AS p "
            "WHERE p.code = {code} AND p.team = {team})"
        },
    )
    at = datetime(2026, 12, 1, 10, 11, 12, 345678)
    given = [
        {
            "key": f"k{i}",
            "team": i % 2,
            "code": ["a", "b", None, "c"][i % 4],
            "note": NOTES[i % len(NOTES)],
            "score": [0.0, 0.1, 1.0, None, 0.333333333333][i % 5],
            "at": at.replace(second=i % 60),
        }
        for i in range(37)
    ]
    try:
        with engine.begin() as conn:
            conn.execute(
                parents.insert(),
                [{"code": "a", "team": 0}, {"code": "b", "team": 1}, {"code": "c", "team": 0}],
            )
            derived.run(conn, given)
        with engine.connect() as conn:
            codes = dict(conn.execute(select(parents.c.pk, parents.c.code)).all())
            teams = dict(conn.execute(select(parents.c.pk, parents.c.team)).all())
            stored = {
                r.key: r
                for r in conn.execute(
                    select(
                        rows.c.key,
                        rows.c.team,
                        rows.c.code,
                        rows.c.note,
                        rows.c.score,
                        rows.c.at,
                        rows.c.parent_pk,
                    )
                )
            }
    finally:
        engine.dispose()
    assert len(stored) == len(given)
    for row in given:
        got = stored[row["key"]]
        assert (got.team, got.code, got.note, got.score, got.at) == (
            row["team"],
            row["code"],
            row["note"],
            row["score"],
            row["at"],
        )
        # the parent of the row's own code in the row's own team, else none
        parent = got.parent_pk
        if parent is None:
            assert (row["code"], row["team"]) not in {("a", 0), ("b", 1), ("c", 0)}
        else:
            assert (codes[parent], teams[parent]) == (row["code"], row["team"])


def test_conflicting_rows_are_left_out_and_returning_names_the_new_ones(
    empty_database: str,
) -> None:
    _parents, rows = _tables()
    engine = make_engine(empty_database)
    rows.metadata.create_all(engine)
    insert = RawInsert(rows, ["key", "team", "at"], conflict=["key"], returning=["key"])
    at = datetime(2026, 12, 1)
    try:
        with engine.begin() as conn:
            first = insert.returning(conn, [{"key": k, "team": 1, "at": at} for k in "abc"])
            again = insert.returning(conn, [{"key": k, "team": 2, "at": at} for k in "bcde"])
        with engine.connect() as conn:
            teams = dict(conn.execute(select(rows.c.key, rows.c.team)).all())
    finally:
        engine.dispose()
    assert sorted(r[0] for r in first) == ["a", "b", "c"]
    assert sorted(r[0] for r in again) == ["d", "e"]
    assert teams == {"a": 1, "b": 1, "c": 1, "d": 2, "e": 2}


def test_pipelined_statements_run_in_order_and_the_first_failure_fails_the_block(
    empty_database: str,
) -> None:
    _parents, rows = _tables()
    engine = make_engine(empty_database)
    rows.metadata.create_all(engine)
    insert = RawInsert(rows, ["key", "team", "at"])
    at = datetime(2026, 12, 1)

    def fails() -> None:
        with engine.begin() as conn, pipelined(conn):
            insert.run(conn, [{"key": "three", "team": 3, "at": at}])
            insert.run(conn, [{"key": "one", "team": 9, "at": at}])  # taken
            insert.run(conn, [{"key": "four", "team": 4, "at": at}])

    try:
        with engine.begin() as conn, pipelined(conn):
            insert.run(conn, [{"key": "one", "team": 1, "at": at}])
            insert.run(conn, [{"key": "two", "team": 2, "at": at}])
        with pytest.raises(IntegrityError):
            fails()
        with engine.connect() as conn:
            stored = conn.execute(select(rows.c.key, rows.c.team).order_by(rows.c.pk)).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in stored] == [("one", 1), ("two", 2)]
