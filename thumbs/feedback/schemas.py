from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from thumbs.kit.schemas import ID_MAX, OutputModel, PageMeta, RequiredId, TwilioBody

TEXT_MAX = 4000

SessionId = RequiredId
MessageId = Annotated[str, StringConstraints(max_length=ID_MAX, pattern=r"^aia_msg_.+$")]
FeedbackText = Annotated[str, StringConstraints(max_length=TEXT_MAX)]


class FeedbackCreate(TwilioBody):
    """Twilio's create_feedback_request."""

    session_id: SessionId = Field(description="The Session ID (free-form, ≤ 256 characters).")
    message_id: MessageId | None = Field(
        default=None, description="The message ID (aia_msg_…), for feedback on one message."
    )
    score: float | None = Field(default=None, ge=0, le=1, description="Score from 0 to 1.")
    text: FeedbackText | None = Field(default=None, description="Notes, ≤ 4,000 characters.")


class FeedbackUpdate(TwilioBody):
    score: float | None = Field(default=None, ge=0, le=1)
    text: FeedbackText | None = None

    @model_validator(mode="after")
    def _something(self) -> FeedbackUpdate:
        if not self.model_fields_set:
            raise ValueError("give score and/or text")
        return self


class FeedbackOut(OutputModel):
    id: str = Field(pattern=r"^aia_fdbk_.+$")
    assistant_id: str
    account_sid: str
    user_sid: str | None
    session_id: str
    message_id: str | None
    score: float | None
    text: str | None
    date_created: str
    date_updated: str


class FeedbackList(OutputModel):
    feedbacks: list[FeedbackOut]
    meta: PageMeta
