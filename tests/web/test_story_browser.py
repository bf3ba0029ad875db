"""The whole loop in a real browser: a developer chats in the Simulator, gives a thumbs down
with a reason, an admin finds it in the review queue and approves it with a correction from
the keyboard, the golden example shows the correction, and the same question asked again
gets the corrected answer."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.support.accounts import ConsoleUser
from tests.support.console import open_console, say
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser

QUESTION = "How do I reset my password?"
CORRECTED = "Open Settings, choose Security, then Reset password."


def test_thumbs_down_review_correct_and_the_assistant_learns(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    dialogs: list[Dialog] = []
    page.on("dialog", lambda d: (dialogs.append(d), d.dismiss()))
    open_console(page, server, admin, "simulator")

    # 1. chat with the embedded responder: nothing golden yet
    say(page, QUESTION)
    reply = page.locator("#sim-chat li.turn.assistant").last
    expect(reply.locator(".content")).to_contain_text("no answer")

    # 2. thumbs down with a reason
    reply.get_by_label("Reason").fill("<script>alert(1)</script> it did not help")
    reply.get_by_role("button", name="Thumbs down").click()
    expect(reply.locator(".verdict")).to_have_text("Your verdict: negative (pending)")

    # 3. the review queue has it, with the conversation and the reason as text
    page.get_by_role("link", name="Review queue").click()
    item = page.locator(".review-item").first
    expect(item.locator(".reason-text")).to_have_text("<script>alert(1)</script> it did not help")
    expect(item.locator(".turn.user .content")).to_have_text(QUESTION)
    assert page.locator("#review-queue script").count() == 0

    # 4. approve with a correction, from the keyboard: e edits, Esc leaves, a approves
    expect(item).to_have_class("card review-item selected")
    page.keyboard.press("e")
    correction = item.locator("textarea.correction")
    expect(correction).to_be_focused()
    correction.fill(CORRECTED)
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(page.get_by_role("status")).to_have_text(
        "Approved with your correction: a golden example and a preference pair were made."
    )
    expect(page.locator(".review-item")).to_have_count(0)

    # 5. the golden example holds the corrected reply, and a preference pair was made
    page.get_by_role("link", name="Golden examples").click()
    example = page.locator(".golden-item").first
    expect(example.locator("textarea.golden-output")).to_have_value(CORRECTED)
    expect(example.locator(".turn.user .content")).to_have_text(QUESTION)
    expect(page.locator("#pairs td.chosen")).to_have_text(CORRECTED)

    # 6. the same question again: the corrected answer
    page.get_by_role("link", name="Simulator").click()
    say(page, QUESTION)
    expect(page.locator("#sim-chat li.turn.assistant .content").last).to_have_text(CORRECTED)
    assert dialogs == []
