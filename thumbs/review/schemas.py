from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from thumbs.feedback.schemas import FeedbackText, MessageId
from thumbs.kit.schemas import InputModel, OutputModel, PageMeta, RequiredId

NOTE_MAX = 4000
REPLY_MAX = 32_000

Note = Annotated[str, StringConstraints(max_length=NOTE_MAX)]


# -- thumbs submission, and the feedback with its lifecycle (every route shows it so) --------

FeedbackType = Literal["positive", "negative"]
Identity = RequiredId


class ThumbsCreate(InputModel):
    """The seed's submission: one verdict per end user per message."""

    message_id: MessageId = Field(description="The rated assistant message (aia_msg_…).")
    feedback_type: FeedbackType = Field(description="positive or negative.")
    reason: FeedbackText | None = Field(
        default=None, description="Why; required when the settings say so (≤ 4,000 characters)."
    )
    identity: Identity | None = Field(
        default=None, description="The end user; defaults to the X-Thumbs-Identity header."
    )


class ThumbsOut(OutputModel):
    id: str = Field(pattern=r"^aia_fdbk_.+$")
    message_id: str | None
    user_id: str | None = Field(description="The user's SID (US…).")
    feedback_type: str | None
    reason: str | None
    status: str = Field(description="pending, auto_approved, reviewed or dismissed.")
    reviewed_by: str | None = Field(
        description="SID of the reviewing user, or the Account SID when the account's own "
        "credentials decided."
    )
    reviewed_at: str | None
    created_at: str
    channel: str = Field(
        description="thumbs (this API), api (the Twilio-compatible API) or import (a backfill)."
    )
    assistant_id: str | None
    account_sid: str
    user_sid: str | None
    session_id: str
    score: float | None
    text: str | None
    date_created: str
    date_updated: str


# -- review --------------------------------------------------------------------------------


class Approve(InputModel):
    corrected_response: (
        Annotated[str, StringConstraints(min_length=1, max_length=REPLY_MAX)] | None
    ) = Field(default=None, description="The ideal reply, when the original was not it.")
    note: Note | None = None


class Dismiss(InputModel):
    note: Note | None = Field(default=None, description="Why it is not used.")


class SettingPut(InputModel):
    feedback_type: Literal["positive", "negative"]
    assistant_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="An assistant's own setting; omitted: the account default."
    )
    auto_approve: bool | None = None
    require_reason: bool | None = None


class SettingOut(OutputModel):
    feedback_type: str
    auto_approve: bool
    require_reason: bool
    source: str = Field(description="assistant, account (the default) or default (built-in).")
    date_updated: str | None


class SettingsOut(OutputModel):
    assistant_id: str | None
    settings: list[SettingOut]


class QueueList(OutputModel):
    feedbacks: list[ThumbsOut]
    meta: PageMeta


class TransitionOut(OutputModel):
    id: str = Field(pattern=r"^aia_dcsn_.+$")
    feedback_id: str
    from_status: str | None
    to_status: str
    actor: str = Field(description="A user SID, the Account SID, or system.")
    note: str | None
    date_created: str


class TransitionList(OutputModel):
    transitions: list[TransitionOut]


class DecisionOut(OutputModel):
    feedback: ThumbsOut
    transition: TransitionOut
