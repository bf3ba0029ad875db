"""Golden examples and preference pairs (no HTTP here).

They are made in the transaction of the decision that justifies them (see
``thumbs.review.service``) and withdrawn, never silently kept, when that verdict is
withdrawn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from thumbs.conversations import service as conversations
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.paging import Page, PageParams, keyset_page
from thumbs.kit.timefmt import iso, utcnow
from thumbs.store.models import (
    Assistant,
    Feedback,
    FeedbackTransition,
    GoldenExample,
    Message,
    PreferencePair,
)


@dataclass(frozen=True, slots=True)
class Made:
    golden: GoldenExample
    pair: PreferencePair | None


Makes = Literal["nothing", "golden", "golden_and_pair"]


def approval_makes(*, feedback_type: str | None, linked: bool, corrected: bool) -> Makes:
    """What approving a feedback makes (the rule of :func:`create_from_decision`, for screens
    that say it before the click): nothing without a logged reply or for a negative verdict
    without a correction; a preference pair too for a negative verdict with one."""
    if not linked or (feedback_type == "negative" and not corrected):
        return "nothing"
    return "golden_and_pair" if feedback_type == "negative" else "golden"


def create_from_decision(
    session: Session,
    *,
    feedback: Feedback,
    decision: FeedbackTransition,
    corrected_response: str | None,
) -> Made | None:
    """The golden example of an approval: the corrected reply if given, else the original
    one; plus a preference pair when a negative verdict comes with a correction. Nothing
    when the feedback is not linked to a logged message, or when a negative verdict has no
    correction (the original reply is known to be bad, there is no ideal reply to keep)."""
    makes = approval_makes(
        feedback_type=feedback.feedback_type,
        linked=feedback.message_pk is not None,
        corrected=corrected_response is not None,
    )
    message = session.get(Message, feedback.message_pk) if makes != "nothing" else None
    if message is None:
        return None
    turns = conversations.conversation_before(session, message=message)
    now = utcnow()
    golden = GoldenExample(
        id=ids.new_id(ids.GOLDEN),
        account_pk=feedback.account_pk,
        assistant_pk=feedback.assistant_pk,
        feedback_pk=feedback.pk,
        decision_pk=decision.pk,
        message_pk=message.pk,
        input=turns,
        prompt=conversations.last_user_turn(turns),
        output=corrected_response if corrected_response is not None else message.content,
        source="corrected" if corrected_response is not None else "original",
        status="active",
        date_created=now,
        date_updated=now,
    )
    session.add(golden)
    session.flush()
    pair = None
    if makes == "golden_and_pair" and corrected_response is not None:
        pair = PreferencePair(
            id=ids.new_id(ids.PAIR),
            account_pk=feedback.account_pk,
            assistant_pk=feedback.assistant_pk,
            golden_pk=golden.pk,
            feedback_pk=feedback.pk,
            input=turns,
            chosen=corrected_response,
            rejected=message.content,
            status="active",
            date_created=now,
            date_updated=now,
        )
        session.add(pair)
        session.flush()
    return Made(golden=golden, pair=pair)


# built once (building a statement costs more than running it)
_WITHDRAW_GOLDEN = (
    update(GoldenExample)
    .where(GoldenExample.feedback_pk == bindparam("of_feedback"), GoldenExample.status == "active")
    .values(
        status="withdrawn",
        withdrawn_at=bindparam("now"),
        withdrawn_reason=bindparam("reason"),
        date_updated=bindparam("now"),
    )
    .execution_options(synchronize_session=False)
)
_WITHDRAW_PAIRS = (
    update(PreferencePair)
    .where(
        PreferencePair.feedback_pk == bindparam("of_feedback"), PreferencePair.status == "active"
    )
    .values(status="withdrawn", date_updated=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def withdraw_for_feedback(session: Session, *, feedback_pk: int, reason: str) -> int:
    """Withdraw the active examples and pairs of a feedback; returns how many examples."""
    now = utcnow()
    result = session.execute(
        _WITHDRAW_GOLDEN, {"of_feedback": feedback_pk, "now": now, "reason": reason}
    )
    session.execute(_WITHDRAW_PAIRS, {"of_feedback": feedback_pk, "now": now})
    return int(getattr(result, "rowcount", 0) or 0)


# -- reads and edits ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    assistant_pk: int | None = None
    status: str | None = None
    source: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    search: str | None = None  # words in the prompt or the output


def list_page(
    session: Session, *, account_pk: int, filters: Filters, params: PageParams
) -> Page[GoldenExample]:
    """Newest first."""
    stmt = select(GoldenExample).where(GoldenExample.account_pk == account_pk)
    if filters.assistant_pk is not None:
        stmt = stmt.where(GoldenExample.assistant_pk == filters.assistant_pk)
    if filters.status is not None:
        stmt = stmt.where(GoldenExample.status == filters.status)
    if filters.source is not None:
        stmt = stmt.where(GoldenExample.source == filters.source)
    if filters.created_after is not None:
        stmt = stmt.where(GoldenExample.date_created >= filters.created_after)
    if filters.created_before is not None:
        stmt = stmt.where(GoldenExample.date_created < filters.created_before)
    if filters.search:
        pattern = (
            "%" + filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        stmt = stmt.where(
            or_(
                GoldenExample.prompt.ilike(pattern, escape="\\"),
                GoldenExample.output.ilike(pattern, escape="\\"),
            )
        )
    return keyset_page(session, stmt, GoldenExample.pk, params)


def get(session: Session, *, account_pk: int, golden_id: str) -> GoldenExample:
    row = session.scalars(
        select(GoldenExample).where(
            GoldenExample.id == golden_id[:64], GoldenExample.account_pk == account_pk
        )
    ).one_or_none()
    if row is None:
        raise E.NotFound("GoldenExample", golden_id[:64])
    return row


def edit(
    session: Session,
    *,
    golden: GoldenExample,
    input: list[dict[str, str]] | None,
    prompt: str | None,
    output: str | None,
) -> GoldenExample:
    if input is not None:
        golden.input = [dict(turn) for turn in input]
        if prompt is None:
            golden.prompt = conversations.last_user_turn(golden.input)
    if prompt is not None:
        golden.prompt = prompt
    if output is not None:
        golden.output = output
    golden.date_updated = utcnow()
    session.flush()
    return golden


def withdraw(session: Session, *, golden: GoldenExample, reason: str) -> GoldenExample:
    """Stop using one example (kept, marked withdrawn, with why)."""
    if golden.status != "withdrawn":
        now = utcnow()
        golden.status = "withdrawn"
        golden.withdrawn_at = now
        golden.withdrawn_reason = reason
        golden.date_updated = now
        session.flush()
    return golden


def reinstate(session: Session, *, golden: GoldenExample) -> GoldenExample:
    """Use a withdrawn example again (the undo of :func:`withdraw`): active, without the
    withdrawal's time and reason."""
    if golden.status != "active":
        golden.status = "active"
        golden.withdrawn_at = None
        golden.withdrawn_reason = None
        golden.date_updated = utcnow()
        session.flush()
    return golden


def remove(session: Session, *, golden: GoldenExample) -> None:
    session.execute(
        update(PreferencePair)
        .where(PreferencePair.golden_pk == golden.pk)
        .values(golden_pk=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(GoldenExample).where(GoldenExample.pk == golden.pk))
    session.flush()


def list_pairs(
    session: Session,
    *,
    account_pk: int,
    assistant_pk: int | None,
    status: str | None,
    params: PageParams,
) -> Page[PreferencePair]:
    stmt = select(PreferencePair).where(PreferencePair.account_pk == account_pk)
    if assistant_pk is not None:
        stmt = stmt.where(PreferencePair.assistant_pk == assistant_pk)
    if status is not None:
        stmt = stmt.where(PreferencePair.status == status)
    return keyset_page(session, stmt, PreferencePair.pk, params)


def get_pair(session: Session, *, account_pk: int, pair_id: str) -> PreferencePair:
    row = session.scalars(
        select(PreferencePair).where(
            PreferencePair.id == pair_id[:64], PreferencePair.account_pk == account_pk
        )
    ).one_or_none()
    if row is None:
        raise E.NotFound("PreferencePair", pair_id[:64])
    return row


# -- output ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Names:
    """Public ids of the rows a page of examples points to, loaded in a few queries."""

    assistants: dict[int, str]
    feedbacks: dict[int, str]
    decisions: dict[int, str]
    messages: dict[int, str]
    goldens: dict[int, str]


def _ids(session: Session, model: Any, pks: set[int]) -> dict[int, str]:
    if not pks:
        return {}
    return {
        r.pk: r.id for r in session.execute(select(model.pk, model.id).where(model.pk.in_(pks)))
    }


def names_for(
    session: Session,
    goldens: Sequence[GoldenExample] = (),
    pairs: Sequence[PreferencePair] = (),
) -> Names:
    return Names(
        assistants=_ids(
            session, Assistant, {g.assistant_pk for g in goldens} | {p.assistant_pk for p in pairs}
        ),
        feedbacks=_ids(
            session,
            Feedback,
            {g.feedback_pk for g in goldens if g.feedback_pk is not None}
            | {p.feedback_pk for p in pairs if p.feedback_pk is not None},
        ),
        decisions=_ids(
            session,
            FeedbackTransition,
            {g.decision_pk for g in goldens if g.decision_pk is not None},
        ),
        messages=_ids(
            session, Message, {g.message_pk for g in goldens if g.message_pk is not None}
        ),
        goldens=_ids(
            session, GoldenExample, {p.golden_pk for p in pairs if p.golden_pk is not None}
        ),
    )


def golden_out(g: GoldenExample, *, account_sid: str, names: Names) -> dict[str, Any]:
    return {
        "id": g.id,
        "account_sid": account_sid,
        "assistant_id": names.assistants.get(g.assistant_pk),
        "feedback_id": names.feedbacks.get(g.feedback_pk) if g.feedback_pk else None,
        "decision_id": names.decisions.get(g.decision_pk) if g.decision_pk else None,
        "message_id": names.messages.get(g.message_pk) if g.message_pk else None,
        "input": g.input,
        "prompt": g.prompt,
        "output": g.output,
        "source": g.source,
        "status": g.status,
        "withdrawn_at": iso(g.withdrawn_at),
        "withdrawn_reason": g.withdrawn_reason,
        "date_created": iso(g.date_created),
        "date_updated": iso(g.date_updated),
    }


def pair_out(p: PreferencePair, *, account_sid: str, names: Names) -> dict[str, Any]:
    return {
        "id": p.id,
        "account_sid": account_sid,
        "assistant_id": names.assistants.get(p.assistant_pk),
        "golden_example_id": names.goldens.get(p.golden_pk) if p.golden_pk else None,
        "feedback_id": names.feedbacks.get(p.feedback_pk) if p.feedback_pk else None,
        "input": p.input,
        "chosen": p.chosen,
        "rejected": p.rejected,
        "status": p.status,
        "date_created": iso(p.date_created),
        "date_updated": iso(p.date_updated),
    }
