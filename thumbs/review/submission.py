"""Thumbs submission: one verdict per end user per message (no HTTP here).

The verdict is a feedback row like the ones the Twilio-compatible API writes
(``channel='thumbs'``), with ``score`` 1.0 for positive and 0.0 for negative and the
reason as ``text``. A partial unique index on ``(message_pk, user_pk)`` makes a
concurrent double submission one row: the loser's insert does nothing and it updates
the winner's row instead."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from thumbs.auth.service import Principal
from thumbs.conversations import service as conversations
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.timefmt import utcnow
from thumbs.review import service as review
from thumbs.store import rollups
from thumbs.store.models import Feedback, Message
from thumbs.store.sql import insert_ignore
from thumbs.users import service as users

SCORE = {"positive": 1.0, "negative": 0.0}


@dataclass(frozen=True, slots=True)
class Submitted:
    feedback: Feedback
    created: bool


# built once (building a statement costs more than running it)
_VERDICT = select(Feedback).where(
    Feedback.message_pk == bindparam("message_pk"),
    Feedback.user_pk == bindparam("user_pk"),
    Feedback.channel == "thumbs",
)


def _find(session: Session, *, message_pk: int, user_pk: int) -> Feedback | None:
    return session.scalars(_VERDICT, {"message_pk": message_pk, "user_pk": user_pk}).one_or_none()


def _ratable(session: Session, *, account_pk: int, message_id: str) -> Message:
    message = conversations.get_message(session, account_pk=account_pk, message_id=message_id)
    if message.role != "assistant":
        raise E.InvalidField(
            E.MESSAGE_NOT_RATABLE,
            "message_id",
            f"Message {message_id} is a {message.role} message; only assistant replies "
            "can be rated",
        )
    return message


def submit(
    session: Session,
    *,
    actor: Principal,
    identity: str,
    message_id: str,
    feedback_type: str,
    reason: str | None,
) -> Submitted:
    message = _ratable(session, account_pk=actor.account_pk, message_id=message_id)
    setting = review.setting_for(
        session,
        account_pk=actor.account_pk,
        assistant_pk=message.assistant_pk,
        feedback_type=feedback_type,
    )
    if reason is not None and not reason.strip():
        reason = None
    if setting.require_reason and reason is None:
        raise E.InvalidField(
            E.REASON_REQUIRED, "reason", f"A reason is required for {feedback_type} feedback"
        )
    user = users.get_or_create(session, account_pk=actor.account_pk, identity=identity)
    by_user = Principal(
        account_pk=actor.account_pk,
        account_sid=actor.account_sid,
        credential_sid=actor.credential_sid,
        role=user.role,
        user_pk=user.pk,
        user_sid=user.sid,
        identity=identity,
    )
    fb = _find(session, message_pk=message.pk, user_pk=user.pk)
    if fb is None:
        now = utcnow()
        inserted = insert_ignore(
            session,
            Feedback,
            {
                "id": ids.new_id(ids.FEEDBACK),
                "account_pk": actor.account_pk,
                "assistant_pk": message.assistant_pk,
                "session_id": review.session_id_of(session, message),
                "message_id": message.id,
                "message_pk": message.pk,
                "user_pk": user.pk,
                "user_sid": user.sid,
                "score": SCORE[feedback_type],
                "text": reason,
                "channel": "thumbs",
                "feedback_type": feedback_type,
                "reason": reason,
                "status": "pending",
                "date_created": now,
                "date_updated": now,
            },
            index_elements=["message_pk", "user_pk"],
            index_where=Feedback.channel == "thumbs",
        ).rowcount
        fb = _find(session, message_pk=message.pk, user_pk=user.pk)
        assert fb is not None
        if inserted:
            rollups.inserted(session, feedback=fb)
            review.record(
                session,
                feedback=fb,
                from_status=None,
                to_status="pending",
                actor=by_user,
                note="submitted",
            )
            review.auto_approve_if_set(session, feedback=fb, setting=setting)
            return Submitted(feedback=fb, created=True)
    return Submitted(
        feedback=_resubmit(
            session, feedback=fb, by_user=by_user, feedback_type=feedback_type, reason=reason
        ),
        created=False,
    )


def _resubmit(
    session: Session,
    *,
    feedback: Feedback,
    by_user: Principal,
    feedback_type: str,
    reason: str | None,
) -> Feedback:
    """The same verdict again updates the reason; a changed verdict is a new one (the one
    rule: :func:`thumbs.review.service.change_verdict`)."""
    verdict = review.Verdict(
        feedback_type=feedback_type, score=SCORE[feedback_type], text=reason, reason=reason
    )
    return review.change_verdict(
        session,
        feedback=feedback,
        verdict=verdict,
        actor=by_user,
        via="through /v1/Thumbs",
    )


def mine(session: Session, *, actor: Principal, identity: str, message_id: str) -> Feedback | None:
    """This user's verdict on the message, or None; 404 when the message does not exist."""
    message = conversations.get_message(session, account_pk=actor.account_pk, message_id=message_id)
    user = users.find_by_identity(session, account_pk=actor.account_pk, identity=identity)
    if user is None:
        return None
    return _find(session, message_pk=message.pk, user_pk=user.pk)
