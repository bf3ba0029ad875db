"""A small account with every kind of feedback, made through the API, and what the API says
of each feedback, field by field: the reference the exports are compared with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.accounts import create_user
from tests.support.http import create_assistant, create_feedback
from tests.support.lifecycle import log_turn, thumbs

PERSONALITY = "You are the careful support agent of Example Inc."
CORRECTED = "Write to support@example.com with your account name; we answer within a day."


@dataclass(frozen=True)
class Story:
    assistant_id: str
    other_assistant_id: str
    feedback_ids: list[str]  # of assistant_id, oldest first


def _approve(
    api: httpx.Client, fid: str, headers: dict[str, str] | None = None, **body: Any
) -> None:
    res = api.post(f"/v1/Review/{fid}/Approve", json=body, headers=headers)
    assert res.status_code == 200, res.text


def build(api: httpx.Client) -> Story:
    """Thumbs with reasons and end users, reviews by the account and by an admin (with a
    correction, so a preference pair), a dismissal, Twilio feedback on a session, on a
    logged message and with nothing but a session, text that CSV must quote."""
    res = api.post(
        "/v1/Assistants", json={"name": "Support bot", "personality_prompt": PERSONALITY}
    )
    assert res.status_code == 201, res.text
    aid = str(res.json()["id"])
    create_user(api, "ada", "admin")
    m1 = log_turn(api, aid, session_id="chat-1", identity="user-1")
    m2 = log_turn(
        api,
        aid,
        session_id="chat-1",
        body="And if I lost access to my email?",
        reply="Call us.",
        identity="user-1",
    )
    m3 = log_turn(api, aid, session_id="chat-2", body="Hi", reply="Hello!", identity="user-3")
    up = thumbs(api, m1, "positive", identity="user-1", reason="clear, and fast")
    assert up.status_code == 201, up.text
    down = thumbs(api, m2, "negative", identity="user-2", reason='said "call us"\nno number')
    assert down.status_code == 201, down.text
    noise = thumbs(api, m3, "negative", identity="user-3")
    assert noise.status_code == 201, noise.text
    _approve(api, up.json()["id"], note="good answer")
    _approve(
        api,
        down.json()["id"],
        headers={"X-Thumbs-Identity": "ada"},
        corrected_response=CORRECTED,
        note="corrected",
    )
    res = api.post(f"/v1/Review/{noise.json()['id']}/Dismiss", json={"note": "not feedback"})
    assert res.status_code == 200, res.text
    create_feedback(api, aid, session_id="chat-9", score=0.9, text='Great, "really"\nthanks — ✓')
    create_feedback(api, aid, session_id="chat-1", message_id=m1, score=0.2)
    create_feedback(api, aid, session_id="s-empty")
    other = create_assistant(api, "Other bot")
    create_feedback(api, other, session_id="o", score=1, text="elsewhere")
    listed = api.get(f"/v1/Assistants/{aid}/Feedbacks", params={"PageSize": 100}).json()
    ids = [f["id"] for f in reversed(listed["feedbacks"])]
    assert len(ids) == 6
    return Story(assistant_id=aid, other_assistant_id=other, feedback_ids=ids)


def api_record(api: httpx.Client, assistant_id: str, fid: str) -> dict[str, Any]:
    """Everything the API says of one feedback, under the export's column names."""
    twilio = api.get(f"/v1/Assistants/{assistant_id}/Feedbacks/{fid}").json()
    review = api.get(f"/v1/Review/{fid}").json()
    transitions = api.get(f"/v1/Review/{fid}/Transitions").json()["transitions"]
    note = None
    if review["reviewed_at"] is not None:
        note = next(t["note"] for t in reversed(transitions) if t["to_status"] == review["status"])
    identity = None
    if twilio["user_sid"] is not None:
        identity = api.get(f"/v1/Users/{twilio['user_sid']}").json()["identity"]
    question = reply = None
    if twilio["message_id"] is not None:
        messages = api.get(f"/v1/Sessions/{twilio['session_id']}/Messages").json()["messages"]
        at = next((i for i, m in enumerate(messages) if m["id"] == twilio["message_id"]), None)
        if at is not None:
            reply = messages[at]["content"]["text"]
            asked = [m for m in messages[:at] if m["role"] == "user"]
            question = asked[-1]["content"]["text"] if asked else None
    return {
        "id": twilio["id"],
        "account_sid": twilio["account_sid"],
        "assistant_id": twilio["assistant_id"],
        "session_id": twilio["session_id"],
        "message_id": twilio["message_id"],
        "user_sid": twilio["user_sid"],
        "user_identity": identity,
        "score": twilio["score"],
        "text": twilio["text"],
        "feedback_type": review["feedback_type"],
        "status": review["status"],
        "channel": review["channel"],
        "reason": review["reason"],
        "question": question,
        "reply": reply,
        "reviewed_by": review["reviewed_by"],
        "reviewed_at": review["reviewed_at"],
        "review_note": note,
        "date_created": twilio["date_created"],
        "date_updated": twilio["date_updated"],
    }
