"""Nothing acknowledged is lost: real ``thumbs serve`` processes under a create load are
stopped with SIGTERM (they drain and shut down in order) or killed with SIGKILL (then
restarted); every create that was answered 201 is in the store exactly once, and a retry
with the same idempotency token after the restart replays the same id. SQLite with one server;
PostgreSQL with two servers on one database. Bounded in requests and time."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.support.processes import Load, make_tenant, serving, start_all, stored_ids

pytestmark = pytest.mark.slow

CLIENTS = 16
ACKNOWLEDGED_BEFORE_STOP = 300


def servers_for(database_url: str) -> int:
    return 2 if database_url.startswith("postgresql") else 1


def test_sigterm_drains_and_loses_nothing_acknowledged(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path, count=servers_for(database_url)) as servers:
        tenant = make_tenant(database_url, servers[0].url)
        load = Load([s.url for s in servers], tenant, clients=CLIENTS).start()
        load.wait_for(ACKNOWLEDGED_BEFORE_STOP)
        statuses = [s.terminate() for s in servers]
        load.stop()
        logs = [s.log() for s in servers]
    # uvicorn shuts down in order, then ends by the signal it was sent
    assert set(statuses) <= {0, -signal.SIGTERM}, logs
    for log in logs:
        assert "Application shutdown complete" in log
        assert "Traceback" not in log
    acknowledged = list(load.acknowledged.values())
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_STOP
    assert set(load.statuses) <= {201, 503}, load.statuses
    assert stored_ids(database_url, acknowledged) == dict.fromkeys(acknowledged, 1)


def test_kill_9_loses_nothing_acknowledged_and_retries_replay_after_restart(
    database_url: str, tmp_path: Path
) -> None:
    with serving(database_url, tmp_path, count=servers_for(database_url)) as servers:
        tenant = make_tenant(database_url, servers[0].url)
        load = Load([s.url for s in servers], tenant, clients=CLIENTS).start()
        load.wait_for(ACKNOWLEDGED_BEFORE_STOP)
        for s in servers:
            s.kill()
        load.stop()
        acknowledged = dict(load.acknowledged)
        assert set(load.statuses) == {201}, load.statuses
        ids = list(acknowledged.values())
        assert stored_ids(database_url, ids) == dict.fromkeys(ids, 1)

        start_all(servers)
        # every request left unanswered, and every third one answered, retried with its
        # token (on the other server, where there are two)
        tokens = [t for n, t in enumerate(load.bodies) if t not in acknowledged or n % 3 == 0]
        retried: dict[str, str] = {}
        for n, token in enumerate(tokens):
            url = servers[(n + 1) % len(servers)].url
            res = httpx.post(
                f"{url}{tenant.feedbacks}",
                json=load.bodies[token],
                headers={"I-Twilio-Idempotency-Token": token},
                auth=tenant.auth,
                timeout=60,
            )
            assert res.status_code == 201, res.text
            retried[token] = res.json()["id"]
            if token in acknowledged:
                assert res.headers.get("Idempotent-Replayed") == "true"
                assert retried[token] == acknowledged[token]
    every = list(retried.values())
    assert len(set(every)) == len(every)
    assert stored_ids(database_url, every) == dict.fromkeys(every, 1)
