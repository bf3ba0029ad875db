"""Choosing a responder for an assistant and the golden examples it is given."""

from __future__ import annotations

from sqlalchemy.orm import Session

from thumbs.config import Settings
from thumbs.responders.base import AssistantConfig, Example, Responder
from thumbs.responders.embedded import EmbeddedResponder
from thumbs.responders.openai import OpenAICompatibleResponder
from thumbs.responders.search import search_golden

EMBEDDED = "embedded"
OPENAI = "openai"


def responder_for(config: AssistantConfig, settings: Settings) -> Responder:
    """The responder the assistant is configured with (``Assistant.responder``)."""
    if config.responder == OPENAI:
        return OpenAICompatibleResponder(
            timeout=settings.responder_timeout,
            connect_timeout=settings.responder_connect_timeout,
        )
    return EmbeddedResponder()


def example_limit(config: AssistantConfig, settings: Settings) -> int:
    """How many golden examples to give: the embedded responder uses the best one only."""
    return settings.responder_examples if config.responder == OPENAI else 1


def examples_for(
    session: Session, *, account_pk: int, assistant_pk: int, question: str, limit: int
) -> list[Example]:
    """The most relevant active golden examples for a question, detached from the session."""
    rows = search_golden(
        session, account_pk=account_pk, assistant_pk=assistant_pk, query=question, limit=limit
    )
    return [Example.of(r) for r in rows]
