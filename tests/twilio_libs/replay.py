"""Replaying what an official Twilio helper library sends (tests/twilio_libs/fixtures/,
one file per library, read from its source: see each file's ``source`` and ``wire``), and
checking each answer has the shape that library parses.

A fixture's exchanges run in order against an empty account with one assistant:
``{assistant_id}`` in a path is that assistant, and the path ``{next_page}`` is the previous
list's ``meta.next_page_url``, followed the library's way (``parses.next_page``: ``url`` as
given, or ``path``: its path and query joined to the client's own base URL, as Ruby does).
Each exchange keeps the response a thumbs server gave it (``response``); a live answer must
have the same shape (the same keys and JSON types) as well as pass the library's checks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LIBRARIES = sorted(p.stem for p in FIXTURES.glob("*.json"))
# headers the HTTP stack adds for any client; every other header is the fixture's own
_TRANSPORT_HEADERS = {"host", "content-length", "authorization"}
FEEDBACK_FIELDS = {
    "id",
    "assistant_id",
    "account_sid",
    "user_sid",
    "session_id",
    "message_id",
    "score",
    "text",
    "date_created",
    "date_updated",
}


def load(library: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / f"{library}.json").read_text()))


def replay(
    client: httpx.Client, fixture: dict[str, Any], *, assistant_id: str
) -> Iterator[tuple[dict[str, Any], httpx.Response]]:
    """Send each exchange's request as the library does; yield it with the live response."""
    next_page: str | None = None
    for exchange in fixture["exchanges"]:
        sent = exchange["request"]
        if sent["path"] == "{next_page}":
            assert next_page, f"{exchange['name']}: the list before it had no next page"
            parts = urlsplit(next_page)
            as_path = f"{parts.path}?{parts.query}"
            url = next_page if fixture["parses"]["next_page"] == "url" else as_path
        else:
            url = sent["path"].format(assistant_id=assistant_id)
            url += f"?{sent['query']}" if sent["query"] else ""
        body = sent.get("body")
        request = client.build_request(
            sent["method"],
            url,
            headers={k: v for k, v in sent["headers"].items() if k != "Authorization"},
            content=None if body is None else body.encode(),
        )
        own = {k.lower() for k in sent["headers"]} | _TRANSPORT_HEADERS
        for name in [n for n in request.headers if n.lower() not in own]:
            del request.headers[name]
        response = client.send(request)
        if exchange["expect"]["kind"] == "feedback_list" and response.status_code == 200:
            next_page = response.json()["meta"]["next_page_url"]
        yield exchange, response


def shape(value: Any) -> Any:
    """The JSON shape of a value: keys and types, not the values (ids, dates, urls vary)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check(
    fixture: dict[str, Any], exchange: dict[str, Any], res: httpx.Response, base: str
) -> None:
    """The answer has the status and the shape the library parses (``parses``)."""
    name, expect, parses = exchange["name"], exchange["expect"], fixture["parses"]
    assert res.status_code == expect["status"], f"{name}: {res.status_code} {res.text}"
    assert res.headers["content-type"].startswith("application/json"), name
    body = res.json()
    kind = expect["kind"]
    date = re.compile(parses["date"])
    if kind == "feedback":
        _check_feedback(name, body, parses, date)
    elif kind == "feedback_list":
        assert res.status_code == parses["list_status"], name
        meta = body["meta"]
        assert meta["key"] == "feedbacks", name
        assert set(parses["meta_keys"]) <= meta.keys(), (name, meta)
        assert not set(parses["no_top_level"]) & body.keys(), (name, body.keys())
        assert meta["next_page_url"] is None or meta["next_page_url"].startswith(f"{base}/v1/")
        for record in body[meta["key"]]:
            _check_feedback(name, record, parses, date)
    elif kind == "assistant":
        assert body["id"].startswith("aia_asst_"), name
        assert date.match(body["date_created"]), name
        assert date.match(body["date_updated"]), name
        assert set(body["customer_ai"]) == {
            "perception_engine_enabled",
            "personalization_engine_enabled",
        }, name
    elif kind == "message":
        assert body["status"] == "success", name
        assert isinstance(body["session_id"], str), name
        assert body["account_sid"].startswith("AC"), name
    else:
        assert kind == "error", name
        assert isinstance(body["code"], int), name
        assert body["status"] == res.status_code, name
        assert isinstance(body["message"], str), name
        assert isinstance(body["more_info"], str), name
        assert isinstance(body["details"], dict), name
        assert not {"type", "title"} <= body.keys(), name


def _check_feedback(name: str, record: Any, parses: dict[str, Any], date: re.Pattern[str]) -> None:
    assert record.keys() >= FEEDBACK_FIELDS, (name, record)
    assert record["id"].startswith("aia_fdbk_"), name
    assert date.match(record["date_created"]), (name, record["date_created"])
    assert date.match(record["date_updated"]), (name, record["date_updated"])
    for field in parses["numbers"]:
        assert _is_number(record[field]), (name, field, record[field])
