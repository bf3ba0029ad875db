"""Failed console sign-ins are throttled per email and per client address, counted before
their passwords are checked; the checks run a few at a time."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.accounts import PASSWORD, Account, ConsoleUser, make_console_user
from tests.support.console import csrf_of
from tests.support.http import run
from tests.support.server import LiveServer
from thumbs.auth.passwords import ChecksBusy, PasswordChecks
from thumbs.auth.throttle import Attempt, SignInThrottle


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
    other = make_console_user(server, account, "other@example.com", "member")
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


def test_attempts_that_arrive_together_are_counted_before_any_is_checked() -> None:
    throttle = SignInThrottle(per_email=5, per_address=100)
    keys = throttle.keys("a@example.com", "10.0.0.1")
    start = threading.Barrier(40)

    def begin(_: int) -> Attempt:
        start.wait()
        return throttle.begin(keys)

    with ThreadPoolExecutor(max_workers=40) as pool:
        attempts = list(pool.map(begin, range(40)))
    waits = sorted(a.retry_after for a in attempts if a.retry_after is not None)
    assert len(waits) == 35
    assert waits[0] > 0
    assert throttle.retry_after(keys) is not None


def test_a_success_or_an_unchecked_attempt_is_taken_back() -> None:
    throttle = SignInThrottle(per_email=2, per_address=3)
    keys = throttle.keys("a@example.com", "10.0.0.1")
    checked = throttle.begin(keys)
    throttle.withdraw(throttle.begin(keys))  # refused as busy: its password was never checked
    assert throttle.begin(keys).retry_after is None  # the second of two allowed
    assert throttle.begin(keys).retry_after is not None
    throttle.succeeded(checked)  # clears the email; the address keeps the one failure
    for name in ("b", "c"):
        assert throttle.begin(throttle.keys(f"{name}@example.com", "10.0.0.1")).retry_after is None
    assert throttle.begin(throttle.keys("d@example.com", "10.0.0.1")).retry_after is not None
    assert throttle.begin(throttle.keys("a@example.com", "10.0.0.2")).retry_after is None


def test_password_checks_run_two_at_a_time_and_refuse_beyond_the_waiting_line() -> None:
    checks = PasswordChecks(slots=2, waiting=3)
    release = threading.Event()
    running = 0
    most = 0
    lock = threading.Lock()

    async def flood() -> list[bool | BaseException]:
        loop = asyncio.get_running_loop()
        both_running = asyncio.Event()

        def check() -> bool:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
                if running == 2:
                    loop.call_soon_threadsafe(both_running.set)
            release.wait(timeout=60)
            with lock:
                running -= 1
            return True

        tasks = [asyncio.create_task(checks.run(check)) for _ in range(10)]
        await asyncio.wait_for(both_running.wait(), timeout=60)
        assert checks.admitted == 5  # two running, three waiting; the other five refused
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    try:
        results = run(flood())
    finally:
        checks.close()
    assert results.count(True) == 5
    assert sum(isinstance(r, ChecksBusy) for r in results) == 5
    assert most == 2
    assert checks.admitted == 0
