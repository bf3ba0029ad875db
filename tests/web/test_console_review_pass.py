"""The console's review screens over HTTP: the explorer's question and reply, the channel of
a console session rating, the review item's wording, and reinstating a golden example."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.support.accounts import make_console_user
from tests.support.console import csrf_of, sign_in
from tests.support.lifecycle import corrected, log_turn, thumbs


def _row(html: str, feedback_id: str) -> str:
    match = re.search(rf'<tr data-id="{feedback_id}">(.*?)</tr>', html, re.S)
    assert match is not None, html
    return match.group(1)


def _rate_session(console: httpx.Client, assistant_id: str, body: dict[str, Any]) -> str:
    token = csrf_of(console.get("/console/simulator").text)
    res = console.post(
        f"/console/api/assistants/{assistant_id}/session-feedback",
        json=body,
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert res.status_code == 201, res.text
    return str(res.json()["id"])


def test_the_explorer_shows_the_question_and_the_reply_escaped_and_clipped(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    long_reply = "Open <b>Settings</b> then Billing. " * 10
    reply = log_turn(api, assistant_id, body="How do I <i>pay</i>?", reply=long_reply)
    fid = thumbs(api, reply, "negative", reason="too long").json()["id"]
    row = _row(console.get("/console/feedback").text, fid)
    question = re.search(r'<td class="fb-question">(.*?)</td>', row, re.S)
    answer = re.search(r'<td class="fb-reply">(.*?)</td>', row, re.S)
    assert question is not None
    assert answer is not None
    assert "How do I &lt;i&gt;pay&lt;/i&gt;?" in question.group(1)
    assert "<details" not in question.group(1)  # short: shown whole
    # long: a clipped summary with the full text on hover and on expanding
    assert '<details class="clip' in answer.group(1)
    summary = re.search(r"<summary title=\"(.*?)\">(.*?)</summary>", answer.group(1), re.S)
    assert summary is not None
    assert summary.group(1) == long_reply.replace("<", "&lt;").replace(">", "&gt;")
    assert summary.group(2).endswith("…")
    assert len(summary.group(2)) < 120
    assert "<b>" not in row


def test_a_session_rated_in_the_console_is_channel_console_and_the_api_stays_api(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    rated = _rate_session(console, assistant_id, {"session_id": "sim-1", "score": 0})
    created = api.post(
        f"/v1/Assistants/{assistant_id}/Feedbacks", json={"session_id": "app-1", "score": 1}
    ).json()["id"]
    html = console.get("/console/feedback").text
    assert '<td class="fb-channel">console</td>' in _row(html, rated)
    assert '<td class="fb-channel">api</td>' in _row(html, created)
    assert rated in console.get("/console/feedback?channel=console").text
    assert created not in console.get("/console/feedback?channel=console").text
    queued = api.get("/v1/Review", params={"Channel": "console"}).json()["feedbacks"]
    assert [f["id"] for f in queued] == [rated]


def test_a_withdrawn_golden_example_is_reinstated(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    gid = corrected(api, assistant_id, "Use the Forgot password link.")
    html = console.get("/console/golden").text
    token = csrf_of(html)
    assert 'class="inline golden-withdraw" data-confirm="Withdraw this golden example?' in html
    res = console.post(f"/console/golden/{gid}/withdraw", data={"csrf_token": token})
    assert res.status_code == 303
    withdrawn = api.get(f"/v1/GoldenExamples/{gid}").json()
    assert (withdrawn["status"], withdrawn["withdrawn_reason"]) == (
        "withdrawn",
        "withdrawn by admin@example.com",
    )
    page = console.get(res.headers["location"]).text
    assert "Reinstate it to use it again." in page
    assert f'action="/console/golden/{gid}/reinstate"' in page
    res = console.post(f"/console/golden/{gid}/reinstate", data={"csrf_token": token})
    assert res.status_code == 303
    assert res.headers["location"] == "/console/golden?done=reinstated"
    back = api.get(f"/v1/GoldenExamples/{gid}").json()
    assert (back["status"], back["withdrawn_at"], back["withdrawn_reason"]) == (
        "active",
        None,
        None,
    )
    assert gid in console.get("/console/golden", params={"status": "active"}).text
    # the responder answers with it again
    token = csrf_of(console.get("/console/simulator").text)
    answer = console.post(
        f"/console/api/assistants/{assistant_id}/messages",
        json={"body": "How do I reset my password?"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert "Forgot password link" in answer.text


def test_reinstating_needs_an_admin_and_the_csrf_token(
    server: Any, account: Any, console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    gid = corrected(api, assistant_id, "Kept.")
    token = csrf_of(console.get("/console/golden").text)
    assert (
        console.post(f"/console/golden/{gid}/withdraw", data={"csrf_token": token}).status_code
        == 303
    )
    assert console.post(f"/console/golden/{gid}/reinstate", data={}).status_code == 403
    member = make_console_user(server, account, "member@example.com", "member")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert sign_in(client, member).status_code == 303
        page = client.get("/console/golden").text
        assert "/reinstate" not in page
        res = client.post(f"/console/golden/{gid}/reinstate", data={"csrf_token": csrf_of(page)})
        assert res.status_code == 403
    assert api.get(f"/v1/GoldenExamples/{gid}").json()["status"] == "withdrawn"


def _item(html: str, feedback_id: str) -> str:
    match = re.search(rf'<article [^>]*data-feedback-id="{feedback_id}".*?</article>', html, re.S)
    assert match is not None, html
    return match.group(0)


def test_a_review_item_says_each_thing_once_and_names_the_user(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id, identity="ann@example.com")
    fid = thumbs(api, reply, "negative", identity="ann@example.com", reason="too vague").json()[
        "id"
    ]
    stored = api.get(f"/v1/Review/{fid}").json()
    assert (stored["text"], stored["score"]) == ("too vague", 0.0)
    item = _item(console.get("/console/review").text, fid)
    assert item.count("too vague") == 1  # the reason, not the same text again
    assert "Score" not in item  # the 👎 badge says it
    assert ">ann@example.com</span>" in item
    assert f'title="{stored["user_sid"]}"' in item
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+Z"', item) is not None


def test_the_approve_form_says_what_approving_makes_before_and_after(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    down = thumbs(api, log_turn(api, assistant_id, session_id="a"), "negative").json()["id"]
    up = thumbs(api, log_turn(api, assistant_id, session_id="b"), "positive").json()["id"]
    html = console.get("/console/review").text
    assert ">Approve without a correction: no golden example is made.</p>" in _item(html, down)
    assert (
        'data-edited="Approve with your correction: creates a golden example and a preference '
        'pair."' in _item(html, down)
    )
    assert ">Approve as is: the reply becomes a golden example.</p>" in _item(html, up)
    token = csrf_of(html)
    res = console.post(f"/console/review/{down}/approve", data={"csrf_token": token})
    assert res.headers["location"] == "/console/review?done=approved_nothing"
    assert "no golden example was made" in console.get(res.headers["location"]).text
    assert api.get("/v1/GoldenExamples").json()["golden_examples"] == []
    res = console.post(f"/console/review/{up}/approve", data={"csrf_token": token})
    assert res.headers["location"] == "/console/review?done=approved_golden"
    [made] = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert made["feedback_id"] == up


def test_the_queue_says_where_it_stands_and_the_navigation_counts_what_waits(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    for i in range(3):
        reply = log_turn(api, assistant_id, session_id=f"q{i}", body=f"Question {i}?")
        thumbs(api, reply, "negative", reason=f"reason {i}")
    first = console.get("/console/review", params={"PageSize": 2}).text
    assert re.search(r'<span class="at">1</span> of 3</p>', first) is not None
    assert '<span class="count" id="pending-count" title="3 waiting for review">3</span>' in first
    assert first.count('class="review-pick"') == 2
    older = re.search(r'rel="next" href="([^"]+)"', first)
    assert older is not None
    second = console.get(older.group(1).replace("&amp;", "&")).text
    assert re.search(r'<span class="at">3</span> of 3</p>', second) is not None
    assert "reason 2" in second
    # the count is the account's, whatever the page shows
    assert 'id="pending-count" title="3 waiting' in console.get("/console/golden").text
    assert 'id="pending-count" title="3 waiting' in console.get("/console/feedback").text
    filtered = console.get("/console/review", params={"type": "positive"}).text
    assert "Nothing is waiting for review." in filtered
    assert 'id="pending-count" title="3 waiting' in filtered
