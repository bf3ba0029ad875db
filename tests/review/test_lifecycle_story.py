"""The seed's whole story, end to end over HTTP (issue: lifecycle and golden examples)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.support.accounts import create_user
from tests.support.lifecycle import log_turn, set_setting, thumbs
from tests.support.server import LiveServer
from thumbs.store.models import Feedback, FeedbackTransition, GoldenExample, PreferencePair


def test_auto_approved_positive_feedback_makes_the_original_reply_golden(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "positive", auto_approve=True)
    first = log_turn(api, assistant_id, body="Hi", reply="Hello! How can I help?")
    reply = log_turn(api, assistant_id, body="How do I reset?", reply="Click Reset.")

    res = thumbs(api, reply, "positive", identity="user_id:7")

    assert res.status_code == 201, res.text
    fb = res.json()
    assert fb["status"] == "auto_approved"
    assert fb["feedback_type"] == "positive"
    assert fb["message_id"] == reply
    assert fb["user_id"].startswith("US")
    assert fb["user_sid"] == fb["user_id"]
    assert fb["score"] == 1.0
    assert fb["assistant_id"] == assistant_id
    assert fb["session_id"] == "chat-1"
    assert fb["reviewed_by"] is None
    assert fb["reviewed_at"] is None

    listed = api.get("/v1/GoldenExamples").json()
    [golden] = listed["golden_examples"]
    assert golden["output"] == "Click Reset."
    assert golden["source"] == "original"
    assert golden["status"] == "active"
    assert golden["prompt"] == "How do I reset?"
    assert golden["input"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "How do I reset?"},
    ]
    assert golden["assistant_id"] == assistant_id
    assert golden["feedback_id"] == fb["id"]
    assert golden["message_id"] == reply
    assert first != reply

    history = api.get(f"/v1/Review/{fb['id']}/Transitions").json()["transitions"]
    assert [(t["from_status"], t["to_status"]) for t in history] == [
        (None, "pending"),
        ("pending", "auto_approved"),
    ]
    assert history[1]["actor"] == "system"
    assert golden["decision_id"] == history[1]["id"]
    assert api.get(f"/v1/GoldenExamples/{golden['id']}").json() == golden

    with server.runtime.store.session() as session:
        row = session.scalars(select(Feedback)).one()
        assert (row.status, row.channel, row.feedback_type) == (
            "auto_approved",
            "thumbs",
            "positive",
        )
        assert session.scalars(select(GoldenExample)).one().feedback_pk == row.pk


def test_negative_feedback_needs_a_reason_when_the_settings_say_so(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "negative", require_reason=True)
    reply = log_turn(api, assistant_id)

    res = thumbs(api, reply, "negative")

    assert res.status_code == 400
    body = res.json()
    assert body["code"] == 60012
    assert body["details"]["field"] == "reason"
    assert thumbs(api, reply, "negative", reason="   ").status_code == 400
    with server.runtime.store.session() as session:
        assert session.scalars(select(Feedback)).all() == []


def test_negative_feedback_approved_with_a_correction_yields_golden_and_a_pair(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "negative", require_reason=True)
    reply = log_turn(api, assistant_id, body="Where is my order?", reply="I don't know.")

    res = thumbs(api, reply, "negative", reason="Unhelpful")
    assert res.status_code == 201, res.text
    fb = res.json()
    assert fb["status"] == "pending"
    assert fb["reason"] == "Unhelpful"
    assert fb["score"] == 0.0

    queue = api.get("/v1/Review").json()
    assert [f["id"] for f in queue["feedbacks"]] == [fb["id"]]

    approved = api.post(
        f"/v1/Review/{fb['id']}/Approve",
        json={"corrected_response": "It ships tomorrow; track it under Orders."},
    )
    assert approved.status_code == 200, approved.text
    decided = approved.json()
    assert decided["feedback"]["status"] == "reviewed"
    assert decided["feedback"]["reviewed_at"] is not None
    assert decided["feedback"]["reviewed_by"] is not None
    assert decided["transition"]["from_status"] == "pending"
    assert decided["transition"]["to_status"] == "reviewed"

    [golden] = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert golden["output"] == "It ships tomorrow; track it under Orders."
    assert golden["source"] == "corrected"
    assert golden["prompt"] == "Where is my order?"
    assert golden["decision_id"] == decided["transition"]["id"]
    [pair] = api.get("/v1/PreferencePairs").json()["preference_pairs"]
    assert pair["chosen"] == "It ships tomorrow; track it under Orders."
    assert pair["rejected"] == "I don't know."
    assert pair["input"] == [{"role": "user", "content": "Where is my order?"}]
    assert pair["golden_example_id"] == golden["id"]
    assert pair["feedback_id"] == fb["id"]

    assert api.get("/v1/Review").json()["feedbacks"] == []
    with server.runtime.store.session() as session:
        row = session.scalars(select(Feedback)).one()
        assert row.status == "reviewed"
        assert row.reviewed_at is not None
        assert session.scalars(select(PreferencePair)).one().golden_pk is not None


def test_a_dismissed_feedback_makes_no_golden_example(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id)
    fb = thumbs(api, reply, "positive").json()
    assert fb["status"] == "pending"

    res = api.post(f"/v1/Review/{fb['id']}/Dismiss", json={"note": "off-topic"})

    assert res.status_code == 200, res.text
    assert res.json()["feedback"]["status"] == "dismissed"
    assert res.json()["transition"]["note"] == "off-topic"
    assert api.get("/v1/GoldenExamples").json()["golden_examples"] == []
    with server.runtime.store.session() as session:
        assert session.scalars(select(GoldenExample)).all() == []
        assert session.scalars(select(Feedback)).one().status == "dismissed"


def test_dismissing_an_auto_approved_feedback_withdraws_its_golden_example(
    api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "positive", auto_approve=True)
    reply = log_turn(api, assistant_id)
    fb = thumbs(api, reply, "positive").json()
    assert fb["status"] == "auto_approved"

    assert api.post(f"/v1/Review/{fb['id']}/Dismiss").status_code == 200

    [golden] = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert golden["status"] == "withdrawn"
    assert golden["withdrawn_reason"] == "feedback dismissed"
    assert (
        api.get("/v1/GoldenExamples", params={"Status": "active"}).json()["golden_examples"] == []
    )


def test_a_member_cannot_review_or_change_settings(api: httpx.Client, assistant_id: str) -> None:
    create_user(api, "email:member@example.com", "member")
    reply = log_turn(api, assistant_id)
    fb = thumbs(api, reply, "positive").json()
    member = {"X-Thumbs-Identity": "email:member@example.com"}

    for res in (
        api.get("/v1/Review", headers=member),
        api.post(f"/v1/Review/{fb['id']}/Approve", headers=member),
        api.post(f"/v1/Review/{fb['id']}/Dismiss", headers=member),
        api.put(
            "/v1/Settings/Feedback",
            json={"feedback_type": "positive", "auto_approve": True},
            headers=member,
        ),
    ):
        assert res.status_code == 403, res.text
        assert res.json()["code"] == 60403

    settings = api.get("/v1/Settings/Feedback", headers=member)
    assert settings.status_code == 200
    assert api.get(f"/v1/Review/{fb['id']}/Transitions", headers=member).status_code == 200
    assert api.get(f"/v1/Review/{fb['id']}", headers=member).json()["status"] == "pending"


def test_an_admin_user_can_review_and_is_recorded_as_the_reviewer(
    api: httpx.Client, assistant_id: str
) -> None:
    admin = create_user(api, "email:boss@example.com", "admin")
    reply = log_turn(api, assistant_id)
    fb = thumbs(api, reply, "positive").json()

    res = api.post(
        f"/v1/Review/{fb['id']}/Approve",
        json={"note": "good"},
        headers={"X-Thumbs-Identity": "email:boss@example.com"},
    )

    assert res.status_code == 200, res.text
    assert res.json()["feedback"]["reviewed_by"] == admin["sid"]
    assert res.json()["transition"]["actor"] == admin["sid"]
    [golden] = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert golden["source"] == "original"


def test_an_end_user_cannot_review(api: httpx.Client, assistant_id: str) -> None:
    reply = log_turn(api, assistant_id)
    fb = thumbs(api, reply, "positive").json()
    res = api.post(f"/v1/Review/{fb['id']}/Approve", headers={"X-Thumbs-Identity": "user_id:1"})
    assert res.status_code == 403


def test_user_b_cannot_see_user_a_feedback_through_get_my_feedback(
    api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id)
    mine = thumbs(api, reply, "positive", identity="user_id:A").json()

    as_a = api.get(f"/v1/Messages/{reply}/Thumbs", headers={"X-Thumbs-Identity": "user_id:A"})
    as_b = api.get(f"/v1/Messages/{reply}/Thumbs", headers={"X-Thumbs-Identity": "user_id:B"})

    assert as_a.status_code == 200
    assert as_a.json()["id"] == mine["id"]
    assert as_b.status_code == 200
    assert as_b.json() is None
    by_query = api.get(f"/v1/Messages/{reply}/Thumbs", params={"Identity": "user_id:B"})
    assert by_query.json() is None


def test_flipping_a_verdict_withdraws_the_golden_example(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "positive", auto_approve=True)
    reply = log_turn(api, assistant_id)
    first = thumbs(api, reply, "positive").json()
    assert first["status"] == "auto_approved"

    flipped = thumbs(api, reply, "negative", reason="actually wrong")

    assert flipped.status_code == 200, flipped.text
    body = flipped.json()
    assert body["id"] == first["id"]
    assert body["feedback_type"] == "negative"
    assert body["status"] == "pending"
    assert body["score"] == 0.0
    [golden] = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert golden["status"] == "withdrawn"
    assert golden["withdrawn_reason"] == "verdict changed to negative"
    history = api.get(f"/v1/Review/{first['id']}/Transitions").json()["transitions"]
    assert [(t["from_status"], t["to_status"]) for t in history] == [
        (None, "pending"),
        ("pending", "auto_approved"),
        ("auto_approved", "pending"),
    ]
    with server.runtime.store.session() as session:
        assert len(session.scalars(select(Feedback)).all()) == 1
        assert len(session.scalars(select(FeedbackTransition)).all()) == 3


def test_flipping_back_to_positive_makes_a_new_golden_example(
    api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "positive", auto_approve=True)
    reply = log_turn(api, assistant_id)
    thumbs(api, reply, "positive")
    thumbs(api, reply, "negative")
    again = thumbs(api, reply, "positive").json()

    assert again["status"] == "auto_approved"
    goldens = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert sorted(g["status"] for g in goldens) == ["active", "withdrawn"]
