"""Choosing a responder for an assistant and the golden examples it is given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session

from thumbs.config import Settings
from thumbs.responders.base import AssistantConfig, Example, Responder, Turn
from thumbs.responders.embedded import EmbeddedResponder
from thumbs.responders.openai import OpenAICompatibleResponder
from thumbs.responders.search import search_golden
from thumbs.store.models import Assistant

EMBEDDED = "embedded"
OPENAI = "openai"


def responder_for(
    config: AssistantConfig, settings: Settings, client: httpx.AsyncClient | None = None
) -> Responder:
    """The responder the assistant is configured with (``Assistant.responder``); ``client``
    is the server's shared HTTP client (None: one per call)."""
    if config.responder == OPENAI:
        return OpenAICompatibleResponder(
            timeout=settings.responder_timeout,
            connect_timeout=settings.responder_connect_timeout,
            client=client,
        )
    return EmbeddedResponder()


# The share of a question's words a golden example must hold for the embedded responder to
# answer with it (docs/console.md, "The built-in responder").
EMBEDDED_MIN_COVERAGE = 0.5


def min_coverage(config: AssistantConfig) -> float:
    """The embedded responder repeats one example, so it needs a close one; a model is given
    the nearest examples as guidance whatever their similarity."""
    return 0.0 if config.responder == OPENAI else EMBEDDED_MIN_COVERAGE


def example_limit(config: AssistantConfig, settings: Settings) -> int:
    """How many golden examples to give: the embedded responder uses the best one only."""
    return settings.responder_examples if config.responder == OPENAI else 1


def examples_for(
    session: Session,
    *,
    account_pk: int,
    assistant_pk: int,
    question: str,
    limit: int,
    coverage: float = 0.0,
) -> list[Example]:
    """The most relevant active golden examples for a question, detached from the session."""
    rows = search_golden(
        session,
        account_pk=account_pk,
        assistant_pk=assistant_pk,
        query=question,
        limit=limit,
        min_coverage=coverage,
    )
    return [Example.of(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything a reply needs, read inside the request's unit of work; the (slow) model call
    then runs without a database session."""

    config: AssistantConfig
    examples: list[Example]


def prepare(
    session: Session, *, assistant: Assistant, question: str, settings: Settings
) -> Prepared:
    config = AssistantConfig.of(assistant)
    examples = examples_for(
        session,
        account_pk=assistant.account_pk,
        assistant_pk=assistant.pk,
        question=question,
        limit=example_limit(config, settings),
        coverage=min_coverage(config),
    )
    return Prepared(config=config, examples=examples)


async def answer(
    prepared: Prepared,
    *,
    history: Sequence[Turn],
    question: str,
    settings: Settings,
    client: httpx.AsyncClient | None = None,
) -> str:
    """The assistant's reply; raises ``ResponderError`` (502/504) when its responder fails."""
    responder = responder_for(prepared.config, settings, client)
    return await responder.reply(
        assistant=prepared.config, history=history, question=question, examples=prepared.examples
    )
