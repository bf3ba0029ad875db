"""The lifecycle over HTTP: log a conversation, submit thumbs, set settings, and a 👎 approved
with a correction (a golden example)."""

from __future__ import annotations

from typing import Any

import httpx


def log_turn(
    api: httpx.Client,
    assistant_id: str,
    *,
    session_id: str = "chat-1",
    body: str = "How do I reset my password?",
    reply: str = "Click 'Forgot password' on the login page.",
    identity: str = "user_id:1",
) -> str:
    """Log one turn; returns the id of the assistant's reply."""
    res = api.post(
        f"/v1/Assistants/{assistant_id}/Turns",
        json={"session_id": session_id, "body": body, "reply": reply, "identity": identity},
    )
    assert res.status_code == 201, res.text
    return str(res.json()["messages"][1]["id"])


def thumbs(
    api: httpx.Client,
    message_id: str,
    feedback_type: str,
    *,
    identity: str = "user_id:1",
    reason: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"message_id": message_id, "feedback_type": feedback_type}
    if reason is not None:
        body["reason"] = reason
    return api.post("/v1/Thumbs", json=body, headers={"X-Thumbs-Identity": identity})


def set_setting(api: httpx.Client, feedback_type: str, **values: Any) -> dict[str, Any]:
    res = api.put("/v1/Settings/Feedback", json={"feedback_type": feedback_type, **values})
    assert res.status_code == 200, res.text
    return dict(res.json())


def corrected(api: httpx.Client, assistant_id: str, correction: str, **turn: str) -> str:
    """A 👎 on a logged turn approved with ``correction``; returns the golden example's id."""
    reply = log_turn(api, assistant_id, **turn)
    fid = thumbs(api, reply, "negative", reason="wrong").json()["id"]
    res = api.post(f"/v1/Review/{fid}/Approve", json={"corrected_response": correction})
    assert res.status_code == 200, res.text
    [example] = [
        g
        for g in api.get("/v1/GoldenExamples").json()["golden_examples"]
        if g["feedback_id"] == fid
    ]
    return str(example["id"])
