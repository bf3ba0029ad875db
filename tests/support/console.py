"""The console's moves: its form token, signing in over HTTP, and, in the browser, signing
in through the form and asking the Simulator."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page

from tests.support.accounts import ConsoleUser
from tests.support.server import LiveServer

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


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
