"""The hot routes (thumbs.kit.hot) answer exactly as the middleware stack does.

Two servers share one database: the test server (hot routes on) and a second one built
with ``hot_routes=False``, where every request takes the whole middleware stack. Each
request below goes to both, and the answers must be the same: status, headers and body,
with only what differs by nature set aside (the servers' own addresses, the new ids and
dates of two distinct creates). A spy on the hot server's middleware stack proves that the
hot requests do not go through it, and that the requests a hot route must leave to it do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.support.accounts import Account, make_account
from tests.support.server import LiveServer, serve_in_thread, server_settings
from thumbs.kit.body import MAX_BODY_BYTES

IGNORED_HEADERS = {"date", "server", "content-length"}
ID = re.compile(r"aia_fdbk_[0-9a-f-]{36}")
DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture(scope="module")
def cold(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The same thumbs on the same database, without hot routes."""
    settings = server_settings(database_url, tmp_path_factory.mktemp("cold"))
    with serve_in_thread(settings, hot_routes=False) as live:
        yield live


@dataclass
class Spy:
    """Wraps the hot server's middleware stack: the paths of the requests it saw."""

    app: ASGIApp
    seen: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


@dataclass
class Pair:
    hot: LiveServer
    cold: LiveServer
    account: Account
    assistant_id: str
    spy: Spy

    @property
    def path(self) -> str:
        return f"/v1/Assistants/{self.assistant_id}/Feedbacks"

    def both(
        self, send: Callable[[httpx.Client], httpx.Response], *, new_resource: bool = False
    ) -> tuple[int, dict[str, str], Any]:
        """``send`` on the hot server, then on the cold one: the same answer from both
        (``new_resource``: each created its own feedback, so ids and dates may differ)."""
        answers = []
        for live in (self.hot, self.cold):
            with live.client(auth=(self.account.sid, self.account.token)) as client:
                answers.append(_normal(send(client), live.url, new_resource=new_resource))
        assert answers[0] == answers[1]
        return answers[0]


def _normal(
    res: httpx.Response, base: str, *, new_resource: bool
) -> tuple[int, dict[str, str], Any]:
    headers = {
        k: v.replace(base, "http://server")
        for k, v in res.headers.items()
        if k not in IGNORED_HEADERS
    }
    text = res.text.replace(base, "http://server")
    if new_resource:
        text = DATE.sub("DATE", ID.sub("FEEDBACK_ID", text))
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    return res.status_code, headers, body


@pytest.fixture
def pair(server: LiveServer, cold: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Pair:
    for cache in (cold.runtime.credentials, cold.runtime.assistants, cold.runtime.end_users):
        cache.clear()
    account = make_account(server, "hot and cold")
    with server.client(auth=(account.sid, account.token)) as client:
        res = client.post("/v1/Assistants", json={"name": "Support bot"})
        assert res.status_code == 201, res.text
    assert server.app.middleware_stack is not None  # built at startup (lifespan)
    spy = Spy(server.app.middleware_stack)
    monkeypatch.setattr(server.app, "middleware_stack", spy)
    return Pair(server, cold, account, res.json()["id"], spy)


BODY = {"session_id": "sess-1", "message_id": "aia_msg_1", "score": 0.9, "text": "helpful"}


def test_a_create_is_answered_alike_and_skips_the_stack(pair: Pair) -> None:
    status, _, body = pair.both(lambda c: c.post(pair.path, json=BODY), new_resource=True)
    assert status == 201, body
    assert body["id"] == "FEEDBACK_ID"
    assert body["score"] == 0.9
    status, _, body = pair.both(
        lambda c: c.post(pair.path, json=BODY, headers={"X-Thumbs-Identity": "user-7"}),
        new_resource=True,
    )
    assert status == 201
    assert body["user_sid"].startswith("US")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, body = pair.both(
        lambda c: c.post(pair.path, content=b"session_id=x&score=0.5", headers=form),
        new_resource=True,
    )
    assert status == 201
    assert body["score"] == 0.5
    assert pair.spy.seen == []  # the hot creates went past the stack


@pytest.mark.parametrize(
    ("name", "content", "headers"),
    [
        ("broken JSON", b'{"session_id": ', {"Content-Type": "application/json"}),
        ("not an object", b"[1, 2]", {"Content-Type": "application/json"}),
        ("no session", json.dumps({"score": 0.5}).encode(), {}),
        ("score out of range", json.dumps({**BODY, "score": 1.5}).encode(), {}),
        ("score as text", json.dumps({**BODY, "score": "high"}).encode(), {}),
        ("key twice", b'{"session_id": "a", "session_id": "b"}', {}),
        ("NUL in the body", json.dumps({**BODY, "text": "a\u0000b"}).encode(), {}),
        ("empty body", b"", {"Content-Type": "application/json"}),
        ("empty idempotency key", json.dumps(BODY).encode(), {"Idempotency-Key": ""}),
        (
            "two idempotency keys",
            json.dumps(BODY).encode(),
            {"Idempotency-Key": "a", "I-Twilio-Idempotency-Token": "b"},
        ),
    ],
)
def test_a_refused_create_is_answered_alike(
    pair: Pair, name: str, content: bytes, headers: dict[str, str]
) -> None:
    status, _, body = pair.both(lambda c: c.post(pair.path, content=content, headers=headers))
    assert status in (400, 415, 422), name
    assert body["code"]
    assert body["message"]


def test_credentials_and_assistants_are_refused_alike(pair: Pair) -> None:
    other = make_account(pair.hot, "other")
    for auth in [(pair.account.sid, "wrong"), (other.sid, other.token)]:
        for live in (pair.hot, pair.cold):
            live.runtime.credentials.clear()
        status, _, _ = pair.both(lambda c, a=auth: c.post(pair.path, json=BODY, auth=a))  # type: ignore[misc]
        assert status in (401, 404)
    status, headers, _ = pair.both(lambda c: c.post(pair.path, json=BODY, auth=None))
    assert status == 401
    assert "www-authenticate" in headers
    unknown = "/v1/Assistants/aia_asst_00000000-0000-7000-8000-000000000000/Feedbacks"
    assert pair.both(lambda c: c.post(unknown, json=BODY))[0] == 404
    assert pair.both(lambda c: c.get(unknown))[0] == 404


def test_a_body_too_large_and_a_chunked_body_are_handled_alike(pair: Pair) -> None:
    big = json.dumps({**BODY, "text": "x" * MAX_BODY_BYTES}).encode()
    assert pair.both(lambda c: c.post(pair.path, content=big))[0] == 413

    def chunked(client: httpx.Client) -> httpx.Response:
        data = json.dumps(BODY).encode()
        return client.post(pair.path, content=iter([data[:10], data[10:]]))

    assert pair.both(chunked, new_resource=True)[0] == 201


def test_an_idempotent_retry_is_replayed_by_either(pair: Pair) -> None:
    headers = {"I-Twilio-Idempotency-Token": "retry-1"}
    with pair.hot.client(auth=(pair.account.sid, pair.account.token)) as client:
        first = client.post(pair.path, json=BODY, headers=headers)
    assert first.status_code == 201
    status, replay_headers, body = pair.both(
        lambda c: c.post(pair.path, json=BODY, headers=headers)
    )
    assert status == 201
    assert replay_headers["idempotent-replayed"] == "true"
    assert body == json.loads(first.text.replace(pair.hot.url, "http://server"))
    changed = {**BODY, "score": 0.1}
    status, _, _ = pair.both(lambda c: c.post(pair.path, json=changed, headers=headers))
    assert status in (409, 422)


def test_the_list_and_its_refusals_are_answered_alike(pair: Pair) -> None:
    with pair.hot.client(auth=(pair.account.sid, pair.account.token)) as client:
        for i in range(7):
            body = {**BODY, "session_id": f"sess-{i % 2}", "message_id": f"aia_msg_{i}"}
            assert client.post(pair.path, json=body).status_code == 201
    status, _, page = pair.both(lambda c: c.get(pair.path, params={"PageSize": 3}))
    assert status == 200
    assert len(page["feedbacks"]) == 3
    next_url = page["meta"]["next_page_url"].replace("http://server", "")
    status, _, second = pair.both(lambda c: c.get(next_url))
    assert status == 200
    assert len(second["feedbacks"]) == 3
    status, _, sess = pair.both(lambda c: c.get(pair.path, params={"SessionId": "sess-1"}))
    assert status == 200
    assert {f["session_id"] for f in sess["feedbacks"]} == {"sess-1"}
    for params in [
        {"PageSize": 0},
        {"PageSize": "many"},
        {"PageToken": "not-a-token"},
        {"DateCreatedAfter": "yesterday"},
        {"SessionId": "s" * 300},
    ]:
        status, _, body = pair.both(lambda c, p=params: c.get(pair.path, params=p))  # type: ignore[misc]
        assert status == 400, params
        assert body["code"], params
    assert pair.spy.seen == []  # every list request above went past the stack


def test_what_the_hot_routes_leave_to_the_stack_is_answered_alike(pair: Pair) -> None:
    go = {"User-Agent": "twilio-go/1.20.0 (linux amd64) go/1.22"}
    status, _, body = pair.both(
        lambda c: c.post(pair.path, json={"session_id": "s"}, headers=go), new_resource=True
    )
    assert status == 201
    assert body["score"] == 0
    status, _, body = pair.both(lambda c: c.get(pair.path, params={"SessionId": "a\u0000b"}))
    assert status == 400
    assert body["code"] == 60016
    status, headers, _ = pair.both(lambda c: c.head(pair.path))
    assert status == 405
    assert "GET" in headers["allow"]
    status, _, _ = pair.both(lambda c: c.post(pair.path + "/", json=BODY))
    assert status in (307, 404, 405)
    assert pair.spy.seen == [
        f"POST {pair.path}",
        f"GET {pair.path}",
        f"HEAD {pair.path}",
        f"POST {pair.path}/",
    ]
