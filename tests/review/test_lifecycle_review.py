"""The lifecycle's rules: transitions, settings, the review queue."""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy import select

from tests.support.accounts import Account, create_user, make_account
from tests.support.lifecycle import log_turn, set_setting, thumbs
from tests.support.server import LiveServer
from thumbs.store.models import FeedbackSetting, FeedbackTransition, GoldenExample


@pytest.mark.parametrize(
    ("first", "second"),
    [("Dismiss", "Approve"), ("Dismiss", "Dismiss"), ("Approve", "Approve")],
)
def test_invalid_transitions_are_409(
    api: httpx.Client, assistant_id: str, first: str, second: str
) -> None:
    reply = log_turn(api, assistant_id)
    fb = thumbs(api, reply, "positive").json()
    assert api.post(f"/v1/Review/{fb['id']}/{first}").status_code == 200

    res = api.post(f"/v1/Review/{fb['id']}/{second}")

    assert res.status_code == 409
    assert res.json()["code"] == 60410
    history = api.get(f"/v1/Review/{fb['id']}/Transitions").json()["transitions"]
    assert len(history) == 2


def test_a_reviewed_feedback_can_still_be_dismissed_and_its_example_is_withdrawn(
    api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id)
    fb = thumbs(api, reply, "positive").json()
    api.post(f"/v1/Review/{fb['id']}/Approve")
    assert api.post(f"/v1/Review/{fb['id']}/Dismiss").status_code == 200
    [golden] = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert golden["status"] == "withdrawn"


def test_reviewing_an_auto_approved_feedback_replaces_its_example(
    api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "positive", auto_approve=True)
    reply = log_turn(api, assistant_id, reply="Short answer.")
    fb = thumbs(api, reply, "positive").json()
    res = api.post(f"/v1/Review/{fb['id']}/Approve", json={"corrected_response": "Better."})
    assert res.status_code == 200
    goldens = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert [(g["output"], g["status"]) for g in goldens] == [
        ("Better.", "active"),
        ("Short answer.", "withdrawn"),
    ]
    assert api.get("/v1/PreferencePairs").json()["preference_pairs"] == []


def test_a_negative_verdict_approved_without_correction_makes_no_example(
    account: Account, api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id)
    fb = thumbs(api, reply, "negative", reason="wrong").json()
    res = api.post(f"/v1/Review/{fb['id']}/Approve")
    assert res.status_code == 200
    assert res.json()["feedback"]["status"] == "reviewed"
    assert res.json()["feedback"]["reviewed_by"] == account.sid  # account credentials
    assert api.get("/v1/GoldenExamples").json()["golden_examples"] == []


def test_auto_approved_negative_feedback_makes_no_example(
    api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "negative", auto_approve=True)
    reply = log_turn(api, assistant_id)
    fb = thumbs(api, reply, "negative").json()
    assert fb["status"] == "auto_approved"
    assert api.get("/v1/GoldenExamples").json()["golden_examples"] == []


def test_assistant_settings_override_the_account_default(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    other = api.post("/v1/Assistants", json={"name": "Other"}).json()["id"]
    set_setting(api, "positive", auto_approve=True)
    res = api.put(
        "/v1/Settings/Feedback",
        json={"feedback_type": "positive", "assistant_id": other, "auto_approve": False},
    )
    assert res.status_code == 200, res.text
    assert res.json()["settings"][0] == {
        "feedback_type": "positive",
        "auto_approve": False,
        "require_reason": False,
        "source": "assistant",
        "date_updated": res.json()["settings"][0]["date_updated"],
    }
    default = api.get("/v1/Settings/Feedback").json()
    assert default["assistant_id"] is None
    assert [(s["feedback_type"], s["auto_approve"], s["source"]) for s in default["settings"]] == [
        ("positive", True, "account"),
        ("negative", False, "default"),
    ]
    inherited = api.get("/v1/Settings/Feedback", params={"AssistantId": assistant_id}).json()
    assert inherited["settings"][0]["source"] == "account"

    mine = thumbs(api, log_turn(api, assistant_id), "positive").json()
    theirs = thumbs(api, log_turn(api, other, session_id="chat-2"), "positive").json()
    assert mine["status"] == "auto_approved"
    assert theirs["status"] == "pending"
    with server.runtime.store.session() as session:
        scopes = sorted(s.scope for s in session.scalars(select(FeedbackSetting)))
        assert scopes == ["*", other]


def test_settings_are_validated(api: httpx.Client) -> None:
    res = api.put("/v1/Settings/Feedback", json={"feedback_type": "neutral"})
    assert res.status_code == 400
    res = api.put(
        "/v1/Settings/Feedback", json={"feedback_type": "positive", "auto_approve": "yes"}
    )
    assert res.status_code == 400
    res = api.put(
        "/v1/Settings/Feedback",
        json={"feedback_type": "positive", "assistant_id": "aia_asst_nope"},
    )
    assert res.status_code == 404


def test_the_queue_lists_pending_feedback_oldest_first_with_filters_and_paging(
    api: httpx.Client, assistant_id: str
) -> None:
    other = api.post("/v1/Assistants", json={"name": "Other"}).json()["id"]
    ids = []
    for i in range(4):
        reply = log_turn(api, assistant_id, session_id=f"s{i}")
        kind = "positive" if i % 2 == 0 else "negative"
        ids.append(thumbs(api, reply, kind, reason="why" if i == 1 else None).json()["id"])
    elsewhere = thumbs(api, log_turn(api, other, session_id="o"), "negative").json()["id"]
    api.post(f"/v1/Review/{ids[2]}/Dismiss")

    queue = api.get("/v1/Review").json()
    assert [f["id"] for f in queue["feedbacks"]] == [ids[0], ids[1], ids[3], elsewhere]
    assert queue["meta"]["key"] == "feedbacks"

    def listed(**params: str) -> list[str]:
        return [f["id"] for f in api.get("/v1/Review", params=params).json()["feedbacks"]]

    assert listed(AssistantId=assistant_id) == [ids[0], ids[1], ids[3]]
    assert listed(FeedbackType="negative") == [ids[1], ids[3], elsewhere]
    assert listed(HasReason="true") == [ids[1]]
    assert listed(HasReason="false") == [ids[0], ids[3], elsewhere]
    assert listed(DateCreatedAfter="2999-01-01T00:00:00Z") == []
    assert listed(DateCreatedBefore="2999-01-01T00:00:00Z") == [ids[0], ids[1], ids[3], elsewhere]
    assert api.get("/v1/Review", params={"FeedbackType": "meh"}).status_code == 400

    page = api.get("/v1/Review", params={"PageSize": 2}).json()
    seen = [f["id"] for f in page["feedbacks"]]
    while page["meta"]["next_page_url"]:
        page = api.get(page["meta"]["next_page_url"]).json()
        seen += [f["id"] for f in page["feedbacks"]]
    assert seen == [ids[0], ids[1], ids[3], elsewhere]


def test_twilio_feedback_enters_the_queue_and_can_be_approved(
    api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id, reply="Original.")
    created = api.post(
        f"/v1/Assistants/{assistant_id}/Feedbacks",
        json={"session_id": "chat-1", "message_id": reply, "score": 1.0},
    ).json()
    queue = api.get("/v1/Review", params={"Channel": "api"}).json()["feedbacks"]
    assert [f["id"] for f in queue] == [created["id"]]
    assert queue[0]["feedback_type"] == "positive"
    assert api.post(f"/v1/Review/{created['id']}/Approve").status_code == 200
    [golden] = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert golden["output"] == "Original."


def test_review_of_another_account_feedback_is_404(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    fb = thumbs(api, log_turn(api, assistant_id), "positive").json()
    other = make_account(server, "other")
    with server.client(auth=(other.sid, other.token)) as intruder:
        assert intruder.post(f"/v1/Review/{fb['id']}/Approve").status_code == 404
        assert intruder.post(f"/v1/Review/{fb['id']}/Dismiss").status_code == 404
        assert intruder.get(f"/v1/Review/{fb['id']}/Transitions").status_code == 404
        assert intruder.get("/v1/Review").json()["feedbacks"] == []


def test_a_member_reads_but_an_end_user_cannot_read_settings(
    api: httpx.Client, assistant_id: str
) -> None:
    create_user(api, "member:1", "member")
    assert (
        api.get("/v1/Settings/Feedback", headers={"X-Thumbs-Identity": "member:1"}).status_code
        == 200
    )
    res = api.get("/v1/Settings/Feedback", headers={"X-Thumbs-Identity": "user_id:9"})
    assert res.status_code == 403


def test_concurrent_approvals_make_one_decision_and_one_example(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    fb = thumbs(api, log_turn(api, assistant_id), "positive").json()
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def approve() -> None:
        with server.client(auth=(account.sid, account.token)) as client:
            barrier.wait()
            statuses.append(client.post(f"/v1/Review/{fb['id']}/Approve").status_code)

    threads = [threading.Thread(target=approve) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(statuses) == [200] + [409] * 5
    with server.runtime.store.session() as session:
        assert len(session.scalars(select(GoldenExample)).all()) == 1
        decisions = session.scalars(
            select(FeedbackTransition).where(FeedbackTransition.to_status == "reviewed")
        ).all()
        assert len(decisions) == 1
