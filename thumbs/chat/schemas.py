from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from thumbs.kit.schemas import OutputModel, RequiredId, TwilioBody

BODY_MAX = 4_000

Body = Annotated[str, StringConstraints(min_length=1, max_length=BODY_MAX)]


class SendMessage(TwilioBody):
    """Twilio's ``assistant_send_message_request``."""

    identity: RequiredId = Field(description="The end user who asks (e.g. `user_id:42`).")
    session_id: RequiredId | None = Field(
        default=None,
        description="The conversation to continue; a new session (aia_sess_…) when omitted.",
    )
    body: Body = Field(description="The question (≤ 4,000 characters).")
    webhook: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        default=None,
        description="Not supported: thumbs answers synchronously, so a request that names a "
        "webhook is refused (400) rather than silently never called.",
    )
    mode: Literal["chat", "email", "voice"] = Field(
        default="chat", description="chat, email or voice; stored with the reply."
    )


class MessageReply(OutputModel):
    """Twilio's ``assistant_send_message_response``, plus the ids a caller needs to rate
    the reply (thumbs extensions)."""

    status: str = Field(description="success (failures are error responses, 502/504).")
    flagged: bool
    aborted: bool
    session_id: str
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    body: str = Field(description="The assistant's reply.")
    error: str | None
    assistant_id: str = Field(description="thumbs: the assistant that answered.")
    message_id: str = Field(
        pattern=r"^aia_msg_.+$", description="thumbs: the stored reply, to rate with feedback."
    )
    user_message_id: str = Field(
        pattern=r"^aia_msg_.+$", description="thumbs: the stored question."
    )
