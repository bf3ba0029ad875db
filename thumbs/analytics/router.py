"""Analytics: summaries, series, breakdowns, reasons and comparisons of feedback (admins and
members). Every resource takes the lists' filters (see ``thumbs.analytics.deps``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from thumbs.analytics import schemas, service
from thumbs.analytics.deps import AnalyticsFilter, Limit
from thumbs.kit.deps import DbSession, UnitOfWorkRoute
from thumbs.kit.responses import JSON
from thumbs.kit.schemas import READ_ERRORS, error_responses
from thumbs.kit.timefmt import UtcDateTime

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/v1/Analytics", tags=["Analytics"])

STAFF_READ = {**READ_ERRORS, **error_responses(403)}


@router.get(
    "/Summary",
    response_model=schemas.SummaryOut,
    responses=STAFF_READ,
    summary="Count, mean score, positive rate with its 95 % interval, types, statuses, review",
)
def summary(session: DbSession, flt: AnalyticsFilter) -> Response:
    return JSON(service.summary_out(service.summary(session, flt=flt)))


@router.get(
    "/Series",
    response_model=schemas.SeriesOut,
    responses=STAFF_READ,
    summary="Volume and satisfaction per hour, day, week or month in a time zone",
)
def series(
    session: DbSession,
    flt: AnalyticsFilter,
    interval: Annotated[Literal["hour", "day", "week", "month"], Query(alias="Interval")] = "day",
    time_zone: Annotated[
        str, Query(alias="TimeZone", max_length=64, description="IANA name, e.g. Europe/Berlin.")
    ] = "UTC",
) -> Response:
    found = service.series(session, flt=flt, interval=interval, time_zone=time_zone)
    return JSON(service.series_out(found))


@router.get(
    "/Assistants",
    response_model=schemas.AssistantsOut,
    responses=STAFF_READ,
    summary="Feedback per assistant, the busiest first",
)
def by_assistant(session: DbSession, flt: AnalyticsFilter) -> Response:
    groups = service.by_assistant(session, flt=flt)
    return JSON({"assistants": service.groups_out(groups)})


@router.get(
    "/Sessions",
    response_model=schemas.SessionsOut,
    responses=STAFF_READ,
    summary="Feedback per session, the busiest first",
)
def by_session(session: DbSession, flt: AnalyticsFilter, limit: Limit = 20) -> Response:
    groups = service.by_session(session, flt=flt, limit=limit)
    return JSON({"sessions": service.groups_out(groups)})


@router.get(
    "/EndUsers",
    response_model=schemas.EndUsersOut,
    responses=STAFF_READ,
    summary="Feedback per end user, the busiest first",
)
def by_end_user(session: DbSession, flt: AnalyticsFilter, limit: Limit = 20) -> Response:
    groups = service.by_end_user(session, flt=flt, limit=limit)
    return JSON({"end_users": service.groups_out(groups)})


@router.get(
    "/Reviewers",
    response_model=schemas.ReviewersOut,
    responses=STAFF_READ,
    summary="Review decisions per reviewer",
)
def by_reviewer(session: DbSession, flt: AnalyticsFilter, limit: Limit = 20) -> Response:
    found = service.by_reviewer(session, flt=flt, limit=limit)
    return JSON({"reviewers": service.reviewers_out(found)})


@router.get(
    "/Agreement",
    response_model=schemas.AgreementOut,
    responses=STAFF_READ,
    summary="End users' verdicts against reviewers' decisions: the share overturned, by type",
)
def agreement(session: DbSession, flt: AnalyticsFilter) -> Response:
    found = service.agreement(service.summary(session, flt=flt))
    return JSON({"agreement": service.agreement_out(found)})


@router.get(
    "/WorstReplies",
    response_model=schemas.WorstRepliesOut,
    responses=STAFF_READ,
    summary="The worst-rated replies first, with the question and the reply",
)
def worst_replies(session: DbSession, flt: AnalyticsFilter, limit: Limit = 10) -> Response:
    found = service.worst_replies(session, flt=flt, limit=limit)
    return JSON({"replies": service.worst_out(found)})


@router.get(
    "/Reasons",
    response_model=schemas.ReasonsOut,
    responses=STAFF_READ,
    summary="Frequent words and phrases in reasons and texts (negative feedback by default)",
)
def frequent_reasons(session: DbSession, flt: AnalyticsFilter, limit: Limit = 20) -> Response:
    found = service.frequent_reasons(session, flt=flt, limit=limit)
    return JSON(service.reasons_out(found))


@router.get(
    "/Compare",
    response_model=schemas.CompareOut,
    responses=STAFF_READ,
    summary="Two assistants, or one over two periods: the difference of positive rates, tested",
    description="Side A is chosen by the usual filters; side B is the same but for the "
    "parameters ending in B (at least one of them). Without AssistantIdB, B is A's assistant.",
)
def compare(
    session: DbSession,
    a: AnalyticsFilter,
    assistant_b: Annotated[
        str | None, Query(alias="AssistantIdB", max_length=64, description="B's assistant.")
    ] = None,
    since_b: Annotated[
        UtcDateTime | None, Query(alias="DateCreatedAfterB", description="B's period; inclusive.")
    ] = None,
    until_b: Annotated[
        UtcDateTime | None, Query(alias="DateCreatedBeforeB", description="Exclusive.")
    ] = None,
    detectable: Annotated[
        float,
        Query(
            alias="Difference",
            gt=0,
            le=50,
            description="The difference, in points, the power calculation is made for.",
        ),
    ] = 5,
) -> Response:
    b = service.side_b(session, a=a, assistant_id=assistant_b, since=since_b, until=until_b)
    found = service.compare(session, a=a, b=b, detectable=detectable / 100)
    return JSON(
        service.comparison_out(
            found, a=service.side_out(session, a), b=service.side_out(session, b)
        )
    )
