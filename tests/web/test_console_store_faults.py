"""The console when the store is busy: a page that cannot get a store connection in time is
a 503 page with ``Retry-After`` (as the API answers), never a 500, and the console works
again once connections are free."""

from __future__ import annotations

import httpx
from sqlalchemy import Connection
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tests.conftest import LiveServer
from tests.support import assert_error


def test_an_exhausted_pool_is_a_503_page_with_retry_after(
    server: LiveServer, console: httpx.Client
) -> None:
    assert console.get("/console/feedback").status_code == 200
    engine = server.runtime.store.engine
    held: list[Connection] = []
    try:
        for _ in range(1000):  # every connection the pool may open, then one more
            try:
                held.append(engine.connect())
            except PoolTimeout:
                break
        page = console.get("/console/feedback")
        assert page.status_code == 503, page.text
        assert page.headers["Retry-After"] == "1"
        assert page.headers["content-type"].startswith("text/html")
        assert "20503" in page.text
        # the console's scripts get the API's error body
        res = console.get("/console/feedback", headers={"Accept": "application/json"})
        assert_error(res, 503, 20503)
        assert res.headers["Retry-After"] == "1"
    finally:
        for conn in held:
            conn.close()
    assert console.get("/console/feedback").status_code == 200
