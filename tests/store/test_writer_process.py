"""A server whose batches a writer process writes (``THUMBS_WRITER_MODE=process``,
``thumbs.store.writer_process``): real ``thumbs serve`` processes on each store. Creates are
answered after the writer process committed them; a writer process killed is replaced and
costs at most the batch it held (answered 503, never acknowledged and lost); a server killed
takes its writer process with it; errors raised in the writer process reach the client as
the server process would have answered them."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.support.lifecycle import log_turn
from tests.support.processes import Load, Tenant, make_tenant, serving, stored_ids
from thumbs.feedback.jobs import IdempotencyMismatch
from thumbs.kit import errors as E
from thumbs.store.engine import Store
from thumbs.store.models import Feedback

pytestmark = pytest.mark.slow

PROCESS = {"THUMBS_WRITER_MODE": "process"}


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (of any of its threads)."""
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            found += map(int, Path(f"/proc/{pid}/task/{task}/children").read_text().split())
    return found


def writer_pids(server_pid: int) -> list[int]:
    """The server's child processes running the writer."""
    found = []
    for pid in children(server_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # a process that ended meanwhile
            continue
        if b"thumbs.store.writer_process" in cmdline:
            found.append(pid)
    return found


def all_stored(database_url: str, server_url: str, tenant: Tenant, count: int) -> Load:
    """``count`` creates or more from 8 clients: every one answered 201 and stored once."""
    load = Load([server_url], tenant, clients=8).start()
    load.wait_for(count)
    load.stop()
    assert set(load.statuses) == {201}, load.statuses
    ids = list(load.acknowledged.values())
    assert stored_ids(database_url, ids) == dict.fromkeys(ids, 1)
    return load


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_errors_of_the_writer_process_cross_to_the_server_as_they_were() -> None:
    for error in (
        IdempotencyMismatch("k-1"),
        E.NotFound("Assistant", "aia_asst_x"),
        E.StoreUnavailable(),
    ):
        crossed = pickle.loads(pickle.dumps(error))
        assert type(crossed) is type(error)
        assert crossed.args == error.args
        assert crossed.__dict__ == error.__dict__
        assert crossed.body("https://docs") == error.body("https://docs")
    assert crossed.headers == {"Retry-After": "1"}


def test_creates_are_committed_by_the_writer_process_before_they_are_answered(
    database_url: str, tmp_path: Path
) -> None:
    with serving(database_url, tmp_path, **PROCESS) as (server,):
        assert server.proc is not None
        (writer,) = writer_pids(server.proc.pid)
        tenant = make_tenant(database_url, server.url)
        load = all_stored(database_url, server.url, tenant, 200)
        # the same idempotency token, another body: refused by the writer process's rule
        token, first = next(iter(load.acknowledged.items()))
        res = httpx.post(
            f"{server.url}{tenant.feedbacks}",
            json={**load.bodies[token], "text": "another text"},
            headers={"I-Twilio-Idempotency-Token": token},
            auth=tenant.auth,
        )
        assert res.status_code == 422, res.text
        assert res.json()["code"] == E.IDEMPOTENCY_KEY_REUSED
        replay = httpx.post(
            f"{server.url}{tenant.feedbacks}",
            json=load.bodies[token],
            headers={"I-Twilio-Idempotency-Token": token},
            auth=tenant.auth,
        )
        assert replay.status_code == 201
        assert replay.json()["id"] == first
        assert replay.headers.get("Idempotent-Replayed") == "true"
        assert writer_pids(server.proc.pid) == [writer]
        assert server.terminate() in (0, -signal.SIGTERM)
        # the server drained, then its writer process exited
        wait_until(lambda: not alive(writer))
        assert "Traceback" not in server.log()


def test_thumbs_serve_has_a_writer_process_unless_told_otherwise(
    database_url: str, tmp_path: Path
) -> None:
    """``THUMBS_WRITER_MODE`` unset (``auto``): each server process of ``thumbs serve``
    writes its creates through a writer process of its own; the mode of the app built
    in-process (the event loop on SQLite, a writer thread on PostgreSQL) is still there to
    ask for."""
    in_process = "inline" if database_url.startswith("sqlite") else "thread"
    for mode, writers in ((None, 1), (in_process, 0)):
        settings = {} if mode is None else {"THUMBS_WRITER_MODE": mode}
        with serving(database_url, tmp_path, **settings) as (server,):
            assert server.proc is not None
            tenant = make_tenant(database_url, server.url)
            res = httpx.post(
                f"{server.url}{tenant.feedbacks}", json={"session_id": "s-1"}, auth=tenant.auth
            )
            assert res.status_code == 201, res.text
            assert stored_ids(database_url, [res.json()["id"]]) == {res.json()["id"]: 1}
            assert len(writer_pids(server.proc.pid)) == writers, mode


def test_each_worker_of_thumbs_serve_has_its_writer_process_and_all_stop_together(
    database_url: str, tmp_path: Path
) -> None:
    """``thumbs serve --workers 2`` (``THUMBS_WORKERS``) by default: two server processes,
    each with a writer process of its own; the creates sent to both are all stored; SIGTERM
    stops the supervisor, its workers and their writer processes."""
    with serving(database_url, tmp_path, THUMBS_WORKERS="2") as (server,):
        assert server.proc is not None
        supervisor = server.proc.pid
        all_stored(database_url, server.url, make_tenant(database_url, server.url), 300)
        workers = children(supervisor)
        served = [pid for pid in workers if writer_pids(pid)]
        assert len(served) == 2, workers
        writers = [w for pid in served for w in writer_pids(pid)]
        assert len(writers) == 2
        assert server.terminate() in (0, -signal.SIGTERM)
        wait_until(lambda: not any(alive(pid) for pid in [*served, *writers]))
        assert "Traceback" not in server.log()


def test_a_writer_process_killed_is_replaced_and_nothing_acknowledged_is_lost(
    database_url: str, tmp_path: Path
) -> None:
    with serving(database_url, tmp_path, **PROCESS) as (server,):
        assert server.proc is not None
        tenant = make_tenant(database_url, server.url)
        load = Load([server.url], tenant, clients=8).start()
        for _ in range(3):
            load.wait_for(len(load.acknowledged) + 100)
            (writer,) = writer_pids(server.proc.pid)
            os.kill(writer, signal.SIGKILL)
            wait_until(lambda w=writer: writer_pids(server.proc.pid) not in ([], [w]))
        load.wait_for(len(load.acknowledged) + 100)
        load.stop()
        # the batch a writer process held when it died: 503, to be retried
        assert set(load.statuses) <= {201, 503}, load.statuses
        assert load.statuses[201] >= 400
        ids = list(load.acknowledged.values())
        assert stored_ids(database_url, ids) == dict.fromkeys(ids, 1)


def test_a_server_killed_takes_its_writer_process_with_it(
    database_url: str, tmp_path: Path
) -> None:
    with serving(database_url, tmp_path, **PROCESS) as (server,):
        assert server.proc is not None
        (writer,) = writer_pids(server.proc.pid)
        server.kill()
        wait_until(lambda: not alive(writer))


def test_end_users_and_logged_replies_are_linked_by_the_writer_process(
    database_url: str, tmp_path: Path
) -> None:
    with serving(database_url, tmp_path, **PROCESS) as (server,):
        tenant = make_tenant(database_url, server.url)
        with httpx.Client(base_url=server.url, auth=tenant.auth, timeout=30) as api:
            reply = log_turn(api, tenant.assistant_id, identity="alice")
            made = [
                api.post(
                    tenant.feedbacks,
                    json={"session_id": "chat-1", "message_id": message, "score": 0.9},
                    headers={"X-Thumbs-Identity": name},
                )
                for name, message in [
                    ("alice", reply),  # the user the turn created: read in the batch
                    ("alice", None),  # now known to the server: sent with the job
                    ("bob", None),  # a new end user, created by the batch
                    ("bob", f"aia_msg_{'0' * 32}"),  # a message never logged
                ]
            ]
            for res in made:
                assert res.status_code == 201, res.text
            users = api.get("/v1/Users").json()
        sids = [res.json()["user_sid"] for res in made]
        assert sids[0] == sids[1]
        assert sids[2] == sids[3]
        assert sids[0] != sids[2]
        by_identity = {u["identity"]: u["sid"] for u in users["users"]}
        assert (by_identity["alice"], by_identity["bob"]) == (sids[0], sids[2])
        store = Store(database_url)
        try:
            with store.sessions() as session:
                rows = dict(
                    session.execute(
                        select(Feedback.id, Feedback.message_pk).where(
                            Feedback.id.in_([res.json()["id"] for res in made])
                        )
                    ).all()
                )
        finally:
            store.dispose()
        linked = [rows[res.json()["id"]] is not None for res in made]
        assert linked == [True, False, False, False]
