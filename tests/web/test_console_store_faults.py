"""The console when the store is busy: a page that cannot get a store connection in time is
a 503 page with ``Retry-After`` (as the API answers), never a 500, and the console works
again once connections are free."""

from __future__ import annotations

import httpx

from tests.support.http import assert_error
from tests.support.server import LiveServer, exhausted_pool


def test_an_exhausted_pool_is_a_503_page_with_retry_after(
    server: LiveServer, console: httpx.Client
) -> None:
    assert console.get("/console/feedback").status_code == 200
    with exhausted_pool(server.runtime.store.engine):
        page = console.get("/console/feedback")
        assert page.status_code == 503, page.text
        assert page.headers["Retry-After"] == "1"
        assert page.headers["content-type"].startswith("text/html")
        assert "20503" in page.text
        # the console's scripts get the API's error body
        res = console.get("/console/feedback", headers={"Accept": "application/json"})
        assert_error(res, 503, 20503)
        assert res.headers["Retry-After"] == "1"
    assert console.get("/console/feedback").status_code == 200
