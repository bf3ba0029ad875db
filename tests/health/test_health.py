"""``/healthz`` and ``/readyz`` for load balancers: no credentials needed; ``/readyz`` is 503
while the store's schema is not the one this server needs, and 200 again once it is."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from tests.support.http import assert_error
from tests.support.server import LiveServer


def test_healthz_answers_without_credentials_or_store(server: LiveServer) -> None:
    with server.client() as anonymous:
        res = anonymous.get("/healthz")
    assert res.status_code == 200
    assert res.json() == {"status": "ok"}


def test_readyz_is_200_on_a_current_schema(server: LiveServer) -> None:
    with server.client() as anonymous:
        res = anonymous.get("/readyz")
    assert res.status_code == 200
    assert res.json() == {"status": "ready"}


def test_readyz_is_503_while_the_schema_is_not_current(server: LiveServer) -> None:
    engine = server.runtime.store.engine
    head = server.runtime.schema_head
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        with server.client() as anonymous:
            res = anonymous.get("/readyz")
        body = assert_error(res, 503, 20503)
        assert res.headers["Retry-After"] == "1"
        assert "0001" in body["message"]
        assert f"{head}" in body["message"]
        assert "thumbs db upgrade" in body["message"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
    assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200
