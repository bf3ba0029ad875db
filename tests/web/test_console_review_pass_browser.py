"""The console's review screens in a real browser: the focused review item, the status line,
the wording of a decision, relative times, golden examples withdrawn only after a
confirmation and reinstated, and the explorer's question and reply."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.conftest import LiveServer
from tests.lifecycle_helpers import corrected, log_turn, thumbs
from tests.web.conftest import ConsoleUser, open_console

pytestmark = pytest.mark.browser


def test_withdraw_asks_first_and_a_withdrawn_example_is_reinstated(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    gid = corrected(api, assistant_id, "Use the link.", body="How do I reset my password?")
    open_console(page, server, admin, "golden")
    item = page.locator(f'[data-golden-id="{gid}"]')
    asked: list[str] = []

    def refuse(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", refuse)
    item.get_by_role("button", name="Withdraw").click()
    expect(item.get_by_role("button", name="Withdraw")).to_be_enabled()
    assert asked == [
        "Withdraw this golden example? Responders stop using it; you can reinstate it later."
    ]
    assert api.get(f"/v1/GoldenExamples/{gid}").json()["status"] == "active"

    page.once("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_role("status")).to_contain_text("Withdrawn")
    assert api.get(f"/v1/GoldenExamples/{gid}").json()["status"] == "withdrawn"

    page.locator(f'[data-golden-id="{gid}"]').get_by_role("button", name="Reinstate").click()
    expect(page.get_by_role("status")).to_contain_text("Reinstated")
    assert api.get(f"/v1/GoldenExamples/{gid}").json()["status"] == "active"


def test_the_question_of_a_preference_pair_reads_as_words(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    corrected(
        api, assistant_id, "Billing, then Invoices.", body="Where can I download my invoices?"
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    open_console(page, server, admin, "golden")
    question = page.locator("#pairs td.question").first
    expect(question).to_have_text("Where can I download my invoices?")
    box = question.bounding_box()
    assert box is not None
    assert box["width"] > 150  # a column, not a letter per line
    assert box["height"] < 80  # one or two lines


def test_the_review_item_says_what_approving_makes_and_shows_relative_times(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    fid = thumbs(api, log_turn(api, assistant_id), "negative", reason="vague").json()["id"]
    open_console(page, server, admin, "review")
    item = page.locator(f'[data-feedback-id="{fid}"]')
    when = item.locator("time")
    expect(when).to_have_text(re.compile(r"^(just now|\d+ (sec|min)\. ago)$"))
    expect(when).to_have_attribute("title", re.compile(r"\d{4}"))
    effect = item.locator(".approve-effect")
    expect(effect).to_have_text("Approve without a correction: no golden example is made.")
    item.locator("textarea.correction").fill("Use the Forgot password link.")
    expect(effect).to_have_text(
        "Approve with your correction: creates a golden example and a preference pair."
    )
    item.locator(".approve-button").click()
    expect(page.get_by_role("status")).to_have_text(
        "Approved with your correction: a golden example and a preference pair were made."
    )
