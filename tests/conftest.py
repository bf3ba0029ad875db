"""Test fixtures: every database test runs on SQLite and, when THUMBS_TEST_DATABASE_URL is
set, on PostgreSQL too. The schema is built with Alembic (``upgrade head``), the server is
real (uvicorn on a loopback port, in a thread of the test process), and every test starts
from empty tables."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import make_url, text

from thumbs.app import create_app
from thumbs.auth import service as auth_service
from thumbs.config import Settings, normalize_database_url
from thumbs.runtime import Runtime
from thumbs.server import uvicorn_options
from thumbs.store import migrate
from thumbs.store.engine import make_engine
from thumbs.store.models import Base

PG_URL = os.environ.get("THUMBS_TEST_DATABASE_URL")
# state the schema itself holds (made by a migration), not data of a test
KEPT_TABLES = {"credential_epoch"}
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own
    (``<database>_gw0``, …), created on first use; the main process uses ``url`` as is."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = make_engine(url, null_pool=True)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if exists is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


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
        url = _worker_database(normalize_database_url(PG_URL))
        _reset_postgres(url)
    migrate.upgrade(url)
    return url


@dataclass
class LiveServer:
    url: str
    runtime: Runtime

    def client(self, auth: tuple[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=auth, timeout=30)


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(
        database_url=database_url,
        auth_cache_ttl=30,
        data_dir=tmp_path_factory.mktemp("data"),
        auto_migrate=False,
        hash_profile="cheap-for-tests",
    )
    runtime = Runtime.build(settings)
    app = create_app(settings, runtime=runtime)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        loop="asyncio",
        **uvicorn_options(settings),  # the protocol and limits of `thumbs serve`
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    yield LiveServer(url=f"http://127.0.0.1:{port}", runtime=runtime)
    srv.should_exit = True
    thread.join(timeout=10)


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


@dataclass
class Account:
    sid: str
    token: str
    pk: int


def make_account(live: LiveServer, name: str = "test") -> Account:
    with live.runtime.store.session() as session:
        created = auth_service.create_account(session, name=name)
        return Account(sid=created.account.sid, token=created.auth_token, pk=created.account.pk)


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
