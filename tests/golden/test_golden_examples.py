"""Golden examples and preference pairs: list, fetch, edit, delete, who may."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.support.accounts import create_user, make_account
from tests.support.lifecycle import log_turn, set_setting, thumbs
from tests.support.server import LiveServer
from thumbs.store.models import GoldenExample, PreferencePair


def _golden(api: httpx.Client, assistant_id: str, **turn: str) -> dict[str, object]:
    reply = log_turn(api, assistant_id, **turn)
    fb = thumbs(api, reply, "negative", reason="bad").json()
    res = api.post(f"/v1/Review/{fb['id']}/Approve", json={"corrected_response": "Fixed."})
    assert res.status_code == 200, res.text
    [golden] = [
        g
        for g in api.get("/v1/GoldenExamples").json()["golden_examples"]
        if g["feedback_id"] == fb["id"]
    ]
    return dict(golden)


def test_admins_edit_a_golden_example_and_the_prompt_follows_the_input(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    golden = _golden(api, assistant_id)
    res = api.put(
        f"/v1/GoldenExamples/{golden['id']}",
        json={
            "input": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Reset password?"},
            ],
            "output": "Use the reset link.",
        },
    )
    assert res.status_code == 200, res.text
    edited = res.json()
    assert edited["prompt"] == "Reset password?"
    assert edited["output"] == "Use the reset link."
    assert edited["input"][0] == {"role": "system", "content": "Be brief."}
    with server.runtime.store.session() as session:
        row = session.scalars(select(GoldenExample)).one()
        assert row.output == "Use the reset link."

    assert api.put(f"/v1/GoldenExamples/{golden['id']}", json={"output": ""}).status_code == 400
    assert api.put(f"/v1/GoldenExamples/{golden['id']}", json={"nope": 1}).status_code == 400
    bad_turn = {"input": [{"role": "robot", "content": "x"}]}
    assert api.put(f"/v1/GoldenExamples/{golden['id']}", json=bad_turn).status_code == 400


def test_members_read_golden_examples_but_cannot_edit_or_delete_them(
    api: httpx.Client, assistant_id: str
) -> None:
    golden = _golden(api, assistant_id)
    create_user(api, "member:1", "member")
    member = {"X-Thumbs-Identity": "member:1"}
    assert api.get("/v1/GoldenExamples", headers=member).status_code == 200
    assert api.get(f"/v1/GoldenExamples/{golden['id']}", headers=member).status_code == 200
    assert api.get("/v1/PreferencePairs", headers=member).status_code == 200
    edit = api.put(f"/v1/GoldenExamples/{golden['id']}", json={"output": "x"}, headers=member)
    assert edit.status_code == 403
    assert api.delete(f"/v1/GoldenExamples/{golden['id']}", headers=member).status_code == 403
    end_user = {"X-Thumbs-Identity": "user_id:1"}
    assert api.get("/v1/GoldenExamples", headers=end_user).status_code == 403


def test_deleting_a_golden_example_keeps_its_preference_pair(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    golden = _golden(api, assistant_id)
    assert api.delete(f"/v1/GoldenExamples/{golden['id']}").status_code == 204
    assert api.get(f"/v1/GoldenExamples/{golden['id']}").status_code == 404
    [pair] = api.get("/v1/PreferencePairs").json()["preference_pairs"]
    assert pair["golden_example_id"] is None
    assert api.get(f"/v1/PreferencePairs/{pair['id']}").json() == pair
    with server.runtime.store.session() as session:
        assert session.scalars(select(GoldenExample)).all() == []
        assert session.scalars(select(PreferencePair)).one().chosen == "Fixed."


def test_golden_examples_are_filtered_and_paged(api: httpx.Client, assistant_id: str) -> None:
    other = api.post("/v1/Assistants", json={"name": "Other"}).json()["id"]
    set_setting(api, "positive", auto_approve=True)
    mine = [
        thumbs(api, log_turn(api, assistant_id, session_id=f"s{i}"), "positive").json()
        for i in range(3)
    ]
    thumbs(api, log_turn(api, other, session_id="o"), "positive")
    corrected = _golden(api, assistant_id, session_id="c")

    def listed(**params: str) -> list[str]:
        res = api.get("/v1/GoldenExamples", params=params)
        assert res.status_code == 200, res.text
        return [g["feedback_id"] for g in res.json()["golden_examples"]]

    assert len(listed()) == 5
    assert listed(AssistantId=assistant_id)[1:] == [f["id"] for f in reversed(mine)]
    assert listed(Source="corrected") == [corrected["feedback_id"]]
    assert listed(Status="withdrawn") == []
    assert api.get("/v1/GoldenExamples", params={"Status": "gone"}).status_code == 400
    assert api.get("/v1/GoldenExamples", params={"AssistantId": "aia_asst_x"}).status_code == 404

    page = api.get("/v1/GoldenExamples", params={"PageSize": 2}).json()
    assert page["meta"]["key"] == "golden_examples"
    seen = [g["id"] for g in page["golden_examples"]]
    while page["meta"]["next_page_url"]:
        page = api.get(page["meta"]["next_page_url"]).json()
        seen += [g["id"] for g in page["golden_examples"]]
    assert len(set(seen)) == 5
    pairs = api.get("/v1/PreferencePairs", params={"AssistantId": assistant_id}).json()
    assert pairs["meta"]["key"] == "preference_pairs"
    assert len(pairs["preference_pairs"]) == 1


def test_golden_examples_of_another_account_are_not_found(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    golden = _golden(api, assistant_id)
    other = make_account(server, "other")
    with server.client(auth=(other.sid, other.token)) as intruder:
        assert intruder.get(f"/v1/GoldenExamples/{golden['id']}").status_code == 404
        assert (
            intruder.put(f"/v1/GoldenExamples/{golden['id']}", json={"output": "x"}).status_code
            == 404
        )
        assert intruder.delete(f"/v1/GoldenExamples/{golden['id']}").status_code == 404
        assert intruder.get("/v1/GoldenExamples").json()["golden_examples"] == []
        assert intruder.get("/v1/PreferencePairs").json()["preference_pairs"] == []


def test_changing_or_deleting_a_twilio_verdict_withdraws_its_example(
    api: httpx.Client, assistant_id: str
) -> None:
    examples = []
    for session_id in ("a", "b"):
        reply = log_turn(api, assistant_id, session_id=session_id)
        created = api.post(
            f"/v1/Assistants/{assistant_id}/Feedbacks",
            json={"session_id": session_id, "message_id": reply, "score": 1.0},
        ).json()
        assert api.post(f"/v1/Review/{created['id']}/Approve").status_code == 200
        examples.append(created["id"])
    changed = api.put(f"/v1/Assistants/{assistant_id}/Feedbacks/{examples[0]}", json={"score": 0.0})
    assert changed.status_code == 200
    deleted = api.delete(f"/v1/Assistants/{assistant_id}/Feedbacks/{examples[1]}")
    assert deleted.status_code == 204

    goldens = api.get("/v1/GoldenExamples").json()["golden_examples"]
    assert sorted((g["status"], g["withdrawn_reason"]) for g in goldens) == [
        ("withdrawn", "feedback deleted"),
        ("withdrawn", "verdict changed to negative"),
    ]
    assert api.get(f"/v1/Review/{examples[0]}").json()["status"] == "pending"
