"""Console fixtures: console users, a signed-in httpx client, and Debian's Chromium driven by
Playwright (never a downloaded browser: a missing /usr/bin/chromium FAILS the browser tests)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import Account, LiveServer
from thumbs.auth.console import create_user

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class ConsoleUser:
    email: str
    password: str
    sid: str
    pk: int


def make_user(server: LiveServer, account: Account, email: str, role: str = "admin") -> ConsoleUser:
    with server.runtime.store.session() as s:
        user = create_user(s, account_sid=account.sid, email=email, role=role, password=PASSWORD)
        return ConsoleUser(email=email, password=PASSWORD, sid=user.sid, pk=user.pk)


@pytest.fixture
def admin(server: LiveServer, account: Account) -> ConsoleUser:
    return make_user(server, account, "admin@example.com", "admin")


@pytest.fixture
def member(server: LiveServer, account: Account) -> ConsoleUser:
    return make_user(server, account, "member@example.com", "member")


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page has no form token"
    return found.group(1)


def sign_in(client: httpx.Client, user: ConsoleUser) -> httpx.Response:
    form = client.get("/console/login")
    assert form.status_code == 200
    return client.post(
        "/console/login",
        data={"email": user.email, "password": user.password, "csrf_token": csrf_of(form.text)},
    )


@pytest.fixture
def console(server: LiveServer, admin: ConsoleUser) -> Iterator[httpx.Client]:
    """An httpx client signed in to the console as ``admin``."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        res = sign_in(client, admin)
        assert res.status_code == 303, res.text
        yield client


# -- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. "
            "Install it with `apt-get install -y chromium` (never `playwright install`).",
            pytrace=False,
        )
    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()


def open_console(page: Page, server: LiveServer, user: ConsoleUser, screen: str) -> None:
    """Sign in through the form and land on ``/console/<screen>``."""
    page.goto(f"/console/login?next=/console/{screen}")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/console/{screen}")


def say(page: Page, text: str) -> None:
    """Ask the assistant in the Simulator."""
    page.get_by_placeholder("Ask the assistant…").fill(text)
    page.get_by_role("button", name="Send").click()
