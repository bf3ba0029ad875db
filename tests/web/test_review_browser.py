"""The review queue in a real browser: two tabs of the queue, a decision in one, and the
stale other tab is told that someone decided meanwhile instead of overturning it."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.accounts import ConsoleUser
from tests.support.console import open_console
from tests.support.lifecycle import log_turn, thumbs
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser


def test_a_stale_tab_is_told_someone_decided_meanwhile(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    fid = thumbs(api, log_turn(api, assistant_id), "negative", reason="wrong").json()["id"]
    open_console(page, server, admin, "review")  # tab B, opened first
    tab_a = page.context.new_page()
    tab_a.goto("/console/review")
    tab_a.locator(f'[data-feedback-id="{fid}"] .approve-button').click()
    expect(tab_a.get_by_role("status")).to_have_text(
        "Approved, without a correction: no golden example was made."
    )

    page.locator(f'[data-feedback-id="{fid}"] .dismiss-note').fill("spam")
    page.locator(f'[data-feedback-id="{fid}"] .dismiss-button').click()

    expect(page.get_by_role("alert")).to_contain_text("Someone decided on that feedback meanwhile")
    assert api.get(f"/v1/Review/{fid}").json()["status"] == "reviewed"
