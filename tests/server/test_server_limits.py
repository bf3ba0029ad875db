"""What a client may send and how long it may take, against real ``thumbs serve`` processes
with short time limits: stalled clients are cut once the documented time is up while other
clients are answered, oversized request heads are refused, and requests beyond the cap on
connections are answered 503."""

from __future__ import annotations

import base64
import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx
import orjson
import pytest

from tests.support.http import create_assistant, create_feedback, feedbacks_path
from tests.support.processes import clean_env, run_thumbs, thumbs_server

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
# loop timers may fire a clock tick early
SLACK = 0.25


@dataclass
class Served:
    url: str
    auth: tuple[str, str]
    assistant_id: str
    feedback_id: str

    def connect(self) -> socket.socket:
        url = urlparse(self.url)
        assert url.hostname is not None
        assert url.port is not None
        return socket.create_connection((url.hostname, url.port), timeout=60)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=self.auth, timeout=60)


def _served(data: Path, **settings: str) -> Iterator[Served]:
    env = clean_env(THUMBS_DATA_DIR=str(data), **settings)
    made = run_thumbs("accounts", "create", "--name", "limits", "--json", env=env)
    created = json.loads(made.stdout)
    with thumbs_server(env, data.parent / f"{data.name}-serve.log") as url:
        auth = (created["account_sid"], created["auth_token"])
        with httpx.Client(base_url=url, auth=auth, timeout=60) as api:
            assistant_id = create_assistant(api)
            feedback_id = create_feedback(api, assistant_id)["id"]
        yield Served(url, auth, assistant_id, feedback_id)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _served(
        tmp_path_factory.mktemp("limited"),
        THUMBS_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        THUMBS_BODY_TIMEOUT=str(BODY_TIMEOUT),
    )


def _read_to_end(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _basic(auth: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(":".join(auth).encode()).decode()


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _error_code(response: bytes) -> int:
    return int(orjson.loads(response.split(b"\r\n\r\n", 1)[1])["code"])


def _partial_body(served: Served, sock: socket.socket) -> None:
    body = b'{"text": "never finished"}'
    path = f"{feedbacks_path(served.assistant_id)}/{served.feedback_id}"
    sock.sendall(
        f"PUT {path} HTTP/1.1\r\nHost: test\r\nAuthorization: {_basic(served.auth)}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body[:10]
    )


def _partial_form(sock: socket.socket) -> None:
    sock.sendall(
        b"POST /console/login HTTP/1.1\r\nHost: test\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=a"
    )


KINDS = ("nothing", "half a head", "half an API body", "half a console form")


def test_64_stalled_connections_are_cut_after_the_timeouts_while_others_are_answered(
    limited: Served,
) -> None:
    stalled: list[tuple[str, socket.socket, float]] = []
    try:
        for i in range(64):
            kind = KINDS[i % 4]
            sock = limited.connect()
            opened = time.monotonic()
            if kind == "half a head":
                sock.sendall(b"GET /v1/Assistants HTTP/1.1\r\nHost: test\r\nAuthoriz")
            elif kind == "half an API body":
                _partial_body(limited, sock)
            elif kind == "half a console form":
                _partial_form(sock)
            stalled.append((kind, sock, opened))

        with limited.client() as api:
            listed = api.get(feedbacks_path(limited.assistant_id))
            assert listed.status_code == 200, listed.text
            assert len(listed.json()["feedbacks"]) == 1
            created = api.post(feedbacks_path(limited.assistant_id), json={"session_id": "x"})
            assert created.status_code == 201, created.text
            assert api.get("/console/login").status_code == 200

        for kind, sock, opened in stalled:
            response = _read_to_end(sock)  # the server closes the connection
            assert time.monotonic() - opened >= HEADER_TIMEOUT - SLACK
            if kind == "nothing":
                assert response == b""  # nothing asked, nothing answered
                continue
            assert _status(response) == 408, response
            assert _error_code(response) == 60408
            assert b"\r\nconnection: close\r\n" in response
    finally:
        for _, sock, _ in stalled:
            sock.close()


def test_a_body_sent_slowly_within_the_time_limit_is_accepted(limited: Served) -> None:
    body = b'{"text": "slow but in time"}'
    path = f"{feedbacks_path(limited.assistant_id)}/{limited.feedback_id}"
    with limited.connect() as sock:
        sock.sendall(
            f"PUT {path} HTTP/1.1\r\nHost: test\r\nAuthorization: {_basic(limited.auth)}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        for start in range(0, len(body), 10):
            time.sleep(0.1)
            sock.sendall(body[start : start + 10])
        assert _status(_read_to_end(sock)) == 200
    with limited.client() as api:
        fetched = api.get(path).json()
    assert fetched["text"] == "slow but in time"


def test_a_head_sent_a_byte_at_a_time_is_cut_at_the_header_timeout(limited: Served) -> None:
    head = b"GET /v1/Assistants HTTP/1.1\r\nHost: test\r\nX-Pad: " + b"a" * 200 + b"\r\n\r\n"
    with limited.connect() as sock:
        opened = time.monotonic()
        sent = 0
        while sent < len(head):
            sock.sendall(head[sent : sent + 1])
            sent += 1
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                break
        response = _read_to_end(sock)
    assert sent < len(head)
    assert time.monotonic() - opened >= HEADER_TIMEOUT - SLACK
    assert _status(response) == 408
    assert _error_code(response) == 60408


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(b"X-Big: " + b"a" * 20_000 + b"\r\n", id="one 20 KB header"),
        pytest.param(
            b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 100) for i in range(200)), id="200 headers"
        ),
        pytest.param(b"", id="a 20 KB request line"),
    ],
)
def test_a_request_head_over_16_kib_is_refused_431(limited: Served, headers: bytes) -> None:
    path = b"/openapi.json" if headers else b"/openapi.json?" + b"q" * 20_000
    with limited.connect() as sock:
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: test\r\n" + headers + b"\r\n")
        response = _read_to_end(sock)
    assert _status(response) == 431
    assert _error_code(response) == 60431
    assert b"\r\nconnection: close\r\n" in response


def test_a_request_head_under_the_limit_is_served(limited: Served) -> None:
    with limited.connect() as sock:
        sock.sendall(
            b"GET /openapi.json HTTP/1.1\r\nHost: test\r\nX-Big: "
            + b"a" * 15_000
            + b"\r\nConnection: close\r\n\r\n"
        )
        assert _status(_read_to_end(sock)) == 200


def test_a_16_mib_header_is_cut_before_it_is_read(limited: Served) -> None:
    chunk = b"a" * 65536
    sent = 0
    with limited.connect() as sock:
        try:
            sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: test\r\nX-Big: ")
            while sent < 16 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:  # the server closed the connection: it stopped reading
            pass
    assert sent < 16 * 1024 * 1024
    with limited.client() as api:
        assert api.get(feedbacks_path(limited.assistant_id)).status_code == 200


def test_requests_beyond_the_connection_cap_are_answered_503(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    for served in _served(
        tmp_path_factory.mktemp("capped"),
        THUMBS_MAX_CONNECTIONS="4",
        THUMBS_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
    ):
        idle = [served.connect() for _ in range(4)]
        try:
            with served.client() as api:
                res = api.get(feedbacks_path(served.assistant_id))
                assert res.status_code == 503, res.text
                # like every 503: thumbs' error body, and when to retry
                assert res.headers["Retry-After"] == "1"
                assert res.json()["code"] == 20503
            for sock in idle:  # cut at the header timeout, they free their places
                assert _read_to_end(sock) == b""
            with served.client() as api:
                assert api.get(feedbacks_path(served.assistant_id)).status_code == 200
        finally:
            for sock in idle:
                sock.close()
