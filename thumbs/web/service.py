"""What the console's screens share beyond one domain call: the assistant pickers, and the
feedback explorer's filters and query. Every rule lives in its domain (``thumbs.auth.console``
for console users and sessions, ``thumbs.assistants`` for responders, ``thumbs.review`` for
the lifecycle settings, ``thumbs.conversations`` for the session view); nothing here decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from thumbs.assistants import service as assistants_service
from thumbs.auth.console import ConsoleUser
from thumbs.kit import errors as E
from thumbs.kit.paging import Page, PageParams, keyset_page
from thumbs.store.models import Assistant, Feedback

__all__ = ["ConsoleUser"]


# -- assistants of the account -------------------------------------------------------------


def assistants(session: Session, *, account_pk: int) -> list[Assistant]:
    return assistants_service.all_by_name(session, account_pk=account_pk)


def assistant(session: Session, *, account_pk: int, assistant_id: str) -> Assistant:
    return assistants_service.get(session, account_pk=account_pk, assistant_id=assistant_id)


# -- feedback explorer ---------------------------------------------------------------------

STATUSES = ("pending", "auto_approved", "reviewed", "dismissed")
TYPES = ("positive", "negative", "none")
CHANNELS = ("api", "thumbs")


@dataclass(frozen=True, slots=True)
class ExplorerFilters:
    assistant_pk: int | None = None
    status: str | None = None
    feedback_type: str | None = None
    channel: str | None = None
    session_id: str | None = None
    created_from: datetime | None = None  # inclusive
    created_until: datetime | None = None  # exclusive


def _choice(field: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise E.InvalidField(E.INVALID_VALUE, field, f"{field} must be one of {', '.join(allowed)}")
    return value


def _day(field: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise E.InvalidField(E.INVALID_QUERY, field, f"{field} must be a date YYYY-MM-DD") from None


def explorer_filters(
    session: Session,
    *,
    account_pk: int,
    assistant_id: str | None,
    status: str | None,
    feedback_type: str | None,
    channel: str | None,
    session_id: str | None,
    date_from: str | None,
    date_to: str | None,
) -> ExplorerFilters:
    """Filters from the explorer's form (empty fields mean "any")."""
    pk = None
    if assistant_id:
        pk = assistant(session, account_pk=account_pk, assistant_id=assistant_id).pk
    until = _day("date_to", date_to)
    return ExplorerFilters(
        assistant_pk=pk,
        status=_choice("status", status, STATUSES),
        feedback_type=_choice("type", feedback_type, TYPES),
        channel=_choice("channel", channel, CHANNELS),
        session_id=session_id or None,
        created_from=_day("date_from", date_from),
        created_until=until + timedelta(days=1) if until else None,
    )


def feedback_page(
    session: Session, *, account_pk: int, filters: ExplorerFilters, params: PageParams
) -> Page[Feedback]:
    """Every feedback of the account, newest first, filtered, one keyset page at a time."""
    stmt = select(Feedback).where(Feedback.account_pk == account_pk)
    if filters.assistant_pk is not None:
        stmt = stmt.where(Feedback.assistant_pk == filters.assistant_pk)
    if filters.status is not None:
        stmt = stmt.where(Feedback.status == filters.status)
    if filters.feedback_type == "none":
        stmt = stmt.where(Feedback.feedback_type.is_(None))
    elif filters.feedback_type is not None:
        stmt = stmt.where(Feedback.feedback_type == filters.feedback_type)
    if filters.channel is not None:
        stmt = stmt.where(Feedback.channel == filters.channel)
    if filters.session_id is not None:
        stmt = stmt.where(Feedback.session_id == filters.session_id)
    if filters.created_from is not None:
        stmt = stmt.where(Feedback.date_created >= filters.created_from)
    if filters.created_until is not None:
        stmt = stmt.where(Feedback.date_created < filters.created_until)
    return keyset_page(session, stmt, Feedback.pk, params)


def assistant_names(session: Session, *, account_pk: int, pks: set[int]) -> dict[int, Assistant]:
    return assistants_service.by_pk(session, account_pk=account_pk, pks=pks)
