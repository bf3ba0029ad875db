"""Every validation rule of the Twilio resources, as curl would meet it: raw bytes on the
wire, one row per rule. Each refusal is Twilio's error body with a stable code and
``details.field`` naming the offending field; never a 500, never a stack trace, and
nothing is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.support.http import (
    FORM_HEADERS,
    JSON_HEADERS,
    assert_error,
    create_feedback,
    feedbacks_path,
)
from tests.support.server import LiveServer
from thumbs.kit import errors as E
from thumbs.kit.body import loads_checked
from thumbs.store.models import Assistant, Feedback, Message

MALFORMED, MISSING, WRONG_TYPE, RANGE, TOO_LONG, PATTERN, UNKNOWN = (
    60001,
    60002,
    60003,
    60004,
    60005,
    60006,
    60007,
)
INVALID_VALUE, EMPTY, BAD_CHAR, TWICE = 60010, 60011, 60016, 60017


def count(server: LiveServer, model: type[Any]) -> int:
    with server.runtime.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def send(
    api: httpx.Client, method: str, path: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return api.request(method, path, content=body, headers=headers)


# -- feedback create -------------------------------------------------------------------------

FEEDBACK_JSON_REFUSALS = [
    pytest.param(b'{"session_id": ', MALFORMED, "body", id="truncated JSON"),
    pytest.param(b"{'session_id': 's'}", MALFORMED, "body", id="single quotes"),
    pytest.param(b'{"session_id": "s",}', MALFORMED, "body", id="trailing comma"),
    pytest.param(b"", MALFORMED, "body", id="empty body"),
    pytest.param(b"   ", MALFORMED, "body", id="blank body"),
    pytest.param(b"[]", MALFORMED, "body", id="array"),
    pytest.param(b'"session_id"', MALFORMED, "body", id="string"),
    pytest.param(b"null", MALFORMED, "body", id="null"),
    pytest.param(b"1", MALFORMED, "body", id="number"),
    pytest.param(b'{"session_id": "\xff"}', MALFORMED, "body", id="not UTF-8"),
    pytest.param(b"{}", MISSING, "session_id", id="no session_id"),
    pytest.param(b'{"score": 1}', MISSING, "session_id", id="only a score"),
    pytest.param(b'{"session_id": null}', WRONG_TYPE, "session_id", id="null session_id"),
    pytest.param(b'{"session_id": 7}', WRONG_TYPE, "session_id", id="number session_id"),
    pytest.param(b'{"session_id": ["s"]}', WRONG_TYPE, "session_id", id="list session_id"),
    pytest.param(b'{"session_id": ""}', EMPTY, "session_id", id="empty session_id"),
    pytest.param(b'{"session_id": "  "}', EMPTY, "session_id", id="blank session_id"),
    pytest.param(
        b'{"session_id": "' + b"s" * 257 + b'"}', TOO_LONG, "session_id", id="session_id 257"
    ),
    pytest.param(b'{"session_id": "s", "score": "0.5"}', WRONG_TYPE, "score", id="string score"),
    pytest.param(b'{"session_id": "s", "score": true}', WRONG_TYPE, "score", id="bool score"),
    pytest.param(b'{"session_id": "s", "score": [1]}', WRONG_TYPE, "score", id="list score"),
    pytest.param(b'{"session_id": "s", "score": {}}', WRONG_TYPE, "score", id="object score"),
    pytest.param(b'{"session_id": "s", "score": 1.0001}', RANGE, "score", id="score above 1"),
    pytest.param(b'{"session_id": "s", "score": -0.0001}', RANGE, "score", id="score below 0"),
    pytest.param(b'{"session_id": "s", "score": 2}', RANGE, "score", id="integer score 2"),
    pytest.param(b'{"session_id": "s", "score": NaN}', RANGE, "score", id="NaN"),
    pytest.param(b'{"session_id": "s", "score": Infinity}', RANGE, "score", id="Infinity"),
    pytest.param(b'{"session_id": "s", "score": -Infinity}', RANGE, "score", id="-Infinity"),
    pytest.param(b'{"session_id": "s", "score": 1e400}', RANGE, "score", id="1e400"),
    pytest.param(b'{"session_id": "s", "text": ["x"]}', WRONG_TYPE, "text", id="list text"),
    pytest.param(b'{"session_id": "s", "text": 5}', WRONG_TYPE, "text", id="number text"),
    pytest.param(
        b'{"session_id": "s", "text": "' + b"t" * 4001 + b'"}', TOO_LONG, "text", id="text 4001"
    ),
    pytest.param(
        b'{"session_id": "s", "message_id": "msg_1"}', PATTERN, "message_id", id="not aia_msg_"
    ),
    pytest.param(
        b'{"session_id": "s", "message_id": "aia_msg_"}', PATTERN, "message_id", id="bare prefix"
    ),
    pytest.param(
        b'{"session_id": "s", "message_id": " aia_msg_1"}',
        PATTERN,
        "message_id",
        id="leading space",
    ),
    pytest.param(
        b'{"session_id": "s", "message_id": "aia_msg_' + b"m" * 249 + b'"}',
        TOO_LONG,
        "message_id",
        id="message_id 257",
    ),
    pytest.param(b'{"session_id": "s", "message_id": 1}', WRONG_TYPE, "message_id", id="int id"),
    pytest.param(b'{"session_id": "s", "Score": 1}', UNKNOWN, "Score", id="misspelt field"),
    pytest.param(b'{"session_id": "s", "user_sid": "US1"}', UNKNOWN, "user_sid", id="read-only"),
    pytest.param(b'{"session_id": "s", "id": "aia_fdbk_1"}', UNKNOWN, "id", id="id is not input"),
    pytest.param(b'{"session_id": "a\\u0000b"}', BAD_CHAR, "session_id", id="NUL in session_id"),
    pytest.param(b'{"session_id": "s", "text": "\\u0000"}', BAD_CHAR, "text", id="NUL in text"),
    pytest.param(
        b'{"session_id": "s", "message_id": "aia_msg_\\u0000"}',
        BAD_CHAR,
        "message_id",
        id="NUL in message_id",
    ),
    pytest.param(b'{"session_id": "a\x00b"}', MALFORMED, "body", id="raw NUL byte in JSON"),
    pytest.param(b'{"session_id": "a", "session_id": "b"}', TWICE, "session_id", id="key twice"),
    pytest.param(
        b'{"session_id": "s", "score": 2, "score": 0.5}', TWICE, "score", id="score twice"
    ),
    pytest.param(
        b'{"session_id": "a", "sess\\u0069on_id": "b"}',
        TWICE,
        "session_id",
        id="key twice, once escaped",
    ),
    pytest.param(
        b'{"session_id" : "a", "session_id":\n"b"}',
        TWICE,
        "session_id",
        id="key twice, spaced",
    ),
    pytest.param(
        b'{"session_id": "s", "text": "\\"score\\": 1", "text": "t"}',
        TWICE,
        "text",
        id="key twice, quoted key in a value",
    ),
]


@pytest.mark.parametrize(("body", "code", "field"), FEEDBACK_JSON_REFUSALS)
def test_feedback_create_refuses(
    api: httpx.Client, server: LiveServer, assistant_id: str, body: bytes, code: int, field: str
) -> None:
    res = send(api, "POST", feedbacks_path(assistant_id), body, JSON_HEADERS)
    assert_error(res, 400, code, field=field)
    assert count(server, Feedback) == 0


FEEDBACK_FORM_REFUSALS = [
    pytest.param(b"score=0.5", MISSING, "session_id", id="no session_id"),
    pytest.param(b"session_id=", EMPTY, "session_id", id="empty session_id"),
    pytest.param(b"session_id=s&score=abc", WRONG_TYPE, "score", id="non-numeric score"),
    pytest.param(b"session_id=s&score=1.5", RANGE, "score", id="score above 1"),
    pytest.param(b"session_id=s&score=nan", RANGE, "score", id="nan"),
    pytest.param(b"session_id=s&score=inf", RANGE, "score", id="inf"),
    pytest.param(b"session_id=s&message_id=m1", PATTERN, "message_id", id="bad message_id"),
    pytest.param(b"session_id=s&Text=hi", UNKNOWN, "Text", id="unknown field"),
    pytest.param(b"session_id=s%00", BAD_CHAR, "session_id", id="NUL in session_id"),
    pytest.param(b"session_id=%ff", MALFORMED, "body", id="not UTF-8"),
    pytest.param(b"session_id", MALFORMED, "body", id="no equals sign"),
    pytest.param(b"session_id=one&session_id=two", TWICE, "session_id", id="field twice"),
    pytest.param(b"session_id=s&score=1&text=t&score=0", TWICE, "score", id="score twice"),
]


@pytest.mark.parametrize(("body", "code", "field"), FEEDBACK_FORM_REFUSALS)
def test_feedback_create_refuses_form_bodies(
    api: httpx.Client, server: LiveServer, assistant_id: str, body: bytes, code: int, field: str
) -> None:
    res = send(api, "POST", feedbacks_path(assistant_id), body, FORM_HEADERS)
    assert_error(res, 400, code, field=field)
    assert count(server, Feedback) == 0


FEEDBACK_ACCEPTED = [
    pytest.param(b'{"session_id": "s", "score": 0}', JSON_HEADERS, {"score": 0.0}, id="score 0"),
    pytest.param(b'{"session_id": "s", "score": 1}', JSON_HEADERS, {"score": 1.0}, id="score 1"),
    pytest.param(
        b'{"session_id": "s", "score": 0.5, "message_id": null, "text": null}',
        JSON_HEADERS,
        {"score": 0.5, "message_id": None, "text": None},
        id="explicit nulls",
    ),
    pytest.param(
        b'{"session_id": "' + b"s" * 256 + b'"}',
        JSON_HEADERS,
        {"session_id": "s" * 256},
        id="session_id 256",
    ),
    pytest.param(
        b'{"session_id": "s", "text": "' + b"t" * 4000 + b'"}',
        JSON_HEADERS,
        {"text": "t" * 4000},
        id="text 4000",
    ),
    pytest.param(
        b'{"session_id": "s", "text": "\xc3\xa9\xe2\x9c\x93 <b>&"}',
        JSON_HEADERS,
        {"text": "é✓ <b>&"},
        id="unicode text kept verbatim",
    ),
    pytest.param(
        b'{"session_id": "s", "message_id": "aia_msg_' + b"m" * 248 + b'"}',
        JSON_HEADERS,
        {"message_id": "aia_msg_" + "m" * 248},
        id="message_id 256",
    ),
    pytest.param(
        b"session_id=form&score=0.25&text=a+b%26c&message_id=aia_msg_1",
        FORM_HEADERS,
        {"session_id": "form", "score": 0.25, "text": "a b&c", "message_id": "aia_msg_1"},
        id="form-encoded",
    ),
    pytest.param(
        b"session_id=async&score=1",
        JSON_HEADERS,
        {"session_id": "async", "score": 1.0},
        id="form data labelled JSON (the async Twilio client)",
    ),
    pytest.param(
        b'{"session_id": "json", "score": 0.1}',
        FORM_HEADERS,
        {"session_id": "json", "score": 0.1},
        id="JSON labelled form",
    ),
    pytest.param(
        b'{"session_id": "s"}',
        {"Content-Type": "application/json; charset=utf-8"},
        {"session_id": "s"},
        id="JSON with charset",
    ),
    pytest.param(b'{"session_id": "s"}', {}, {"session_id": "s"}, id="no content type"),
    pytest.param(
        b'{ "session_id" : "s" ,\n  "score" :\t1 }',
        JSON_HEADERS,
        {"session_id": "s", "score": 1.0},
        id="spaced JSON",
    ),
    pytest.param(
        b'{"session_id": "s", "text": "\\"score\\": 1, \\"score\\": 0 \\u00e9"}',
        JSON_HEADERS,
        {"text": '"score": 1, "score": 0 \u00e9'},
        id="a text that quotes keys",
    ),
]


@pytest.mark.parametrize(("body", "headers", "expected"), FEEDBACK_ACCEPTED)
def test_feedback_create_accepts(
    api: httpx.Client,
    server: LiveServer,
    assistant_id: str,
    body: bytes,
    headers: dict[str, str],
    expected: dict[str, Any],
) -> None:
    res = send(api, "POST", feedbacks_path(assistant_id), body, headers)
    assert res.status_code == 201, res.text
    created = res.json()
    assert {k: created[k] for k in expected} == expected
    fetched = api.get(f"{feedbacks_path(assistant_id)}/{created['id']}").json()
    assert {k: fetched[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"session_id": "s"}'),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="session_id"\r\n\r\ns\r\n--x--\r\n',
        ),
        ("application/xml", b"<session_id>s</session_id>"),
        ("application/octet-stream", b'{"session_id": "s"}'),
    ],
)
def test_a_body_of_another_content_type_is_415(
    api: httpx.Client, server: LiveServer, assistant_id: str, content_type: str, body: bytes
) -> None:
    res = send(api, "POST", feedbacks_path(assistant_id), body, {"Content-Type": content_type})
    assert_error(res, 415, 60415, field="Content-Type")
    assert count(server, Feedback) == 0


def _chunks(total: int) -> Iterator[bytes]:
    yield b'{"session_id": "s", "text": "'
    sent = 0
    while sent < total:
        yield b"x" * 8192
        sent += 8192
    yield b'"}'


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_64_kib_is_413(
    api: httpx.Client, server: LiveServer, assistant_id: str, chunked: bool
) -> None:
    path = feedbacks_path(assistant_id)
    if chunked:
        res = api.post(path, content=_chunks(70_000), headers=JSON_HEADERS)
    else:
        body = b'{"session_id": "s", "text": "' + b"x" * (64 * 1024) + b'"}'
        res = send(api, "POST", path, body, JSON_HEADERS)
    assert_error(res, 413, 60413)
    assert count(server, Feedback) == 0


def test_a_body_of_exactly_64_kib_is_read_and_validated(
    api: httpx.Client, assistant_id: str
) -> None:
    prefix, suffix = b'{"session_id": "s", "text": "', b'"}'
    body = prefix + b"x" * (64 * 1024 - len(prefix) - len(suffix)) + suffix
    assert len(body) == 64 * 1024
    res = send(api, "POST", feedbacks_path(assistant_id), body, JSON_HEADERS)
    assert_error(res, 400, TOO_LONG, field="text")  # read in full, then refused on its merits


# -- feedback update ---------------------------------------------------------------------------

FEEDBACK_UPDATE_REFUSALS = [
    pytest.param(b"", MALFORMED, "body", id="empty body"),
    pytest.param(b"{", MALFORMED, "body", id="malformed"),
    pytest.param(b"[]", MALFORMED, "body", id="array"),
    pytest.param(b"{}", INVALID_VALUE, "body", id="nothing to update"),
    pytest.param(b'{"score": "1"}', WRONG_TYPE, "score", id="string score"),
    pytest.param(b'{"score": false}', WRONG_TYPE, "score", id="bool score"),
    pytest.param(b'{"score": 1.5}', RANGE, "score", id="score above 1"),
    pytest.param(b'{"score": -1}', RANGE, "score", id="score below 0"),
    pytest.param(b'{"score": NaN}', RANGE, "score", id="NaN"),
    pytest.param(b'{"text": {"a": 1}}', WRONG_TYPE, "text", id="object text"),
    pytest.param(b'{"text": "' + b"t" * 4001 + b'"}', TOO_LONG, "text", id="text 4001"),
    pytest.param(b'{"text": "a\\u0000"}', BAD_CHAR, "text", id="NUL in text"),
    pytest.param(b'{"session_id": "other"}', UNKNOWN, "session_id", id="session_id is fixed"),
    pytest.param(b'{"message_id": "aia_msg_2"}', UNKNOWN, "message_id", id="message_id is fixed"),
    pytest.param(b'{"score": 1, "extra": 1}', UNKNOWN, "extra", id="unknown field"),
    pytest.param(b'{"score": 1, "score": 0}', TWICE, "score", id="score twice"),
    pytest.param(b'{"score": Infinity}', RANGE, "score", id="Infinity"),
]


@pytest.mark.parametrize(("body", "code", "field"), FEEDBACK_UPDATE_REFUSALS)
def test_feedback_update_refuses(
    api: httpx.Client, assistant_id: str, body: bytes, code: int, field: str
) -> None:
    created = create_feedback(api, assistant_id, score=0.5, text="before")
    path = f"{feedbacks_path(assistant_id)}/{created['id']}"
    assert_error(send(api, "PUT", path, body, JSON_HEADERS), 400, code, field=field)
    after = api.get(path).json()
    assert (after["score"], after["text"], after["date_updated"]) == (
        0.5,
        "before",
        created["date_updated"],
    )


def test_feedback_update_accepts_form_data(api: httpx.Client, assistant_id: str) -> None:
    created = create_feedback(api, assistant_id, score=0.5)
    path = f"{feedbacks_path(assistant_id)}/{created['id']}"
    res = send(api, "PUT", path, b"score=0.75&text=better", FORM_HEADERS)
    assert res.status_code == 200, res.text
    assert (res.json()["score"], res.json()["text"]) == (0.75, "better")


# -- assistants --------------------------------------------------------------------------------

ASSISTANT_CREATE_REFUSALS = [
    pytest.param(b"", MALFORMED, "body", id="empty body"),
    pytest.param(b'{"name": "x"', MALFORMED, "body", id="malformed"),
    pytest.param(b"{}", MISSING, "name", id="no name"),
    pytest.param(b'{"name": null}', WRONG_TYPE, "name", id="null name"),
    pytest.param(b'{"name": 1}', WRONG_TYPE, "name", id="number name"),
    pytest.param(b'{"name": ""}', EMPTY, "name", id="empty name"),
    pytest.param(b'{"name": " "}', EMPTY, "name", id="blank name"),
    pytest.param(b'{"name": "' + b"n" * 257 + b'"}', TOO_LONG, "name", id="name 257"),
    pytest.param(b'{"name": "a\\u0000"}', BAD_CHAR, "name", id="NUL in name"),
    pytest.param(b'{"FriendlyName": "x"}', UNKNOWN, "FriendlyName", id="FriendlyName"),
    pytest.param(b'{"name": "x", "model": "gpt"}', UNKNOWN, "model", id="model is read-only"),
    pytest.param(b'{"name": "x", "owner": 3}', WRONG_TYPE, "owner", id="number owner"),
    pytest.param(
        b'{"name": "x", "owner": "' + b"o" * 257 + b'"}', TOO_LONG, "owner", id="owner 257"
    ),
    pytest.param(
        b'{"name": "x", "personality_prompt": "' + b"p" * 20001 + b'"}',
        TOO_LONG,
        "personality_prompt",
        id="prompt 20001",
    ),
    pytest.param(
        b'{"name": "x", "customer_ai": true}', WRONG_TYPE, "customer_ai", id="customer_ai bool"
    ),
    pytest.param(
        b'{"name": "x", "customer_ai": {"perception_engine_enabled": true}}',
        MISSING,
        "customer_ai.personalization_engine_enabled",
        id="customer_ai incomplete",
    ),
    pytest.param(
        b'{"name": "x", "customer_ai": {"perception_engine_enabled": "yes",'
        b' "personalization_engine_enabled": false}}',
        WRONG_TYPE,
        "customer_ai.perception_engine_enabled",
        id="customer_ai string flag",
    ),
    pytest.param(
        b'{"name": "x", "segment_credential": {"space_id": "s", "token": "t"}}',
        UNKNOWN,
        "segment_credential.token",
        id="segment_credential unknown key",
    ),
    pytest.param(
        b'{"name": "x", "segment_credential": {"space_id": "\\u0000"}}',
        BAD_CHAR,
        "segment_credential.space_id",
        id="NUL in a nested field",
    ),
    pytest.param(
        b'{"name": "x", "positive_threshold": 1.5}', RANGE, "positive_threshold", id="threshold"
    ),
    pytest.param(
        b'{"name": "x", "positive_threshold": NaN}',
        RANGE,
        "positive_threshold",
        id="NaN threshold",
    ),
    pytest.param(
        b'{"name": "x", "customer_ai": {"perception_engine_enabled": true,'
        b' "personalization_engine_enabled": false, "perception_engine_enabled": false}}',
        TWICE,
        "customer_ai.perception_engine_enabled",
        id="nested key twice",
    ),
    pytest.param(b'{"name": "x", "name": "y"}', TWICE, "name", id="name twice"),
    pytest.param(b'{"name": "x", "responder": "gpt"}', INVALID_VALUE, "responder", id="responder"),
    pytest.param(
        b'{"name": "x", "responder_base_url": "ftp://host"}',
        PATTERN,
        "responder_base_url",
        id="base URL scheme",
    ),
    pytest.param(
        b'{"name": "x", "responder": "openai"}',
        MISSING,
        "responder_base_url",
        id="openai without base URL",
    ),
    pytest.param(
        b'{"name": "x", "responder_api_key_env": "1KEY"}',
        PATTERN,
        "responder_api_key_env",
        id="env var name",
    ),
]


@pytest.mark.parametrize(("body", "code", "field"), ASSISTANT_CREATE_REFUSALS)
def test_assistant_create_refuses(
    api: httpx.Client, server: LiveServer, body: bytes, code: int, field: str
) -> None:
    assert_error(send(api, "POST", "/v1/Assistants", body, JSON_HEADERS), 400, code, field=field)
    assert count(server, Assistant) == 0


def test_assistant_create_accepts_form_data(api: httpx.Client) -> None:
    res = send(api, "POST", "/v1/Assistants", b"name=Form+bot&owner=Acme", FORM_HEADERS)
    assert res.status_code == 201, res.text
    assert (res.json()["name"], res.json()["owner"]) == ("Form bot", "Acme")


ASSISTANT_UPDATE_REFUSALS = [
    pytest.param(b" ", MALFORMED, "body", id="blank body"),
    pytest.param(b"{", MALFORMED, "body", id="malformed"),
    pytest.param(b"[1]", MALFORMED, "body", id="array"),
    pytest.param(b'{"name": ""}', EMPTY, "name", id="empty name"),
    pytest.param(b'{"name": "\\u0000"}', BAD_CHAR, "name", id="NUL in name"),
    pytest.param(b'{"FriendlyName": null}', UNKNOWN, "FriendlyName", id="FriendlyName null"),
    pytest.param(b'{"FriendlyName": "x"}', UNKNOWN, "FriendlyName", id="FriendlyName"),
    pytest.param(b'{"owner": ["a"]}', WRONG_TYPE, "owner", id="list owner"),
    pytest.param(b'{"positive_threshold": -0.1}', RANGE, "positive_threshold", id="threshold"),
    pytest.param(b'{"responder": "openai"}', MISSING, "responder_base_url", id="openai no URL"),
]


@pytest.mark.parametrize(("body", "code", "field"), ASSISTANT_UPDATE_REFUSALS)
def test_assistant_update_refuses(
    api: httpx.Client, assistant_id: str, body: bytes, code: int, field: str
) -> None:
    path = f"/v1/Assistants/{assistant_id}"
    before = api.get(path).json()
    assert_error(send(api, "PUT", path, body, JSON_HEADERS), 400, code, field=field)
    assert api.get(path).json() == before


def test_assistant_update_with_an_empty_body_changes_nothing(
    api: httpx.Client, assistant_id: str
) -> None:
    path = f"/v1/Assistants/{assistant_id}"
    before = api.get(path).json()
    res = send(api, "PUT", path, b"", JSON_HEADERS)
    assert res.status_code == 200, res.text
    assert res.json()["name"] == before["name"]


# -- camelCase spellings and null (every Twilio-compatible body) -------------------------------
# Twilio's Node library sends the objects its TypeScript typings and request classes build,
# so the bodies carry camelCase names; Ruby sends null for every field not set.

CUSTOMER_AI_CAMEL = {"perceptionEngineEnabled": True, "personalizationEngineEnabled": False}


def test_a_feedback_in_camel_case_is_the_same_feedback(
    api: httpx.Client, assistant_id: str
) -> None:
    body = {"sessionId": "camel", "messageId": "aia_msg_1", "score": 0.5, "text": "ok"}
    res = api.post(feedbacks_path(assistant_id), json=body)
    assert res.status_code == 201, res.text
    created = res.json()
    expected = {"session_id": "camel", "message_id": "aia_msg_1", "score": 0.5, "text": "ok"}
    assert {k: created[k] for k in expected} == expected
    fetched = api.get(f"{feedbacks_path(assistant_id)}/{created['id']}").json()
    assert {k: fetched[k] for k in expected} == expected


def test_a_form_body_in_camel_case_is_converted_too(api: httpx.Client) -> None:
    res = send(api, "POST", "/v1/Assistants", b"name=Form&positiveThreshold=0.7", FORM_HEADERS)
    assert res.status_code == 201, res.text
    assert res.json()["positive_threshold"] == 0.7


def test_an_assistant_in_camel_case_is_the_same_assistant(api: httpx.Client) -> None:
    body = {
        "name": "Camel",
        "owner": "Ada",
        "personalityPrompt": "Be brief.",
        "customerAi": CUSTOMER_AI_CAMEL,
        "segmentCredential": {"spaceId": "spa_1", "writeKey": None},
        "positiveThreshold": 0.7,
    }
    res = api.post("/v1/Assistants", json=body)
    assert res.status_code == 201, res.text
    created = res.json()
    assert (created["name"], created["owner"], created["personality_prompt"]) == (
        "Camel",
        "Ada",
        "Be brief.",
    )
    assert created["customer_ai"] == {
        "perception_engine_enabled": True,
        "personalization_engine_enabled": False,
    }
    assert created["positive_threshold"] == 0.7
    path = f"/v1/Assistants/{created['id']}"
    updated = api.put(path, json={"personalityPrompt": "Be kind.", "name": None}).json()
    assert (updated["name"], updated["personality_prompt"]) == ("Camel", "Be kind.")
    assert api.get(path).json()["personality_prompt"] == "Be kind."


def test_a_message_in_camel_case_continues_the_named_session(
    api: httpx.Client, assistant_id: str
) -> None:
    body = {"identity": "user_id:7", "body": "Hello?", "sessionId": "camel-chat", "mode": None}
    res = api.post(f"/v1/Assistants/{assistant_id}/Messages", json=body)
    assert res.status_code == 200, res.text
    assert res.json()["session_id"] == "camel-chat"
    messages = api.get("/v1/Sessions/camel-chat/Messages").json()["messages"]
    assert len(messages) == 2
    assert {m["meta"].get("mode") for m in messages if m["role"] == "assistant"} == {"chat"}


def test_the_openapi_description_names_each_camel_case_spelling(api: httpx.Client) -> None:
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    expected = {
        "FeedbackCreate": {"session_id": "sessionId", "message_id": "messageId"},
        "SendMessage": {"session_id": "sessionId"},
        "AssistantCreate": {"personality_prompt": "personalityPrompt", "customer_ai": "customerAi"},
        "CustomerAi": {"perception_engine_enabled": "perceptionEngineEnabled"},
        "SegmentCredential": {"space_id": "spaceId", "write_key": "writeKey"},
    }
    for model, aliases in expected.items():
        schema = schemas[model]
        assert "camelCase" in schema["description"], model
        for field, camel in aliases.items():
            assert schema["properties"][field]["x-aliases"] == [camel], (model, field)
            assert f"`{camel}`" in schema["properties"][field]["description"], (model, field)
    assert "x-aliases" not in schemas["FeedbackCreate"]["properties"]["score"]


TWICE_REFUSALS = [
    pytest.param(
        "feedback",
        {"session_id": "a", "sessionId": "b"},
        "session_id",
        ["session_id", "sessionId"],
        id="feedback session_id",
    ),
    pytest.param(
        "feedback",
        {"sessionId": "s", "messageId": "aia_msg_1", "message_id": "aia_msg_2"},
        "message_id",
        ["messageId", "message_id"],
        id="feedback message_id",
    ),
    pytest.param(
        "assistant",
        {"name": "n", "personality_prompt": "a", "personalityPrompt": "b"},
        "personality_prompt",
        ["personality_prompt", "personalityPrompt"],
        id="assistant personality_prompt",
    ),
    pytest.param(
        "assistant",
        {"name": "n", "customerAi": {**CUSTOMER_AI_CAMEL, "perception_engine_enabled": False}},
        "customer_ai.perception_engine_enabled",
        ["perceptionEngineEnabled", "perception_engine_enabled"],
        id="nested customer_ai field",
    ),
    pytest.param(
        "message",
        {"identity": "u", "body": "hi", "session_id": "a", "sessionId": "b"},
        "session_id",
        ["session_id", "sessionId"],
        id="message session_id",
    ),
]


def _path_of(kind: str, assistant_id: str) -> str:
    return {
        "feedback": feedbacks_path(assistant_id),
        "assistant": "/v1/Assistants",
        "message": f"/v1/Assistants/{assistant_id}/Messages",
    }[kind]


@pytest.mark.parametrize(("kind", "body", "field", "spellings"), TWICE_REFUSALS)
def test_a_field_given_twice_with_different_values_is_refused(
    api: httpx.Client,
    server: LiveServer,
    assistant_id: str,
    kind: str,
    body: dict[str, Any],
    field: str,
    spellings: list[str],
) -> None:
    res = api.post(_path_of(kind, assistant_id), json=body)
    error = assert_error(res, 400, TWICE, field=field)
    assert error["details"]["spellings"] == spellings
    assert field in error["message"]
    assert (count(server, Feedback), count(server, Assistant)) == (0, 1)


def test_a_field_given_twice_with_the_same_value_is_accepted(
    api: httpx.Client, assistant_id: str
) -> None:
    body = {"session_id": "same", "sessionId": "same", "score": 1}
    res = api.post(feedbacks_path(assistant_id), json=body)
    assert res.status_code == 201, res.text
    assert res.json()["session_id"] == "same"


@pytest.mark.parametrize(
    "name", ["SessionId", "sessionID", "session-id", "Session_Id"], ids=lambda n: n
)
def test_other_spellings_stay_unknown(
    api: httpx.Client, server: LiveServer, assistant_id: str, name: str
) -> None:
    res = api.post(feedbacks_path(assistant_id), json={"session_id": "s", name: "s"})
    assert_error(res, 400, UNKNOWN, field=name)
    assert count(server, Feedback) == 0


def test_null_on_every_optional_field_is_the_field_left_out(
    api: httpx.Client, assistant_id: str
) -> None:
    nulls = {"message_id": None, "score": None, "text": None, "messageId": None}
    created = api.post(feedbacks_path(assistant_id), json={"session_id": "s", **nulls}).json()
    assert (created["message_id"], created["score"], created["text"]) == (None, None, None)
    optional = {
        "owner": None,
        "personality_prompt": None,
        "customer_ai": None,
        "segment_credential": None,
        "positive_threshold": None,
        "responder": None,
        "responder_base_url": None,
        "responder_model": None,
        "responder_api_key_env": None,
    }
    res = api.post("/v1/Assistants", json={"name": "All null", **optional})
    assert res.status_code == 201, res.text
    made = res.json()
    assert (made["owner"], made["personality_prompt"], made["positive_threshold"]) == ("", "", 0.5)
    assert made["responder"]["kind"] == "embedded"
    path = f"/v1/Assistants/{made['id']}"
    assert api.put(path, json={"owner": "Ada", "positive_threshold": 0.8}).status_code == 200
    before = api.get(path).json()
    res = api.put(path, json={"name": None, **optional})
    assert res.status_code == 200, res.text
    after = api.get(path).json()
    assert {k: v for k, v in after.items() if k != "date_updated"} == {
        k: v for k, v in before.items() if k != "date_updated"
    }
    body = {"identity": "u", "body": "hi", "session_id": None, "webhook": None, "mode": None}
    res = api.post(f"/v1/Assistants/{assistant_id}/Messages", json=body)
    assert res.status_code == 200, res.text
    assert res.json()["session_id"]


@pytest.mark.parametrize(
    ("path_kind", "body", "field"),
    [
        pytest.param("feedback", {"sessionId": None}, "session_id", id="feedback sessionId"),
        pytest.param("assistant", {"name": None}, "name", id="assistant name"),
        pytest.param("message", {"identity": None, "body": "hi"}, "identity", id="identity"),
        pytest.param(
            "assistant",
            {"name": "n", "customerAi": {"perceptionEngineEnabled": None}},
            "customer_ai.perception_engine_enabled",
            id="inside customer_ai",
        ),
    ],
)
def test_null_on_a_required_field_is_a_wrong_type(
    api: httpx.Client, assistant_id: str, path_kind: str, body: dict[str, Any], field: str
) -> None:
    res = api.post(_path_of(path_kind, assistant_id), json=body)
    assert_error(res, 400, WRONG_TYPE, field=field)


# -- routes and methods ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/Nope",
        "/v2/Assistants",
        "/v1/assistants",  # paths are case-sensitive, as Twilio's
        "/v1/Assistants/{aid}/Nope",
        "/v1/Assistants/{aid}/Feedbacks/{fid}/More",
    ],
)
def test_an_unknown_route_is_404_in_the_error_shape(
    api: httpx.Client, assistant_id: str, path: str
) -> None:
    fid = create_feedback(api, assistant_id)["id"]
    res = api.get(path.format(aid=assistant_id, fid=fid))
    assert_error(res, 404, 20404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/v1/Assistants", {"GET", "POST"}),
        ("DELETE", "/v1/Assistants", {"GET", "POST"}),
        ("POST", "/v1/Assistants/{aid}", {"GET", "PUT", "DELETE"}),
        ("PATCH", "/v1/Assistants/{aid}/Feedbacks", {"GET", "POST"}),
        ("PUT", "/v1/Assistants/{aid}/Feedbacks", {"GET", "POST"}),
        ("DELETE", "/v1/Assistants/{aid}/Feedbacks", {"GET", "POST"}),
        ("POST", "/v1/Assistants/{aid}/Feedbacks/{fid}", {"GET", "PUT", "DELETE"}),
    ],
)
def test_a_wrong_method_is_405_in_the_error_shape(
    api: httpx.Client, assistant_id: str, method: str, path: str, allowed: set[str]
) -> None:
    fid = create_feedback(api, assistant_id)["id"]
    res = api.request(method, path.format(aid=assistant_id, fid=fid), json={"session_id": "s"})
    assert_error(res, 405, 20004)
    assert {m.strip() for m in res.headers["allow"].split(",")} >= allowed


@pytest.mark.parametrize(
    "path",
    ["/v1/Assistants/aia_asst_%00", "/v1/Assistants/{aid}/Feedbacks/aia_fdbk_%00"],
    ids=["assistant id", "feedback id"],
)
def test_a_nul_character_in_the_path_is_400(
    api: httpx.Client, assistant_id: str, path: str
) -> None:
    res = api.get(path.format(aid=assistant_id))
    assert_error(res, 400, BAD_CHAR, field="path")


# -- numbers that are not finite, keys given twice, wherever a body holds them ----------------


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        pytest.param(b'{"session_id": "s", "score": NaN}', JSON_HEADERS, id="NaN"),
        pytest.param(b'{"session_id": "s", "score": -Infinity}', JSON_HEADERS, id="-Infinity"),
        pytest.param(b'{"session_id": "s", "score": 1e400}', JSON_HEADERS, id="1e400"),
        pytest.param(b"session_id=s&score=nan", FORM_HEADERS, id="form nan"),
        pytest.param(b"session_id=s&score=Infinity", FORM_HEADERS, id="form Infinity"),
    ],
)
def test_a_score_that_is_not_a_finite_number_is_refused_as_such(
    api: httpx.Client, server: LiveServer, assistant_id: str, body: bytes, headers: dict[str, str]
) -> None:
    res = send(api, "POST", feedbacks_path(assistant_id), body, headers)
    message = assert_error(res, 400, RANGE, field="score")["message"]
    assert message == "Field 'score' must be a finite number (NaN and Infinity are not accepted)"
    assert count(server, Feedback) == 0


@pytest.mark.parametrize(
    ("meta", "code", "field"),
    [
        pytest.param(b'{"scores": [1, NaN]}', RANGE, "meta.scores.1", id="NaN in a list"),
        pytest.param(b'{"a": {"b": Infinity}}', RANGE, "meta.a.b", id="Infinity nested"),
        pytest.param(b'{"k": 1, "k": 2}', TWICE, "meta.k", id="key twice"),
        pytest.param(b'{"a": [{"k": 1, "j": 0, "k": 2}]}', TWICE, "meta.a.0.k", id="deep"),
    ],
)
def test_free_form_objects_are_held_to_the_same_rules(
    api: httpx.Client, server: LiveServer, assistant_id: str, meta: bytes, code: int, field: str
) -> None:
    body = b'{"assistant_id": "%s", "role": "user", "content": "hi", "meta": %s}' % (
        assistant_id.encode(),
        meta,
    )
    res = send(api, "POST", "/v1/Sessions/s/Messages", body, JSON_HEADERS)
    assert_error(res, 400, code, field=field)
    assert count(server, Message) == 0


def test_the_same_key_in_different_objects_is_not_a_repeat(
    api: httpx.Client, server: LiveServer, assistant_id: str
) -> None:
    body = (
        b'{"assistant_id": "%s", "role": "user", "content": "hi",'
        b' "meta": {"content": "x", "role": {"content": 1}, "list": [{"a": 1}, {"a": 2}]}}'
    ) % assistant_id.encode()
    res = send(api, "POST", "/v1/Sessions/s/Messages", body, JSON_HEADERS)
    assert res.status_code == 201, res.text
    assert res.json()["meta"]["list"] == [{"a": 1}, {"a": 2}]
    assert count(server, Message) == 1


# keys and strings full of colons, written plainly or escaped (\u003a), with or without
# blanks around the separators: the count of colons that spares the slow check must never
# let a repeated key through, nor refuse an object without one
_TEXT = st.text(alphabet=st.sampled_from('ab:"\\ é'), max_size=6)
_NUMBER = st.floats(allow_nan=False, allow_infinity=False)
_VALUE = st.one_of(_TEXT, st.integers(), _NUMBER, st.none(), st.booleans())


def _json_string(value: str, escape: bool) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text.replace(":", "\\u003a") if escape else text


@settings(max_examples=400, deadline=None)
@given(
    pairs=st.lists(st.tuples(_TEXT, _VALUE, st.booleans(), st.sampled_from(["", " "])), max_size=6),
    repeat=st.booleans(),
)
def test_a_key_given_twice_in_a_json_line_is_found_whatever_its_strings_hold(
    pairs: list[tuple[str, Any, bool, str]], repeat: bool
) -> None:
    if repeat and pairs:
        pairs = [*pairs, (pairs[0][0], "again:", pairs[0][2], pairs[0][3])]
    items = []
    for key, value, escape, blank in pairs:
        shown = _json_string(value, escape) if isinstance(value, str) else json.dumps(value)
        items.append(f"{_json_string(key, escape)}{blank}:{blank}{shown}")
    raw = ("{" + ",".join(items) + "}").encode()
    keys = [key for key, *_ in pairs]
    if len(set(keys)) < len(keys):
        with pytest.raises(E.ThumbsError) as caught:
            loads_checked(raw)
        assert caught.value.code == TWICE
    else:
        assert loads_checked(raw) == {k: v for k, v, *_ in pairs}
