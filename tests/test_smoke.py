from __future__ import annotations

import httpx


def test_feedback_round_trip_on_a_live_server(api: httpx.Client, assistant_id: str) -> None:
    created = api.post(
        f"/v1/Assistants/{assistant_id}/Feedbacks",
        json={"session_id": "demo", "score": 1, "text": "problem resolved"},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["id"].startswith("aia_fdbk_")
    assert body["score"] == 1.0
    listed = api.get(f"/v1/Assistants/{assistant_id}/Feedbacks").json()
    assert [f["id"] for f in listed["feedbacks"]] == [body["id"]]
