"""One feedback filter for every reader of feedback.

The Twilio list, the review queue, the console's explorer, analytics and exports all select
feedback the same way: a :class:`FeedbackFilter` (always scoped to one account) turned into
SQL by :meth:`FeedbackFilter.conditions`. A new criterion is added here once and every
reader has it.

| field | matches |
| --- | --- |
| ``assistant_pk`` | one assistant |
| ``session_id`` / ``message_id`` | the Twilio ids given with the feedback |
| ``user_pk`` | one end user |
| ``feedback_type`` | ``positive`` / ``negative``, or ``none`` for feedback with no verdict |
| ``status`` | a lifecycle status (``pending``, ``auto_approved``, ``reviewed``, ``dismissed``) |
| ``channel`` | where it came from (``api``, ``thumbs``, ``import``, …) |
| ``has_reason`` | with (``True``) or without (``False``) a non-empty reason |
| ``created_after`` / ``created_before`` | ``date_created``: inclusive / exclusive bounds |

Readers that take the filter from a request or the command line validate it as a
:class:`~thumbs.feedback.schemas.FeedbackQuery` (query parameters ``AssistantId``,
``SessionId``, ``MessageId``, ``UserSid``, ``FeedbackType``, ``Status``, ``Channel``,
``HasReason``, ``DateCreatedAfter``, ``DateCreatedBefore``) and :func:`resolve` it: the
public ids become keys of this account, or a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, or_, select
from sqlalchemy.orm import Session

from thumbs.assistants import service as assistants
from thumbs.feedback.schemas import FeedbackQuery
from thumbs.store.models import NO_TYPE, Assistant, Feedback
from thumbs.users import service as users

__all__ = ["NO_TYPE", "FeedbackFilter", "account_assistants", "select_feedback"]


@dataclass(frozen=True, slots=True)
class FeedbackFilter:
    account_pk: int
    assistant_pk: int | None = None
    session_id: str | None = None
    message_id: str | None = None
    user_pk: int | None = None
    feedback_type: str | None = None
    status: str | None = None
    channel: str | None = None
    has_reason: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE conditions of this filter (ANDed), the account scope first (the account
        itself, or its assistants)."""
        return self._conditions(lambda name: getattr(self, name))

    def shape(self) -> tuple[object, ...]:
        """What the SQL of :meth:`conditions` depends on besides the values: which fields
        are set, and the two whose value changes it (``has_reason``, the type ``none``)."""
        return (
            *(getattr(self, f.name) is None for f in fields(self)),
            self.feedback_type == NO_TYPE,
            self.has_reason,
        )

    def bound_conditions(self) -> list[ColumnElement[bool]]:
        """:meth:`conditions` with each value a bind parameter named ``flt_<field>``
        (given by :meth:`bound_values`): the SQL of this :meth:`shape`, to compile once."""
        return self._conditions(lambda name: bindparam(f"flt_{name}"))

    def bound_values(self) -> dict[str, Any]:
        """The values of :meth:`bound_conditions`' parameters (those of unset fields too)."""
        return {f"flt_{f.name}": getattr(self, f.name) for f in fields(self)}

    def _conditions(self, value: Callable[[str], Any]) -> list[ColumnElement[bool]]:
        c: list[ColumnElement[bool]]
        if self.through_assistants:
            # a session's or a message's feedback in the whole account: the account's rows
            # are those of its assistants, found through their indexes ((assistant_pk,
            # session_id, pk), (assistant_pk, message_id, pk)), one seek per assistant. (With
            # account_pk = … beside it, the planners walked the account's rows newest first
            # instead; an account-wide session index would cost every create a write on one
            # more scattered page.)
            c = [Feedback.assistant_pk.in_(account_assistants(value("account_pk")))]
        else:
            c = [Feedback.account_pk == value("account_pk")]
        if self.assistant_pk is not None:
            c.append(Feedback.assistant_pk == value("assistant_pk"))
        if self.session_id is not None:
            c.append(Feedback.session_id == value("session_id"))
        if self.message_id is not None:
            c.append(Feedback.message_id == value("message_id"))
        if self.user_pk is not None:
            c.append(Feedback.user_pk == value("user_pk"))
        if self.feedback_type == NO_TYPE:
            c.append(Feedback.feedback_type.is_(None))
        elif self.feedback_type is not None:
            c.append(Feedback.feedback_type == value("feedback_type"))
        if self.status is not None:
            c.append(Feedback.status == value("status"))
        if self.channel is not None:
            c.append(Feedback.channel == value("channel"))
        if self.has_reason is True:
            c.append(Feedback.reason.is_not(None))
            c.append(Feedback.reason != "")
        elif self.has_reason is False:
            c.append(or_(Feedback.reason.is_(None), Feedback.reason == ""))
        if self.created_after is not None:
            c.append(Feedback.date_created >= value("created_after"))
        if self.created_before is not None:
            c.append(Feedback.date_created < value("created_before"))
        return c

    @property
    def through_assistants(self) -> bool:
        """Whether :meth:`conditions` reach the rows through the account's assistants."""
        return self.assistant_pk is None and (
            self.session_id is not None or self.message_id is not None
        )

    def narrowed(self, **changes: Any) -> FeedbackFilter:
        """The same filter with some fields replaced (e.g. ``status="pending"``)."""
        return replace(self, **changes)


def account_assistants(account_pk: Any) -> Select[Any]:
    """The keys of an account's assistants: account-wide readers reach feedback rows through
    the assistants' indexes with ``Feedback.assistant_pk.in_(…)``."""
    return select(Assistant.pk).where(Assistant.account_pk == account_pk)


def select_feedback(flt: FeedbackFilter, *entities: Any, bound: bool = False) -> Select[Any]:
    """``SELECT <entities, default the Feedback row> FROM feedback WHERE <flt>``; with
    ``bound``, the values are bind parameters (:meth:`FeedbackFilter.bound_conditions`)."""
    where = flt.bound_conditions() if bound else flt.conditions()
    return select(*(entities or (Feedback,))).where(*where)


def resolve(session: Session, *, account_pk: int, query: FeedbackQuery) -> FeedbackFilter:
    """The filter of ``query`` in one account: an assistant or end user of another account
    (or of none) is a 404, like everywhere else."""
    assistant_pk = user_pk = None
    if query.assistant_id is not None:
        assistant_pk = assistants.get(
            session, account_pk=account_pk, assistant_id=query.assistant_id
        ).pk
    if query.user_sid is not None:
        user_pk = users.get(session, account_pk=account_pk, sid=query.user_sid).pk
    return FeedbackFilter(
        account_pk=account_pk,
        assistant_pk=assistant_pk,
        session_id=query.session_id,
        message_id=query.message_id,
        user_pk=user_pk,
        feedback_type=query.feedback_type,
        status=query.status,
        channel=query.channel,
        has_reason=query.has_reason,
        created_after=query.created_after,
        created_before=query.created_before,
    )
