"""The analytics dashboard over plain HTTP: signed-in users only, what people typed shown
escaped, its filters validated with the console's error page, scoped to the account."""

from __future__ import annotations

import httpx

from tests.support.accounts import Account, make_account, make_console_user
from tests.support.console import sign_in
from tests.support.http import create_assistant, create_feedback
from tests.support.lifecycle import log_turn, thumbs
from tests.support.server import LiveServer


def test_the_dashboard_needs_a_signed_in_user(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as anonymous:
        res = anonymous.get("/console/analytics?tz=UTC")
    assert res.status_code == 303
    assert res.headers["location"].startswith("/console/login?next=")


def test_what_people_typed_is_escaped(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    attack = "<img src=x onerror=alert(1)>"
    reply = log_turn(api, assistant_id, session_id="<b>s</b>", body=attack, reply=attack)
    thumbs(api, reply, "negative", reason=f"{attack} {attack}", identity="<i>who</i>")
    thumbs(api, reply, "negative", reason=f"{attack} {attack}", identity="other")
    res = console.get("/console/analytics")
    assert res.status_code == 200
    assert "<img src=x" not in res.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in res.text  # the worst reply and question
    assert "&lt;b&gt;s&lt;/b&gt;" in res.text  # the session
    assert "&lt;i&gt;who&lt;/i&gt;" in res.text  # the end user
    assert "<b>s</b>" not in res.text


def test_filters_are_validated_with_the_console_error_page(console: httpx.Client) -> None:
    for query, said in [
        ("tz=Mars/Base", "is not an IANA time zone"),
        ("interval=year", "interval must be one of"),
        ("type=great", "type must be one of"),
        ("date_from=yesterday", "date_from must be a date"),
        ("assistant=aia_asst_nope", "aia_asst_nope"),
        ("date_from=2026-02-01&date_to=2026-01-01", "later than"),
        ("interval=hour&date_from=2026-01-01&date_to=2026-03-01", "more than 1000 buckets"),
    ]:
        res = console.get(f"/console/analytics?{query}")
        assert res.status_code in (400, 404), query
        assert res.headers["content-type"].startswith("text/html")
        assert said in res.text, query


def test_a_member_sees_the_dashboard_of_their_own_account_only(
    server: LiveServer, api: httpx.Client, account: Account, assistant_id: str
) -> None:
    create_feedback(api, assistant_id, score=1.0)
    stranger = make_account(server, "stranger")
    with server.client(auth=(stranger.sid, stranger.token)) as theirs:
        secret = create_assistant(theirs, "Their secret bot")
        create_feedback(theirs, secret, score=0.0, text="their words")
    member = make_console_user(server, account, "member@example.com", "member")
    with httpx.Client(base_url=server.url) as client:
        assert sign_in(client, member).status_code == 303
        page = client.get("/console/analytics")
        assert page.status_code == 200
        assert "Their secret bot" not in page.text
        assert "their words" not in page.text
        assert 'data-metric="count"><dt>Feedback</dt><dd>1</dd>' in page.text
        assert client.get(f"/console/analytics?assistant={secret}").status_code == 404
