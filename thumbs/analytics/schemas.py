"""The shapes of the analytics resources (the handlers return them as JSON)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from thumbs.kit.schemas import OutputModel
from thumbs.kit.timefmt import UtcDateTime


class DateRange(BaseModel):
    """``thumbs stats --since/--until``: ISO 8601 dates, read as the API reads them."""

    model_config = ConfigDict(extra="forbid")
    since: UtcDateTime | None = None
    until: UtcDateTime | None = None


Interval95 = Annotated[
    list[float] | None,
    Field(min_length=2, max_length=2, description="95 % Wilson interval [low, high]."),
]
Share = Annotated[float | None, Field(description="A share of the count, 0 to 1; null if 0.")]


class RateOut(OutputModel):
    positive: int = Field(description="Feedback with a positive verdict.")
    negative: int = Field(description="Feedback with a negative verdict.")
    positive_rate: float | None = Field(description="positive / (positive + negative).")
    positive_rate_ci: Interval95


class ByType(OutputModel):
    positive: int
    negative: int
    none: int = Field(description="Feedback without a verdict (a Twilio feedback with no score).")


class ByStatus(OutputModel):
    pending: int
    auto_approved: int
    reviewed: int
    dismissed: int


class MedianOut(OutputModel):
    seconds: float = Field(description="Estimate, interpolated inside its histogram bin.")
    low: float = Field(description="The bin holding the median: lower edge, seconds.")
    high: float | None = Field(description="Upper edge (null for 30 days and more).")


class SummaryOut(RateOut):
    source: Literal["rollups", "rows"] = Field(
        description="rows when a filter the rollups do not hold (session, end user) was given."
    )
    count: int
    mean_score: float | None
    by_type: ByType
    by_status: ByStatus
    with_text: int
    with_text_share: Share
    with_reason: int
    with_reason_share: Share
    reviewed: int = Field(description="Feedback an admin approved or dismissed.")
    reviewed_share: Share
    median_time_to_review: MedianOut | None
    mean_time_to_review: float | None = Field(description="Seconds from creation to review.")


class BucketOut(RateOut):
    start: str = Field(description="Local start in the requested time zone, with its offset.")
    start_utc: str
    end_utc: str = Field(description="Exclusive.")
    count: int
    mean_score: float | None


class SeriesOut(OutputModel):
    interval: Literal["hour", "day", "week", "month"]
    time_zone: str
    date_created_after: str
    date_created_before: str
    buckets: list[BucketOut]


class GroupOut(RateOut):
    count: int
    mean_score: float | None


class AssistantGroup(GroupOut):
    assistant_id: str
    name: str


class SessionGroup(GroupOut):
    session_id: str


class EndUserGroup(GroupOut):
    user_sid: str
    identity: str | None


class AssistantsOut(OutputModel):
    assistants: list[AssistantGroup]


class SessionsOut(OutputModel):
    sessions: list[SessionGroup]


class EndUsersOut(OutputModel):
    end_users: list[EndUserGroup]


class ReviewerOut(OutputModel):
    user_sid: str | None = Field(description="null: decided with the account's credentials.")
    email: str | None
    decided: int = Field(description="Feedback this reviewer approved or dismissed.")
    approved: int
    dismissed: int
    mean_time_to_review: float | None = Field(description="Seconds from creation to review.")


class ReviewersOut(OutputModel):
    reviewers: list[ReviewerOut]


class AgreementRow(OutputModel):
    feedback_type: Literal["positive", "negative", "all"]
    approved: int = Field(description="Verdicts a reviewer upheld (approved).")
    dismissed: int = Field(description="Verdicts a reviewer overturned (dismissed).")
    decided: int
    overturned: float | None = Field(description="dismissed / decided.")
    overturned_ci: Interval95


class AgreementOut(OutputModel):
    agreement: list[AgreementRow]


class ReplyOut(RateOut):
    message_id: str
    assistant_id: str | None
    session_id: str | None
    question: str = Field(description="The last user turn before the reply.")
    reply: str
    count: int
    mean_score: float | None
    negative_rate_ci: Interval95


class WorstRepliesOut(OutputModel):
    replies: list[ReplyOut]


class TermOut(OutputModel):
    term: str
    count: int = Field(description="Feedback that says it.")
    feedback_ids: list[str] = Field(description="A few of them, newest first.")


class ReasonsOut(OutputModel):
    feedback_type: Literal["positive", "negative", "none"]
    scanned: int = Field(description="Feedback read (the newest 10,000 at most).")
    complete: bool = Field(description="Whether every matching feedback was read.")
    words: list[TermOut]
    phrases: list[TermOut]


class SideOut(RateOut):
    assistant_id: str | None
    date_created_after: str | None
    date_created_before: str | None
    rated: int


class CompareOut(OutputModel):
    a: SideOut
    b: SideOut
    difference: float | None = Field(description="Positive rate of B minus that of A.")
    difference_ci: Interval95
    z: float | None
    p_value: float | None = Field(description="Two-sided, two-proportion z-test.")
    verdict: Literal["a_better", "b_better", "not_distinguishable"]
    message: str
    detectable_difference: float
    needed_per_group: int | None = Field(
        description="Ratings each side needs to tell detectable_difference (80 % power)."
    )
    more_per_group: int | None
