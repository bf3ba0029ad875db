"""Responders: what answers a question in the Simulator.

``responder_for(config, settings)`` picks one per assistant: the embedded default (answers
with the best-matching golden example, no network) or an OpenAI-compatible chat-completions
endpoint. Both receive the golden examples found by ``search.search_golden``.
"""

from thumbs.responders.base import (
    AssistantConfig,
    Example,
    GoldenExampleLike,
    Responder,
    ResponderError,
    Turn,
)
from thumbs.responders.service import Prepared, answer, examples_for, prepare, responder_for

__all__ = [
    "AssistantConfig",
    "Example",
    "GoldenExampleLike",
    "Prepared",
    "Responder",
    "ResponderError",
    "Turn",
    "answer",
    "examples_for",
    "prepare",
    "responder_for",
]
