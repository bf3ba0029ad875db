"""The official Twilio Node library (npm twilio@5.13.1) against a live thumbs server, as
TypeScript and JavaScript users call it: camelCase literals and the library's own request
classes (TypeScript, checked by tsc), snake_case objects (JavaScript); create, list with
limit, paging with pageSize, each(), page()/nextPage(), errors, messages, assistants."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.accounts import Account
from tests.support.http import create_feedback, feedbacks_path
from tests.support.server import LiveServer
from tests.twilio_libs.node import NodeScripts, build

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")  # Date.toISOString() of a parsed date


@pytest.fixture(scope="session")
def node() -> NodeScripts:
    return build()


@pytest.fixture
def typed(
    node: NodeScripts, server: LiveServer, account: Account, assistant_id: str
) -> Iterator[Any]:
    """Run one TypeScript scenario (with its JSON argument) against the live server."""
    env = {
        "THUMBS_URL": server.url,
        "TWILIO_ACCOUNT_SID": account.sid,
        "TWILIO_AUTH_TOKEN": account.token,
        "ASSISTANT_ID": assistant_id,
    }

    def run(scenario: str, arg: str | None = None) -> Any:
        return node.run(node.typed, scenario, *([arg] if arg else []), env=env)

    return run


def seed(api: httpx.Client, assistant_id: str, n: int) -> list[str]:
    """``n`` feedback records; their ids newest first (the order of every list)."""
    ids = [
        create_feedback(api, assistant_id, session_id=f"s{i}", score=0.5)["id"] for i in range(n)
    ]
    return ids[::-1]


def test_a_typescript_literal_creates_feedback(
    typed: Any, api: httpx.Client, account: Account, assistant_id: str
) -> None:
    out = typed("feedback-literal")
    assert (out["sessionId"], out["messageId"], out["score"], out["text"]) == (
        "ts-session",
        "aia_msg_ts",
        0.75,
        "typed",
    )
    assert (out["assistantId"], out["accountSid"], out["userSid"]) == (
        assistant_id,
        account.sid,
        None,
    )
    assert ISO.match(out["dateCreated"])
    assert ISO.match(out["dateUpdated"])
    stored = api.get(f"{feedbacks_path(assistant_id)}/{out['id']}").json()
    assert (stored["session_id"], stored["message_id"], stored["score"], stored["text"]) == (
        "ts-session",
        "aia_msg_ts",
        0.75,
        "typed",
    )
    assert stored["date_created"].replace("Z", ".000Z") == out["dateCreated"]


def test_the_librarys_request_class_sends_camel_case_and_creates_feedback(
    typed: Any, api: httpx.Client, assistant_id: str
) -> None:
    out = typed("feedback-class")
    assert sorted(out["sent"]) == ["messageId", "score", "sessionId", "text"]
    created = out["created"]
    assert (created["sessionId"], created["messageId"], created["score"]) == (
        "class-session",
        "aia_msg_class",
        0,  # a thumbs-down score of 0 is a value, not "no score"
    )
    stored = api.get(f"{feedbacks_path(assistant_id)}/{created['id']}").json()
    assert (stored["session_id"], stored["score"], stored["text"]) == (
        "class-session",
        0.0,
        "built by the class",
    )


def test_a_text_only_feedback_reads_back_with_null_score_and_message(typed: Any) -> None:
    out = typed("feedback-text-only")
    assert (out["score"], out["messageId"], out["text"]) == (None, None, "only text")


def test_one_field_under_both_spellings_with_two_values_is_a_rest_exception(
    typed: Any, api: httpx.Client, assistant_id: str
) -> None:
    out = typed("feedback-twice")
    assert out["isRestException"] is True
    assert (out["status"], out["code"]) == (400, 60017)
    assert out["details"]["field"] == "session_id"
    assert api.get(feedbacks_path(assistant_id)).json()["feedbacks"] == []


def test_list_with_a_limit_and_with_a_page_size(
    typed: Any, api: httpx.Client, assistant_id: str
) -> None:
    newest_first = seed(api, assistant_id, 7)
    limited = typed("list", '{"limit": 3}')
    assert [f["id"] for f in limited] == newest_first[:3]
    assert all(ISO.match(f["dateCreated"]) for f in limited)
    assert [f["id"] for f in typed("list", '{"pageSize": 2}')] == newest_first
    assert [f["id"] for f in typed("list", '{"pageSize": 3, "limit": 5}')] == newest_first[:5]


def test_each_streams_every_record_across_pages(
    typed: Any, api: httpx.Client, assistant_id: str
) -> None:
    newest_first = seed(api, assistant_id, 5)
    assert typed("each", '{"pageSize": 2}') == newest_first
    assert typed("each", '{"pageSize": 2, "limit": 3}') == newest_first[:3]


def test_page_and_next_page_follow_absolute_urls_to_the_end(
    typed: Any, server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    newest_first = seed(api, assistant_id, 7)
    pages = typed("pages", '{"pageSize": 3}')
    assert [p["ids"] for p in pages] == [newest_first[:3], newest_first[3:6], newest_first[6:]]
    assert [p["nextPageUrl"] is None for p in pages] == [False, False, True]
    assert all(p["nextPageUrl"].startswith(f"{server.url}/v1/") for p in pages[:2])


def test_page_with_a_page_token_continues_where_the_first_page_ended(
    typed: Any, api: httpx.Client, assistant_id: str
) -> None:
    newest_first = seed(api, assistant_id, 5)
    out = typed("page-token", '{"pageSize": 2}')
    assert (out["first"], out["second"]) == (newest_first[:2], newest_first[2:4])


def test_errors_are_rest_exceptions_with_twilios_fields(typed: Any) -> None:
    out = typed("errors")
    expected = {
        "badScore": (400, 60004, "score"),
        "unknownField": (400, 60007, "rating"),
        "wrongTokenCreate": (401, 20003, None),
        "wrongTokenList": (401, 20003, None),
        "unknownAssistantCreate": (404, 20404, None),
        "unknownAssistantList": (404, 20404, None),
    }
    for case, (status, code, field) in expected.items():
        error = out[case]
        assert error["isRestException"] is True, case
        assert (error["status"], error["code"]) == (status, code), (case, error)
        assert error["moreInfo"].endswith(f"/errors/{code}"), case
        assert error["message"], case
        if field is not None:
            assert error["details"]["field"] == field, (case, error)


def test_messages_are_answered_and_the_session_reads_back(
    typed: Any, account: Account, assistant_id: str
) -> None:
    replies = typed("message-literal")
    assert [r["sessionId"] for r in replies] == ["ts-chat", "ts-chat"]
    assert all(r["status"] == "success" and r["accountSid"] == account.sid for r in replies)
    assert all((r["flagged"], r["aborted"], r["error"]) == (False, False, None) for r in replies)
    assert all(r["body"] for r in replies)
    out = typed("sessions")
    assert (out["session"]["id"], out["session"]["assistantId"]) == ("ts-chat", assistant_id)
    assert ISO.match(out["session"]["dateCreated"])
    assert "ts-chat" in out["listed"]
    roles = [m["role"] for m in out["messages"]]
    assert sorted(roles) == ["assistant", "assistant", "user", "user"]
    assert {m["content"]["text"] for m in out["messages"] if m["role"] == "user"} == {
        "Hello?",
        "Still there?",
    }


def test_assistants_from_literals_and_request_classes(
    typed: Any, api: httpx.Client, account: Account
) -> None:
    out = typed("assistant-lifecycle")
    literal, classy = out["literal"], out["classy"]
    assert (literal["name"], literal["owner"], literal["personalityPrompt"]) == (
        "Typed literal",
        "Ada",
        "Be brief.",
    )
    assert literal["customerAi"] == {
        "perception_engine_enabled": True,
        "personalization_engine_enabled": False,
    }
    assert (classy["name"], classy["personalityPrompt"]) == ("Typed class", "Be kind.")
    assert classy["customerAi"] == {
        "perception_engine_enabled": False,
        "personalization_engine_enabled": True,
    }
    assert literal["accountSid"] == account.sid
    assert ISO.match(literal["dateCreated"])
    # an update class leaves its unset fields undefined: only the prompt changes
    updated = out["updated"]
    assert (updated["name"], updated["owner"], updated["personalityPrompt"]) == (
        "Typed literal",
        "Ada",
        "Be briefer.",
    )
    assert out["fetched"]["id"] == classy["id"]
    assert out["removed"] is True
    remaining = {a["id"] for a in api.get("/v1/Assistants").json()["assistants"]}
    assert literal["id"] in remaining
    assert classy["id"] not in remaining
    assert len(out["listed"]) == 3  # the test's own assistant and the two created, by pages of 1


def test_plain_javascript_with_snake_case_objects(
    node: NodeScripts, server: LiveServer, account: Account, api: httpx.Client
) -> None:
    env = {"THUMBS_URL": server.url, "TWILIO_ACCOUNT_SID": account.sid}
    out = node.run(node.plain, env={**env, "TWILIO_AUTH_TOKEN": account.token})
    assert out["assistant"]["personalityPrompt"] == "Be plain."
    assert out["assistant"]["dateIsDate"] is True
    created = out["created"]
    assert [(f["sessionId"], f["messageId"], f["score"], f["text"]) for f in created] == [
        (f"js-{i}", f"aia_msg_js{i}", i / 4, f"#{i}") for i in range(5)
    ]
    assert all(f["dateIsDate"] for f in created)
    newest_first = [f["id"] for f in created][::-1]
    assert out["limited"] == newest_first[:3]
    assert out["eached"] == newest_first
    assert out["pages"] == [newest_first[:2], newest_first[2:4]]
    assert (out["reply"]["status"], out["reply"]["sessionId"]) == ("success", "js-chat")
    assert out["badScore"]["status"] == 400
    assert out["badScore"]["code"] == 60004
    assert out["badScore"]["details"]["field"] == "score"
    stored = api.get(feedbacks_path(out["assistant"]["id"]), params={"PageSize": 10}).json()
    assert [f["id"] for f in stored["feedbacks"]] == newest_first
