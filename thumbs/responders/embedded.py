"""The embedded responder: no network, no model. It answers with the output of the golden
example that best matches the question (found by full-text search, see ``search``)."""

from __future__ import annotations

from collections.abc import Sequence

from thumbs.responders.base import AssistantConfig, GoldenExampleLike, Turn

NO_ANSWER = (
    "I have no answer to that yet. Rate this reply and give the answer you expected: "
    "once it is approved in review, I will answer with it."
)


class EmbeddedResponder:
    async def reply(
        self,
        *,
        assistant: AssistantConfig,
        history: Sequence[Turn],
        question: str,
        examples: Sequence[GoldenExampleLike],
    ) -> str:
        for example in examples:
            if example.output.strip():
                return example.output
        return NO_ANSWER
