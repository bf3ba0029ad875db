"""The review queue and golden examples screens over HTTP: what they list, who may decide,
CSRF, tenant scope, and user text escaped."""

from __future__ import annotations

import re

import httpx
from markupsafe import escape

from tests.support.accounts import Account, make_console_user
from tests.support.console import csrf_of, sign_in
from tests.support.lifecycle import log_turn, set_setting, thumbs
from tests.support.server import LiveServer


def pending(
    api: httpx.Client, assistant_id: str, *, reason: str = "wrong", n: int = 1
) -> list[str]:
    """Log ``n`` turns and give each a thumbs down; returns the feedback ids."""
    ids = []
    for i in range(n):
        reply = log_turn(
            api, assistant_id, session_id=f"s{i}", body=f"Question {i}?", reply=f"Answer {i}."
        )
        res = thumbs(api, reply, "negative", reason=reason)
        assert res.status_code == 201, res.text
        ids.append(res.json()["id"])
    return ids


def decide(console: httpx.Client, feedback_id: str, action: str, **form: str) -> httpx.Response:
    token = csrf_of(console.get("/console/review").text)
    return console.post(
        f"/console/review/{feedback_id}/{action}",
        data={"csrf_token": token, "back": "/console/review", **form},
    )


def test_the_queue_shows_pending_feedback_oldest_first_with_its_conversation(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    first, second = pending(api, assistant_id, n=2)
    page = console.get("/console/review").text
    assert page.index(first) < page.index(second)
    assert "Question 0?" in page
    assert "Answer 0." in page
    assert 'class="correction">Answer 0.</textarea>' in page


def test_the_queue_shows_what_came_after_the_rated_reply(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id, session_id="s", body="First?", reply="Wrong.")
    log_turn(api, assistant_id, session_id="s", body="That is wrong!", reply="Sorry.")
    assert thumbs(api, reply, "negative", reason="wrong").status_code == 201
    page = console.get("/console/review").text
    after = page[page.index('class="chat after"') :]
    assert after.index("That is wrong!") < after.index("Sorry.")
    assert page.index("First?") < page.index("Wrong.") < page.index("That is wrong!")


def test_the_queue_filters_by_type_and_reason(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    [with_reason] = pending(api, assistant_id)
    reply = log_turn(api, assistant_id, session_id="pos", body="Q?", reply="A.")
    positive = thumbs(api, reply, "positive").json()["id"]
    negatives = console.get("/console/review", params={"type": "negative"}).text
    assert with_reason in negatives
    assert positive not in negatives
    without = console.get("/console/review", params={"has_reason": "no"}).text
    assert positive in without
    assert with_reason not in without


def test_approving_with_a_correction_makes_the_golden_example(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    [fid] = pending(api, assistant_id)
    res = decide(console, fid, "approve", corrected_response="Better answer.", note="fixed")
    assert res.status_code == 303
    assert res.headers["location"] == "/console/review?done=approved_golden_and_pair"
    [example] = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert (example["output"], example["source"]) == ("Better answer.", "corrected")
    golden_page = console.get("/console/golden").text
    assert "Better answer." in golden_page
    assert fid not in console.get("/console/review").text


def test_approving_the_original_unchanged_sends_no_correction(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "positive", auto_approve=False)
    reply = log_turn(api, assistant_id, body="Q?", reply="Fine answer.")
    fid = thumbs(api, reply, "positive").json()["id"]
    assert decide(console, fid, "approve", corrected_response="Fine answer.").status_code == 303
    [example] = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert (example["output"], example["source"]) == ("Fine answer.", "original")


def test_dismissing_records_the_note_and_a_second_decision_is_a_clear_conflict(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    [fid] = pending(api, assistant_id)
    assert decide(console, fid, "dismiss", note="spam").status_code == 303
    transitions = api.get(f"/v1/Review/{fid}/Transitions").json()["transitions"]
    assert (transitions[-1]["to_status"], transitions[-1]["note"]) == ("dismissed", "spam")
    res = decide(console, fid, "dismiss")
    assert res.headers["location"] == "/console/review?done=conflict"
    assert "no longer pending" in console.get(res.headers["location"]).text
    assert api.get("/v1/GoldenExamples").json()["golden_examples"] == []


def test_members_see_the_queue_but_cannot_decide(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    [fid] = pending(api, assistant_id)
    member = make_console_user(server, account, "member@example.com", "member")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert sign_in(client, member).status_code == 303
        page = client.get("/console/review").text
        assert fid in page
        assert "/approve" not in page
        assert decide(client, fid, "approve").status_code == 403
    assert api.get(f"/v1/Review/{fid}").json()["status"] == "pending"


def test_a_decision_without_the_csrf_token_is_refused(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    [fid] = pending(api, assistant_id)
    res = console.post(f"/console/review/{fid}/approve", data={"corrected_response": "x"})
    assert res.status_code == 403
    assert api.get(f"/v1/Review/{fid}").json()["status"] == "pending"


def test_another_accounts_feedback_is_not_found(
    server: LiveServer, other_account: Account, api: httpx.Client, assistant_id: str
) -> None:
    [fid] = pending(api, assistant_id)
    outsider = make_console_user(server, other_account, "outsider@example.com", "admin")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert sign_in(client, outsider).status_code == 303
        assert fid not in client.get("/console/review").text
        assert decide(client, fid, "approve").status_code == 404
    assert api.get(f"/v1/Review/{fid}").json()["status"] == "pending"


def test_user_text_is_escaped(console: httpx.Client, api: httpx.Client, assistant_id: str) -> None:
    payload = '<img src=x onerror="alert(1)">'
    pending(api, assistant_id, reason=payload)
    page = console.get("/console/review").text
    assert payload not in page
    assert str(escape(payload)) in page


def test_golden_examples_are_searched_edited_and_withdrawn(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    for i, fid in enumerate(pending(api, assistant_id, n=2)):
        decide(console, fid, "approve", corrected_response=f"Corrected {i}.")
    examples = api.get("/v1/GoldenExamples").json()["golden_examples"]
    one = next(e for e in examples if e["output"] == "Corrected 1.")
    other = next(e for e in examples if e["output"] == "Corrected 0.")
    found = console.get("/console/golden", params={"q": "corrected 1"}).text
    assert one["id"] in found
    assert other["id"] not in found
    token = csrf_of(found)
    res = console.post(
        f"/console/golden/{one['id']}/edit",
        data={"csrf_token": token, "output": "Edited.", "back": "/console/golden?q=corrected+1"},
    )
    assert res.headers["location"] == "/console/golden?q=corrected+1&done=saved"
    assert api.get(f"/v1/GoldenExamples/{one['id']}").json()["output"] == "Edited."
    res = console.post(f"/console/golden/{one['id']}/withdraw", data={"csrf_token": token})
    assert res.status_code == 303
    assert api.get(f"/v1/GoldenExamples/{one['id']}").json()["status"] == "withdrawn"
    active = console.get("/console/golden", params={"status": "active"}).text
    assert one["id"] not in active
    assert console.get("/console/golden", params={"status": "gone"}).status_code == 400


def test_members_cannot_edit_golden_examples(
    server: LiveServer,
    account: Account,
    console: httpx.Client,
    api: httpx.Client,
    assistant_id: str,
) -> None:
    [fid] = pending(api, assistant_id)
    decide(console, fid, "approve", corrected_response="Kept.")
    [example] = api.get("/v1/GoldenExamples").json()["golden_examples"]
    member = make_console_user(server, account, "member@example.com", "member")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert sign_in(client, member).status_code == 303
        page = client.get("/console/golden").text
        assert "Kept." in page
        res = client.post(
            f"/console/golden/{example['id']}/edit",
            data={"csrf_token": csrf_of(page), "output": "x"},
        )
        assert res.status_code == 403
    assert api.get(f"/v1/GoldenExamples/{example['id']}").json()["output"] == "Kept."


def save_lifecycle(client: httpx.Client, scope: str, *flags: str) -> httpx.Response:
    """Save one scope's row of the settings form (``account`` or an assistant id): both
    types its own, with these flags (``positive_auto_approve``, …) on."""
    token = csrf_of(client.get("/console/settings").text)
    form = {"csrf_token": token}
    for t in ("positive", "negative"):
        form[f"{scope}.{t}.from"] = "own"
        for flag in ("auto_approve", "require_reason"):
            if f"{t}_{flag}" in flags:
                form[f"{scope}.{t}.{flag}"] = "on"
    return client.post("/console/settings/lifecycle", data=form)


def effective(api: httpx.Client, assistant_id: str | None = None) -> dict[str, tuple[bool, bool]]:
    params = {"AssistantId": assistant_id} if assistant_id else {}
    out = api.get("/v1/Settings/Feedback", params=params).json()
    return {s["feedback_type"]: (s["auto_approve"], s["require_reason"]) for s in out["settings"]}


def test_admins_set_the_account_default_and_an_assistants_own_settings(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    res = save_lifecycle(console, "account", "positive_auto_approve", "negative_require_reason")
    assert res.status_code == 303
    assert res.headers["location"] == "/console/settings?saved=lifecycle#lifecycle-account"
    assert effective(api) == {"positive": (True, False), "negative": (False, True)}
    assert effective(api, assistant_id) == {"positive": (True, False), "negative": (False, True)}
    assert save_lifecycle(console, assistant_id, "negative_auto_approve").status_code == 303
    assert effective(api, assistant_id) == {"positive": (False, False), "negative": (True, False)}
    assert effective(api) == {"positive": (True, False), "negative": (False, True)}
    page = console.get("/console/settings?saved=lifecycle").text
    assert "Feedback settings saved." in page
    assert f'id="lifecycle-{assistant_id}"' in page


def test_members_read_the_lifecycle_settings_but_cannot_save_them(
    server: LiveServer, account: Account, api: httpx.Client
) -> None:
    member = make_console_user(server, account, "member@example.com", "member")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert sign_in(client, member).status_code == 303
        page = client.get("/console/settings").text
        assert 'id="lifecycle-account"' in page
        assert "/settings/lifecycle" not in page
        assert save_lifecycle(client, "account", "positive_auto_approve").status_code == 403
    assert effective(api) == {"positive": (False, False), "negative": (False, False)}


def test_lifecycle_settings_need_the_token_and_stay_in_the_account(
    server: LiveServer,
    other_account: Account,
    console: httpx.Client,
    api: httpx.Client,
    assistant_id: str,
) -> None:
    res = console.post(
        "/console/settings/lifecycle",
        data={"account.positive.from": "own", "account.positive.auto_approve": "on"},
    )
    assert res.status_code == 403
    outsider = make_console_user(server, other_account, "outsider@example.com", "admin")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert sign_in(client, outsider).status_code == 303
        assert save_lifecycle(client, assistant_id, "positive_auto_approve").status_code == 404
    assert effective(api, assistant_id) == {"positive": (False, False), "negative": (False, False)}


def _version_in(html: str, feedback_id: str) -> str:
    """The version the review page's forms carry for one feedback."""
    card = html[html.index(f'data-feedback-id="{feedback_id}"') :]
    found = re.search(r'name="version" value="(\d+)"', card)
    assert found is not None, "the decision forms carry no version"
    return found.group(1)


def decide_on(
    client: httpx.Client, page: str, feedback_id: str, action: str, **form: str
) -> httpx.Response:
    """Decide from a review page loaded earlier: its form token and the version it shows."""
    return client.post(
        f"/console/review/{feedback_id}/{action}",
        data={
            "csrf_token": csrf_of(page),
            "back": "/console/review",
            "version": _version_in(page, feedback_id),
            **form,
        },
    )


def test_a_stale_tab_cannot_overturn_another_reviewers_decision(
    server: LiveServer,
    account: Account,
    console: httpx.Client,
    api: httpx.Client,
    assistant_id: str,
) -> None:
    [fid] = pending(api, assistant_id)
    tab_b = console.get("/console/review").text  # reviewer B opens the queue first
    other = make_console_user(server, account, "other-admin@example.com", "admin")
    with httpx.Client(base_url=server.url, timeout=30) as reviewer_a:
        assert sign_in(reviewer_a, other).status_code == 303
        tab_a = reviewer_a.get("/console/review").text
        approved = decide_on(reviewer_a, tab_a, fid, "approve", corrected_response="Better answer.")
        assert approved.headers["location"] == "/console/review?done=approved_golden_and_pair"

    res = decide_on(console, tab_b, fid, "dismiss", note="spam")

    assert res.status_code == 303
    assert res.headers["location"] == "/console/review?done=conflict"
    assert "Someone decided on that feedback meanwhile" in console.get(res.headers["location"]).text
    feedback = api.get(f"/v1/Review/{fid}").json()
    assert (feedback["status"], feedback["reviewed_by"]) == ("reviewed", other.sid)
    history = api.get(f"/v1/Review/{fid}/Transitions").json()["transitions"]
    assert [(t["from_status"], t["to_status"]) for t in history] == [
        (None, "pending"),
        ("pending", "reviewed"),
    ]
    [example] = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert (example["status"], example["output"]) == ("active", "Better answer.")


def test_a_decision_on_the_version_shown_is_taken(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    [fid] = pending(api, assistant_id)
    res = decide_on(console, console.get("/console/review").text, fid, "dismiss")
    assert res.headers["location"] == "/console/review?done=dismissed"
    assert api.get(f"/v1/Review/{fid}").json()["status"] == "dismissed"
