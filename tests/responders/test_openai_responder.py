"""The OpenAI-compatible responder against a real chat-completions server on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.responders import fake_openai
from tests.support.http import run
from thumbs.kit import errors as E
from thumbs.responders import AssistantConfig, Example, ResponderError, Turn
from thumbs.responders.openai import OpenAICompatibleResponder


@pytest.fixture(scope="module")
def fake() -> Iterator[fake_openai.FakeOpenAI]:
    with fake_openai.serving() as srv:
        yield srv


def config(base_url: str | None, **over: Any) -> AssistantConfig:
    fields: dict[str, Any] = {
        "id": "aia_asst_test",
        "name": "Support bot",
        "personality_prompt": "You are terse.",
        "responder": "openai",
        "base_url": base_url,
        "model": "tiny-model",
        "api_key_env": "THUMBS_TEST_RESPONDER_KEY",
    }
    fields.update(over)
    return AssistantConfig(**fields)


def responder(timeout: float = 5.0) -> OpenAICompatibleResponder:
    return OpenAICompatibleResponder(
        timeout=timeout,
        connect_timeout=2.0,
        environ={"THUMBS_TEST_RESPONDER_KEY": "sk-test-123"},
    )


def ask(
    r: OpenAICompatibleResponder,
    cfg: AssistantConfig,
    *,
    question: str = "How do I reset my password?",
    history: list[Turn] | None = None,
    examples: list[Example] | None = None,
) -> str:
    return run(
        r.reply(assistant=cfg, history=history or [], question=question, examples=examples or [])
    )


def failure(cfg: AssistantConfig, r: OpenAICompatibleResponder | None = None) -> ResponderError:
    with pytest.raises(ResponderError) as caught:
        ask(r or responder(), cfg)
    return caught.value


def test_the_reply_is_the_models_answer_to_the_question(fake: fake_openai.FakeOpenAI) -> None:
    assert ask(responder(), config(fake.base_url("ok"))) == "echo: How do I reset my password?"


def test_the_model_gets_the_personality_the_examples_the_history_and_the_question(
    fake: fake_openai.FakeOpenAI,
) -> None:
    examples = [
        Example(id="aia_gold_1", prompt="reset password?", input=[], output="Use the link."),
        Example(
            id="aia_gold_2",
            prompt="",
            input=[{"role": "user", "content": "change email?"}],
            output="Go to Settings.",
        ),
    ]
    history: list[Turn] = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi, how can I help?"},
    ]
    fake.seen.clear()
    ask(responder(), config(fake.base_url("ok")), history=history, examples=examples)
    [seen] = fake.seen
    assert seen.path == "/ok/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer sk-test-123"
    assert seen.body["model"] == "tiny-model"
    assert seen.body["stream"] is False
    assert seen.body["messages"] == [
        {"role": "system", "content": "You are terse."},
        # least relevant first, so the best example sits nearest the question
        {"role": "user", "content": "change email?"},
        {"role": "assistant", "content": "Go to Settings."},
        {"role": "user", "content": "reset password?"},
        {"role": "assistant", "content": "Use the link."},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi, how can I help?"},
        {"role": "user", "content": "How do I reset my password?"},
    ]


def test_without_a_key_variable_no_authorization_is_sent(fake: fake_openai.FakeOpenAI) -> None:
    fake.seen.clear()
    answer = ask(responder(), config(fake.base_url("ok"), api_key_env=None, personality_prompt=""))
    assert answer.startswith("echo: ")
    [seen] = fake.seen
    assert "authorization" not in seen.headers
    assert seen.body["messages"][0]["role"] == "user"


def test_a_key_variable_that_is_not_set_is_a_configuration_error_and_sends_nothing(
    fake: fake_openai.FakeOpenAI,
) -> None:
    fake.seen.clear()
    err = failure(config(fake.base_url("ok"), api_key_env="THUMBS_TEST_UNSET_KEY"))
    assert err.code == E.RESPONDER_NOT_CONFIGURED
    assert err.status == 502
    assert err.details["field"] == "responder_api_key_env"
    assert "THUMBS_TEST_UNSET_KEY" in err.message
    assert fake.seen == []


def test_a_missing_base_url_or_model_is_a_configuration_error() -> None:
    assert failure(config(None)).details["field"] == "responder_base_url"
    assert failure(config("http://127.0.0.1:9/v1", model=None)).details["field"] == (
        "responder_model"
    )


def test_a_slow_endpoint_times_out_instead_of_hanging(fake: fake_openai.FakeOpenAI) -> None:
    err = failure(config(fake.base_url("slow")), responder(timeout=0.3))
    assert err.code == E.RESPONDER_TIMEOUT
    assert err.status == 504
    assert err.details["timeout_seconds"] == 0.3
    assert err.details["assistant_id"] == "aia_asst_test"


def test_a_refused_connection_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # the port is closed again: connecting to it is refused
    err = failure(config(f"http://127.0.0.1:{port}/v1"))
    assert err.code == E.RESPONDER_UNREACHABLE
    assert err.status == 502


@pytest.mark.parametrize(("mode", "status"), [("unauthorized", 401), ("forbidden", 403)])
def test_a_rejected_key_says_so(fake: fake_openai.FakeOpenAI, mode: str, status: int) -> None:
    err = failure(config(fake.base_url(mode)))
    assert err.code == E.RESPONDER_KEY_REJECTED
    assert err.status == 502
    assert err.details["upstream_status"] == status
    assert "THUMBS_TEST_RESPONDER_KEY" in err.message
    assert "sk-test-123" not in err.message


def test_a_server_error_is_reported_with_its_status_and_message(
    fake: fake_openai.FakeOpenAI,
) -> None:
    err = failure(config(fake.base_url("broken")))
    assert err.code == E.RESPONDER_UPSTREAM_ERROR
    assert err.details["upstream_status"] == 500
    assert err.message == "The responder answered HTTP 500: the model crashed"


def test_an_unknown_route_is_an_upstream_error(fake: fake_openai.FakeOpenAI) -> None:
    err = failure(config(fake.base_url("nowhere")))
    assert err.code == E.RESPONDER_UPSTREAM_ERROR
    assert err.details["upstream_status"] == 404


@pytest.mark.parametrize("mode", ["garbage", "nochoices"])
def test_an_answer_that_is_not_a_chat_completion_is_malformed(
    fake: fake_openai.FakeOpenAI, mode: str
) -> None:
    err = failure(config(fake.base_url(mode)))
    assert err.code == E.RESPONDER_MALFORMED
    assert err.status == 502


def test_a_responder_error_has_the_one_error_body(fake: fake_openai.FakeOpenAI) -> None:
    body = failure(config(fake.base_url("broken"))).body("http://thumbs.test")
    assert body == {
        "code": E.RESPONDER_UPSTREAM_ERROR,
        "message": "The responder answered HTTP 500: the model crashed",
        "more_info": f"http://thumbs.test/errors/{E.RESPONDER_UPSTREAM_ERROR}",
        "status": 502,
        "details": {"assistant_id": "aia_asst_test", "upstream_status": 500},
    }
