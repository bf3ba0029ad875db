"""Failed console sign-ins are throttled per email and per client address."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Account, LiveServer
from tests.web.conftest import PASSWORD, ConsoleUser, csrf_of, make_user
from thumbs.web.throttle import SignInThrottle


def attempt(client: httpx.Client, email: str, password: str) -> httpx.Response:
    token = csrf_of(client.get("/console/login").text)
    return client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token}
    )


def test_after_five_wrong_passwords_even_the_right_one_is_refused_for_a_while(
    server: LiveServer, admin: ConsoleUser
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(5):
            assert attempt(client, admin.email, "guess").status_code == 401
        refused = attempt(client, admin.email, PASSWORD)
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 900
        assert "Too many failed sign-ins. Try again in 15 minutes." in refused.text
        assert "thumbs_session" not in refused.cookies


def test_a_success_clears_the_count_of_its_email(server: LiveServer, admin: ConsoleUser) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(4):
            assert attempt(client, admin.email, "guess").status_code == 401
        assert attempt(client, admin.email, PASSWORD).status_code == 303
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(4):
            assert attempt(client, admin.email, "guess").status_code == 401
        assert attempt(client, admin.email, PASSWORD).status_code == 303


def test_one_address_guessing_many_emails_is_stopped(
    server: LiveServer, account: Account, admin: ConsoleUser
) -> None:
    other = make_user(server, account, "other@example.com", "member")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i in range(20):  # 4 x 5: every email stays under its own limit
            assert attempt(client, f"user{i % 5}@example.com", "guess").status_code == 401
        assert attempt(client, other.email, PASSWORD).status_code == 429


def test_failures_leave_the_window() -> None:
    now = [1000.0]
    throttle = SignInThrottle(per_email=2, per_address=8, window=60, clock=lambda: now[0])
    keys = throttle.keys("A@example.com ", "10.0.0.1")
    throttle.failed(keys)
    now[0] += 30
    throttle.failed(keys)
    assert throttle.retry_after(keys) == pytest.approx(30)
    assert throttle.retry_after(throttle.keys("a@example.com", "10.0.0.2")) == pytest.approx(30)
    assert throttle.retry_after(throttle.keys("b@example.com", "10.0.0.1")) is None
    now[0] += 31
    assert throttle.retry_after(keys) is None


def test_the_oldest_keys_are_forgotten_past_the_bound() -> None:
    throttle = SignInThrottle(per_email=1, per_address=100, max_keys=3)
    for name in ("a", "b", "c", "d"):
        throttle.failed([("email", name)])
    assert throttle.retry_after([("email", "a")]) is None
    assert throttle.retry_after([("email", "d")]) is not None
