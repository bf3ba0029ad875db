"""A request whose ``X-Thumbs-Identity`` names an end user acts as that end user alone: it
neither reads nor changes another user's verdict, nor continues another user's session,
and every staff route refuses it (403, code 60403). Staff (the application's backend, a
member) may still act for any end user they name."""

from __future__ import annotations

import httpx

from tests.support.accounts import create_user
from tests.support.http import assert_error, create_feedback, feedbacks_path
from tests.support.lifecycle import log_turn, thumbs
from tests.support.server import LiveServer
from thumbs.store.models import Assistant, ConversationSession, Feedback, FeedbackTransition

U1 = {"X-Thumbs-Identity": "user_id:1"}


def test_an_end_user_cannot_read_another_users_verdict(
    api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id, identity="user_id:2")
    theirs = thumbs(api, reply, "negative", identity="user_id:2", reason="rude").json()
    path = f"/v1/Messages/{reply}/Thumbs"

    res = api.get(path, params={"Identity": "user_id:2"}, headers=U1)
    body = assert_error(res, 403, 60403, field="Identity")
    assert theirs["id"] not in res.text
    assert "rude" not in res.text
    assert "X-Thumbs-Identity" in body["message"]
    # their own verdict: none yet, by the header alone or by naming themselves
    assert api.get(path, headers=U1).json() is None
    assert api.get(path, params={"Identity": "user_id:1"}, headers=U1).json() is None
    # the owner, and the backend acting for them, read it
    owner = api.get(path, headers={"X-Thumbs-Identity": "user_id:2"}).json()
    assert owner["id"] == theirs["id"]
    assert api.get(path, params={"Identity": "user_id:2"}).json()["id"] == theirs["id"]


def test_an_end_user_cannot_change_another_users_verdict(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id, identity="user_id:2")
    theirs = thumbs(api, reply, "negative", identity="user_id:2").json()

    res = api.post(
        "/v1/Thumbs",
        json={"message_id": reply, "feedback_type": "positive", "identity": "user_id:2"},
        headers=U1,
    )
    assert_error(res, 403, 60403, field="identity")
    with server.runtime.store.session() as s:
        fb = s.query(Feedback).filter_by(id=theirs["id"]).one()
        assert (fb.feedback_type, fb.score, fb.status) == ("negative", 0.0, "pending")
        assert s.query(FeedbackTransition).filter_by(feedback_pk=fb.pk).count() == 1
        assert s.query(Feedback).count() == 1

    # naming themselves (or no one) is their own verdict, next to the other user's
    mine = api.post(
        "/v1/Thumbs",
        json={"message_id": reply, "feedback_type": "positive", "identity": "user_id:1"},
        headers=U1,
    )
    assert mine.status_code == 201, mine.text
    assert mine.json()["user_sid"] != theirs["user_sid"]
    again = api.post(
        "/v1/Thumbs", json={"message_id": reply, "feedback_type": "negative"}, headers=U1
    )
    assert (again.status_code, again.json()["id"]) == (200, mine.json()["id"])


def test_an_end_user_cannot_delete_an_assistant_or_read_feedback(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    create_feedback(api, assistant_id, score=1.0)
    res = api.delete(f"/v1/Assistants/{assistant_id}", params={"Cascade": "true"}, headers=U1)
    assert_error(res, 403, 60403)
    assert_error(api.get(feedbacks_path(assistant_id), headers=U1), 403, 60403)
    assert_error(api.get(f"/v1/Assistants/{assistant_id}", headers=U1), 403, 60403)
    with server.runtime.store.session() as s:
        assert s.query(Assistant).filter_by(id=assistant_id).count() == 1
        assert s.query(Feedback).count() == 1
    # what an end user may do on the assistant: track feedback, as themselves
    tracked = api.post(
        feedbacks_path(assistant_id), json={"session_id": "s", "score": 0}, headers=U1
    )
    assert tracked.status_code == 201, tracked.text
    assert tracked.json()["user_sid"].startswith("US")


def test_an_end_user_continues_only_a_session_of_their_own(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    ask = f"/v1/Assistants/{assistant_id}/Messages"
    theirs = api.post(
        ask,
        json={"identity": "user_id:2", "body": "My card number is 4111"},
        headers={"X-Thumbs-Identity": "user_id:2"},
    )
    assert theirs.status_code == 200, theirs.text
    session_id = theirs.json()["session_id"]

    as_u1 = {"identity": "user_id:1", "session_id": session_id, "body": "What did I say?"}
    res = api.post(ask, json=as_u1, headers=U1)
    assert_error(res, 404, 20404, field="session_id")
    assert "4111" not in res.text
    pretending = api.post(ask, json={**as_u1, "identity": "user_id:2"}, headers=U1)
    assert_error(pretending, 403, 60403, field="identity")
    with server.runtime.store.session() as s:
        conv = s.query(ConversationSession).filter_by(id=session_id).one()
        assert conv.identity == "user_id:2"
    assert len(api.get(f"/v1/Sessions/{session_id}/Messages").json()["messages"]) == 2

    own = api.post(ask, json={**as_u1, "session_id": "u1-chat"}, headers=U1)
    assert own.status_code == 200, own.text
    again = api.post(ask, json={**as_u1, "session_id": "u1-chat"}, headers=U1)
    assert again.status_code == 200, again.text
    assert len(api.get("/v1/Sessions/u1-chat/Messages").json()["messages"]) == 4


def test_staff_act_for_any_end_user_they_name(api: httpx.Client, assistant_id: str) -> None:
    reply = log_turn(api, assistant_id, identity="user_id:2")
    by_backend = api.post(
        "/v1/Thumbs",
        json={"message_id": reply, "feedback_type": "positive", "identity": "user_id:2"},
    )
    assert by_backend.status_code == 201, by_backend.text
    create_user(api, "member:1", "member")
    member = {"X-Thumbs-Identity": "member:1"}
    read = api.get(f"/v1/Messages/{reply}/Thumbs", params={"Identity": "user_id:2"}, headers=member)
    assert read.json()["id"] == by_backend.json()["id"]
    # a member cannot log conversations nor decide: those are the admin's (the backend's)
    turn = {"session_id": "m", "body": "q", "reply": "a", "identity": "user_id:3"}
    logged = api.post(f"/v1/Assistants/{assistant_id}/Turns", json=turn, headers=member)
    assert_error(logged, 403, 60403)
    assert api.post(f"/v1/Assistants/{assistant_id}/Turns", json=turn).status_code == 201
