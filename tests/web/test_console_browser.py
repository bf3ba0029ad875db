"""The console in a real browser (Debian's Chromium through Playwright) against the live
server: sign in, sign out, a wrong password, and feedback text rendered as text."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Dialog, Page
from sqlalchemy import func, select

from tests.support.accounts import ConsoleUser
from tests.support.server import LiveServer
from thumbs.store.models import WebSession

pytestmark = pytest.mark.browser


def sessions_stored(server: LiveServer) -> int:
    with server.runtime.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(WebSession)) or 0)


def fill_login(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_user_signs_in_and_out(page: Page, server: LiveServer, admin: ConsoleUser) -> None:
    page.goto("/console/feedback")
    # not signed in: sent to the sign-in page, and back where they wanted after it
    assert page.url.startswith(f"{server.url}/console/login?next=")
    fill_login(page, admin.email, admin.password)
    page.wait_for_url(f"{server.url}/console/feedback")
    assert page.locator(".who .email").text_content() == admin.email
    assert page.get_by_role("navigation", name="Console").get_by_role(
        "link"
    ).all_text_contents() == [
        "Simulator",
        "Review queue",
        "Golden examples",
        "Settings",
        "Feedback explorer",
        "Analytics",
    ]
    cookie = next(c for c in page.context.cookies() if c["name"] == "thumbs_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert sessions_stored(server) == 1

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{server.url}/console/login")
    assert sessions_stored(server) == 0
    page.goto("/console/settings")
    assert page.url.startswith(f"{server.url}/console/login")
    # the old cookie value is dead on the server too
    with httpx.Client(base_url=server.url) as client:
        client.cookies.set("thumbs_session", cookie["value"], path="/console")
        assert client.get("/console/settings").status_code == 303


def test_a_wrong_password_is_refused(page: Page, server: LiveServer, admin: ConsoleUser) -> None:
    page.goto("/console/login")
    fill_login(page, admin.email, "not the password")
    assert page.get_by_role("alert").text_content() == "Email or password is wrong."
    assert page.url == f"{server.url}/console/login"
    assert page.get_by_label("Email").input_value() == admin.email
    assert [c["name"] for c in page.context.cookies() if c["name"] == "thumbs_session"] == []
    assert sessions_stored(server) == 0


def test_feedback_text_is_shown_as_text_not_run(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    payload = "<script>alert(1)</script>"
    res = api.post(
        f"/v1/Assistants/{assistant_id}/Feedbacks",
        json={"session_id": "<b>sess</b>", "score": 0, "text": payload},
    )
    assert res.status_code == 201
    dialogs: list[Dialog] = []
    page.on("dialog", lambda d: (dialogs.append(d), d.dismiss()))
    page.goto("/console/login?next=/console/feedback")
    fill_login(page, admin.email, admin.password)
    page.wait_for_url(f"{server.url}/console/feedback")
    cell = page.locator("#feedback-table td.fb-text")
    assert cell.text_content() == payload
    assert page.locator("#feedback-table a.fb-session").text_content() == "<b>sess</b>"
    assert page.locator("#feedback-table script").count() == 0
    assert page.locator("#feedback-table td b").count() == 0
    assert dialogs == []
