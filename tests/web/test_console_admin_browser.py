"""The console's account pages in a real browser: assistants, console users (an invitation
used in another browser), API keys, and the settings page that shows what is inherited and
warns about unsaved changes."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect
from sqlalchemy import select

from tests.support.accounts import Account, ConsoleUser, make_api_key, make_console_user
from tests.support.console import open_console
from tests.support.http import create_feedback
from tests.support.server import LiveServer
from thumbs.store.models import FeedbackSetting, User

pytestmark = pytest.mark.browser

INHERITED = re.compile(r"\binherited\b")


def test_assistants_are_created_renamed_and_deleted_with_their_feedback_confirmed(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client
) -> None:
    open_console(page, server, admin, "assistants")
    new = page.locator("#new-assistant")
    # the API's rule, shown where it was broken, with what was typed kept
    new.get_by_label("Name").fill("Docs bot")
    new.get_by_label("Responder").select_option("openai")
    new.get_by_label("Base URL").fill("http://127.0.0.1:11434/v1")
    new.get_by_role("button", name="Create assistant").click()
    expect(new.get_by_role("alert")).to_have_text(
        "An OpenAI-compatible responder needs a model (responder_model)"
    )
    expect(new.get_by_label("Name")).to_have_value("Docs bot")
    expect(new.get_by_label("Base URL")).to_have_value("http://127.0.0.1:11434/v1")
    new.get_by_label("Base URL").fill("")
    new.get_by_label("Responder").select_option("embedded")
    expect(new.get_by_label("Base URL")).to_be_hidden()  # only for an endpoint
    new.get_by_role("button", name="Create assistant").click()
    expect(page.get_by_role("status")).to_have_text("Assistant created.")

    [listed] = api.get("/v1/Assistants").json()["assistants"]
    assert (listed["name"], listed["responder"]["kind"]) == ("Docs bot", "embedded")
    card = page.locator(f"#assistant-{listed['id']}")
    card.get_by_label("Name").fill("Help centre bot")
    card.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Assistant saved.")
    expect(card.locator(".assistant-name")).to_have_text("Help centre bot")

    # with feedback: the API's refusal, then a confirmation that deletes it all
    create_feedback(api, listed["id"], session_id="s1", score=0)
    card.get_by_text("Delete this assistant…").click()
    card.get_by_role("button", name="Delete Help centre bot").click()
    expect(card.get_by_role("alert")).to_contain_text("has 1 feedback records")
    card.get_by_role("button", name="Delete it with its feedback").click()
    expect(page.get_by_role("status")).to_have_text("Assistant deleted.")
    expect(page.locator(".assistant-card")).to_have_count(0)
    assert api.get("/v1/Assistants").json()["assistants"] == []


def test_an_admin_invites_a_member_who_sets_a_password_through_the_link(
    page: Page, browser: Browser, server: LiveServer, admin: ConsoleUser
) -> None:
    open_console(page, server, admin, "users")
    invite = page.locator("#invite")
    invite.get_by_label("Email").fill("grace@example.com")
    invite.get_by_label("Role").select_option("member")
    invite.get_by_role("button", name="Invite and make a link").click()
    link = page.get_by_label("Set-password link", exact=True).input_value()
    assert link.startswith(f"{server.url}/console/password/")
    row = page.locator("#users tr", has_text="grace@example.com")
    expect(row.locator(".badge")).to_have_text("invited")

    # the invited person, in a browser of their own
    theirs = browser.new_context(base_url=server.url)
    other = theirs.new_page()
    other.goto(link)
    expect(other.get_by_role("heading", name="Choose a password")).to_be_visible()
    expect(other.locator("strong")).to_have_text("grace@example.com")
    other.get_by_label("New password", exact=True).fill("grace's own password")
    other.get_by_label("New password again").fill("grace's own password")
    other.get_by_role("button", name="Set password and sign in").click()
    other.wait_for_url(f"{server.url}/console/simulator")
    expect(other.locator(".who .email")).to_have_text("grace@example.com")
    # a member: no admin pages in the navigation, and a 403 page at their address
    account_nav = other.get_by_role("navigation", name="Account").get_by_role("link")
    expect(account_nav).to_have_text(["Assistants"])
    other.goto("/console/users")
    expect(other.get_by_role("heading", name="Forbidden")).to_be_visible()

    # promoted, then deactivated: their session ends at once
    page.reload()
    row = page.locator("#users tr", has_text="grace@example.com")
    expect(row.locator(".badge")).to_have_text("active")
    row.get_by_label("Role of grace@example.com").select_option("admin")
    row.get_by_role("button", name="Change").click()
    expect(page.get_by_role("status")).to_have_text("Role changed.")
    other.goto("/console/users")
    expect(other.get_by_role("heading", name="Users")).to_be_visible()
    page.locator("#users tr", has_text="grace@example.com").get_by_role(
        "button", name="Deactivate grace@example.com"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("Deactivated")
    other.goto("/console/simulator")
    assert other.url.startswith(f"{server.url}/console/login")
    theirs.close()


def test_an_admin_revokes_an_api_key(
    page: Page, server: LiveServer, admin: ConsoleUser, account: Account
) -> None:
    key = make_api_key(server, account)
    open_console(page, server, admin, "keys")
    row = page.locator(f"#key-{key.sid}")
    row.get_by_text("Revoke…").click()
    row.get_by_role("button", name=f"Revoke {key.sid}").click()
    expect(page.get_by_role("status")).to_have_text(
        "Key revoked: it authenticates nothing any more."
    )
    expect(page.locator(f"#key-{key.sid}")).to_have_count(0)
    with server.client(auth=(key.sid, key.secret)) as app:
        assert app.get("/v1/Assistants").status_code == 401


def own_settings(server: LiveServer, assistant_id: str) -> list[tuple[str, bool, bool]]:
    with server.runtime.store.session() as s:
        rows = s.scalars(
            select(FeedbackSetting)
            .where(FeedbackSetting.scope == assistant_id)
            .order_by(FeedbackSetting.feedback_type)
        ).all()
        return [(r.feedback_type, r.auto_approve, r.require_reason) for r in rows]


def test_settings_show_what_is_inherited_and_go_back_to_the_account_default(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    res = api.put(
        "/v1/Settings/Feedback", json={"feedback_type": "negative", "require_reason": True}
    )
    assert res.status_code == 200
    open_console(page, server, admin, "settings")
    negative = page.locator(f"#lifecycle-{assistant_id} tr[data-type=negative]")
    expect(negative).to_have_class(INHERITED)
    expect(negative.locator("select.from")).to_have_value("account")
    expect(negative.locator(".from-note")).to_have_text("inherited: as set for the account")
    expect(
        negative.get_by_label("Support bot: negative require reason (inherited)")
    ).to_be_checked()

    # saving unchanged pins nothing
    page.get_by_role("button", name="Save Support bot").click()
    expect(page.get_by_role("status")).to_have_text("Feedback settings saved.")
    assert own_settings(server, assistant_id) == []

    # a changed value becomes the assistant's own; "Account default" takes it back
    negative.get_by_label("Support bot: negative require reason").uncheck()
    expect(negative.locator("select.from")).to_have_value("own")
    expect(negative).not_to_have_class(INHERITED)
    page.get_by_role("button", name="Save Support bot").click()
    expect(page.get_by_role("status")).to_have_text("Feedback settings saved.")
    assert own_settings(server, assistant_id) == [("negative", False, False)]
    negative.locator("select.from").select_option("account")
    expect(negative.get_by_label("Support bot: negative require reason")).to_be_checked()
    page.get_by_role("button", name="Save Support bot").click()
    expect(page.get_by_role("status")).to_have_text("Feedback settings saved.")
    assert own_settings(server, assistant_id) == []
    expect(negative.locator("select.from")).to_have_value("account")


def test_settings_warn_about_unsaved_changes(
    page: Page, server: LiveServer, admin: ConsoleUser, assistant_id: str
) -> None:
    dialogs: list[str] = []

    def answer(dialog: Dialog) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", answer)
    open_console(page, server, admin, "settings")
    row = page.locator("#lifecycle-account")
    unsaved = row.locator(".unsaved")
    expect(unsaved).to_be_hidden()
    row.get_by_label("Account default: positive auto approve").check()
    expect(unsaved).to_have_text("Unsaved changes")
    row.get_by_label("Account default: positive auto approve").uncheck()
    expect(unsaved).to_be_hidden()  # back as saved: nothing to warn about
    row.get_by_label("Account default: positive auto approve").check()
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Simulator").click()
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert page.url == f"{server.url}/console/settings"
    # saving is not leaving with unsaved changes
    page.get_by_role("button", name="Save Account default").click()
    expect(page.get_by_role("status")).to_have_text("Feedback settings saved.")
    assert dialogs == ["beforeunload"]
    with server.runtime.store.session() as s:
        stored = s.scalars(select(FeedbackSetting).where(FeedbackSetting.scope == "*")).all()
        assert {(r.feedback_type, r.auto_approve) for r in stored} == {
            ("positive", True),
            ("negative", False),
        }


def test_a_member_sees_settings_and_assistants_read_only(
    page: Page, server: LiveServer, account: Account, assistant_id: str
) -> None:
    member = make_console_user(server, account, "member@example.com", "member")
    open_console(page, server, member, "settings")
    expect(page.get_by_label("Support bot: positive auto approve")).to_be_disabled()
    expect(page.get_by_role("button", name="Save Support bot")).to_have_count(0)
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Assistants").click()
    expect(page.locator(".assistant-card").get_by_label("Name")).to_be_disabled()
    expect(page.get_by_role("button", name="Create assistant")).to_have_count(0)
    with server.runtime.store.session() as s:
        assert s.scalars(select(User.role).where(User.email == member.email)).one() == "member"
