"""One rule changes a verdict, whichever route changes it: the Twilio update
(``PUT …/Feedbacks/{fid}``) and a thumbs resubmission (``POST /v1/Thumbs``) leave the
feedback, its status, its history and its golden examples in the same state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.support.lifecycle import log_turn, set_setting, thumbs
from tests.support.server import LiveServer
from thumbs.store.models import Feedback, GoldenExample


def _twilio_score(api: httpx.Client, assistant_id: str, fid: str, score: float) -> dict[str, Any]:
    res = api.put(f"/v1/Assistants/{assistant_id}/Feedbacks/{fid}", json={"score": score})
    assert res.status_code == 200, res.text
    return dict(res.json())


def _thumbs_again(api: httpx.Client, assistant_id: str, fid: str, score: float) -> dict[str, Any]:
    message_id = api.get(f"/v1/Review/{fid}").json()["message_id"]
    res = thumbs(api, message_id, "positive" if score >= 0.5 else "negative")
    assert res.status_code == 200, res.text
    return dict(res.json())


CHANGE: dict[str, Callable[[httpx.Client, str, str, float], dict[str, Any]]] = {
    "twilio-put": _twilio_score,
    "thumbs-resubmission": _thumbs_again,
}


def _golden(api: httpx.Client) -> list[tuple[str, str | None]]:
    goldens = api.get("/v1/GoldenExamples").json()["golden_examples"]
    return sorted((g["status"], g["withdrawn_reason"]) for g in goldens)


@pytest.mark.parametrize("route", list(CHANGE))
@pytest.mark.parametrize("decided", ["auto_approved", "reviewed"])
def test_a_thumbs_up_scored_zero_becomes_negative_pending_and_its_example_is_withdrawn(
    server: LiveServer, api: httpx.Client, assistant_id: str, route: str, decided: str
) -> None:
    set_setting(api, "positive", auto_approve=decided == "auto_approved")
    fb = thumbs(api, log_turn(api, assistant_id), "positive").json()
    if decided == "reviewed":
        assert api.post(f"/v1/Review/{fb['id']}/Approve").status_code == 200
    assert api.get(f"/v1/Review/{fb['id']}").json()["status"] == decided
    assert _golden(api) == [("active", None)]

    CHANGE[route](api, assistant_id, fb["id"], 0.0)

    after = api.get(f"/v1/Review/{fb['id']}").json()
    assert (after["feedback_type"], after["score"], after["status"]) == ("negative", 0.0, "pending")
    assert (after["reviewed_by"], after["reviewed_at"]) == (None, None)
    assert _golden(api) == [("withdrawn", "verdict changed to negative")]
    history = api.get(f"/v1/Review/{fb['id']}/Transitions").json()["transitions"]
    assert (history[-1]["from_status"], history[-1]["to_status"]) == (decided, "pending")
    assert history[-1]["note"].startswith("verdict changed from positive to negative")
    with server.runtime.store.sessions() as session:
        row = session.scalars(select(Feedback).where(Feedback.id == fb["id"])).one()
        assert (row.feedback_type, row.status) == ("negative", "pending")
        assert session.scalars(select(GoldenExample.status)).all() == ["withdrawn"]


@pytest.mark.parametrize("route", list(CHANGE))
def test_a_changed_verdict_meets_the_settings_again(
    api: httpx.Client, assistant_id: str, route: str
) -> None:
    set_setting(api, "negative", auto_approve=True)
    fb = thumbs(api, log_turn(api, assistant_id), "negative", reason="wrong").json()
    assert fb["status"] == "auto_approved"
    set_setting(api, "positive", auto_approve=True)

    CHANGE[route](api, assistant_id, fb["id"], 1.0)

    after = api.get(f"/v1/Review/{fb['id']}").json()
    assert (after["feedback_type"], after["status"]) == ("positive", "auto_approved")
    history = api.get(f"/v1/Review/{fb['id']}/Transitions").json()["transitions"]
    assert [(t["from_status"], t["to_status"]) for t in history][-2:] == [
        ("auto_approved", "pending"),
        ("pending", "auto_approved"),
    ]
    # the positive verdict's auto-approval made the original reply golden
    assert _golden(api) == [("active", None)]


def test_a_twilio_feedback_whose_score_crosses_the_threshold_is_judged_again(
    api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id)
    created = api.post(
        f"/v1/Assistants/{assistant_id}/Feedbacks",
        json={"session_id": "chat-1", "message_id": reply, "score": 0.1},
    ).json()
    set_setting(api, "positive", auto_approve=True)

    changed = _twilio_score(api, assistant_id, created["id"], 0.9)

    assert changed["score"] == 0.9
    after = api.get(f"/v1/Review/{created['id']}").json()
    assert (after["feedback_type"], after["status"], after["channel"]) == (
        "positive",
        "auto_approved",
        "api",
    )
    assert _golden(api) == [("active", None)]


def test_a_score_that_keeps_the_type_keeps_the_status_and_the_example(
    api: httpx.Client, assistant_id: str
) -> None:
    set_setting(api, "positive", auto_approve=True)
    fb = thumbs(api, log_turn(api, assistant_id), "positive").json()

    _twilio_score(api, assistant_id, fb["id"], 0.7)

    after = api.get(f"/v1/Review/{fb['id']}").json()
    assert (after["feedback_type"], after["score"], after["status"]) == (
        "positive",
        0.7,
        "auto_approved",
    )
    assert _golden(api) == [("active", None)]
    assert len(api.get(f"/v1/Review/{fb['id']}/Transitions").json()["transitions"]) == 2


def test_a_feedback_without_a_score_that_gets_one_is_judged(
    api: httpx.Client, assistant_id: str
) -> None:
    reply = log_turn(api, assistant_id)
    created = api.post(
        f"/v1/Assistants/{assistant_id}/Feedbacks",
        json={"session_id": "chat-1", "message_id": reply, "text": "no score yet"},
    ).json()
    assert api.get(f"/v1/Review/{created['id']}").json()["feedback_type"] is None
    set_setting(api, "positive", auto_approve=True)

    _twilio_score(api, assistant_id, created["id"], 1.0)

    after = api.get(f"/v1/Review/{created['id']}").json()
    assert (after["feedback_type"], after["status"], after["text"]) == (
        "positive",
        "auto_approved",
        "no score yet",
    )
    history = api.get(f"/v1/Review/{created['id']}/Transitions").json()["transitions"]
    assert [(t["from_status"], t["to_status"]) for t in history] == [
        ("pending", "pending"),
        ("pending", "auto_approved"),
    ]
    assert history[0]["note"] == "verdict changed from none to positive through the Feedbacks API"
    assert _golden(api) == [("active", None)]
