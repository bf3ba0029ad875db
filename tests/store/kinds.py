"""A job kind of the group-commit writer's tests, on a table ``t (name TEXT PRIMARY KEY)``,
and a SQLite file that has it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from thumbs.store.engine import make_engine


class Kind:
    """What a job kind of these tests does after its jobs' commit: nothing."""

    name = "test"

    def committed(self, jobs: Sequence[Any]) -> None:
        pass


class Rows(Kind):
    """A job kind that inserts a unique name and returns it upper-cased."""

    def write_many(self, conn: Connection, jobs: Sequence[str]) -> list[Any]:
        conn.execute(text("INSERT INTO t (name) VALUES (:name)"), [{"name": j} for j in jobs])
        return [j.upper() for j in jobs]

    def write_one(self, engine: Engine, job: str) -> Any:
        with engine.begin() as conn:
            return self.write_many(conn, [job])[0]


ROWS = Rows()


def stored(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(text("SELECT name FROM t")))


def engine_with_table(path: Path) -> Engine:
    """An engine on a new SQLite file at ``path`` holding the table ``t``."""
    eng = make_engine(f"sqlite:///{path.as_posix()}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (name TEXT PRIMARY KEY)"))
    return eng
