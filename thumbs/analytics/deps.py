"""The analytics query parameters: the lists' filters, validated once."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query

from thumbs.analytics import service
from thumbs.auth.deps import StaffActor
from thumbs.feedback.filters import FeedbackFilter
from thumbs.kit.deps import DbSession
from thumbs.kit.timefmt import UtcDateTime

AssistantId = Annotated[
    str | None, Query(alias="AssistantId", max_length=64, description="One assistant (aia_asst_…).")
]
Since = Annotated[
    UtcDateTime | None,
    Query(
        alias="DateCreatedAfter", description="ISO 8601 (UTC unless an offset is given); inclusive."
    ),
]
Until = Annotated[
    UtcDateTime | None, Query(alias="DateCreatedBefore", description="ISO 8601; exclusive.")
]
FeedbackType = Literal["positive", "negative", "none"]
Status = Literal["pending", "auto_approved", "reviewed", "dismissed"]
Channel = Literal["api", "thumbs"]


def analytics_filter(
    actor: StaffActor,
    session: DbSession,
    assistant_id: AssistantId = None,
    session_id: Annotated[str | None, Query(alias="SessionId", max_length=256)] = None,
    user_sid: Annotated[
        str | None, Query(alias="UserSid", max_length=34, description="One end user (US…).")
    ] = None,
    identity: Annotated[
        str | None,
        Query(alias="Identity", max_length=256, description="One end user, by identity."),
    ] = None,
    feedback_type: Annotated[FeedbackType | None, Query(alias="FeedbackType")] = None,
    status: Annotated[Status | None, Query(alias="Status")] = None,
    channel: Annotated[Channel | None, Query(alias="Channel")] = None,
    since: Since = None,
    until: Until = None,
) -> FeedbackFilter:
    return service.filter_for(
        session,
        account_pk=actor.account_pk,
        assistant_id=assistant_id,
        session_id=session_id,
        user_sid=user_sid,
        identity=identity,
        feedback_type=feedback_type,
        status=status,
        channel=channel,
        since=since,
        until=until,
    )


AnalyticsFilter = Annotated[FeedbackFilter, Depends(analytics_filter)]
Limit = Annotated[int, Query(alias="Limit", ge=1, le=100, description="Rows, 1 to 100.")]
