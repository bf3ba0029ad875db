from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.support.accounts import make_account
from tests.support.server import LiveServer
from thumbs.conversations import service as conversations
from thumbs.store.models import Message, User


def test_a_logged_turn_is_listed_as_a_twilio_session_and_messages(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    res = api.post(
        f"/v1/Assistants/{assistant_id}/Turns",
        json={
            "session_id": "chat-1",
            "body": "How do I reset?",
            "reply": "Click Reset.",
            "identity": "user_id:42",
        },
    )
    assert res.status_code == 201, res.text
    turn = res.json()
    assert turn["session_id"] == "chat-1"
    asked, answered = turn["messages"]
    assert asked["id"].startswith("aia_msg_")
    assert answered["id"].startswith("aia_msg_")
    assert (asked["role"], asked["content"]) == ("user", {"text": "How do I reset?"})
    assert (answered["role"], answered["content"]) == ("assistant", {"text": "Click Reset."})
    assert answered["identity"] == "user_id:42"

    sessions = api.get("/v1/Sessions").json()
    assert sessions["meta"]["key"] == "sessions"
    [conv] = sessions["sessions"]
    assert conv["id"] == "chat-1"
    assert conv["assistant_id"] == assistant_id
    assert conv["identity"] == "user_id:42"
    assert conv["verified"] is False
    assert api.get("/v1/Sessions/chat-1").json() == conv

    listed = api.get("/v1/Sessions/chat-1/Messages").json()
    assert listed["meta"]["key"] == "messages"
    assert [m["id"] for m in listed["messages"]] == [asked["id"], answered["id"]]

    with server.runtime.store.session() as session:
        assert session.query(Message).count() == 2
        user = session.query(User).filter_by(identity="user_id:42").one()
        assert user.sid.startswith("US")
        assert user.role == "end_user"


def test_messages_are_logged_one_by_one_and_paged_oldest_first(
    api: httpx.Client, assistant_id: str
) -> None:
    ids = []
    for i in range(5):
        body = {"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}"}
        if i == 0:
            body["assistant_id"] = assistant_id
        res = api.post("/v1/Sessions/s-1/Messages", json=body)
        assert res.status_code == 201, res.text
        ids.append(res.json()["id"])
    first = api.get("/v1/Sessions/s-1/Messages", params={"PageSize": 2}).json()
    assert [m["id"] for m in first["messages"]] == ids[:2]
    seen = [m["id"] for m in first["messages"]]
    url = first["meta"]["next_page_url"]
    while url:
        page = api.get(url).json()
        seen += [m["id"] for m in page["messages"]]
        url = page["meta"]["next_page_url"]
    assert seen == ids


def test_a_new_session_needs_an_assistant(api: httpx.Client) -> None:
    res = api.post("/v1/Sessions/fresh/Messages", json={"role": "user", "content": "hi"})
    assert res.status_code == 400
    assert res.json()["details"]["field"] == "assistant_id"


def test_a_session_belongs_to_one_assistant(api: httpx.Client, assistant_id: str) -> None:
    other = api.post("/v1/Assistants", json={"name": "Other"}).json()["id"]
    turn = {"session_id": "shared", "body": "q", "reply": "a"}
    assert api.post(f"/v1/Assistants/{assistant_id}/Turns", json=turn).status_code == 201
    res = api.post(f"/v1/Assistants/{other}/Turns", json=turn)
    assert res.status_code == 400
    assert res.json()["code"] == 60015


def test_an_invalid_message_is_a_400(api: httpx.Client, assistant_id: str) -> None:
    res = api.post(
        "/v1/Sessions/s/Messages",
        json={"assistant_id": assistant_id, "role": "robot", "content": "x"},
    )
    assert res.status_code == 400
    assert res.json()["details"]["field"] == "role"


def test_sessions_of_another_account_are_not_found(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    turn = {"session_id": "mine", "body": "q", "reply": "a"}
    assert api.post(f"/v1/Assistants/{assistant_id}/Turns", json=turn).status_code == 201
    other = make_account(server, "other")
    with server.client(auth=(other.sid, other.token)) as intruder:
        assert intruder.get("/v1/Sessions/mine").status_code == 404
        assert intruder.get("/v1/Sessions/mine/Messages").status_code == 404
        assert intruder.get("/v1/Sessions").json()["sessions"] == []
        res = intruder.post("/v1/Sessions/mine/Messages", json={"role": "user", "content": "x"})
        assert res.status_code == 400


def test_the_turns_around_rated_replies_are_read_for_many_replies_at_once(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    for conv, turns in (("long", 6), ("short", 1)):
        for i in range(turns):
            turn = {"session_id": conv, "body": f"{conv} q{i}", "reply": f"{conv} a{i}"}
            assert api.post(f"/v1/Assistants/{assistant_id}/Turns", json=turn).status_code == 201
    with server.runtime.store.session() as s:
        replies = s.scalars(select(Message).where(Message.role == "assistant")).all()
        around = conversations.turns_around(s, reply_pks=[m.pk for m in replies], before=6, after=2)
        for m in replies:
            every = conversations.conversation_before(s, message=m)
            later = s.scalars(
                select(Message)
                .where(Message.session_pk == m.session_pk, Message.pk > m.pk)
                .order_by(Message.pk)
                .limit(2)
            ).all()
            assert around[m.pk] == (
                every[-6:],
                [{"role": x.role, "content": x.content} for x in later],
            ), m.content
    by_content = {m.content: around[m.pk] for m in replies}
    assert [t["content"] for t in by_content["long a3"][0]] == [
        "long a0",
        "long q1",
        "long a1",
        "long q2",
        "long a2",
        "long q3",
    ]
    assert [t["content"] for t in by_content["long a5"][1]] == []
    assert by_content["short a0"] == ([{"role": "user", "content": "short q0"}], [])
