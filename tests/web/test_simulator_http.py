"""The Simulator's JSON endpoints over HTTP: they act for the console user, need the CSRF
header, answer the one JSON error body and stay inside the user's account."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.accounts import Account, ConsoleUser, make_console_user
from tests.support.console import csrf_of, sign_in
from tests.support.lifecycle import set_setting
from tests.support.server import LiveServer
from thumbs.kit import errors as E


def token(console: httpx.Client) -> str:
    return csrf_of(console.get("/console/simulator").text)


def post(console: httpx.Client, path: str, payload: dict[str, Any]) -> httpx.Response:
    return console.post(
        f"/console/api{path}",
        json=payload,
        headers={"X-CSRF-Token": token(console), "Accept": "application/json"},
    )


def ask(console: httpx.Client, assistant_id: str, body: str, **extra: Any) -> dict[str, Any]:
    res = post(console, f"/assistants/{assistant_id}/messages", {"body": body, **extra})
    assert res.status_code == 200, res.text
    return dict(res.json())


def test_the_simulator_page_lists_the_accounts_assistants_with_their_reason_rules(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "negative", require_reason=True)
    html = console.get("/console/simulator").text
    assert f'value="{assistant_id}"' in html
    assert 'data-reason-negative="yes"' in html
    assert 'data-reason-positive="no"' in html
    assert "/static/simulator.js" in html


def test_a_console_chat_is_stored_as_the_console_users_session(
    console: httpx.Client, api: httpx.Client, admin: ConsoleUser, assistant_id: str
) -> None:
    first = ask(console, assistant_id, "Hello?")
    second = ask(console, assistant_id, "Anyone?", session_id=first["session_id"])
    assert second["session_id"] == first["session_id"]
    messages = api.get(f"/v1/Sessions/{first['session_id']}/Messages").json()["messages"]
    assert [m["content"]["text"] for m in messages if m["role"] == "user"] == ["Hello?", "Anyone?"]
    assert {m["identity"] for m in messages} == {f"console:{admin.email}"}


def test_thumbs_from_the_simulator_follow_the_settings_and_can_be_flipped(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "negative", require_reason=True)
    reply = ask(console, assistant_id, "Where is my order?")["message_id"]
    res = post(console, f"/messages/{reply}/thumbs", {"feedback_type": "negative"})
    assert res.status_code == 400
    assert (res.json()["code"], res.json()["details"]["field"]) == (E.REASON_REQUIRED, "reason")
    res = post(
        console, f"/messages/{reply}/thumbs", {"feedback_type": "negative", "reason": "vague"}
    )
    assert res.status_code == 201, res.text
    first = res.json()
    assert (first["feedback_type"], first["status"], first["reason"]) == (
        "negative",
        "pending",
        "vague",
    )
    res = post(console, f"/messages/{reply}/thumbs", {"feedback_type": "positive"})
    assert res.status_code == 200
    assert (res.json()["id"], res.json()["feedback_type"]) == (first["id"], "positive")


def test_a_whole_session_can_be_rated(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    session_id = ask(console, assistant_id, "Hi")["session_id"]
    res = post(
        console,
        f"/assistants/{assistant_id}/session-feedback",
        {"session_id": session_id, "score": 0, "text": "not useful"},
    )
    assert res.status_code == 201, res.text
    fb = api.get(f"/v1/Assistants/{assistant_id}/Feedbacks", params={"SessionId": session_id})
    [stored] = fb.json()["feedbacks"]
    assert (stored["score"], stored["text"], stored["message_id"]) == (0.0, "not useful", None)
    assert stored["user_sid"] is not None


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/assistants/{aid}/messages", {"body": "Hi"}),
        ("/assistants/{aid}/session-feedback", {"session_id": "s", "score": 1}),
    ],
)
def test_without_the_csrf_header_nothing_happens(
    console: httpx.Client, api: httpx.Client, assistant_id: str, path: str, payload: dict[str, Any]
) -> None:
    res = console.post(f"/console/api{path.format(aid=assistant_id)}", json=payload)
    assert res.status_code == 403
    assert res.json()["code"] == E.CSRF_REJECTED
    assert api.get("/v1/Sessions").json()["sessions"] == []
    assert api.get(f"/v1/Assistants/{assistant_id}/Feedbacks").json()["feedbacks"] == []


def test_signed_out_scripts_get_a_401_json_body(server: LiveServer, assistant_id: str) -> None:
    with httpx.Client(base_url=server.url) as anonymous:
        res = anonymous.post(f"/console/api/assistants/{assistant_id}/messages", json={"body": "x"})
    assert res.status_code == 401
    assert res.json()["code"] == E.AUTHENTICATION_FAILED


def test_bad_input_is_the_json_error_body(console: httpx.Client, assistant_id: str) -> None:
    res = post(console, f"/assistants/{assistant_id}/messages", {"body": ""})
    assert res.status_code == 400
    assert res.json()["details"]["field"] == "body"
    res = post(console, "/messages/aia_msg_nope/thumbs", {"feedback_type": "sideways"})
    assert res.status_code == 400
    assert res.json()["details"]["field"] == "feedback_type"


def test_another_accounts_assistant_and_messages_are_not_found(
    server: LiveServer, other_account: Account, assistant_id: str, api: httpx.Client
) -> None:
    reply = ask_as_api(api, assistant_id)
    outsider = make_console_user(server, other_account, "outsider@example.com", "admin")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert sign_in(client, outsider).status_code == 303
        res = post(client, f"/assistants/{assistant_id}/messages", {"body": "Hi"})
        assert res.status_code == 404
        res = post(client, f"/messages/{reply}/thumbs", {"feedback_type": "positive"})
        assert res.status_code == 404


def ask_as_api(api: httpx.Client, assistant_id: str) -> str:
    res = api.post(
        f"/v1/Assistants/{assistant_id}/Messages", json={"identity": "user_id:1", "body": "Hi"}
    )
    assert res.status_code == 200, res.text
    return str(res.json()["message_id"])
