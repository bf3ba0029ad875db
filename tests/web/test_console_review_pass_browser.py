"""The console's review screens in a real browser: the focused review item, the status line,
the wording of a decision, relative times, golden examples withdrawn only after a
confirmation and reinstated, and the explorer's question and reply."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.support.accounts import ConsoleUser
from tests.support.console import open_console
from tests.support.lifecycle import corrected, log_turn, thumbs
from tests.support.server import LiveServer

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


def _three_pending(api: httpx.Client, assistant_id: str) -> list[str]:
    ids = []
    for i in range(3):
        reply = log_turn(api, assistant_id, session_id=f"q{i}", body=f"Question {i}?")
        ids.append(thumbs(api, reply, "negative", reason=f"reason {i}").json()["id"])
    return ids


def test_the_queue_shows_one_item_with_the_list_beside_and_keeps_the_keys(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    first, second, third = _three_pending(api, assistant_id)
    page.set_viewport_size({"width": 1280, "height": 900})
    open_console(page, server, admin, "review")
    progress = page.locator("#review-progress")
    expect(progress).to_have_text("1 of 3")
    expect(page.locator("#pending-count")).to_have_text("3")
    expect(page.locator(f'article[data-feedback-id="{first}"]')).to_be_visible()
    expect(page.locator(f'article[data-feedback-id="{second}"]')).to_be_hidden()
    listed = page.locator(".review-pick")
    expect(listed).to_have_count(3)
    side = page.locator(".review-list").bounding_box()
    shown = page.locator(f'article[data-feedback-id="{first}"]').bounding_box()
    assert side is not None
    assert shown is not None
    assert side["x"] + side["width"] <= shown["x"]  # beside

    page.keyboard.press("j")
    expect(progress).to_have_text("2 of 3")
    expect(page.locator(f'article[data-feedback-id="{second}"]')).to_be_visible()
    expect(page.locator(f'article[data-feedback-id="{first}"]')).to_be_hidden()
    expect(listed.nth(1)).to_have_attribute("aria-current", "true")
    listed.nth(2).click()
    expect(progress).to_have_text("3 of 3")
    expect(page.locator(f'article[data-feedback-id="{third}"]')).to_be_visible()
    page.keyboard.press("k")
    expect(progress).to_have_text("2 of 3")

    # d then Enter dismisses the selected item; the status line stays in view
    page.keyboard.press("d")
    page.keyboard.type("duplicate")
    page.keyboard.press("Enter")
    status = page.get_by_role("status")
    expect(status).to_have_text("Dismissed.")
    expect(status).to_be_in_viewport()
    assert status.evaluate("el => getComputedStyle(el).position") == "fixed"
    expect(page.locator("#pending-count")).to_have_text("2")
    expect(progress).to_have_text("1 of 2")
    assert api.get(f"/v1/Review/{second}").json()["status"] == "dismissed"
    assert api.get(f"/v1/Review/{first}").json()["status"] == "pending"


def test_on_a_narrow_screen_the_list_stacks_above_the_item(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    first, _, _ = _three_pending(api, assistant_id)
    page.set_viewport_size({"width": 390, "height": 844})
    open_console(page, server, admin, "review")
    side = page.locator(".review-list").bounding_box()
    shown = page.locator(f'article[data-feedback-id="{first}"]').bounding_box()
    assert side is not None
    assert shown is not None
    assert side["y"] + side["height"] <= shown["y"]  # stacked
    assert shown["width"] <= 390
