"""What every migration test does around its own checks: the database at the revision
before the migration, an engine on it, and the way back up to the head."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from thumbs.store import migrate
from thumbs.store.engine import make_engine


@contextmanager
def engine_at(url: str, revision: str) -> Iterator[Engine]:
    """The database at ``url`` migrated to ``revision``, and an engine on it (no pool: a
    migration must find no connection of the test open), disposed afterwards."""
    migrate.upgrade(url, revision)
    engine = make_engine(url, null_pool=True)
    try:
        yield engine
    finally:
        engine.dispose()


def upgrade_to_head(url: str, engine: Engine) -> None:
    """After a downgrade: the migrations run up again, to the head."""
    migrate.upgrade(url)
    assert migrate.current_revision(engine) == migrate.head_revision(url)
