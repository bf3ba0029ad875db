"""Idempotency tokens hold for 24 hours: a retry within them replays, a request after them
creates anew. Expired tokens are deleted in bounded batches: by the server on its own, and
by ``thumbs db cleanup``. Dates are moved back in the store to make tokens old."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select, update

from tests.support.http import feedbacks_path
from tests.support.processes import clean_env, run_thumbs, thumbs_server
from tests.support.server import LiveServer
from thumbs.feedback import idempotency
from thumbs.kit.timefmt import utcnow
from thumbs.store.models import Feedback, IdempotencyKey

TOKEN = "I-Twilio-Idempotency-Token"
BODY = {"session_id": "s", "score": 0.5, "text": "once"}


def age(server: LiveServer, hours: float, keys: list[str] | None = None) -> None:
    """Move the creation date of these tokens (all, by default) ``hours`` into the past."""
    with server.runtime.store.session() as s:
        rows = s.execute(
            select(IdempotencyKey.account_pk, IdempotencyKey.key, IdempotencyKey.date_created)
        ).all()
        for r in rows:
            if keys is None or r.key in keys:
                s.execute(
                    update(IdempotencyKey)
                    .where(IdempotencyKey.account_pk == r.account_pk, IdempotencyKey.key == r.key)
                    .values(date_created=r.date_created - timedelta(hours=hours))
                )


def token_keys(server: LiveServer) -> set[str]:
    with server.runtime.store.session() as s:
        return set(s.scalars(select(IdempotencyKey.key)))


def feedback_count(server: LiveServer) -> int:
    with server.runtime.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Feedback)) or 0)


def create(
    api: httpx.Client, assistant_id: str, token: str, body: dict[str, object] = BODY
) -> httpx.Response:
    res = api.post(feedbacks_path(assistant_id), json=body, headers={TOKEN: token})
    assert res.status_code == 201, res.text
    return res


def test_a_token_replays_for_24_hours_then_creates_anew(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    first = create(api, assistant_id, "t1")
    age(server, 23.5)
    within = create(api, assistant_id, "t1")
    assert within.headers["idempotent-replayed"] == "true"
    assert within.content == first.content

    age(server, 1)  # 24.5 hours old: expired
    after = create(api, assistant_id, "t1")
    assert "idempotent-replayed" not in after.headers
    assert after.json()["id"] != first.json()["id"]
    assert feedback_count(server) == 2
    # the token now stands for the new request: a retry replays it
    retry = create(api, assistant_id, "t1")
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == after.content

    # an expired token may even come with another body: it is a new request, not a 422
    age(server, 25)
    other = create(api, assistant_id, "t1", {"session_id": "s2", "score": 1.0})
    assert "idempotent-replayed" not in other.headers
    assert feedback_count(server) == 3
    assert token_keys(server) == {"t1"}


def test_expired_tokens_are_deleted_in_bounded_batches(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    old = [f"old-{i}" for i in range(5)]
    for token in [*old, "fresh-1", "fresh-2"]:
        create(api, assistant_id, token)
    age(server, 25, old)

    assert idempotency.delete_expired(server.runtime.store.engine, limit=2) == 2
    assert len(token_keys(server) & set(old)) == 3

    env = clean_env(THUMBS_DATABASE_URL=server.runtime.store.url, THUMBS_CLEANUP_BATCH="2")
    res = run_thumbs("db", "cleanup", "--json", env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == {"idempotency_keys_deleted": 3}
    assert token_keys(server) == {"fresh-1", "fresh-2"}
    assert feedback_count(server) == 7  # the feedback itself stays
    again = run_thumbs("db", "cleanup", env=env)
    assert again.stdout.strip() == "Deleted 0 expired idempotency keys"
    # nothing expired: nothing deleted, whatever the limit
    assert idempotency.delete_expired(server.runtime.store.engine, limit=100, now=utcnow()) == 0


def test_the_server_deletes_expired_tokens_by_itself_a_bounded_batch_a_run(
    server: LiveServer, api: httpx.Client, assistant_id: str, tmp_path: Path
) -> None:
    old = [f"old-{i}" for i in range(5)]
    for token in [*old, "fresh"]:
        create(api, assistant_id, token)
    age(server, 48, old)
    env = clean_env(
        THUMBS_DATABASE_URL=server.runtime.store.url,
        THUMBS_AUTO_MIGRATE="false",
        THUMBS_CLEANUP_INTERVAL="0.5",
        THUMBS_CLEANUP_BATCH="2",
        THUMBS_LOG_LEVEL="info",
    )
    log = tmp_path / "serve.log"
    with thumbs_server(env, log):
        deadline = time.monotonic() + 60
        while token_keys(server) != {"fresh"}:
            assert time.monotonic() < deadline, "expired tokens were not cleaned up"
            time.sleep(0.2)
    runs = [int(n) for n in re.findall(r"cleanup: deleted (\d+) expired", log.read_text())]
    assert sum(runs) == 5
    assert max(runs) <= 2  # bounded work per run
