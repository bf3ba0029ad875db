"""Test fixtures: every database test runs on SQLite and, when THUMBS_TEST_DATABASE_URL is
set, on PostgreSQL too. The schema is built with Alembic (``upgrade head``), the server is
real (uvicorn on a loopback port, in a thread of the test process), and every test starts
from empty tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.support.accounts import Account, make_account
from tests.support.processes import clean_env, thumbs_server
from tests.support.server import (
    BACKENDS,
    PG_URL,
    LiveServer,
    serve_in_thread,
    server_settings,
    worker_database,
)
from tests.support.tls import share_the_default_ssl_context
from thumbs.config import normalize_database_url
from thumbs.store import migrate
from thumbs.store.engine import make_engine
from thumbs.store.models import Base

share_the_default_ssl_context()

# state the schema itself holds (made by a migration), not data of a test
KEPT_TABLES = {"credential_epoch"}


def _reset_postgres(url: str) -> None:
    engine = make_engine(url, null_pool=True)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "thumbs.db"
        url = f"sqlite:///{path.as_posix()}"
    else:
        assert PG_URL is not None
        url = worker_database(normalize_database_url(PG_URL))
        _reset_postgres(url)
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_in_thread(server_settings(database_url, tmp_path_factory.mktemp("data"))) as live:
        yield live


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the server starts from empty tables and empty caches."""
    if "server" not in request.fixturenames:
        yield
        return
    live: LiveServer = request.getfixturevalue("server")
    engine = live.runtime.store.engine
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in KEPT_TABLES:
                conn.execute(table.delete())
    live.runtime.credentials.clear()
    live.runtime.assistants.clear()
    live.runtime.end_users.clear()
    live.runtime.signin.clear()
    yield


@pytest.fixture
def account(server: LiveServer) -> Account:
    return make_account(server, "primary")


@pytest.fixture
def other_account(server: LiveServer) -> Account:
    return make_account(server, "other")


@pytest.fixture
def api(server: LiveServer, account: Account) -> Iterator[httpx.Client]:
    """An HTTP client authenticated as ``account``."""
    with server.client(auth=(account.sid, account.token)) as client:
        yield client


@pytest.fixture
def assistant_id(api: httpx.Client) -> str:
    res = api.post("/v1/Assistants", json={"name": "Support bot"})
    assert res.status_code == 201, res.text
    return str(res.json()["id"])


# -- a fresh install, served by a real ``thumbs serve`` process ------------------------------


@pytest.fixture
def fresh(tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh install: an empty data directory, the default SQLite file."""
    return clean_env(THUMBS_DATA_DIR=str(tmp_path / "data"))


@pytest.fixture
def served(fresh: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """``thumbs serve`` on a fresh data directory (it migrates on start)."""
    with thumbs_server(fresh, tmp_path / "serve.log") as url:
        yield url
