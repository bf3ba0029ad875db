from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from thumbs.kit.schemas import ID_MAX, OutputModel, PageMeta, RequiredId, TwilioBody
from thumbs.kit.timefmt import UtcDateTime

TEXT_MAX = 4000

SessionId = RequiredId
MessageId = Annotated[str, StringConstraints(max_length=ID_MAX, pattern=r"^aia_msg_.+$")]
FeedbackText = Annotated[str, StringConstraints(max_length=TEXT_MAX)]


def feedback_type_for(score: float | None, threshold: float) -> str | None:
    """Twilio score → thumbs type: ≥ threshold is positive, below is negative, none is none.
    (Here, with no database code, for the import's parsing processes too.)"""
    if score is None:
        return None
    return "positive" if score >= threshold else "negative"


def out_of(
    id: str,
    assistant_id: str,
    account_sid: str,
    user_sid: str | None,
    session_id: str,
    message_id: str | None,
    score: float | None,
    text: str | None,
    date_created: str | None,
    date_updated: str | None,
) -> dict[str, Any]:
    """The Twilio feedback resource (FeedbackOut), its dates already written as the API
    writes them."""
    return {
        "id": id,
        "assistant_id": assistant_id,
        "account_sid": account_sid,
        "user_sid": user_sid,
        "session_id": session_id,
        "message_id": message_id,
        "score": score,
        "text": text,
        "date_created": date_created,
        "date_updated": date_updated,
    }


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


# -- selecting feedback (exports, analytics) ------------------------------------------------

TypeChoice = Literal["positive", "negative", "none"]
StatusChoice = Literal["pending", "auto_approved", "reviewed", "dismissed"]
ChannelChoice = Literal["api", "thumbs", "import"]


class FeedbackQuery(BaseModel):
    """The feedback filter as query parameters (``AssistantId``, …) or CLI options
    (``assistant_id``, …); :func:`thumbs.feedback.filters.resolve` makes it a
    :class:`~thumbs.feedback.filters.FeedbackFilter` of one account."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    assistant_id: str | None = Field(default=None, alias="AssistantId", max_length=64)
    session_id: str | None = Field(default=None, alias="SessionId", max_length=ID_MAX)
    message_id: str | None = Field(default=None, alias="MessageId", max_length=ID_MAX)
    user_sid: str | None = Field(
        default=None, alias="UserSid", max_length=34, description="One end user (US…)."
    )
    feedback_type: TypeChoice | None = Field(
        default=None, alias="FeedbackType", description="none: feedback with no verdict."
    )
    status: StatusChoice | None = Field(default=None, alias="Status")
    channel: ChannelChoice | None = Field(default=None, alias="Channel")
    has_reason: bool | None = Field(default=None, alias="HasReason")
    created_after: UtcDateTime | None = Field(
        default=None, alias="DateCreatedAfter", description="ISO 8601; inclusive."
    )
    created_before: UtcDateTime | None = Field(
        default=None, alias="DateCreatedBefore", description="ISO 8601; exclusive."
    )
