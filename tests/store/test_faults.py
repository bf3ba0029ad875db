"""The store under faults: an exhausted connection pool, SQLite's write lock held by another
process, a full writer queue, PostgreSQL going away and coming back. Each answers 503 (code
20503, with ``Retry-After``) within the documented waits, never a 500 and never after the
driver's own 30 s; requests that need no store go on being answered meanwhile; nothing
refused is half-written; service resumes by itself. The server's log says so in single
lines, without the values of the requests."""

from __future__ import annotations

import asyncio
import base64
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from tests.support.http import assert_error, create_feedback, feedbacks_path, run
from tests.support.processes import Served, TcpProxy, make_tenant, serving, stored_ids
from tests.support.server import PG_URL, LiveServer, exhausted_pool, worker_database
from thumbs.config import normalize_database_url
from thumbs.store.engine import StoreLimits, describe, make_engine, store_unavailable


def assert_unavailable(res: httpx.Response) -> None:
    assert_error(res, 503, 20503)
    assert res.headers["Retry-After"] == "1"


def wait_for_line(server: Served, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log():
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{server.log()}"
        time.sleep(0.05)


def test_an_exhausted_pool_answers_503_with_retry_after_and_recovers(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    create_feedback(api, assistant_id)  # credentials and assistant cached
    with exhausted_pool(server.runtime.store.engine):
        # answered after the pool wait (THUMBS_DB_POOL_TIMEOUT), well within the client's 30 s
        assert_unavailable(api.get(feedbacks_path(assistant_id)))
        assert_unavailable(api.get("/readyz"))
        assert api.get("/healthz").status_code == 200
    assert api.get(feedbacks_path(assistant_id)).status_code == 200
    assert api.get("/readyz").status_code == 200


@pytest.fixture(params=["process", "inline"])
def sqlite_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    path = tmp_path / "faults.db"
    with serving(
        f"sqlite:///{path.as_posix()}",
        tmp_path,
        THUMBS_WRITE_QUEUE_MAX="4",
        THUMBS_WRITER_MODE=request.param,
    ) as (s,):
        yield s


@pytest.mark.slow
def test_while_another_process_holds_the_sqlite_lock_the_loop_serves_and_a_full_queue_is_503(
    sqlite_server: Served,
) -> None:
    """The batch waiting for the lock waits off the event loop (in the writer process; or,
    inline, retried on the writer thread): a request that needs no store is answered
    meanwhile; creates past the queue bound are refused at once with nothing written; when
    the lock is released the waiting creates are all written. The bound counts the creates
    not yet answered: inline, those not in the batch under way (4 more admitted); with a
    writer process, whose batches the server does not see, every one (3 more)."""
    inline = sqlite_server.settings["THUMBS_WRITER_MODE"] == "inline"
    admitted = 4 if inline else 3
    url = sqlite_server.database_url
    tenant = make_tenant(url, sqlite_server.url)
    database = make_url(url).database
    assert database is not None

    async def scenario() -> tuple[httpx.Response, list[httpx.Response], list[httpx.Response]]:
        async with httpx.AsyncClient(
            base_url=sqlite_server.url, auth=tenant.auth, timeout=60
        ) as client:
            warm = await client.post(tenant.feedbacks, json={"session_id": "warm"})
            assert warm.status_code == 201, warm.text
            lock = sqlite3.connect(database, isolation_level=None, timeout=30)
            lock.execute("BEGIN IMMEDIATE")  # another process's write transaction
            try:
                first = asyncio.ensure_future(
                    client.post(tenant.feedbacks, json={"session_id": "first"})
                )
                if inline:
                    await asyncio.to_thread(wait_for_line, sqlite_server, "retried off it")
                # the loop is free: requests that need no store are answered
                others = [await client.get("/errors"), await client.get("/healthz")]
                more = [
                    asyncio.ensure_future(
                        client.post(tenant.feedbacks, json={"session_id": f"more-{i}"})
                    )
                    for i in range(8)
                ]
                deadline = time.monotonic() + 60
                while sum(f.done() for f in more) < 8 - admitted:  # past the queue bound
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.05)
                assert not first.done()  # still waiting for the lock
            finally:
                lock.execute("ROLLBACK")
                lock.close()
            return await first, others, list(await asyncio.gather(*more))

    first, others, more = run(scenario())
    assert [r.status_code for r in others] == [200, 200]
    assert first.status_code == 201, first.text
    refused = [r for r in more if r.status_code == 503]
    written = [r for r in more if r.status_code == 201]
    assert len(refused) == 8 - admitted
    assert len(written) == admitted
    for res in refused:
        assert_unavailable(res)
    ids = [first.json()["id"], *(r.json()["id"] for r in written)]
    assert stored_ids(url, ids) == dict.fromkeys(ids, 1)
    with httpx.Client(base_url=sqlite_server.url, auth=tenant.auth, timeout=60) as client:
        listed = client.get(tenant.feedbacks, params={"PageSize": 50}).json()["feedbacks"]
    assert len(listed) == 1 + len(ids)  # the warm-up and these: nothing of the refused ones
    assert "Traceback" not in sqlite_server.log()


# only where PostgreSQL is configured, like every PostgreSQL run of the suite
if PG_URL is not None:

    @pytest.mark.slow
    def test_postgresql_going_away_gives_fast_503s_and_service_resumes_by_itself(
        tmp_path: Path,
    ) -> None:
        """PostgreSQL is taken away from the server by a TCP forwarder between them (the shared
        PostgreSQL itself keeps running)."""
        assert PG_URL is not None
        database_url = worker_database(normalize_database_url(PG_URL))
        real = make_url(database_url)
        proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
        proxy.start()
        through = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        try:
            with serving(through, tmp_path, THUMBS_DB_CONNECT_TIMEOUT="2") as (server,):
                tenant = make_tenant(database_url, server.url)
                secret = {"X-Thumbs-Identity": "identity-never-logged"}
                with httpx.Client(base_url=server.url, auth=tenant.auth, timeout=60) as client:
                    before = client.post(tenant.feedbacks, json={"session_id": "before"})
                    assert before.status_code == 201, before.text
                    proxy.stop()  # the database is gone, connections and all
                    for i in range(5):
                        body = {"session_id": "gone", "text": f"text-never-logged-{i}"}
                        assert_unavailable(client.post(tenant.feedbacks, json=body, headers=secret))
                        assert_unavailable(client.get(tenant.feedbacks))
                    assert_unavailable(client.get("/readyz"))
                    assert client.get("/healthz").status_code == 200
                    proxy.start()  # it is back: no restart, no operator
                    deadline = time.monotonic() + 60
                    while True:
                        res = client.post(tenant.feedbacks, json={"session_id": "after"})
                        if res.status_code == 201:
                            break
                        assert_unavailable(res)
                        assert time.monotonic() < deadline, "service did not resume"
                        time.sleep(0.2)
                    assert client.get(tenant.feedbacks).status_code == 200
                    assert client.get("/readyz").status_code == 200
                log = server.log()
        finally:
            proxy.close()
        assert "store unavailable" in log
        assert "Traceback" not in log
        assert "never-logged" not in log
        assert stored_ids(database_url, [before.json()["id"], res.json()["id"]]) == {
            before.json()["id"]: 1,
            res.json()["id"]: 1,
        }


def test_store_errors_name_no_values(database_url: str) -> None:
    """What a store error says (and so what is logged) holds no bound parameter and no row."""
    engine = make_engine(normalize_database_url(database_url))
    try:
        with engine.connect() as conn:  # rolled back at the end
            conn.execute(text("CREATE TEMPORARY TABLE secrets (v VARCHAR(64) UNIQUE)"))
            conn.execute(text("INSERT INTO secrets (v) VALUES (:v)"), {"v": "value-never-shown"})
            with pytest.raises(IntegrityError) as caught:
                conn.execute(
                    text("INSERT INTO secrets (v) VALUES (:v)"), {"v": "value-never-shown"}
                )
    finally:
        engine.dispose()
    assert "[SQL parameters hidden" in str(caught.value)
    assert "value-never-shown" not in describe(caught.value)
    assert "INSERT INTO secrets" in describe(caught.value)


def test_a_client_that_goes_away_mid_body_is_one_info_line(tmp_path: Path) -> None:
    with serving(f"sqlite:///{(tmp_path / 'gone.db').as_posix()}", tmp_path) as (server,):
        tenant = make_tenant(server.database_url, server.url)
        auth = base64.b64encode(f"{tenant.sid}:{tenant.token}".encode()).decode()
        for path in (tenant.feedbacks, "/v1/Thumbs"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
                sock.sendall(
                    (
                        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        f"Authorization: Basic {auth}\r\nContent-Type: application/json\r\n"
                        "Content-Length: 1000\r\n\r\n"
                        '{"session_id": "never finished'
                    ).encode()
                )
                time.sleep(0.5)
        for path in (tenant.feedbacks, "/v1/Thumbs"):
            wait_for_line(server, f"client went away before its whole body: POST {path}")
        log = server.log()
    assert "Traceback" not in log
    assert "ERROR" not in log
    lines = [line for line in log.splitlines() if "went away" in line]
    assert len(lines) == 2
    assert all(line.startswith("INFO:") for line in lines)


if PG_URL is not None:

    def test_postgresql_statements_are_cut_at_the_statement_timeout_url_options_kept() -> None:
        base = worker_database(normalize_database_url(PG_URL))
        engine = make_engine(
            f"{base}?options=-c%20work_mem%3D7MB", limits=StoreLimits(statement_timeout=0.2)
        )
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SHOW work_mem")).scalar() == "7MB"
                assert conn.execute(text("SHOW statement_timeout")).scalar() == "200ms"
                with pytest.raises(OperationalError) as caught:
                    conn.execute(text("SELECT pg_sleep(5)"))
        finally:
            engine.dispose()
        assert store_unavailable(caught.value)  # answered 503 (20503) by the API
