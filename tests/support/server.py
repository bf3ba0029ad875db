"""The test databases' backends, the handle of the live server the ``server`` fixture
(tests/conftest.py) runs in a thread of the test process, and a store's pool held
exhausted."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Connection, Engine, make_url, text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from thumbs.app import create_app
from thumbs.config import Settings
from thumbs.kit.hot import ThumbsAPI
from thumbs.runtime import Runtime
from thumbs.server import uvicorn_options
from thumbs.store.engine import make_engine

PG_URL = os.environ.get("THUMBS_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


def server_settings(database_url: str, data_dir: Path) -> Settings:
    """The settings of the test servers: a migrated database, a cheap password hash."""
    return Settings(
        database_url=database_url,
        auth_cache_ttl=30,
        data_dir=data_dir,
        auto_migrate=False,
        hash_profile="cheap-for-tests",
    )


def sqlite_settings(path: Path, **values: Any) -> Settings:
    """The settings of a store in the SQLite file ``path`` (and ``values``)."""
    return Settings(database_url=f"sqlite:///{path.as_posix()}", **values)


@contextmanager
def serve_in_thread(settings: Settings, *, hot_routes: bool = True) -> Iterator[LiveServer]:
    """thumbs on a loopback port, served by uvicorn in a thread of the test process with
    the protocol and limits of ``thumbs serve``."""
    runtime = Runtime.build(settings)
    app = create_app(settings, runtime=runtime, hot_routes=hot_routes)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        loop="asyncio",
        **uvicorn_options(settings),
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", runtime=runtime, app=app)
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_database(url: str) -> str:
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


@dataclass
class LiveServer:
    url: str
    runtime: Runtime
    app: ThumbsAPI

    def client(self, auth: tuple[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=auth, timeout=30)


@contextmanager
def exhausted_pool(engine: Engine, wait: float = 0.5) -> Iterator[None]:
    """Every connection the engine's pool may open is taken (the last try waited the pool
    timeout) until the block ends.

    Meanwhile the pool waits ``wait`` seconds for a connection instead of its configured
    timeout (THUMBS_DB_POOL_TIMEOUT, 3 s by default): a request still waits for the pool,
    times out there and is answered by the same code, only sooner (each wait of 3 s made
    these tests sit idle for 9 s)."""
    pool = engine.pool
    configured = pool._timeout  # type: ignore[attr-defined]  # QueuePool's own wait
    held: list[Connection] = []
    try:
        pool._timeout = wait  # type: ignore[attr-defined]
        for _ in range(1000):
            try:
                held.append(engine.connect())
            except PoolTimeout:
                break
        yield
    finally:
        pool._timeout = configured  # type: ignore[attr-defined]
        for conn in held:
            conn.close()
