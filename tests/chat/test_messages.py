"""POST /v1/Assistants/{id}/Messages: Twilio's "send a message to the assistant". The reply
comes from the assistant's responder and both turns are stored in the session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.responders import fake_openai
from tests.support.accounts import Account
from tests.support.lifecycle import log_turn, set_setting, thumbs
from tests.support.server import LiveServer
from thumbs.kit import errors as E

QUESTION = "How do I reset my password?"


def send(api: httpx.Client, assistant_id: str, **body: Any) -> httpx.Response:
    payload = {"identity": "user_id:7", "body": QUESTION, **body}
    return api.post(f"/v1/Assistants/{assistant_id}/Messages", json=payload)


def stored(api: httpx.Client, session_id: str) -> list[tuple[str, str]]:
    res = api.get(f"/v1/Sessions/{session_id}/Messages")
    assert res.status_code == 200, res.text
    return [(m["role"], m["content"]["text"]) for m in res.json()["messages"]]


@pytest.fixture(scope="module")
def fake() -> Iterator[fake_openai.FakeOpenAI]:
    with fake_openai.serving() as srv:
        yield srv


def use_openai(api: httpx.Client, assistant_id: str, base_url: str, **over: Any) -> None:
    res = api.put(
        f"/v1/Assistants/{assistant_id}",
        json={
            "responder": "openai",
            "responder_base_url": base_url,
            "responder_model": "tiny-model",
            **over,
        },
    )
    assert res.status_code == 200, res.text


def test_the_reply_has_twilios_fields_and_the_ids_to_rate_it(
    api: httpx.Client, account: Account, assistant_id: str
) -> None:
    res = send(api, assistant_id, session_id="chat-1")
    assert res.status_code == 200, res.text
    out = res.json()
    assert out["status"] == "success"
    assert (out["flagged"], out["aborted"], out["error"]) == (False, False, None)
    assert out["session_id"] == "chat-1"
    assert out["account_sid"] == account.sid
    assert out["assistant_id"] == assistant_id
    assert out["message_id"].startswith("aia_msg_")
    assert out["user_message_id"].startswith("aia_msg_")
    assert stored(api, "chat-1") == [("user", QUESTION), ("assistant", out["body"])]


def test_without_a_golden_example_the_embedded_responder_says_it_has_no_answer_yet(
    api: httpx.Client, assistant_id: str
) -> None:
    out = send(api, assistant_id).json()
    assert "no answer" in out["body"].lower()


def test_the_embedded_responder_answers_with_the_best_golden_example(
    api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "positive", auto_approve=True)
    reply = log_turn(api, assistant_id, body=QUESTION, reply="Use 'Forgot password'.")
    assert thumbs(api, reply, "positive").json()["status"] == "auto_approved"
    out = send(api, assistant_id, body="how can I reset a forgotten password").json()
    assert out["body"] == "Use 'Forgot password'."


def test_without_a_session_id_a_new_session_is_started_and_continued(
    api: httpx.Client, assistant_id: str
) -> None:
    first = send(api, assistant_id).json()
    assert first["session_id"].startswith("aia_sess_")
    second = send(api, assistant_id, session_id=first["session_id"], body="And then?").json()
    assert second["session_id"] == first["session_id"]
    assert [role for role, _ in stored(api, first["session_id"])] == [
        "user",
        "assistant",
        "user",
        "assistant",
    ]


def test_the_stored_reply_can_be_rated_by_the_asker(api: httpx.Client, assistant_id: str) -> None:
    out = send(api, assistant_id).json()
    res = thumbs(api, out["message_id"], "negative", identity="user_id:7", reason="unhelpful")
    assert res.status_code == 201, res.text
    assert res.json()["session_id"] == out["session_id"]


def test_form_encoded_bodies_work_as_the_async_helper_library_sends_them(
    api: httpx.Client, assistant_id: str
) -> None:
    res = api.post(
        f"/v1/Assistants/{assistant_id}/Messages",
        data={"identity": "user_id:7", "body": QUESTION, "session_id": "form-chat"},
    )
    assert res.status_code == 200, res.text
    assert res.json()["session_id"] == "form-chat"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"identity": "user_id:7"}, E.MISSING_FIELD, "body"),
        ({"body": QUESTION}, E.MISSING_FIELD, "identity"),
        ({"identity": "user_id:7", "body": "x" * 4001}, E.TOO_LONG, "body"),
        ({"identity": "user_id:7", "body": QUESTION, "mode": "fax"}, E.INVALID_VALUE, "mode"),
        (
            {"identity": "user_id:7", "body": QUESTION, "webhook": "https://example.com/hook"},
            E.INVALID_VALUE,
            "webhook",
        ),
        ({"identity": "user_id:7", "body": QUESTION, "colour": "red"}, E.UNKNOWN_FIELD, "colour"),
    ],
)
def test_invalid_requests_are_400_and_store_nothing(
    api: httpx.Client, assistant_id: str, body: dict[str, Any], code: int, field: str
) -> None:
    res = api.post(f"/v1/Assistants/{assistant_id}/Messages", json={"session_id": "bad", **body})
    assert res.status_code == 400, res.text
    assert (res.json()["code"], res.json()["details"]["field"]) == (code, field)
    assert api.get("/v1/Sessions/bad").status_code == 404


def test_a_session_of_another_assistant_is_refused(api: httpx.Client, assistant_id: str) -> None:
    send(api, assistant_id, session_id="shared")
    other = api.post("/v1/Assistants", json={"name": "Other"}).json()["id"]
    res = send(api, other, session_id="shared")
    assert res.status_code == 400
    assert res.json()["code"] == E.SESSION_ASSISTANT_MISMATCH


def test_another_accounts_assistant_is_not_found(
    server: LiveServer, other_account: Account, assistant_id: str
) -> None:
    with server.client(auth=(other_account.sid, other_account.token)) as other:
        res = send(other, assistant_id)
    assert res.status_code == 404
    assert res.json()["code"] == E.NOT_FOUND


def test_wrong_credentials_are_401(server: LiveServer, assistant_id: str) -> None:
    with server.client(auth=("AC" + "0" * 32, "nope")) as client:
        assert send(client, assistant_id).status_code == 401


def test_an_openai_compatible_model_gets_the_prompt_history_and_examples(
    api: httpx.Client, assistant_id: str, fake: fake_openai.FakeOpenAI
) -> None:
    set_setting(api, "positive", auto_approve=True)
    api.put(f"/v1/Assistants/{assistant_id}", json={"personality_prompt": "You are terse."})
    reply = log_turn(api, assistant_id, session_id="old", body=QUESTION, reply="Golden answer.")
    thumbs(api, reply, "positive")
    use_openai(api, assistant_id, fake.base_url("ok"))
    send(api, assistant_id, session_id="s", body="Hello there")
    fake.seen.clear()
    out = send(api, assistant_id, session_id="s", body="reset my password please").json()
    sent = fake.seen[-1].body
    contents = [m["content"] for m in sent["messages"]]
    assert sent["model"] == "tiny-model"
    assert any("You are terse." in c for c in contents)
    assert any("Golden answer." in c for c in contents)
    assert "Hello there" in contents
    assert contents[-1] == "reset my password please"
    assert out["body"] == stored(api, "s")[-1][1]


def test_questions_to_a_model_reuse_one_connection(
    api: httpx.Client, assistant_id: str, fake: fake_openai.FakeOpenAI
) -> None:
    use_openai(api, assistant_id, fake.base_url("ok"))
    fake.seen.clear()
    for text in ("one", "two", "three"):
        assert send(api, assistant_id, body=text).json()["body"] == f"echo: {text}"
    assert len({seen.peer for seen in fake.seen}) == 1


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [("unauthorized", 502, E.RESPONDER_KEY_REJECTED), ("broken", 502, E.RESPONDER_UPSTREAM_ERROR)],
)
def test_a_failing_model_is_a_clear_error_and_nothing_is_stored(
    api: httpx.Client,
    assistant_id: str,
    fake: fake_openai.FakeOpenAI,
    mode: str,
    status: int,
    code: int,
) -> None:
    use_openai(api, assistant_id, fake.base_url(mode))
    res = send(api, assistant_id, session_id="failing")
    assert res.status_code == status, res.text
    assert res.json()["code"] == code
    assert api.get("/v1/Sessions/failing").status_code == 404


def test_an_unreachable_model_is_502(api: httpx.Client, assistant_id: str) -> None:
    use_openai(api, assistant_id, "http://127.0.0.1:9/v1")
    res = send(api, assistant_id)
    assert res.status_code == 502
    assert res.json()["code"] == E.RESPONDER_UNREACHABLE


def test_a_slow_model_times_out_with_504_instead_of_hanging(
    server: LiveServer, api: httpx.Client, assistant_id: str, fake: fake_openai.FakeOpenAI
) -> None:
    settings = server.runtime.settings
    before = settings.responder_timeout
    settings.responder_timeout = 0.5
    try:
        use_openai(api, assistant_id, fake.base_url("slow"))
        res = send(api, assistant_id, session_id="slow")
    finally:
        settings.responder_timeout = before
    assert res.status_code == 504
    assert res.json()["code"] == E.RESPONDER_TIMEOUT
    assert api.get("/v1/Sessions/slow").status_code == 404


def test_a_missing_api_key_variable_is_a_configuration_error(
    api: httpx.Client, assistant_id: str, fake: fake_openai.FakeOpenAI
) -> None:
    use_openai(api, assistant_id, fake.base_url("ok"), responder_api_key_env="THUMBS_NO_SUCH_KEY")
    res = send(api, assistant_id)
    assert res.status_code == 502
    assert res.json()["code"] == E.RESPONDER_NOT_CONFIGURED
