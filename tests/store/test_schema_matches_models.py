"""The schema the migrations build is the schema ``store/models.py`` describes: a model
changed without its migration (or a migration without its model) fails here, on both
stores. The full-text search of golden examples is built by its migration alone (SQLite's
FTS5 tables, PostgreSQL's expression index) and is not part of the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from thumbs.store import migrate
from thumbs.store.engine import make_engine
from thumbs.store.models import Base

_MIGRATION_ONLY = "golden_examples_fts"


def _name(diff: Any) -> str:
    """The table or index a difference names (a tuple, or a list of column changes)."""
    first = diff[0] if isinstance(diff, list) else diff
    return " ".join(str(getattr(part, "name", "")) for part in first[1:])


def test_the_migrated_schema_has_every_table_index_and_column_of_the_models(
    empty_database: str,
) -> None:
    migrate.upgrade(empty_database)
    engine = make_engine(empty_database, null_pool=True)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert [d for d in diffs if _MIGRATION_ONLY not in _name(d)] == []
