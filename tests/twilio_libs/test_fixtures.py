"""What the other official Twilio helper libraries (Ruby, Java, Go, PHP, C#) send, replayed
from their fixtures against a live server: each answer has the status and the shape that
library parses (dates, nulls, ``meta``), and the shape the fixture's captured answer has."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.http import feedbacks_path
from tests.support.server import LiveServer
from tests.twilio_libs.replay import LIBRARIES, check, load, replay, shape

# the test's own assistant as the ``assistant_id`` fixture creates it (a name only)
UNTOUCHED = {
    "name": "Support bot",
    "owner": "",
    "model": "thumbs-embedded",
    "personality_prompt": "",
    "customer_ai": {"perception_engine_enabled": False, "personalization_engine_enabled": False},
    "positive_threshold": 0.5,
    "responder": {"kind": "embedded", "base_url": None, "model": None, "api_key_env": None},
}


def untouched(answer: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The test's assistant as it was created, with ``changes`` (and the answer's own ids)."""
    own = {k: answer[k] for k in ("id", "url", "date_created", "date_updated", "account_sid")}
    return {**UNTOUCHED, **changes, **own}


@pytest.fixture
def replayed(
    server: LiveServer, api: httpx.Client, assistant_id: str, library: str
) -> list[tuple[dict[str, Any], httpx.Response]]:
    fixture = load(library)
    return list(replay(api, fixture, assistant_id=assistant_id))


@pytest.mark.parametrize("library", LIBRARIES)
def test_every_request_is_answered_in_the_shape_the_library_parses(
    server: LiveServer, library: str, replayed: list[tuple[dict[str, Any], httpx.Response]]
) -> None:
    fixture = load(library)
    assert fixture["library"] == library
    assert fixture["version"]
    assert fixture["source"]["files"]
    assert len(replayed) == len(fixture["exchanges"])
    for exchange, res in replayed:
        check(fixture, exchange, res, server.url)
        captured = exchange["response"]
        assert res.status_code == captured["status"], exchange["name"]
        assert shape(res.json()) == shape(captured["body"]), exchange["name"]


@pytest.mark.parametrize("library", ["twilio-ruby"])
def test_the_nulls_ruby_sends_for_unset_fields_change_nothing(
    library: str, replayed: list[tuple[dict[str, Any], httpx.Response]]
) -> None:
    answers = {exchange["name"]: res.json() for exchange, res in replayed}
    # the test's assistant ("Support bot", created with a name only): only owner was set
    updated = answers["update assistant, fields not set are null"]
    assert updated == untouched(updated, owner="Ada")
    text_only = answers["create feedback, fields not set are null"]
    assert (text_only["score"], text_only["message_id"], text_only["text"]) == (
        None,
        None,
        "only text",
    )


@pytest.mark.parametrize("library", ["twilio-go"])
def test_go_reads_a_missing_score_as_zero_and_everyone_else_as_null(
    api: httpx.Client,
    assistant_id: str,
    library: str,
    replayed: list[tuple[dict[str, Any], httpx.Response]],
) -> None:
    answers = {exchange["name"]: res.json() for exchange, res in replayed}
    fid = answers["create feedback with score 0 (left out by omitempty)"]["id"]
    assert answers["create feedback with score 0 (left out by omitempty)"]["score"] == 0
    listed = {f["id"]: f["score"] for f in answers["list feedback, first page"]["feedbacks"]}
    assert listed[fid] == 0
    # the store keeps "no score", and any other client reads null
    assert api.get(f"{feedbacks_path(assistant_id)}/{fid}").json()["score"] is None
    others = api.get(feedbacks_path(assistant_id)).json()["feedbacks"]
    assert {f["id"]: f["score"] for f in others}[fid] is None


@pytest.mark.parametrize("library", ["twilio-php"])
def test_phps_empty_array_update_changes_nothing(
    library: str, replayed: list[tuple[dict[str, Any], httpx.Response]]
) -> None:
    after = {exchange["name"]: res.json() for exchange, res in replayed}[
        "update assistant without a request"
    ]
    assert after == untouched(after)
