"""A NUL character in a console form is a 400 page, like anywhere else (code 60016): no
store keeps NUL in text, so it never reaches a query."""

from __future__ import annotations

import httpx
import pytest

from tests.support.accounts import ConsoleUser
from tests.support.console import csrf_of
from tests.support.server import LiveServer


@pytest.mark.parametrize(
    "form",
    [
        {"email": "a\x00@example.com", "password": "long enough password"},
        {"email": "a@example.com", "password": "long enough\x00password"},
        {"email": "a@example.com", "password": "x", "next\x00": "/console/"},
    ],
    ids=["email", "password", "field name"],
)
def test_a_nul_in_the_sign_in_form_is_a_400_page(
    server: LiveServer, admin: ConsoleUser, form: dict[str, str]
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        token = csrf_of(client.get("/console/login").text)
        res = client.post("/console/login", data={**form, "csrf_token": token})
    assert res.status_code == 400
    assert res.headers["content-type"].startswith("text/html")
    assert "60016" in res.text


def test_a_nul_in_a_signed_in_form_is_a_400_page(console: httpx.Client) -> None:
    token = csrf_of(console.get("/console/feedback").text)
    res = console.post("/console/logout", data={"csrf_token": token, "note": "a\x00"})
    assert res.status_code == 400
    assert "60016" in res.text
    assert console.get("/console/feedback").status_code == 200  # still signed in
