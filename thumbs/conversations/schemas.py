from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from thumbs.kit.schemas import InputModel, OutputModel, PageMeta, RequiredId

CONTENT_MAX = 32_000

Identity = RequiredId
SessionId = RequiredId
Content = Annotated[str, StringConstraints(max_length=CONTENT_MAX)]


class MessageCreate(InputModel):
    """Log one message of a session (an application running its own model)."""

    assistant_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="Required when the session does not exist yet."
    )
    identity: Identity | None = Field(
        default=None, description="The end user; defaults to the X-Thumbs-Identity header."
    )
    role: Literal["user", "assistant", "system"]
    content: Content = Field(description="The text of the message (≤ 32,000 characters).")
    meta: dict[str, Any] | None = None


class TurnCreate(InputModel):
    """Log one turn: the user's message and the assistant's reply."""

    session_id: SessionId
    identity: Identity | None = Field(
        default=None, description="The end user; defaults to the X-Thumbs-Identity header."
    )
    body: Content = Field(description="What the user said.")
    reply: Content = Field(description="What the assistant answered.")
    meta: dict[str, Any] | None = Field(default=None, description="Stored on the reply.")


class SessionOut(OutputModel):
    id: str
    account_sid: str
    assistant_id: str
    verified: bool
    identity: str | None
    date_created: str
    date_updated: str


class MessageOut(OutputModel):
    id: str = Field(pattern=r"^aia_msg_.+$")
    account_sid: str
    assistant_id: str
    session_id: str
    identity: str | None
    role: str
    content: dict[str, Any] = Field(description='{"text": "…"}')
    meta: dict[str, Any]
    date_created: str
    date_updated: str


class SessionList(OutputModel):
    sessions: list[SessionOut]
    meta: PageMeta


class MessageList(OutputModel):
    messages: list[MessageOut]
    meta: PageMeta


class TurnOut(OutputModel):
    session_id: str
    messages: list[MessageOut]
