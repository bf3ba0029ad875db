"""The responder interface and the values it is given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict

from thumbs.kit import errors as E
from thumbs.store.models import Assistant


class Turn(TypedDict):
    """One turn of a conversation, as chat-completions APIs take it."""

    role: Literal["user", "assistant", "system"]
    content: str


class GoldenExampleLike(Protocol):
    """What a responder reads of a golden example (a ``GoldenExample`` row qualifies)."""

    @property
    def prompt(self) -> str: ...

    @property
    def input(self) -> list[Any]: ...

    @property
    def output(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Example:
    """A golden example detached from the database session."""

    id: str
    prompt: str
    input: list[Any]
    output: str

    @classmethod
    def of(cls, row: Any) -> Example:
        return cls(id=row.id, prompt=row.prompt, input=list(row.input or []), output=row.output)


@dataclass(frozen=True, slots=True)
class AssistantConfig:
    """What a responder needs of an assistant, read once so that the (slow) call to a model
    runs without holding a database session."""

    id: str
    name: str
    personality_prompt: str
    responder: str  # embedded | openai
    base_url: str | None
    model: str | None
    api_key_env: str | None

    @classmethod
    def of(cls, assistant: Assistant) -> AssistantConfig:
        return cls(
            id=assistant.id,
            name=assistant.name,
            personality_prompt=assistant.personality_prompt or "",
            responder=assistant.responder,
            base_url=assistant.responder_base_url,
            model=assistant.responder_model,
            api_key_env=assistant.responder_api_key_env,
        )


class Responder(Protocol):
    """Answers ``question`` after ``history`` (oldest first), guided by ``examples``
    (most relevant first). Raises ``ResponderError`` (a ``ThumbsError``) on failure;
    never hangs beyond its configured time limit."""

    async def reply(
        self,
        *,
        assistant: AssistantConfig,
        history: Sequence[Turn],
        question: str,
        examples: Sequence[GoldenExampleLike],
    ) -> str: ...


class ResponderError(E.ThumbsError):
    """A responder failed; ``code`` says how (see the 610xx codes)."""

    def __init__(self, code: int, message: str, *, assistant_id: str, **details: Any) -> None:
        super().__init__(code, message, details={"assistant_id": assistant_id, **details})
