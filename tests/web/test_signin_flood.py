"""A flood of bad console sign-ins against a real ``thumbs serve`` with the default (argon2,
64 MiB a check) hash profile: the server's peak memory stays bounded, every other request is
still answered, and the throttle counts attempts that arrive together.

The bound: password checks run on ``THUMBS_SIGNIN_HASH_SLOTS`` (2) threads of their own, so
100 concurrent bad sign-ins may raise the peak resident memory (VmHWM) by the slots' 2 x 64 MiB
and the cost of 100 open requests; the test allows 2 x 64 + 192 MiB above the resident memory
before the flood. Without the bound each sign-in held 64 MiB on the shared thread pool
(16 concurrent took a server from 100 MB to 1.13 GB).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.accounts import ConsoleUser
from tests.support.console import csrf_of
from tests.support.processes import clean_env
from tests.support.processes import run_thumbs as thumbs
from tests.support.server import LiveServer

FLOOD = 100
SLOTS = 2
HASH_MIB = 64  # argon2-cffi's default memory cost
SLACK_MIB = 192
EMAIL = "ops@example.com"
PASSWORD = "a long enough passphrase"


@pytest.fixture
def fresh(tmp_path: Path) -> dict[str, str]:
    """A fresh install with the default hash profile. The throttle is set high so that every
    sign-in of the flood reaches the password check: the hashing pool alone must bound the
    memory."""
    return clean_env(
        THUMBS_DATA_DIR=str(tmp_path / "data"),
        THUMBS_SIGNIN_MAX_FAILURES="1000",
        THUMBS_SIGNIN_HASH_SLOTS=str(SLOTS),
    )


def server_pid(url: str) -> int:
    """The process of ``thumbs serve --port <the URL's port>``."""
    wanted = ["serve", "--port", str(urlsplit(url).port)]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "thumbs.cli" in args and args[-4:-1] == wanted:
            return int(cmdline.parent.name)
    raise AssertionError(f"no thumbs serve process for {url}")


def memory_kib(pid: int, field: str) -> int:
    """VmRSS (resident now) or VmHWM (the peak resident) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


@dataclass
class Flooded:
    url: str
    pid: int
    auth: tuple[str, str]


@pytest.fixture
def flooded_server(served: str, fresh: dict[str, str]) -> Flooded:
    """The served process with one account and its console admin (argon2 at its default)."""
    created = json.loads(
        thumbs("accounts", "create", "--name", "Flood", "--json", env=fresh).stdout
    )
    made = subprocess.run(
        [sys.executable, "-m", "thumbs.cli", "users", "create", "--account",
         created["account_sid"], "--email", EMAIL, "--role", "admin", "--password-stdin"],
        env=fresh, input=PASSWORD, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return Flooded(served, server_pid(served), (created["account_sid"], created["auth_token"]))


def login_form(client: httpx.Client) -> tuple[str, dict[str, str]]:
    """The sign-in form's token, and the cookie header that goes with it."""
    page = client.get("/console/login")
    assert page.status_code == 200
    token = csrf_of(page.text)
    return token, {"Cookie": f"thumbs_login_csrf={token}"}


def test_100_concurrent_bad_sign_ins_keep_memory_bounded_and_the_api_answering(
    flooded_server: Flooded,
) -> None:
    srv = flooded_server
    limits = httpx.Limits(max_connections=FLOOD + 10)
    with httpx.Client(base_url=srv.url, timeout=300, limits=limits) as client:
        token, cookie = login_form(client)

        def bad_sign_in(i: int) -> httpx.Response:
            email = EMAIL if i % 2 else f"nobody{i}@example.com"  # known and unknown
            return client.post(
                "/console/login",
                data={"email": email, "password": f"wrong {i}", "csrf_token": token},
                headers=cookie,
            )

        # warm up: a check for a known email, then one for an unknown (the dummy hash)
        assert [bad_sign_in(1).status_code, bad_sign_in(0).status_code] == [401, 401]
        before_kib = memory_kib(srv.pid, "VmRSS")

        start = threading.Barrier(FLOOD + 1)
        first = threading.Event()
        answered: list[int] = []

        def flood_one(i: int) -> httpx.Response:
            start.wait()
            res = bad_sign_in(i)
            answered.append(res.status_code)
            first.set()
            return res

        with ThreadPoolExecutor(max_workers=FLOOD) as pool:
            futures = [pool.submit(flood_one, i) for i in range(FLOOD)]
            start.wait()
            assert first.wait(timeout=300)
            with httpx.Client(base_url=srv.url, auth=srv.auth, timeout=300) as api:
                listed = api.get("/v1/Assistants")
                still_checking = len(answered) < FLOOD
            results = [f.result(timeout=300) for f in futures]
        peak_kib = memory_kib(srv.pid, "VmHWM")

        # the right password still signs in afterwards
        token, cookie = login_form(client)
        signed_in = client.post(
            "/console/login",
            data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
            headers=cookie,
        )

    assert listed.status_code == 200, listed.text
    assert still_checking, "the API request was answered only after the whole flood"
    assert {r.status_code for r in results} <= {401, 503}
    assert sum(r.status_code == 401 for r in results) >= SLOTS
    for busy in (r for r in results if r.status_code == 503):
        assert busy.headers["retry-after"] == "1"
        assert "Many sign-ins are being checked right now" in busy.text
    grown_mib = (peak_kib - before_kib) / 1024
    print(
        f"\nsign-in flood: RSS before {before_kib / 1024:.0f} MiB, peak {peak_kib / 1024:.0f} MiB"
    )
    assert grown_mib < SLOTS * HASH_MIB + SLACK_MIB, f"peak memory grew by {grown_mib:.0f} MiB"
    assert signed_in.status_code == 303


def test_concurrent_attempts_are_counted_before_their_passwords_are_checked(
    server: LiveServer, admin: ConsoleUser
) -> None:
    """30 wrong passwords for one email at once: exactly the limit (5) are checked, the
    others are refused unchecked, however they interleave."""
    count = 30
    with httpx.Client(base_url=server.url, timeout=60) as client:
        token, cookie = login_form(client)
    start = threading.Barrier(count)
    limits = httpx.Limits(max_connections=count + 5)
    with httpx.Client(base_url=server.url, timeout=60, limits=limits) as client:

        def attempt(i: int) -> int:
            start.wait()
            res = client.post(
                "/console/login",
                data={"email": admin.email, "password": f"guess {i}", "csrf_token": token},
                headers=cookie,
            )
            return res.status_code

        with ThreadPoolExecutor(max_workers=count) as pool:
            statuses = list(pool.map(attempt, range(count)))
    assert sorted(statuses) == [401] * 5 + [429] * 25
