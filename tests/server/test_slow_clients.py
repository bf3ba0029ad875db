"""A client's slowness never holds a store connection: more clients than the store has
pooled connections send the headers and half the body of PUT and POST requests (API and
console forms) and stall, and meanwhile another client's lists, creates and pages are
answered. A body is validated before any store work too."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx
import orjson
import pytest

from tests.support.accounts import Account, make_console_user
from tests.support.console import csrf_of, sign_in
from tests.support.http import (
    JSON_HEADERS,
    assert_error,
    create_assistant,
    create_feedback,
    feedbacks_path,
)
from tests.support.server import LiveServer

# far more than the pool's connections (8, and 16 more under load)
STALLED = 64


@dataclass
class Stalled:
    sock: socket.socket
    rest: bytes


def _stall(
    server: LiveServer, method: str, path: str, headers: dict[str, str], body: bytes
) -> Stalled:
    """Send the request line, the headers and the first half of ``body``."""
    url = urlparse(server.url)
    sock = socket.create_connection((url.hostname, url.port), timeout=60)
    head = f"{method} {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    half = len(body) // 2
    sock.sendall(head.encode() + body[:half])
    return Stalled(sock, body[half:])


def _response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _settled(pool: Any) -> int:
    """The pool's checked-out connections once no work in flight holds one: the same count
    read for 100 ms in a row. A response can reach the client a moment before a connection
    used for it (a writer's batch, a session's close) is back in the pool."""
    readings: list[int] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        readings.append(pool.checkedout())
        if len(readings) >= 5 and len(set(readings[-5:])) == 1:
            break
        time.sleep(0.02)
    return readings[-1]


@pytest.fixture
def stalled() -> Iterator[list[Stalled]]:
    held: list[Stalled] = []
    yield held
    for s in held:
        s.sock.close()


def test_clients_stalled_mid_body_hold_no_store_connection(
    server: LiveServer, account: Account, api: httpx.Client, stalled: list[Stalled]
) -> None:
    assistant_id = create_assistant(api)
    feedback_id = create_feedback(api, assistant_id, score=0.5)["id"]
    basic = "Basic " + base64.b64encode(f"{account.sid}:{account.token}".encode()).decode()
    auth = {"Authorization": basic, **JSON_HEADERS}
    admin = make_console_user(server, account, "slow@example.com")
    with httpx.Client(base_url=server.url, timeout=60) as browser:
        assert sign_in(browser, admin).status_code == 303
        cookie = f"thumbs_session={browser.cookies['thumbs_session']}"
        token = csrf_of(browser.get("/console/settings").text)
    pool = server.runtime.store.engine.pool
    before = _settled(pool)

    requests = [
        ("PUT", f"{feedbacks_path(assistant_id)}/{feedback_id}", auth, {"text": "late"}),
        ("PUT", f"/v1/Assistants/{assistant_id}", auth, {"owner": "slow"}),
        (
            "POST",
            "/v1/Sessions/slow/Messages",
            auth,
            {"assistant_id": assistant_id, "role": "user", "content": "hi"},
        ),
    ]
    for i in range(STALLED):
        if i % 4 == 3:  # a console form
            form = f"csrf_token={token}&scope=&positive_auto_approve=on".encode()
            headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
            stalled.append(_stall(server, "POST", "/console/settings/lifecycle", headers, form))
        else:
            method, path, headers, body = requests[i % 4]
            stalled.append(_stall(server, method, path, headers, orjson.dumps(body)))

    # another client is answered meanwhile, and no store connection is held by the stalled
    listed = api.get(feedbacks_path(assistant_id))
    assert listed.status_code == 200, listed.text
    assert [f["id"] for f in listed.json()["feedbacks"]] == [feedback_id]
    created = api.post(feedbacks_path(assistant_id), json={"session_id": "s2", "score": 1})
    assert created.status_code == 201, created.text
    assert api.get(f"/v1/Assistants/{assistant_id}").status_code == 200
    assert api.get("/v1/Sessions").status_code == 200
    assert _settled(pool) == before

    # a stalled request that finishes its body is answered as any other
    for s in stalled[:4]:
        s.sock.sendall(s.rest)
        status = _response(s.sock).split(b" ", 2)[1]
        assert status in (b"200", b"201", b"303"), status
    fetched = api.get(f"{feedbacks_path(assistant_id)}/{feedback_id}").json()
    assert fetched["text"] == "late"
    assert api.get(f"/v1/Assistants/{assistant_id}").json()["owner"] == "slow"


def test_a_body_is_validated_before_the_resource_is_looked_up(
    api: httpx.Client, server: LiveServer
) -> None:
    # the assistant does not exist: a lookup first would answer 404
    res = api.put(
        "/v1/Assistants/aia_asst_missing/Feedbacks/aia_fdbk_missing",
        content=b'{"score": "high"}',
        headers=JSON_HEADERS,
    )
    assert_error(res, 400, 60003, field="score")
    res = api.put(
        "/v1/Assistants/aia_asst_missing/Feedbacks/aia_fdbk_missing",
        content=b'{"score": 1}',
        headers=JSON_HEADERS,
    )
    assert_error(res, 404, 20404)
