"""Thumbs submission: one verdict per user per message, errors, the Twilio mapping."""

from __future__ import annotations

import threading

import httpx
from sqlalchemy import select

from tests.support.accounts import Account, make_account
from tests.support.lifecycle import log_turn, set_setting, thumbs
from tests.support.server import LiveServer
from thumbs.store import rollups
from thumbs.store.models import Feedback, FeedbackTransition, GoldenExample, User


def _at_once(
    server: LiveServer, account: Account, reply: str, feedback_type: str, identity: str
) -> list[int]:
    """The statuses of 8 submissions of one verdict, sent at the same moment."""
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def submit() -> None:
        with server.client(auth=(account.sid, account.token)) as client:
            barrier.wait()
            statuses.append(thumbs(client, reply, feedback_type, identity=identity).status_code)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_concurrent_double_submit_by_one_user_yields_one_record(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "positive", auto_approve=True)
    reply = log_turn(api, assistant_id)

    statuses = _at_once(server, account, reply, "positive", "user_id:new")

    assert sorted(statuses) == [200] * 7 + [201]
    with server.runtime.store.session() as session:
        assert len(session.scalars(select(Feedback)).all()) == 1
        assert len(session.scalars(select(User).where(User.identity == "user_id:new")).all()) == 1
        assert len(session.scalars(select(GoldenExample)).all()) == 1
        assert len(session.scalars(select(FeedbackTransition)).all()) == 2


def test_concurrent_verdicts_of_a_known_user_on_one_reply_are_counted_once(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    # the user exists already, so the requests race on the verdict's own insert: the
    # losers find the key taken and change the winner's verdict instead
    thumbs(api, log_turn(api, assistant_id), "positive", identity="user_id:known")
    reply = log_turn(api, assistant_id)

    statuses = _at_once(server, account, reply, "negative", "user_id:known")

    assert sorted(statuses) == [200] * 7 + [201]
    with server.runtime.store.session() as session:
        [row] = session.scalars(select(Feedback).where(Feedback.message_id == reply)).all()
        submitted = session.scalars(
            select(FeedbackTransition).where(
                FeedbackTransition.feedback_pk == row.pk, FeedbackTransition.from_status.is_(None)
            )
        ).all()
        assert len(submitted) == 1
    with server.runtime.store.engine.connect() as conn:
        assert rollups.stored(conn, account_pk=row.account_pk) == rollups.recomputed(
            conn, account_pk=row.account_pk
        )


def test_submitting_again_changes_the_reason_and_never_duplicates(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id)
    first = thumbs(api, reply, "negative", reason="vague")
    again = thumbs(api, reply, "negative", reason="wrong link")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["reason"] == "wrong link"
    with server.runtime.store.session() as session:
        [row] = session.scalars(select(Feedback)).all()
        assert (row.reason, row.text) == ("wrong link", "wrong link")


def test_two_users_each_have_their_own_verdict(api: httpx.Client, assistant_id: str) -> None:
    reply = log_turn(api, assistant_id)
    a = thumbs(api, reply, "positive", identity="user_id:A").json()
    b = thumbs(api, reply, "negative", identity="user_id:B").json()
    assert a["id"] != b["id"]
    assert a["user_id"] != b["user_id"]


def test_the_identity_may_be_given_in_the_body(api: httpx.Client, assistant_id: str) -> None:
    reply = log_turn(api, assistant_id)
    res = api.post(
        "/v1/Thumbs",
        json={"message_id": reply, "feedback_type": "positive", "identity": "email:a@b.c"},
    )
    assert res.status_code == 201, res.text
    mine = api.get(f"/v1/Messages/{reply}/Thumbs", headers={"X-Thumbs-Identity": "email:a@b.c"})
    assert mine.json()["id"] == res.json()["id"]


def test_submission_errors_are_400_401_404(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id)
    unknown_type = thumbs(api, reply, "meh")
    assert unknown_type.status_code == 400
    assert unknown_type.json()["details"]["field"] == "feedback_type"

    no_identity = api.post("/v1/Thumbs", json={"message_id": reply, "feedback_type": "positive"})
    assert no_identity.status_code == 400
    assert no_identity.json()["code"] == 60013

    bad_pattern = thumbs(api, "msg_1", "positive")
    assert bad_pattern.status_code == 400
    assert bad_pattern.json()["details"]["field"] == "message_id"

    missing = thumbs(api, "aia_msg_does-not-exist", "positive")
    assert missing.status_code == 404
    assert missing.json()["code"] == 20404

    with server.client() as anonymous:
        res = anonymous.post("/v1/Thumbs", json={"message_id": reply, "feedback_type": "positive"})
        assert res.status_code == 401
        assert anonymous.get(f"/v1/Messages/{reply}/Thumbs").status_code == 401

    not_json = api.post(
        "/v1/Thumbs",
        content=b"{not json",
        headers={"Content-Type": "application/json", "X-Thumbs-Identity": "u"},
    )
    assert not_json.status_code == 400
    assert api.get("/v1/Messages/aia_msg_nope/Thumbs", params={"Identity": "u"}).status_code == 404


def test_only_assistant_replies_can_be_rated(api: httpx.Client, assistant_id: str) -> None:
    res = api.post(
        f"/v1/Assistants/{assistant_id}/Turns",
        json={"session_id": "s", "body": "q", "reply": "a"},
    )
    question = res.json()["messages"][0]["id"]
    rated = thumbs(api, question, "positive")
    assert rated.status_code == 400
    assert rated.json()["code"] == 60014


def test_another_account_cannot_rate_or_read_my_messages(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id)
    thumbs(api, reply, "positive")
    other = make_account(server, "other")
    with server.client(auth=(other.sid, other.token)) as intruder:
        assert thumbs(intruder, reply, "positive").status_code == 404
        mine = intruder.get(f"/v1/Messages/{reply}/Thumbs", params={"Identity": "user_id:1"})
        assert mine.status_code == 404


def test_thumbs_feedback_is_a_twilio_feedback_too(api: httpx.Client, assistant_id: str) -> None:
    reply = log_turn(api, assistant_id)
    fb = thumbs(api, reply, "negative", reason="too long").json()
    [twilio] = api.get(f"/v1/Assistants/{assistant_id}/Feedbacks").json()["feedbacks"]
    assert twilio["id"] == fb["id"]
    assert twilio["score"] == 0.0
    assert twilio["text"] == "too long"
    assert twilio["message_id"] == reply
    assert twilio["session_id"] == "chat-1"
    assert twilio["user_sid"] == fb["user_id"]


def test_a_twilio_score_maps_to_a_type_by_the_assistant_threshold(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    api.put(f"/v1/Assistants/{assistant_id}", json={"positive_threshold": 0.8})
    server.runtime.assistants.clear()
    for score in (0.9, 0.6):
        api.post(
            f"/v1/Assistants/{assistant_id}/Feedbacks", json={"session_id": "s", "score": score}
        )
    api.post(f"/v1/Assistants/{assistant_id}/Feedbacks", json={"session_id": "s", "text": "hm"})
    with server.runtime.store.session() as session:
        rows = session.scalars(select(Feedback).order_by(Feedback.pk)).all()
        assert [(r.score, r.feedback_type, r.status) for r in rows] == [
            (0.9, "positive", "pending"),
            (0.6, "negative", "pending"),
            (None, None, "pending"),
        ]


def test_a_twilio_feedback_links_to_the_logged_message_and_the_named_user(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id)
    res = api.post(
        f"/v1/Assistants/{assistant_id}/Feedbacks",
        json={"session_id": "chat-1", "message_id": reply, "score": 0.9},
        headers={"X-Thumbs-Identity": "user_id:twilio"},
    )
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["user_sid"].startswith("US")
    elsewhere = api.post(
        f"/v1/Assistants/{assistant_id}/Feedbacks",
        json={"session_id": "x", "message_id": "aia_msg_logged-elsewhere", "score": 0.1},
    )
    assert elsewhere.status_code == 201
    assert elsewhere.json()["user_sid"] is None
    with server.runtime.store.session() as session:
        linked = session.scalars(select(Feedback).where(Feedback.id == body["id"])).one()
        user = session.scalars(select(User).where(User.identity == "user_id:twilio")).one()
        assert linked.message_pk is not None
        assert linked.user_pk == user.pk
        assert linked.user_sid == user.sid == body["user_sid"]
        assert linked.feedback_type == "positive"
        other = session.scalars(select(Feedback).where(Feedback.id == elsewhere.json()["id"])).one()
        assert other.message_pk is None
        assert other.user_pk is None
