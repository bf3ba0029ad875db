"""The console's analytics dashboard: one page over the analytics services (the same ones
the /v1/Analytics API calls), its filters in the URL so a view can be shared."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from thumbs.analytics import formats, service, timeline
from thumbs.feedback.filters import FeedbackFilter
from thumbs.kit import errors as E
from thumbs.kit.deps import DbSession, UnitOfWorkRoute
from thumbs.web import charts
from thumbs.web import service as console
from thumbs.web.deps import CurrentUser
from thumbs.web.pages import page

router = APIRouter(route_class=UnitOfWorkRoute)

DEFAULT_DAYS = 30

Short = Annotated[str | None, Query(max_length=256)]
FIELDS = (
    "assistant",
    "session_id",
    "identity",
    "type",
    "status",
    "channel",
    "date_from",
    "date_to",
    "interval",
    "tz",
    "b_assistant",
    "b_from",
    "b_to",
)


@dataclass(frozen=True, slots=True)
class View:
    flt: FeedbackFilter
    b: FeedbackFilter | None
    interval: str
    time_zone: str


def _choice(form: dict[str, str], field: str, allowed: tuple[str, ...]) -> str | None:
    value = form[field]
    if value and value not in allowed:
        raise E.InvalidField(E.INVALID_VALUE, field, f"{field} must be one of {', '.join(allowed)}")
    return value or None


def _day(form: dict[str, str], field: str) -> date | None:
    if not form[field]:
        return None
    try:
        return date.fromisoformat(form[field])
    except ValueError:
        raise E.InvalidField(E.INVALID_QUERY, field, f"{field} must be a date YYYY-MM-DD") from None


def view_of(session: Session, *, account_pk: int, form: dict[str, str]) -> View:
    """The dashboard's filters from its form (empty fields mean "any"; no dates at all, the
    last ``DEFAULT_DAYS`` days); dates are local days of the chosen time zone."""
    time_zone = form["tz"] or "UTC"
    tz = timeline.zone(time_zone, field="tz")
    interval = _choice(form, "interval", timeline.INTERVALS) or "day"
    if not form["date_from"] and not form["date_to"]:
        # a dashboard opens on the last 30 days (the breakdowns read rows)
        today = datetime.now(tz).date()
        form["date_from"] = (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        form["date_to"] = today.isoformat()

    def local(field: str, days: int = 0) -> datetime | None:
        day = _day(form, field)
        return timeline.day_start(day + timedelta(days=days), tz) if day else None

    flt = service.filter_for(
        session,
        account_pk=account_pk,
        assistant_id=form["assistant"] or None,
        session_id=form["session_id"] or None,
        identity=form["identity"] or None,
        feedback_type=_choice(form, "type", service.TYPES),
        status=_choice(form, "status", service.STATUSES),
        channel=_choice(form, "channel", service.CHANNELS),
        since=local("date_from"),
        until=local("date_to", 1),
    )
    b = None
    if form["b_assistant"] or form["b_from"] or form["b_to"]:
        b = service.side_b(
            session,
            a=flt,
            assistant_id=form["b_assistant"] or None,
            since=local("b_from"),
            until=local("b_to", 1),
        )
    return View(flt, b, interval, time_zone)


@router.get("/analytics")
def analytics_dashboard(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    assistant: Short = None,
    session_id: Short = None,
    identity: Short = None,
    type: Short = None,
    status: Short = None,
    channel: Short = None,
    date_from: Short = None,
    date_to: Short = None,
    interval: Short = None,
    tz: Short = None,
    b_assistant: Short = None,
    b_from: Short = None,
    b_to: Short = None,
) -> Response:
    values = (
        assistant,
        session_id,
        identity,
        type,
        status,
        channel,
        date_from,
        date_to,
        interval,
        tz,
        b_assistant,
        b_from,
        b_to,
    )
    form = {name: (value or "").strip() for name, value in zip(FIELDS, values, strict=True)}
    view = view_of(session, account_pk=user.account_pk, form=form)
    board = service.dashboard(
        session, flt=view.flt, interval=view.interval, time_zone=view.time_zone, b=view.b
    )
    points = board.series.points
    return page(
        request,
        "analytics.html",
        user=user,
        active="analytics",
        form=form,
        view=view,
        board=board,
        summary=service.summary_out(board.summary),
        satisfaction=charts.satisfaction(points, view.interval),
        volume=charts.volume(points, view.interval),
        assistants=console.assistants(session, account_pk=user.account_pk),
        types=service.TYPES,
        statuses=service.STATUSES,
        channels=service.CHANNELS,
        intervals=timeline.INTERVALS,
        fmt=formats,
    )
