"""A console form that is too large, has too many fields or gives a field twice is answered
with the console's own error page and the right status (never "There is no page"), on the
sign-in form and on a signed-in form, and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest

from tests.support.accounts import ConsoleUser
from tests.support.console import csrf_of
from tests.support.server import LiveServer

TWO_MIB = 2 * 1024 * 1024
BOUNDARY = "thumbs-test-boundary"


def _multipart(fields: list[tuple[str, str]]) -> tuple[bytes, dict[str, str]]:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    body = ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def _urlencoded(fields: list[tuple[str, str]]) -> tuple[bytes, dict[str, str]]:
    return urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"}


def _chunked(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


# shape, status, the page's title, a part of its message
SHAPES = [
    pytest.param("urlencoded 2 MiB field", 413, "Request body too large", "larger than 1 MiB"),
    pytest.param("multipart 2 MiB field", 413, "Request body too large", "larger than 1 MiB"),
    pytest.param("chunked 2 MiB field", 413, "Request body too large", "larger than 1 MiB"),
    pytest.param("multipart 1,200 fields", 400, "Malformed request body", "Too many fields"),
    pytest.param("urlencoded 1,200 fields", 400, "Malformed request body", "Too many fields"),
    pytest.param("a field twice", 400, "Field given more than once", "more than once"),
]


def _post(
    client: httpx.Client, path: str, shape: str, fields: list[tuple[str, str]]
) -> httpx.Response:
    """Post ``fields`` (a valid form) made into ``shape``."""
    name = fields[0][0]
    if "2 MiB" in shape:
        fields = [*fields, ("note", "x" * TWO_MIB)]
    elif "1,200" in shape:
        fields = [*fields, *((f"f{i}", "v") for i in range(1200))]
    else:
        fields = [*fields, (name, "again")]
    body, headers = (_multipart if shape.startswith("multipart") else _urlencoded)(fields)
    content: bytes | Iterator[bytes] = _chunked(body) if shape.startswith("chunked") else body
    return client.post(path, content=content, headers=headers)


def _assert_page(res: httpx.Response, status: int, title: str, message: str) -> None:
    assert res.status_code == status, res.text[:500]
    assert res.headers["content-type"].startswith("text/html")
    assert f"<h1>{title}</h1>" in res.text
    assert message in res.text
    assert "There is no page" not in res.text
    assert "Traceback" not in res.text


@pytest.mark.parametrize(("shape", "status", "title", "message"), SHAPES)
def test_the_sign_in_form_answers_with_a_readable_page(
    server: LiveServer, admin: ConsoleUser, shape: str, status: int, title: str, message: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        token = csrf_of(client.get("/console/login").text)
        fields = [("email", admin.email), ("password", admin.password), ("csrf_token", token)]
        res = _post(client, "/console/login", shape, fields)
        _assert_page(res, status, title, message)
        assert "thumbs_session" not in res.cookies  # not signed in
        assert client.get("/console/").status_code == 303  # still asked to sign in


@pytest.mark.parametrize(("shape", "status", "title", "message"), SHAPES)
def test_a_signed_in_form_answers_with_a_readable_page(
    console: httpx.Client, shape: str, status: int, title: str, message: str
) -> None:
    token = csrf_of(console.get("/console/review").text)
    res = _post(console, "/console/logout", shape, [("csrf_token", token)])
    _assert_page(res, status, title, message)
    assert console.get("/console/review").status_code == 200  # still signed in
