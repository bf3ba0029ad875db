"""A job kind of the group-commit writer's tests, on a table ``t (name TEXT PRIMARY KEY)``,
and a SQLite file that has it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from thumbs.store.engine import make_engine


class Kind:
    """What a job kind of these tests does after its jobs' commit (nothing), and its jobs
    and results to and from a writer process (as they are)."""

    name = "test"
    commits_at_sync = False  # its writes run in the batch's transaction

    def committed(self, jobs: Sequence[Any]) -> None:
        pass

    def to_wire(self, job: Any) -> Any:
        return job

    def from_wire(self, wire: Any) -> Any:
        return wire

    def result_to_wire(self, job: Any, result: Any) -> Any:
        return result

    def result_from_wire(self, job: Any, wire: Any) -> Any:
        return wire


class Rows(Kind):
    """A job kind that inserts a unique name and returns it upper-cased."""

    def write_many(self, conn: Connection, jobs: Sequence[str]) -> list[Any]:
        conn.execute(text("INSERT INTO t (name) VALUES (:name)"), [{"name": j} for j in jobs])
        return [j.upper() for j in jobs]

    def write_one(self, engine: Engine, job: str) -> Any:
        with engine.begin() as conn:
            return self.write_many(conn, [job])[0]


ROWS = Rows()


class Sleepy(Rows):
    """Rows, each batch a second late (a writer process to kill mid-batch)."""

    name = "sleepy"

    def write_many(self, conn: Connection, jobs: Sequence[str]) -> list[Any]:
        time.sleep(1)
        return super().write_many(conn, jobs)


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


class Broken(Kind):
    """Fails every job with an error that cannot leave its process."""

    name = "broken"

    def write_many(self, conn: Connection, jobs: Sequence[str]) -> list[Any]:
        raise Unpicklable

    def write_one(self, engine: Engine, job: str) -> Any:
        raise Unpicklable


def process_kinds(settings: Any) -> list[Kind]:
    """The kinds of a writer process in these tests (``ProcessWriter(kinds=…)``)."""
    return [ROWS, Sleepy(), Broken()]


def stored(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(text("SELECT name FROM t")))


def engine_with_table(path: Path) -> Engine:
    """An engine on a new SQLite file at ``path`` holding the table ``t``."""
    eng = make_engine(f"sqlite:///{path.as_posix()}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (name TEXT PRIMARY KEY)"))
    return eng
