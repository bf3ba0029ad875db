"""Console fixtures: an admin and a member, a signed-in httpx client, and Debian's Chromium
driven by Playwright (never a downloaded browser: a missing /usr/bin/chromium FAILS the
browser tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.accounts import Account, ConsoleUser, make_console_user
from tests.support.console import sign_in
from tests.support.server import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def admin(server: LiveServer, account: Account) -> ConsoleUser:
    return make_console_user(server, account, "admin@example.com", "admin")


@pytest.fixture
def member(server: LiveServer, account: Account) -> ConsoleUser:
    return make_console_user(server, account, "member@example.com", "member")


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
