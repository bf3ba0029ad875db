"""The console's forms, read in one place: the filter forms of the explorer and the review
queue (into the one feedback filter), the review decisions, the lifecycle settings table
and an assistant's form.

Every filter field is optional text; an empty field means "any" (``None`` in the filter,
never a made-up value). A value outside a field's choices is a 400 naming the field, an
assistant of another account is a 404, and dates are days (``YYYY-MM-DD``): "from"
includes its day, "to" includes its whole day. A decision carries the version of the
feedback the reviewer saw; a form without one decides on the current state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Form, Query
from sqlalchemy.orm import Session
from starlette.requests import Request

from thumbs.assistants import service as assistants
from thumbs.feedback.filters import NO_TYPE, FeedbackFilter
from thumbs.kit import errors as E
from thumbs.kit.deps import DbSession
from thumbs.review import service as review
from thumbs.web.deps import CurrentUser

STATUSES = review.STATUSES
VERDICTS = review.FEEDBACK_TYPES
TYPES = (*VERDICTS, NO_TYPE)
CHANNELS = ("api", "thumbs", "console")
REASONS = {"yes": True, "no": False}

Field = Annotated[str | None, Query(max_length=256)]
Text = Annotated[str, Form(max_length=32_000)]
Note = Annotated[str, Form(max_length=4_000)]
Back = Annotated[str, Form(max_length=2_048)]


@dataclass(frozen=True, slots=True)
class FilterForm:
    """A screen's filter form: the fields as typed (shown again in the form) and the
    filter they mean."""

    shown: dict[str, str]
    where: FeedbackFilter


def choice(field: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise E.InvalidField(E.INVALID_VALUE, field, f"{field} must be one of {', '.join(allowed)}")
    return value


def day(field: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise E.InvalidField(E.INVALID_QUERY, field, f"{field} must be a date YYYY-MM-DD") from None


def assistant_pk(session: Session, *, account_pk: int, assistant_id: str | None) -> int | None:
    if not assistant_id:
        return None
    return assistants.get(session, account_pk=account_pk, assistant_id=assistant_id).pk


def _shown(**fields: str | None) -> dict[str, str]:
    return {name: value or "" for name, value in fields.items()}


def _until(date_to: str | None) -> datetime | None:
    last = day("date_to", date_to)
    return last + timedelta(days=1) if last is not None else None


def explorer_form(
    session: DbSession,
    user: CurrentUser,
    assistant: Field = None,
    status: Field = None,
    type: Field = None,
    channel: Field = None,
    session_id: Field = None,
    date_from: Field = None,
    date_to: Field = None,
) -> FilterForm:
    """The feedback explorer: every feedback of the account."""
    shown = _shown(
        assistant=assistant,
        status=status,
        type=type,
        channel=channel,
        session_id=session_id,
        date_from=date_from,
        date_to=date_to,
    )
    where = FeedbackFilter(
        account_pk=user.account_pk,
        assistant_pk=assistant_pk(session, account_pk=user.account_pk, assistant_id=assistant),
        status=choice("status", status, STATUSES),
        feedback_type=choice("type", type, TYPES),
        channel=choice("channel", channel, CHANNELS),
        session_id=session_id or None,
        created_after=day("date_from", date_from),
        created_before=_until(date_to),
    )
    return FilterForm(shown=shown, where=where)


def queue_form(
    session: DbSession,
    user: CurrentUser,
    assistant: Field = None,
    type: Field = None,
    has_reason: Field = None,
    date_from: Field = None,
    date_to: Field = None,
) -> FilterForm:
    """The review queue (its page keeps to pending feedback)."""
    shown = _shown(
        assistant=assistant, type=type, has_reason=has_reason, date_from=date_from, date_to=date_to
    )
    reason = choice("has_reason", has_reason, tuple(REASONS))
    where = FeedbackFilter(
        account_pk=user.account_pk,
        assistant_pk=assistant_pk(session, account_pk=user.account_pk, assistant_id=assistant),
        feedback_type=choice("type", type, VERDICTS),
        has_reason=REASONS[reason] if reason is not None else None,
        created_after=day("date_from", date_from),
        created_before=_until(date_to),
    )
    return FilterForm(shown=shown, where=where)


ExplorerForm = Annotated[FilterForm, Depends(explorer_form)]
QueueForm = Annotated[FilterForm, Depends(queue_form)]


@dataclass(frozen=True, slots=True)
class DecisionForm:
    """A review decision posted from the queue: the correction as typed (line ends
    normalised; the form shows the original reply), the note, the versions the decision is
    conditional on (the one the reviewer saw) and the screen to go back to."""

    corrected_response: str
    note: str | None
    seen: frozenset[int] | None
    back: str


def decision_form(
    corrected_response: Text = "",
    note: Note = "",
    version: Annotated[int | None, Form(ge=1)] = None,
    back: Back = "",
) -> DecisionForm:
    return DecisionForm(
        corrected_response=corrected_response.replace("\r\n", "\n"),
        note=note.strip() or None,
        seen=frozenset({version}) if version is not None else None,
        back=back,
    )


Decision = Annotated[DecisionForm, Depends(decision_form)]


# -- the lifecycle settings table (a scope's rows, or several) --------------------------------

ACCOUNT = "account"  # the account default's rows in the settings form
Choices = dict[str, dict[str, dict[str, bool] | None]]


async def lifecycle_form(request: Request) -> Choices:
    """The settings table as sent (a scope's row, or several): per scope (``account`` or an
    assistant id), per type, its two flags (a checkbox sent means on), or None when the
    assistant's type follows the account default (``<scope>.<type>.from`` = ``account``)."""
    form = await request.form()
    choices: Choices = {}
    for key, value in form.multi_items():
        scope, _, rest = key.rpartition(".")
        scope, _, feedback_type = scope.rpartition(".")
        if rest != "from" or feedback_type not in review.FEEDBACK_TYPES or not scope:
            continue
        if value not in ("own", "account") or (value == "account" and scope == ACCOUNT):
            raise E.InvalidField(E.INVALID_VALUE, key, f"{key} is own or account")
        choices.setdefault(scope, {})[feedback_type] = (
            None
            if value == "account"
            else {
                flag: f"{scope}.{feedback_type}.{flag}" in form
                for flag in ("auto_approve", "require_reason")
            }
        )
    return choices


LifecycleChoices = Annotated[Choices, Depends(lifecycle_form)]


# -- an assistant: its name and its responder -------------------------------------------------

Name = Annotated[str, Form(max_length=1024)]
Choice = Annotated[str, Form(max_length=16)]
Setting = Annotated[str, Form(max_length=2048)]


def assistant_form(
    name: Name = "",
    responder: Choice = "embedded",
    responder_base_url: Setting = "",
    responder_model: Setting = "",
    responder_api_key_env: Setting = "",
) -> dict[str, str]:
    """An assistant's form: its name and its responder."""
    return {
        "name": name,
        "responder": responder,
        "responder_base_url": responder_base_url,
        "responder_model": responder_model,
        "responder_api_key_env": responder_api_key_env,
    }


AssistantForm = Annotated[dict[str, str], Depends(assistant_form)]
