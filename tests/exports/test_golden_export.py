"""``GET /v1/Exports/Golden``: OpenAI chat fine-tuning JSONL checked against the chat format
(roles, order, string contents, the golden reply last), the evaluation set and the DPO pairs
compared with what ``/v1/GoldenExamples`` and ``/v1/PreferencePairs`` say."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.exports.story import CORRECTED, PERSONALITY, Story, build
from tests.support.http import assert_error

EXPORT = "/v1/Exports/Golden"
ROLES = {"system", "user", "assistant"}


@pytest.fixture
def story(api: httpx.Client) -> Story:
    return build(api)


def lines(res: httpx.Response) -> list[dict[str, Any]]:
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/x-ndjson"
    return [json.loads(line) for line in res.text.splitlines()]


def check_chat_format(example: dict[str, Any]) -> list[dict[str, str]]:
    """What OpenAI's fine-tuning format checker asks of one example."""
    assert set(example) == {"messages"}
    messages = example["messages"]
    assert isinstance(messages, list)
    assert len(messages) >= 2
    for m in messages:
        assert set(m) == {"role", "content"}
        assert m["role"] in ROLES
        assert isinstance(m["content"], str)
        assert m["content"]
    assert [m["role"] for m in messages].count("system") <= 1
    if any(m["role"] == "system" for m in messages):
        assert messages[0]["role"] == "system"
    assert messages[-1]["role"] == "assistant"
    assert any(m["role"] == "user" for m in messages)
    return list(messages)


def golden_examples(api: httpx.Client, assistant_id: str) -> list[dict[str, Any]]:
    res = api.get("/v1/GoldenExamples", params={"AssistantId": assistant_id, "Status": "active"})
    return list(reversed(res.json()["golden_examples"]))  # oldest first


def test_openai_fine_tuning_jsonl_is_valid_chat_format(api: httpx.Client, story: Story) -> None:
    examples = lines(api.get(EXPORT, params={"Format": "openai"}))
    golden = golden_examples(api, story.assistant_id)
    assert len(golden) == 2  # the approval and the correction; not the dismissal
    assert len(examples) == len(golden)
    for example, g in zip(examples, golden, strict=True):
        messages = check_chat_format(example)
        assert messages[0] == {"role": "system", "content": PERSONALITY}
        assert messages[1:-1] == [{"role": t["role"], "content": t["content"]} for t in g["input"]]
        assert messages[-1] == {"role": "assistant", "content": g["output"]}
    assert examples[-1]["messages"][-1]["content"] == CORRECTED


def test_the_evaluation_set_has_input_expected_output_and_metadata(
    api: httpx.Client, story: Story
) -> None:
    rows = lines(api.get(EXPORT, params={"Format": "eval", "AssistantId": story.assistant_id}))
    golden = golden_examples(api, story.assistant_id)
    assert len(rows) == len(golden)
    for row, g in zip(rows, golden, strict=True):
        assert set(row) == {"input", "expected_output", "metadata"}
        assert row["input"] == [
            {"role": "system", "content": PERSONALITY},
            *({"role": t["role"], "content": t["content"]} for t in g["input"]),
        ]
        assert row["expected_output"] == g["output"]
        assert row["metadata"] == {
            "golden_example_id": g["id"],
            "assistant_id": g["assistant_id"],
            "feedback_id": g["feedback_id"],
            "message_id": g["message_id"],
            "source": g["source"],
            "date_created": g["date_created"],
        }


def test_dpo_pairs_are_prompt_chosen_rejected(api: httpx.Client, story: Story) -> None:
    rows = lines(api.get(EXPORT, params={"Format": "dpo"}))
    pairs = api.get("/v1/PreferencePairs").json()["preference_pairs"]
    assert len(pairs) == 1
    assert len(rows) == 1
    pair, row = pairs[0], rows[0]
    assert set(row) == {"prompt", "chosen", "rejected"}
    assert row["prompt"] == [
        {"role": "system", "content": PERSONALITY},
        *({"role": t["role"], "content": t["content"]} for t in pair["input"]),
    ]
    assert row["prompt"][-1]["role"] == "user"
    assert row["chosen"] == [{"role": "assistant", "content": pair["chosen"]}]
    assert row["rejected"] == [{"role": "assistant", "content": pair["rejected"]}]
    assert pair["chosen"] == CORRECTED


def test_withdrawn_examples_and_other_assistants_are_left_out(
    api: httpx.Client, story: Story
) -> None:
    golden = golden_examples(api, story.assistant_id)
    res = api.post(f"/v1/Review/{golden[0]['feedback_id']}/Dismiss", json={"note": "after all"})
    assert res.status_code == 200, res.text
    examples = lines(api.get(EXPORT, params={"Format": "openai"}))
    assert [e["messages"][-1]["content"] for e in examples] == [golden[1]["output"]]
    assert (
        lines(api.get(EXPORT, params={"Format": "eval", "AssistantId": story.other_assistant_id}))
        == []
    )


def test_an_empty_personality_prompt_leaves_the_system_message_out(
    api: httpx.Client, story: Story
) -> None:
    res = api.put(f"/v1/Assistants/{story.assistant_id}", json={"personality_prompt": ""})
    assert res.status_code == 200, res.text
    for example in lines(api.get(EXPORT, params={"Format": "openai"})):
        assert check_chat_format(example)[0]["role"] == "user"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, 60008),
        ({"Format": "csv"}, 400, 60008),
        ({"Format": "dpo", "AssistantId": "x"}, 404, 20404),
    ],
)
def test_golden_export_errors(
    api: httpx.Client, story: Story, params: dict[str, str], status: int, code: int
) -> None:
    assert_error(api.get(EXPORT, params=params), status, code)
