"""The Simulator in a real browser: chat with the embedded responder, rate replies with
thumbs (reason rules from the settings), change the verdict, rate the session."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import select

from tests.responders import fake_openai
from tests.support.accounts import Account, ConsoleUser
from tests.support.console import open_console, say
from tests.support.server import LiveServer
from thumbs.kit import ids
from thumbs.store.models import Assistant, GoldenExample

pytestmark = pytest.mark.browser


def test_chat_rate_flip_and_rate_the_session(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    dialogs: list[Dialog] = []
    page.on("dialog", lambda d: (dialogs.append(d), d.dismiss()))
    # the settings screen: this assistant wants a reason with every thumbs down
    open_console(page, server, admin, "settings")
    page.get_by_label("Support bot: negative require reason").check()
    page.get_by_role("button", name="Save Support bot").click()
    expect(page.get_by_role("status")).to_have_text("Feedback settings saved.")
    expect(page.get_by_label("Support bot: negative require reason")).to_be_checked()
    page.get_by_role("link", name="Simulator").click()

    say(page, "<script>alert(1)</script> how do I reset my password?")
    reply = page.locator("#sim-chat li.turn.assistant").last
    expect(reply.locator(".content")).to_contain_text("no answer")
    user_turn = page.locator("#sim-chat li.turn.user").last
    expect(user_turn.locator(".content")).to_have_text(
        "<script>alert(1)</script> how do I reset my password?"
    )
    assert page.locator("#sim-chat script").count() == 0

    # thumbs down needs a reason here: the Simulator says so and sends nothing
    reply.get_by_role("button", name="Thumbs down").click()
    expect(reply.locator(".rate .error")).to_contain_text("A reason is required")
    reply.get_by_label("Reason").fill("It did not answer")
    reply.get_by_role("button", name="Thumbs down").click()
    expect(reply.locator(".verdict")).to_have_text("Your verdict: negative (pending)")
    expect(reply.get_by_role("button", name="Thumbs down")).to_have_attribute(
        "aria-pressed", "true"
    )

    # the verdict can be changed; the store keeps one record for this user and message
    reply.get_by_role("button", name="Thumbs up").click()
    expect(reply.locator(".verdict")).to_have_text("Your verdict: positive (pending)")
    message_id = reply.get_attribute("data-message-id")
    session_id = page.locator("#sim-session").text_content()
    assert session_id is not None
    assert session_id.startswith("aia_sess_")
    listed = api.get(
        f"/v1/Assistants/{assistant_id}/Feedbacks", params={"MessageId": message_id}
    ).json()["feedbacks"]
    assert [(f["score"], f["session_id"]) for f in listed] == [(1.0, session_id)]

    # the session as a whole
    page.locator("#sim-session-score").select_option("0")
    page.locator("#sim-session-text").fill("too slow overall")
    page.get_by_role("button", name="Rate session").click()
    expect(page.locator("#sim-session-verdict")).to_have_text("Session rated: score 0")
    texts = [
        f["text"]
        for f in api.get(
            f"/v1/Assistants/{assistant_id}/Feedbacks", params={"SessionId": session_id}
        ).json()["feedbacks"]
    ]
    assert "too slow overall" in texts

    # a new session starts empty
    page.get_by_role("button", name="New session").click()
    expect(page.locator("#sim-chat li")).to_have_count(0)
    expect(page.locator("#sim-session")).to_have_text("new")
    assert dialogs == []


def test_a_responder_failure_is_shown_in_the_chat(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    res = api.put(
        f"/v1/Assistants/{assistant_id}",
        json={
            "responder": "openai",
            "responder_base_url": "http://127.0.0.1:9/v1",
            "responder_model": "m",
        },
    )
    assert res.status_code == 200, res.text
    open_console(page, server, admin, "simulator")
    say(page, "Hello?")
    expect(page.locator("#sim-error")).to_be_visible()
    expect(page.locator("#sim-error")).to_contain_text("127.0.0.1:9")
    expect(page.locator("#sim-chat li.turn.assistant")).to_have_count(0)
    expect(page.get_by_placeholder("Ask the assistant…")).to_be_enabled()


def test_a_reason_typed_after_the_thumb_is_saved_on_enter_and_on_leaving_the_box(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    open_console(page, server, admin, "simulator")
    say(page, "How do I reset my password?")
    reply = page.locator("#sim-chat li.turn.assistant").last
    expect(reply.locator(".content")).to_contain_text("no answer")
    reply.get_by_role("button", name="Thumbs down").click()
    expect(reply.locator(".verdict")).to_have_text("Your verdict: negative (pending)")
    message_id = reply.get_attribute("data-message-id")

    def stored() -> tuple[str | None, str | None]:
        [fb] = api.get(
            f"/v1/Assistants/{assistant_id}/Feedbacks", params={"MessageId": message_id}
        ).json()["feedbacks"]
        mine = api.get(f"/v1/Review/{fb['id']}").json()
        return mine["feedback_type"], mine["reason"]

    assert stored() == ("negative", None)

    # typed after the thumb, then Enter: saved, and the Simulator says so
    box = reply.get_by_label("Reason")
    box.fill("It did not answer")
    box.press("Enter")
    expect(reply.locator(".reason-saved")).to_have_text("Reason saved.")
    assert stored() == ("negative", "It did not answer")

    # typing again clears the notice; leaving the box saves
    box.fill("It answered another question")
    expect(reply.locator(".reason-saved")).to_have_text("")
    page.get_by_placeholder("Ask the assistant…").focus()
    expect(reply.locator(".reason-saved")).to_have_text("Reason saved.")
    assert stored() == ("negative", "It answered another question")
    expect(reply.locator(".verdict")).to_have_text("Your verdict: negative (pending)")

    # a new reason, then straight to the other thumb: both land, in order
    box.fill("Actually fine")
    reply.get_by_role("button", name="Thumbs up").click()
    expect(reply.locator(".verdict")).to_have_text("Your verdict: positive (pending)")
    expect(reply.locator(".reason-saved")).to_have_text("Reason saved.")
    assert stored() == ("positive", "Actually fine")


def test_the_session_form_shows_only_once_there_is_a_session_and_says_what_happened(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    open_console(page, server, admin, "simulator")
    form = page.locator("#sim-session-feedback")
    expect(form).to_be_hidden()
    expect(page.get_by_role("button", name="Rate session")).to_be_hidden()
    say(page, "How do I reset my password?")
    expect(page.locator("#sim-chat li.turn.assistant")).to_have_count(1)
    expect(form).to_be_visible()
    page.get_by_role("button", name="Rate session").click()
    expect(page.locator("#sim-session-verdict")).to_have_text("Session rated: score 1")
    page.get_by_role("button", name="New session").click()
    expect(form).to_be_hidden()
    expect(page.locator("#sim-session-verdict")).to_have_text("")


def test_the_question_box_has_a_visible_label(
    page: Page, server: LiveServer, admin: ConsoleUser, assistant_id: str
) -> None:
    open_console(page, server, admin, "simulator")
    expect(page.get_by_text("Your question", exact=True)).to_be_visible()
    box = page.get_by_label("Your question")
    expect(box).to_have_attribute("id", "sim-body")
    box.fill("How do I reset my password?")
    box.press("Enter")
    expect(page.locator("#sim-chat li.turn.assistant")).to_have_count(1)


def test_the_reason_box_is_labelled_from_the_effective_settings(
    page: Page, server: LiveServer, admin: ConsoleUser, assistant_id: str
) -> None:
    open_console(page, server, admin, "simulator")
    say(page, "How do I reset my password?")
    reply = page.locator("#sim-chat li.turn.assistant").last
    expect(reply.locator(".reason")).to_have_attribute("placeholder", "Reason (optional)")
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Support bot: negative require reason").check()
    page.get_by_role("button", name="Save Support bot").click()
    expect(page.get_by_role("status")).to_have_text("Feedback settings saved.")
    page.get_by_role("link", name="Simulator").click()
    say(page, "How do I reset my password?")
    reply = page.locator("#sim-chat li.turn.assistant").last
    expect(reply.locator(".reason")).to_have_attribute(
        "placeholder", "Reason (required for thumbs down)"
    )
    expect(reply.get_by_label("Reason (required for thumbs down)")).to_be_visible()


@pytest.fixture
def fake() -> Iterator[fake_openai.FakeOpenAI]:
    with fake_openai.serving() as srv:
        yield srv


def use_endpoint(api: httpx.Client, assistant_id: str, base_url: str) -> None:
    res = api.put(
        f"/v1/Assistants/{assistant_id}",
        json={"responder": "openai", "responder_base_url": base_url, "responder_model": "m"},
    )
    assert res.status_code == 200, res.text


def test_thinking_is_shown_and_a_failed_question_stays_in_the_box_with_a_retry(
    page: Page,
    server: LiveServer,
    admin: ConsoleUser,
    api: httpx.Client,
    assistant_id: str,
    fake: fake_openai.FakeOpenAI,
) -> None:
    use_endpoint(api, assistant_id, fake.base_url("slow"))
    open_console(page, server, admin, "simulator")
    say(page, "Is the <b>sky</b> blue?")
    thinking = page.locator("#sim-chat li.thinking")
    expect(thinking).to_have_text("The assistant is thinking…")
    expect(page.locator("#sim-chat li.turn.user")).to_have_count(1)
    fake.release.set()  # the endpoint answers, without choices: the question fails
    expect(page.locator("#sim-error")).to_be_visible()
    expect(thinking).to_have_count(0)
    # not in the chat as if sent: the text is back in the box
    expect(page.locator("#sim-chat li")).to_have_count(0)
    expect(page.get_by_label("Your question")).to_have_value("Is the <b>sky</b> blue?")
    use_endpoint(api, assistant_id, fake.base_url("ok"))
    page.get_by_role("button", name="Retry").click()
    reply = page.locator("#sim-chat li.turn.assistant")
    expect(reply).to_have_count(1)
    expect(reply.locator(".content")).to_contain_text("sky")
    expect(page.locator("#sim-chat li.turn.user .content")).to_have_text("Is the <b>sky</b> blue?")
    expect(page.locator("#sim-error")).to_be_hidden()
    expect(page.get_by_label("Your question")).to_have_value("")


HOSTILE = (
    "# Steps\n\nRun **this**:\n\n```\nthumbs serve <now>\n```\n\n"
    '<script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2"> '
    "[click](javascript:window.pwned=3)"
)


def add_golden(
    server: LiveServer, account: Account, assistant_id: str, prompt: str, output: str
) -> None:
    with server.runtime.store.session() as s:
        bot = s.scalars(select(Assistant).where(Assistant.id == assistant_id)).one()
        s.add(
            GoldenExample(
                id=ids.new_id(ids.GOLDEN),
                account_pk=account.pk,
                assistant_pk=bot.pk,
                input=[{"role": "user", "content": prompt}],
                prompt=prompt,
                output=output,
                source="corrected",
                status="active",
            )
        )


def test_replies_render_markdown_and_code_and_any_html_as_text(
    page: Page, server: LiveServer, admin: ConsoleUser, account: Account, assistant_id: str
) -> None:
    add_golden(server, account, assistant_id, "How do I start the server?", HOSTILE)
    open_console(page, server, admin, "simulator")
    say(page, "How do I start the server?")
    content = page.locator("#sim-chat li.turn.assistant .content")
    expect(content.locator("h1")).to_have_text("Steps")
    expect(content.locator("strong")).to_have_text("this")
    expect(content.locator("pre code")).to_have_text("thumbs serve <now>\n")
    expect(content).to_contain_text("<script>window.pwned = 1</script>")
    expect(content).to_contain_text('<img src=x onerror="window.pwned = 2">')
    assert content.locator("script, img, a[href^='javascript']").count() == 0
    assert page.evaluate("window.pwned") is None
    expect(page.get_by_role("button", name="Show more")).to_have_count(0)


def test_a_very_long_reply_is_collapsed_with_show_more(
    page: Page, server: LiveServer, admin: ConsoleUser, account: Account, assistant_id: str
) -> None:
    long_reply = "Start here. " + "All the details of the long answer. " * 150 + "The end."
    assert len(long_reply) > 5000
    add_golden(server, account, assistant_id, "Tell me everything about invoices", long_reply)
    open_console(page, server, admin, "simulator")
    say(page, "Tell me everything about invoices")
    content = page.locator("#sim-chat li.turn.assistant .content")
    expect(content).to_have_class("content md collapsed")
    collapsed = content.bounding_box()
    assert collapsed is not None
    more = page.get_by_role("button", name="Show more")
    more.click()
    expect(content).to_have_class("content md")
    expect(page.get_by_role("button", name="Show less")).to_have_attribute("aria-expanded", "true")
    opened = content.bounding_box()
    assert opened is not None
    assert opened["height"] > collapsed["height"]


def test_the_session_is_kept_in_the_url_and_resumed_on_reload_back_and_nav(
    page: Page, server: LiveServer, admin: ConsoleUser, api: httpx.Client, assistant_id: str
) -> None:
    open_console(page, server, admin, "simulator")
    say(page, "How do I reset my password?")
    expect(page.locator("#sim-chat li.turn.assistant")).to_have_count(1)
    session_id = page.locator("#sim-session").text_content()
    assert session_id is not None
    assert session_id.startswith("aia_sess_")
    expect(page).to_have_url(re.compile(rf"\?session={session_id}&assistant={assistant_id}$"))

    def resumed() -> None:
        expect(page.locator("#sim-session")).to_have_text(session_id)
        expect(page.locator("#sim-chat li.turn.user .content")).to_have_text(
            ["How do I reset my password?"]
        )
        expect(page.locator("#sim-chat li.turn.assistant .content")).to_contain_text(["no answer"])
        expect(page.locator("#sim-session-feedback")).to_be_visible()

    page.reload()
    resumed()
    # the resumed conversation goes on in the same session, and its replies can be rated
    say(page, "And my username?")
    expect(page.locator("#sim-chat li.turn.assistant")).to_have_count(2)
    expect(page.locator("#sim-session")).to_have_text(session_id)
    first = page.locator("#sim-chat li.turn.assistant").first
    first.get_by_role("button", name="Thumbs up").click()
    expect(first.locator(".verdict")).to_have_text("Your verdict: positive (pending)")
    # leaving by the nav and coming back
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Simulator").click()
    expect(page.locator("#sim-chat li.turn.user")).to_have_count(2)
    expect(page.locator("#sim-session")).to_have_text(session_id)
    # a new session, then Back: the old one again
    page.get_by_role("button", name="New session").click()
    expect(page.locator("#sim-session")).to_have_text("new")
    expect(page.locator("#sim-session-feedback")).to_be_hidden()
    page.go_back()
    expect(page.locator("#sim-chat li.turn.user")).to_have_count(2)
    expect(page.locator("#sim-session")).to_have_text(session_id)
    # the recent sessions list resumes it too
    page.get_by_role("button", name="New session").click()
    page.reload()
    expect(page.locator("#sim-session")).to_have_text("new")
    page.locator("#sim-recent").get_by_role("link", name=re.compile(session_id)).click()
    expect(page.locator("#sim-chat li.turn.user")).to_have_count(2)
    expect(page.locator("#sim-session")).to_have_text(session_id)
