"""A new account gets going in the console alone, in a real browser: from an empty account
(made with the services, as `thumbs accounts create` and `thumbs users create` do) to the
first golden example, without one call to the /v1 API: the admin signs in, creates an
assistant with the embedded responder, chats in the Simulator, gives a thumbs down with a
reason, approves it with a correction in the review queue and finds the golden example."""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import select

from tests.support.accounts import make_account, make_console_user
from tests.support.console import open_console, say
from tests.support.server import LiveServer
from thumbs.store.models import Assistant, GoldenExample

pytestmark = pytest.mark.browser

QUESTION = "How do I export my invoices?"
CORRECTED = "Open Billing, choose Invoices, then Export as PDF."


def test_from_an_empty_account_to_the_first_golden_example(page: Page, server: LiveServer) -> None:
    account = make_account(server, "Fresh team")
    admin = make_console_user(server, account, "founder@example.com", "admin")
    dialogs: list[Dialog] = []
    page.on("dialog", lambda d: (dialogs.append(d), d.dismiss()))

    # 1. signed in, the Simulator has nothing to talk to yet and says where to start
    open_console(page, server, admin, "simulator")
    expect(page.locator("#sim-assistant option")).to_have_count(0)
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Assistants").click()
    expect(page.locator(".empty")).to_contain_text("No assistant yet")

    # 2. an assistant with the embedded responder, created in the console
    form = page.locator("#new-assistant")
    form.get_by_label("Name").fill("Billing bot")
    expect(form.get_by_label("Responder")).to_have_value("embedded")
    form.get_by_role("button", name="Create assistant").click()
    expect(page.get_by_role("status")).to_have_text("Assistant created.")
    card = page.locator(".assistant-card")
    expect(card.locator(".assistant-name")).to_have_text("Billing bot")
    with server.runtime.store.session() as s:
        [stored] = s.scalars(select(Assistant).where(Assistant.account_pk == account.pk)).all()
        assert (stored.name, stored.responder) == ("Billing bot", "embedded")

    # 3. chat in the Simulator: nothing golden yet, so no answer
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Simulator").click()
    expect(page.locator("#sim-assistant")).to_have_value(stored.id)
    say(page, QUESTION)
    reply = page.locator("#sim-chat li.turn.assistant").last
    expect(reply.locator(".content")).to_contain_text("no answer")

    # 4. thumbs down with a reason
    reply.get_by_label("Reason").fill("It should say where the export is")
    reply.get_by_role("button", name="Thumbs down").click()
    expect(reply.locator(".verdict")).to_have_text("Your verdict: negative (pending)")

    # 5. the review queue: approve with a correction
    page.get_by_role("link", name="Review queue").click()
    item = page.locator(".review-item").first
    expect(item.locator(".reason-text")).to_have_text("It should say where the export is")
    item.locator("textarea.correction").fill(CORRECTED)
    item.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text(
        "Approved with your correction: a golden example and a preference pair were made."
    )

    # 6. the first golden example holds the correction
    page.get_by_role("link", name="Golden examples").click()
    example = page.locator(".golden-item")
    expect(example).to_have_count(1)
    expect(example.locator("textarea.golden-output")).to_have_value(CORRECTED)
    expect(example.locator(".turn.user .content")).to_have_text(QUESTION)
    with server.runtime.store.session() as s:
        golden = s.scalars(select(GoldenExample)).all()
        assert [(g.output, g.source, g.assistant_pk) for g in golden] == [
            (CORRECTED, "corrected", stored.pk)
        ]
    assert dialogs == []
