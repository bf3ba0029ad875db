"""How the console looks and behaves everywhere, in a real browser: no page scrolls sideways
at 390 px (tables scroll inside their own box), a menu on narrow screens, dark mode from
the system setting, SVG icons with labels instead of emoji, a favicon, the strict CSP kept
(no page trips it), the cursor on the password after a refusal, and a sign-in link when
the session ended in another tab."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.support.accounts import Account, ConsoleUser, make_api_key
from tests.support.console import open_console, say
from tests.support.http import create_feedback
from tests.support.server import LiveServer
from thumbs.store.models import WebSession

pytestmark = pytest.mark.browser

SCREENS = ("simulator", "review", "golden", "assistants", "settings", "feedback", "users", "keys")
LONG = "a-session-id-that-goes-on-and-on-" * 3
EMOJI = re.compile("[\U0001f44d\U0001f44e]")


@pytest.fixture
def seeded(server: LiveServer, account: Account, api: httpx.Client) -> str:
    """Enough to fill every screen: a long assistant name, long ids and texts."""
    name = "Billing helper with a rather long name that keeps going"
    assistant = api.post("/v1/Assistants", json={"name": name}).json()["id"]
    res = api.post(
        f"/v1/Assistants/{assistant}/Messages",
        json={
            "identity": "someone@example.com",
            "session_id": LONG,
            "body": "Where is my invoice?",
        },
    )
    assert res.status_code == 200, res.text
    for score in (0, 1):
        create_feedback(
            api, assistant, session_id=LONG, score=score, text="far too long to read " * 12
        )
    make_api_key(server, account)
    return str(assistant)


@pytest.fixture
def narrow(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def csp_refusals(page: Page) -> list[str]:
    found: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            found.append(message.text)

    page.on("console", seen)
    return found


def test_no_page_scrolls_sideways_at_390_px(
    narrow: Page, server: LiveServer, admin: ConsoleUser, seeded: str
) -> None:
    refusals = csp_refusals(narrow)
    narrow.goto("/console/login")
    assert narrow.evaluate("document.scrollingElement.scrollWidth") <= 390
    open_console(narrow, server, admin, "simulator")
    for screen in (*SCREENS, f"sessions/{LONG}?assistant={seeded}"):
        narrow.goto(f"/console/{screen}")
        width = narrow.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 390, f"/console/{screen} is {width} px wide"
    # the explorer's table scrolls inside its own box
    narrow.goto("/console/feedback")
    box = narrow.locator("#feedback-table")
    assert box.evaluate("t => t.scrollWidth > t.clientWidth")
    assert box.evaluate("t => getComputedStyle(t).overflowX") == "auto"
    assert refusals == []


def test_a_menu_holds_the_navigation_on_narrow_screens(
    narrow: Page, page: Page, server: LiveServer, admin: ConsoleUser
) -> None:
    open_console(narrow, server, admin, "settings")
    menu = narrow.get_by_role("button", name="Menu")
    console_nav = narrow.get_by_role("navigation", name="Console")
    expect(console_nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(console_nav).to_be_visible()
    expect(narrow.get_by_role("navigation", name="Account")).to_be_visible()
    expect(narrow.get_by_role("button", name="Log out")).to_be_visible()
    box = console_nav.bounding_box()
    assert box is not None
    assert box["width"] <= 390
    narrow.keyboard.press("Escape")
    expect(console_nav).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()
    console_nav.get_by_role("link", name="Feedback explorer").click()
    narrow.wait_for_url(f"{server.url}/console/feedback")
    expect(narrow.get_by_role("navigation", name="Console")).to_be_hidden()
    # wide: the navigation is in the bar, on one line, with no menu button
    open_console(page, server, admin, "settings")
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    links = page.locator(".topbar nav a")
    tops = [(links.nth(i).bounding_box() or {"y": -100.0})["y"] for i in range(links.count())]
    assert max(tops) - min(tops) < 4, tops  # one line


@pytest.mark.parametrize(("scheme", "dark"), [("light", False), ("dark", True)])
def test_the_console_follows_the_systems_colour_scheme(
    browser: Browser, server: LiveServer, admin: ConsoleUser, scheme: str, dark: bool
) -> None:
    context = browser.new_context(base_url=server.url, color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    open_console(page, server, admin, "settings")

    def luminance(css: str) -> float:
        r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255

    body = page.evaluate("getComputedStyle(document.body).backgroundColor")
    text = page.evaluate("getComputedStyle(document.body).color")
    card = page.evaluate("getComputedStyle(document.querySelector('.topbar')).backgroundColor")
    assert (luminance(body) < 0.2) is dark
    assert (luminance(card) < 0.2) is dark
    assert (luminance(text) > 0.7) is dark
    context.close()


def test_icons_are_svg_with_labels_and_there_is_a_favicon(
    page: Page, server: LiveServer, admin: ConsoleUser, seeded: str
) -> None:
    open_console(page, server, admin, "settings")
    positive = page.locator("#lifecycle-account tr[data-type=positive] .type-label")
    expect(positive).to_have_text("positive")
    assert positive.locator("svg.icon-thumb-up[aria-hidden=true]").count() == 1
    negative = page.locator("#lifecycle-account tr[data-type=negative] .type-label")
    expect(negative).to_have_text("negative")
    assert negative.locator("svg.icon-thumb-down").count() == 1
    for screen in ("settings", "assistants", "users", "keys"):
        page.goto(f"/console/{screen}")
        assert not EMOJI.search(page.locator("body").inner_text()), screen
    icon = page.locator("head link[rel=icon]")
    expect(icon).to_have_attribute("href", "/console/static/favicon.svg")
    # the favicon loads as an image (the CSP allows it: same origin)
    loaded = page.evaluate(
        """() => new Promise(done => { const i = new Image(); i.onload = () => done(i.width > 0);
             i.onerror = () => done(false); i.src = '/console/static/favicon.svg'; })"""
    )
    assert loaded is True


def test_after_a_wrong_password_the_cursor_is_on_the_password(
    page: Page, server: LiveServer, admin: ConsoleUser
) -> None:
    page.goto("/console/login")
    expect(page.get_by_label("Email")).to_be_focused()
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")
    expect(page.get_by_label("Email")).to_have_value(admin.email)
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(admin.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/console/simulator")


def test_a_session_ended_elsewhere_shows_a_sign_in_link(
    page: Page, server: LiveServer, admin: ConsoleUser, assistant_id: str
) -> None:
    open_console(page, server, admin, "simulator")
    banner = page.locator(".signed-out")
    expect(banner).to_be_hidden()
    with server.runtime.store.session() as s:  # signed out in another tab, or expired
        s.execute(WebSession.__table__.delete())
    say(page, "Are you still there?")
    expect(banner).to_be_visible()
    link = banner.get_by_role("link", name="Sign in again")
    expect(link).to_have_attribute("href", "/console/login?next=%2Fconsole%2Fsimulator")
    # what was typed stays (back in the box); signing in again in a new tab lets it go on
    expect(page.get_by_label("Your question")).to_have_value("Are you still there?")
    with page.context.expect_page() as opened:
        link.click()
    other = opened.value
    other.get_by_label("Email").fill(admin.email)
    other.get_by_label("Password").fill(admin.password)
    other.get_by_role("button", name="Sign in").click()
    other.wait_for_url(f"{server.url}/console/simulator")
    # back on the first page, the retry goes through (with the new session's form token)
    page.bring_to_front()
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("#sim-chat li.turn.assistant .content")).to_contain_text("no answer")
    expect(page.locator("#sim-chat li.turn.user .content")).to_have_text("Are you still there?")
    expect(banner).to_be_hidden()
