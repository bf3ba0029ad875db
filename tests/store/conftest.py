"""Store fixtures: an empty database of each backend, for migration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.server import BACKENDS, PG_URL
from thumbs.config import normalize_database_url
from thumbs.store.engine import make_engine


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a schema of its own in the PostgreSQL test
    database (so the suite's tables are left alone)."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'm.db').as_posix()}"
        return
    assert PG_URL is not None
    base = normalize_database_url(PG_URL)
    schema = f"migration_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = make_engine(base, null_pool=True)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
